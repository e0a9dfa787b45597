package runtime

import "testing"

func TestParseVersionOutput(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want BinaryVersion
	}{
		{"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n",
			BinaryVersion{"runc", "1.1.5+ds1", "1.1.5+ds1-1+deb12u1"}},
		{"crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SECCOMP\n",
			BinaryVersion{"crun", "1.8.1", "f8a096be060b22ccd3d5f3ebe44108517fbf6c30"}},
		{"runc version 1.2.0\n", BinaryVersion{"runc", "1.2.0", ""}},
	} {
		got, err := ParseVersionOutput([]byte(tc.out))
		if err != nil || got != tc.want {
			t.Errorf("ParseVersionOutput(%q) = %+v, %v; want %+v", tc.out, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "usage: runc\n", "commit: abc\n"} {
		if v, err := ParseVersionOutput([]byte(bad)); err == nil {
			t.Errorf("ParseVersionOutput(%q) = %+v, want an error", bad, v)
		}
	}
}
