package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The expected documents are Docker Compose v2.40.3's `config` (and `config --format json`) of
// the same file, recorded with `docker compose -p cfg -f cfg.yaml config`.
func TestMarshalConfigIsCompose(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(`
services:
  web:
    image: reference-busybox:1
    command: ["sleep", "600"]
    environment: [A=1]
    ports: ["127.0.0.1:8080:80"]
    volumes: [data:/data]
    depends_on: [db]
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
  db:
    image: reference-busybox:1
networks:
  front:
    labels: [a=1]
volumes:
  data: {}
`), 0o644)
	p, err := Load(context.Background(), LoadOptions{ProjectDir: dir, ProjectName: "cfg", ConfigFiles: []string{filepath.Join(dir, "compose.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	for format, file := range map[string]string{"yaml": "config-v2.40.3.yaml", "json": "config-v2.40.3.json"} {
		want, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalConfig(p, format)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("config --format %s:\n%s\nwant (Compose v2.40.3's):\n%s", format, got, want)
		}
	}
	if _, err := MarshalConfig(p, "toml"); err == nil || err.Error() != `unsupported format "toml"` {
		t.Errorf("unknown format: %v", err)
	}
}
