package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The hashes were recorded from Docker Compose v2.40.3 on dockerd (`docker compose -p hashp
// create`, then docker inspect -f '{{index .Config.Labels "com.docker.compose.config-hash"}}').
func TestServiceHashIsCompose(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"app.env": "FROM_FILE=1\n", "s1.txt": "secret\n", "compose.yaml": `
services:
  web:
    image: reference-busybox:1
    command: ["httpd", "-f", "-p", "8080"]
    entrypoint: ["/bin/sh", "-c", "exec \"$$@\"", "--"]
    environment: [A=1, B=two]
    ports: ["127.0.0.1:18080:8080", "9090"]
    volumes: [data:/data, /tmp:/host-tmp:ro, {type: tmpfs, target: /scratch}]
    depends_on:
      db: {condition: service_healthy}
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
      retries: 3
    labels: {tier: front}
    restart: unless-stopped
    user: "0:0"
    working_dir: /srv
    init: true
    stop_signal: SIGTERM
    stop_grace_period: 3s
    extra_hosts: ["gw:10.0.0.1"]
    dns: [1.1.1.1]
    networks:
      front: {aliases: [www]}
      default: {}
  db:
    image: reference-busybox:1
    command: sleep 600
  cfg:
    image: reference-busybox:1
    command: ["sleep", "600"]
    env_file: [app.env]
    volumes:
      - type: bind
        source: /tmp
        target: /t
    secrets: [s1]
    deploy: {replicas: 2}
networks:
  front: {}
volumes:
  data: {}
secrets:
  s1: {file: ./s1.txt}
`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Load(context.Background(), LoadOptions{ProjectDir: dir, ProjectName: "hashp", ConfigFiles: []string{filepath.Join(dir, "compose.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"web": "84d8088c1b05309e6d3869b5a3e779325c976dbea0abfa48636863119ed9031d",
		"db":  "4b0b84fbc9ccc8bcba94cf6f342a9966325949d0271e552d7a95590307bfc4e4",
		"cfg": "ba0c68c49d1352fe6e94c02e5fb2ab546eef5534ee17758f12d2e9d6577e706e",
	}
	for name, h := range want {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ServiceHash(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != h {
			b, _ := serviceJSONv29(s)
			t.Errorf("service %s: hash %s, Compose's %s (JSON %s)", name, got, h, b)
		}
	}
}
