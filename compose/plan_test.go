package compose

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/berth-engine/berth/container"
)

// project writes files into a temporary project directory and loads it.
func project(t *testing.T, files map[string]string, o LoadOptions) (*Plan, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o.ProjectDir = dir
	if o.ProjectName == "" && !strings.Contains(files["compose.yaml"], "name:") {
		o.ProjectName = "demo"
	}
	if len(o.ConfigFiles) == 0 {
		o.ConfigFiles = []string{filepath.Join(dir, "compose.yaml")}
	} else {
		for i, f := range o.ConfigFiles {
			o.ConfigFiles[i] = filepath.Join(dir, f)
		}
	}
	p, err := Load(context.Background(), o)
	if err != nil {
		return nil, err
	}
	return NewPlan(p, PlanOptions{})
}

func mustPlan(t *testing.T, files map[string]string, o LoadOptions) *Plan {
	t.Helper()
	pl, err := project(t, files, o)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

const webDB = `
services:
  web:
    image: busybox:1
    command: ["httpd", "-f"]
    ports: ["127.0.0.1:8080:80"]
    depends_on:
      db: {condition: service_healthy}
    networks: [front, back]
  db:
    image: busybox:1
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "true"]
      interval: 2s
      retries: 3
    networks:
      back:
        aliases: [database]
networks:
  front:
  back:
volumes:
  data:
`

func TestPlanNamesAndLabelsAsDockerCompose(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": webDB}, LoadOptions{})
	if got := pl.ServiceNames(); !reflect.DeepEqual(got, []string{"db", "web"}) {
		t.Fatalf("dependency order = %v, want db before web", got)
	}
	web, _ := pl.Service("web")
	if web.Replicas != 1 {
		t.Fatalf("web has %d replicas", web.Replicas)
	}
	c := web.ContainerFor(1)
	if c.Name != "demo-web-1" || c.Create.Name != "demo-web-1" {
		t.Errorf("container name %q, want demo-web-1", c.Name)
	}
	l := c.Create.Labels
	want := map[string]string{
		ProjectLabel: "demo", ServiceLabel: "web", ContainerNumberLabel: "1", OneoffLabel: "False",
		VersionLabel: "2.40.3", DependenciesLabel: "db:service_healthy:false", ConfigHashLabel: web.Hash,
		WorkingDirLabel: pl.WorkingDir, ConfigFilesLabel: filepath.Join(pl.WorkingDir, "compose.yaml"),
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
	if len(web.Hash) != 64 {
		t.Errorf("config hash %q is not a sha256", web.Hash)
	}
	// First network at create with the container's and the service's names as aliases; the
	// second connected after.
	if !reflect.DeepEqual(c.Create.Networks, []string{"demo_back"}) && !reflect.DeepEqual(c.Create.Networks, []string{"demo_front"}) {
		t.Errorf("first network %v", c.Create.Networks)
	}
	if !reflect.DeepEqual(c.Create.Aliases, []string{"demo-web-1", "web"}) {
		t.Errorf("aliases %v", c.Create.Aliases)
	}
	if len(c.Connect) != 1 {
		t.Fatalf("other networks %v", c.Connect)
	}
	if pb := c.Create.Host.PortBindings["80/tcp"]; len(pb) != 1 || pb[0].HostIP != "127.0.0.1" || pb[0].HostPort != "8080" {
		t.Errorf("port bindings %v", c.Create.Host.PortBindings)
	}
	db, _ := pl.Service("db")
	dc := db.ContainerFor(1)
	if !reflect.DeepEqual(dc.Create.Aliases, []string{"demo-db-1", "db", "database"}) {
		t.Errorf("db aliases %v", dc.Create.Aliases)
	}
	if m := dc.Create.Host.Mounts; len(m) != 1 || m[0].Type != "volume" || m[0].Source != "demo_data" || m[0].Target != "/data" {
		t.Errorf("db mounts %+v", m)
	}
	hc := dc.Create.Healthcheck
	if hc == nil || !reflect.DeepEqual(hc.Test, []string{"CMD", "true"}) || hc.Interval.Seconds() != 2 || hc.Retries != 3 {
		t.Errorf("healthcheck %+v", hc)
	}
	if len(pl.Networks) != 2 || pl.Networks[0].Name != "demo_back" || pl.Networks[1].Name != "demo_front" {
		t.Fatalf("networks %+v", pl.Networks)
	}
	nl := pl.Networks[0].Create.Labels
	if nl[NetworkLabel] != "back" || nl[ProjectLabel] != "demo" || nl[VersionLabel] != Version || len(nl[ConfigHashLabel]) != 64 {
		t.Errorf("network labels %v", nl)
	}
	if len(pl.Volumes) != 1 || pl.Volumes[0].Name != "demo_data" || pl.Volumes[0].Labels[VolumeLabel] != "data" || pl.Volumes[0].Labels[ProjectLabel] != "demo" {
		t.Errorf("volumes %+v", pl.Volumes)
	}
}

func TestPlanDefaultNetworkAndReplicas(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": `
services:
  api:
    image: busybox:1
    deploy: {replicas: 2}
  worker:
    image: busybox:1
    scale: 3
`}, LoadOptions{})
	if len(pl.Networks) != 1 || pl.Networks[0].Name != "demo_default" || pl.Networks[0].Key != "default" {
		t.Fatalf("networks %+v", pl.Networks)
	}
	api, _ := pl.Service("api")
	worker, _ := pl.Service("worker")
	if api.Replicas != 2 || worker.Replicas != 3 {
		t.Fatalf("replicas api=%d worker=%d", api.Replicas, worker.Replicas)
	}
	var names []string
	for _, c := range api.Containers() {
		names = append(names, c.Name)
		// Every replica answers to the service's name.
		if !reflect.DeepEqual(c.Create.Aliases, []string{c.Name, "api"}) {
			t.Errorf("%s aliases %v", c.Name, c.Create.Aliases)
		}
	}
	if !reflect.DeepEqual(names, []string{"demo-api-1", "demo-api-2"}) {
		t.Errorf("names %v", names)
	}
	if got := api.ContainerFor(7).Create.Labels[ContainerNumberLabel]; got != "7" {
		t.Errorf("container-number of replica 7 = %q", got)
	}
	one := api.OneOff("0123456789abcdef0123")
	if one.Name != "demo-api-run-0123456789ab" || one.Create.Labels[OneoffLabel] != "True" || one.Create.Labels[SlugLabel] != "0123456789abcdef0123" {
		t.Errorf("one-off %s %v", one.Name, one.Create.Labels)
	}
	if _, ok := one.Create.Labels[ContainerNumberLabel]; ok {
		t.Error("a one-off container has a container number")
	}
	if !reflect.DeepEqual(one.Create.Aliases, []string{one.Name}) {
		t.Errorf("one-off aliases %v", one.Create.Aliases)
	}
}

func TestServiceHashIgnoresWhatDoesNotChangeAContainer(t *testing.T) {
	base := "services:\n  a:\n    image: busybox:1\n    command: [sleep, '1']\n"
	h := func(yaml string) string {
		pl := mustPlan(t, map[string]string{"compose.yaml": yaml}, LoadOptions{Profiles: []string{"x"}})
		s, _ := pl.Service("a")
		return s.Hash
	}
	h0 := h(base)
	if h0 != h(base) {
		t.Fatal("the hash of one file differs between loads")
	}
	for _, same := range []string{
		base + "    scale: 3\n",
		base + "    profiles: [x]\n",
		base + "    depends_on: [b]\n  b:\n    image: busybox:1\n",
		base + "    pull_policy: always\n",
		base + "    build: .\n",
	} {
		if got := h(same); got != h0 {
			t.Errorf("hash changed for a change Compose ignores:\n%s", same)
		}
	}
	for _, diff := range []string{
		strings.Replace(base, "'1'", "'2'", 1),
		base + "    environment: [X=1]\n",
		base + "    ports: ['80']\n",
	} {
		if got := h(diff); got == h0 {
			t.Errorf("hash unchanged for a change of the container:\n%s", diff)
		}
	}
}

func TestPlanErrorsAsDockerCompose(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"required variable", "services:\n  a:\n    image: x\n    environment:\n      X: ${NOPE:?must be set}\n",
			"error while interpolating services.a.environment.X: required variable NOPE is missing a value: must be set"},
		{"unknown dependency", "services:\n  a:\n    image: x\n    depends_on: [b]\n",
			`service "a" depends on undefined service "b": invalid compose project`},
		{"cycle", "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
			"dependency cycle detected: a -> b -> a"},
		{"no image", "services:\n  a:\n    command: [x]\n",
			`service "a" has neither an image nor a build context specified: invalid compose project`},
		{"replicas with a container name", "services:\n  a:\n    image: x\n    container_name: one\n    scale: 2\n",
			"services.scale: can't set container_name and a as container name must be unique: invalid compose project"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := project(t, map[string]string{"compose.yaml": tc.yaml}, LoadOptions{Env: []string{}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEnvironmentPrecedence(t *testing.T) {
	// Compose: environment: wins over env_file:, which wins over the image; .env and the shell
	// only feed interpolation, the shell winning over .env.
	files := map[string]string{
		".env":    "TAG=from-dotenv\nSHELL_WINS=dotenv\nONLY_DOTENV=yes\n",
		"app.env": "A=from-env-file\nB=from-env-file\n",
		"compose.yaml": `
services:
  app:
    image: busybox:${TAG}
    env_file: [app.env]
    environment:
      B: from-environment
      C: ${SHELL_WINS}
      D: ${ONLY_DOTENV}
      E: ${UNSET:-fallback}
      F: $$LITERAL
`,
	}
	pl := mustPlan(t, files, LoadOptions{Env: []string{"SHELL_WINS=shell"}})
	app, _ := pl.Service("app")
	c := app.ContainerFor(1).Create
	if c.Image != "busybox:from-dotenv" {
		t.Errorf("image %q: .env not used for interpolation", c.Image)
	}
	want := []string{"A=from-env-file", "B=from-environment", "C=shell", "D=yes", "E=fallback", "F=$LITERAL"}
	if !reflect.DeepEqual(c.Env, want) {
		t.Errorf("env %q\nwant %q", c.Env, want)
	}
	// --env-file replaces .env.
	dir := t.TempDir()
	other := filepath.Join(dir, "other.env")
	os.WriteFile(other, []byte("TAG=other\nSHELL_WINS=x\nONLY_DOTENV=no\n"), 0o644)
	pl = mustPlan(t, files, LoadOptions{EnvFiles: []string{other}})
	app, _ = pl.Service("app")
	if img := app.ContainerFor(1).Create.Image; img != "busybox:other" {
		t.Errorf("image %q with --env-file", img)
	}
	if l := app.ContainerFor(1).Create.Labels[EnvironmentFileLabel]; l != other {
		t.Errorf("environment_file label %q", l)
	}
}

func TestProfilesIncludeAndExtends(t *testing.T) {
	files := map[string]string{
		"compose.yaml": `
name: shop
include:
  - extra/compose.yaml
services:
  web:
    extends: {file: base.yaml, service: base}
    command: [httpd]
  debug:
    image: busybox:1
    profiles: [debug]
`,
		"base.yaml":          "services:\n  base:\n    image: busybox:1\n    environment: [FROM_BASE=1]\n    working_dir: /srv\n",
		"extra/compose.yaml": "services:\n  cache:\n    image: busybox:1\n",
	}
	pl := mustPlan(t, files, LoadOptions{})
	if pl.Project != "shop" {
		t.Errorf("project %q, want the file's name:", pl.Project)
	}
	if got := pl.ServiceNames(); !reflect.DeepEqual(got, []string{"cache", "web"}) {
		t.Errorf("services %v: profile debug should be off, include on", got)
	}
	if !contains(pl.Known, "debug") {
		t.Errorf("a service left out by its profile is not known: its containers would be orphans: %v", pl.Known)
	}
	web, _ := pl.Service("web")
	c := web.ContainerFor(1).Create
	if c.WorkingDir != "/srv" || !reflect.DeepEqual(c.Env, []string{"FROM_BASE=1"}) || !reflect.DeepEqual(c.Cmd, []string{"httpd"}) {
		t.Errorf("extends not applied: %+v", c)
	}
	pl = mustPlan(t, files, LoadOptions{Profiles: []string{"debug"}})
	if _, ok := pl.Service("debug"); !ok {
		t.Error("--profile debug did not enable the service")
	}
	pl = mustPlan(t, files, LoadOptions{Env: []string{"COMPOSE_PROFILES=debug"}})
	if _, ok := pl.Service("debug"); !ok {
		t.Error("COMPOSE_PROFILES did not enable the service")
	}
	// A service named on the command line is enabled whatever its profile.
	pl = mustPlan(t, files, LoadOptions{Services: []string{"debug"}})
	if got := pl.ServiceNames(); !reflect.DeepEqual(got, []string{"debug"}) {
		t.Errorf("services %v", got)
	}
}

func TestSecretsAndConfigs(t *testing.T) {
	files := map[string]string{
		"pw.txt": "s3cret",
		"compose.yaml": `
services:
  app:
    image: busybox:1
    secrets: [pw, {source: token, target: tok}]
    configs: [{source: conf, target: /etc/app.conf}]
secrets:
  pw: {file: ./pw.txt}
  token: {environment: TOKEN}
configs:
  conf: {content: "a=1"}
`,
	}
	pl := mustPlan(t, files, LoadOptions{Env: []string{"TOKEN=t0k"}})
	app, _ := pl.Service("app")
	c := app.ContainerFor(1)
	m := c.Create.Host.Mounts
	if len(m) != 1 || m[0].Type != "bind" || m[0].Target != "/run/secrets/pw" || !m[0].ReadOnly || filepath.Base(m[0].Source) != "pw.txt" {
		t.Errorf("file secret mount %+v", m)
	}
	// Without the variable the project still loads (down, ps, logs work); only making the
	// container fails.
	pl2 := mustPlan(t, files, LoadOptions{Env: []string{}})
	app2, _ := pl2.Service("app")
	if f := app2.ContainerFor(1).Files; len(f) != 2 || f[0].Missing != `environment variable "TOKEN" required by secret "token" is not set` {
		t.Errorf("files without TOKEN: %+v", f)
	}
	if len(c.Files) != 2 || c.Files[0].Path != "/run/secrets/tok" || string(c.Files[0].Content) != "t0k" ||
		c.Files[1].Path != "/etc/app.conf" || string(c.Files[1].Content) != "a=1" {
		t.Errorf("files %+v", c.Files)
	}
}

func TestScaleOption(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  a:\n    image: x\n"), 0o644)
	p, err := Load(context.Background(), LoadOptions{ConfigFiles: []string{filepath.Join(dir, "compose.yaml")}, ProjectName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := NewPlan(p, PlanOptions{Scale: map[string]int{"a": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := pl.Service("a"); a.Replicas != 3 || len(a.Containers()) != 3 || a.Containers()[2].Name != "s-a-3" {
		t.Errorf("scale 3 gave %+v", a.Containers())
	}
}

func TestUnsupportedAttributesAreNamed(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": "services:\n  a:\n    image: x\n    devices: ['/dev/null:/dev/x']\n    volumes_from: [b]\n  b:\n    image: x\n"}, LoadOptions{})
	want := []string{`service "a": devices is not supported by berth and is ignored`, `service "a": volumes_from is not supported by berth and is ignored`}
	if !reflect.DeepEqual(pl.Warnings, want) {
		t.Errorf("warnings %q", pl.Warnings)
	}
}

// up's attach set as Compose's runUp makes it: attach: false left out, --attach-dependencies
// adds what the named services depend on, --attach must name services of the plan, --no-attach
// takes out.
func TestAttachTo(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": `
services:
  web:
    image: i
    depends_on: [db]
  db:
    image: i
    depends_on: [cache]
  cache:
    image: i
  quiet:
    image: i
    attach: false
`}, LoadOptions{})
	for _, c := range []struct {
		services, attach, noAttach []string
		deps                       bool
		want                       []string
	}{
		{nil, nil, nil, false, []string{"cache", "db", "web"}},
		{[]string{"web"}, nil, nil, false, []string{"web"}},
		{[]string{"web"}, nil, nil, true, []string{"cache", "db", "web"}},
		{nil, nil, []string{"db"}, false, []string{"cache", "web"}},
		{nil, []string{"quiet", "web"}, []string{"web"}, false, []string{"quiet"}},
	} {
		got, err := pl.AttachTo(c.services, c.attach, c.noAttach, c.deps)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%+v: %q, %v", c, got, err)
		}
	}
	if _, err := pl.AttachTo(nil, []string{"nope", "web", "gone"}, nil, false); err == nil || err.Error() != "cannot attach to services not included in up: nope, gone" {
		t.Errorf("unknown --attach: %v", err)
	}
	if err := pl.SetPullPolicy("policy"); err == nil || err.Error() != `invalid --pull option "policy"` {
		t.Errorf("--pull policy: %v", err)
	}
}

// A replacement takes its predecessor's anonymous volumes (the service's and the image's), not
// its named ones nor a bind.
func TestInheritAnonymousVolumes(t *testing.T) {
	want := ContainerPlan{Create: container.CreateOptions{Host: container.HostConfig{Mounts: []container.Mount{
		{Type: "volume", Target: "/anon"}, {Type: "volume", Source: "p_named", Target: "/named"}, {Type: "bind", Source: "/h", Target: "/b"}}}}}
	old := []container.Mount{{Type: "volume", Source: "aaa", Target: "/anon/"}, {Type: "volume", Source: "p_named", Target: "/named"},
		{Type: "bind", Source: "/h", Target: "/b"}, {Type: "volume", Source: "bbb", Target: "/image-vol"}, {Type: "volume", Source: "p_other", Target: "/gone"}}
	InheritAnonymousVolumes(&want, old, []string{"p_named", "p_other"})
	got := want.Create.Host.Mounts
	if len(got) != 4 || got[0].Source != "aaa" || got[1].Source != "p_named" || got[3] != (container.Mount{Type: "volume", Source: "bbb", Target: "/image-vol"}) {
		t.Errorf("mounts: %+v", got)
	}
}

// cp's containers and logs --index's, as Compose picks them (recorded: to a service, all of
// its containers, --all adds run's; from it, the first; --index one of them, running or not).
func TestCopyTargetsAndIndex(t *testing.T) {
	ctr := func(name, svc string, n int) Container {
		return Container{Summary: container.Summary{Container: &container.Container{Name: name}}, Service: svc, Number: n, OneOff: n == 0}
	}
	cs := []Container{ctr("p-w-2", "w", 2), ctr("p-w-run-x", "w", 0), ctr("p-w-1", "w", 1), ctr("p-v-1", "v", 1)}
	names := func(l []Container) (out []string) {
		for _, c := range l {
			out = append(out, c.Name)
		}
		return out
	}
	for _, c := range []struct {
		index     int
		all, to   bool
		want, err string
	}{
		{0, false, true, "p-w-1 p-w-2", ""},
		{0, true, true, "p-w-run-x p-w-1 p-w-2", ""},
		{0, false, false, "p-w-1", ""},
		{2, true, true, "p-w-2", ""},
		{3, false, true, "", `service "w" is not running container #3`},
	} {
		got, err := CopyTargets(cs, "w", c.index, c.all, c.to)
		if strings.Join(names(got), " ") != c.want || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("%+v: %q, %v", c, names(got), err)
		}
	}
	if _, err := CopyTargets(cs, "nosvc", 0, false, true); err == nil || err.Error() != `no container found for service "nosvc"` {
		t.Errorf("nosvc: %v", err)
	}
	if got, err := IndexedContainers(cs, []string{"w"}, 2); err != nil || len(got) != 1 || got[0].Name != "p-w-2" {
		t.Errorf("logs --index 2 w: %v %v", got, err)
	}
	if _, err := IndexedContainers(cs, nil, 2); err == nil || err.Error() != "--index requires one service to be selected" {
		t.Errorf("logs --index 2: %v", err)
	}
}

// run --use-aliases: the one-off container gets the service's aliases on each network.
func TestUseAliases(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": `
name: p
services:
  web:
    image: i
    networks:
      front:
        aliases: [www]
      back: {}
networks:
  front: {}
  back: {}
`}, LoadOptions{})
	sp, _ := pl.Service("web")
	cp := sp.OneOff("slug")
	before := len(cp.Create.Aliases)
	UseAliases(&cp, sp)
	all := append(slices.Clone(cp.Create.Aliases), cp.Connect[0].Aliases...)
	if before != 1 || !slices.Contains(all, "web") || !slices.Contains(all, "www") || len(cp.Connect) != 1 || !slices.Contains(cp.Connect[0].Aliases, "web") {
		t.Errorf("aliases: %q, %+v", cp.Create.Aliases, cp.Connect)
	}
}
