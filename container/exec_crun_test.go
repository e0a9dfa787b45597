package container

import (
	"bytes"
	"testing"
)

// An exec's stderr under crun: crun's failure line is held back (told in Docker's words
// instead), the process's own output passes, at once unless it could be crun's line.
func TestHoldCrunFailure(t *testing.T) {
	for _, tc := range []struct {
		writes     []string
		crunFailed bool
		before     string // written before end
		after      string // written in all
	}{
		{[]string{"executable file `x` not found in $PATH: No such file or directory\n"}, true, "", ""},
		{[]string{"open exec", "utable: Permission denied\n"}, true, "", ""},
		{[]string{"hello\n", "open executable: Permission denied\n"}, false, "hello\nopen executable: Permission denied\n", "hello\nopen executable: Permission denied\n"},
		{[]string{"prompt> "}, false, "prompt> ", "prompt> "},
		{[]string{"open executable: Permission denied\n", "more\n"}, false, "", "open executable: Permission denied\nmore\n"},
		{[]string{"open exec"}, false, "", "open exec"},
	} {
		var out bytes.Buffer
		h := &holdRuntimeFailure{w: &out, crun: true}
		for _, w := range tc.writes {
			if n, err := h.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if out.String() != tc.before {
			t.Errorf("%q: before end %q, want %q", tc.writes, out.String(), tc.before)
		}
		h.end(tc.crunFailed)
		if out.String() != tc.after {
			t.Errorf("%q: after end %q, want %q", tc.writes, out.String(), tc.after)
		}
	}
}
