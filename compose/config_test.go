package compose

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/template"
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

// config's --hash, --variables, --environment and --no-interpolate, against Docker Compose
// v2.40.3's output for the same project (recorded with the compose plugin; the hash of web is
// the config-hash label Compose's up gave its container).
func TestConfigFlagsAreCompose(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"compose.yaml": `services:
  web:
    image: reference-busybox:${TAG:-1}
    command: sleep 30
    environment:
      - A=${AVAR:?need avar}
    env_file: [e.env]
    volumes: [./data:/data]
  db:
    image: reference-busybox:1
`,
		"e.env": "X=1\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := LoadOptions{ProjectDir: dir, ProjectName: "p6", Env: []string{"AVAR=av"}}
	p, err := Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// web's hash holds the project's directory (recorded in /tmp/cf/p6: 96213aab…, the label of
	// Compose's container): here it must be the label berth's up gives.
	got, err := ServiceHashes(p, "*")
	web, _ := p.GetService("web")
	webHash, _ := ServiceHash(web)
	want := []string{"db e4ccf76db47cbe223fd2ae94fa8a86b0f04766347035e7ddd9d5fa22217097d9", "web " + webHash}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("hashes: %q, %v", got, err)
	}
	if _, err := ServiceHashes(p, "nope"); err == nil || err.Error() != "no such service: nope: not found" {
		t.Errorf("hash of nope: %v", err)
	}
	if env := p.Environment.Values(); !slices.Contains(env, "AVAR=av") || !slices.IsSorted(env) {
		t.Errorf("environment: %q", env)
	}
	// The document: env_file left out once read, a bind's create_host_path written (v2.9's way);
	// --no-path-resolution keeps ./data.
	wantDoc := `name: p6
services:
  db:
    image: reference-busybox:1
    networks:
      default: null
  web:
    command:
      - sleep
      - "30"
    environment:
      A: av
      X: "1"
    image: reference-busybox:1
    networks:
      default: null
    volumes:
      - type: bind
        source: ./data
        target: /data
        bind:
          create_host_path: true
networks:
  default:
    name: p6_default
`
	o.NoResolvePaths = true
	t.Chdir(dir) // as Compose was run: relative paths are read from the working directory
	rel, err := Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := MarshalConfig(rel, "yaml"); err != nil || string(b) != wantDoc {
		t.Errorf("config --no-path-resolution: %v\n%s", err, b)
	}
	if b, err := MarshalConfig(rel, "json"); err != nil || !strings.Contains(string(b), `"bind": {
            "create_host_path": true
          }`) || strings.Contains(string(b), "env_file") {
		t.Errorf("config --format json: %v\n%s", err, b)
	}
	o.NoResolvePaths = false
	o.NoInterpolate = true
	model, err := LoadModel(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	vars := Variables(model)
	if len(vars) != 2 || vars[0] != (template.Variable{Name: "AVAR", Required: true}) || vars[1] != (template.Variable{Name: "TAG", DefaultValue: "1"}) {
		t.Errorf("variables: %+v", vars)
	}
	b, err := MarshalModel(model, "yaml")
	wantYAML := `name: p6
networks:
  default:
    name: p6_default
services:
  db:
    image: reference-busybox:1
    networks:
      default: null
  web:
    command: sleep 30
    env_file:
      - path: ` + dir + `/e.env
        required: true
    environment:
      - A=${AVAR:?need avar}
    image: reference-busybox:${TAG:-1}
    networks:
      default: null
    volumes:
      - bind:
          create_host_path: true
        source: ` + dir + `/data
        target: /data
        type: bind
`
	if err != nil || string(b) != wantYAML {
		t.Errorf("--no-interpolate: %v\n%s", err, b)
	}
}
