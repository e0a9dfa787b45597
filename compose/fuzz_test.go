package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad loads arbitrary Compose files and plans them: a file may be refused, but nothing may
// panic or hang, and a plan that loads has containers named and labelled.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		webDB,
		"services:\n  a:\n    image: x\n    deploy: {replicas: 2}\n",
		"services:\n  a:\n    image: ${IMG:-busybox}\n    environment: [A=$$B, C=${D:?no}]\n",
		"name: n\nservices:\n  a:\n    build: {context: ., args: [X=1]}\n    secrets: [s]\nsecrets:\n  s: {content: x}\n",
		"services:\n  a:\n    image: x\n    network_mode: service:b\n  b:\n    image: x\n",
		"services:\n  a:\n    image: x\n    volumes: [/tmp:/t:ro, {type: tmpfs, target: /m}]\n    ports: ['1-2:3-4/udp']\n",
		"x-anchors: &a {image: x}\nservices:\n  a: *a\n  b: {<<: *a, depends_on: {a: {condition: service_healthy}}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Load(context.Background(), LoadOptions{ConfigFiles: []string{file}, ProjectName: "fz", ProjectDir: dir, Env: []string{"D=1"}})
		if err != nil {
			return
		}
		pl, err := NewPlan(p, PlanOptions{})
		if err != nil {
			return
		}
		for _, s := range pl.Services {
			if s.Replicas > 0 {
				c := s.ContainerFor(1)
				if c.Name == "" || c.Create.Labels[ProjectLabel] != "fz" || c.Create.Labels[ServiceLabel] != s.Name {
					t.Fatalf("container %+v of %s badly planned", c.Name, s.Name)
				}
			}
		}
	})
}
