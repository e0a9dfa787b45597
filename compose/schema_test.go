package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Compose files are checked against the compose-spec schema (the same messages as with upstream's jsonschema; third_party/jsonschema compiles
// its meta-schemas on first use instead of at start-up; this makes sure the check still runs).
func TestLoadChecksSchema(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"services:\n  web:\n    image: busybox\n    bogus: 1\n", "services.web.bogus false schema"},
		{"services:\n  web:\n    image: busybox\n    ports: 80\n", "services.web.ports must be a array"},
		{"services:\n  web:\n    image: busybox\n", ""},
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(context.Background(), LoadOptions{ConfigFiles: []string{file}, ProjectName: "s", ProjectDir: dir})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.yaml, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
