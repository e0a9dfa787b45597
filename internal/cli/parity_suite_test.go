package cli

// The parity suite (issue 18): each file in testdata/parity/ is one command and what Docker 20.10
// printed for it (stdout, stderr, exit code), recorded with the reference daemon. The test replays
// the case's commands against berth and compares after normalising what differs by nature (IDs,
// times, the root directory, addresses). It never needs Docker.
//
// scripts/parity.sh sets BERTH_PARITY_DOCKER to a docker binary: then each case also runs against
// that daemon and the test prints the table (identical / wording / differs / missing) instead of
// failing. BERTH_PARITY_RECORD=1 with it rewrites the golden sections from Docker's answers.
//
// Case file format:
//
//	# what the case shows (comment lines)
//	$ a setup command (must succeed)
//	$? a setup command whose failure is ignored
//	$ the command compared (the last $ line)
//	-- stdout --
//	...
//	-- stderr --
//	...
//	-- exit --
//	N
//	-- berth differs --
//	- a line of Docker's stdout berth does not print (why, in a comment above)
//	+ a line berth prints that Docker does not
//
// The last section is optional: it lists the differences that are by design (berth's own commands
// in `--help`, flags berth lacks), and the case passes when every difference is listed there.
//
// Objects the cases make are named parity-* so a Docker replay can remove them afterwards. The
// image is reference-busybox:1 on both sides (berth tags its busybox image so).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

type parityCase struct {
	file  string
	setup []paritySetup
	cmd   []string
	want  parityResult
	// allowed are the declared differences: "- line" (Docker's only) and "+ line" (berth's).
	allowed []string
}

type paritySetup struct {
	args     []string
	mayFail  bool
	verbatim string
}

type parityResult struct {
	stdout, stderr string
	exit           int
}

// splitWords splits a command line as a shell would for the simple quoting the cases use:
// '...' and "..." group words, no escapes.
func splitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

func parseParityCase(file string, data []byte) (parityCase, error) {
	pc := parityCase{file: file}
	lines := strings.SplitAfter(string(data), "\n")
	section := ""
	var sections = map[string]*strings.Builder{"stdout": {}, "stderr": {}, "exit": {}, "berth differs": {}}
	var cmds []paritySetup
	for _, l := range lines {
		t := strings.TrimRight(l, "\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") {
			section = strings.TrimSuffix(strings.TrimPrefix(t, "-- "), " --")
			if sections[section] == nil {
				return pc, fmt.Errorf("%s: unknown section %q", file, section)
			}
			continue
		}
		if section != "" {
			sections[section].WriteString(l)
			continue
		}
		if strings.HasPrefix(t, "$") {
			mayFail := strings.HasPrefix(t, "$?")
			line := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(t, "$?"), "$"))
			args, err := splitWords(line)
			if err != nil || len(args) == 0 {
				return pc, fmt.Errorf("%s: bad command %q: %v", file, t, err)
			}
			cmds = append(cmds, paritySetup{args: args, mayFail: mayFail, verbatim: line})
		}
	}
	if len(cmds) == 0 {
		return pc, fmt.Errorf("%s: no command", file)
	}
	pc.setup, pc.cmd = cmds[:len(cmds)-1], cmds[len(cmds)-1].args
	pc.want.stdout, pc.want.stderr = sections["stdout"].String(), sections["stderr"].String()
	code, err := strconv.Atoi(strings.TrimSpace(sections["exit"].String()))
	if strings.TrimSpace(sections["exit"].String()) == "" {
		code, err = -1, nil // not recorded yet: parity.sh --record fills it
	}
	if err != nil {
		return pc, fmt.Errorf("%s: exit section: %v", file, err)
	}
	pc.want.exit = code
	for _, l := range strings.Split(sections["berth differs"].String(), "\n") {
		if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "+ ") {
			pc.allowed = append(pc.allowed, l)
		} else if l != "" && !strings.HasPrefix(l, "#") {
			return pc, fmt.Errorf("%s: berth differs: %q is neither '- line' nor '+ line'", file, l)
		}
	}
	return pc, nil
}

func (pc parityCase) format(r parityResult) []byte {
	var b bytes.Buffer
	data, _ := os.ReadFile(pc.file)
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if strings.HasPrefix(l, "-- ") {
			break
		}
		b.WriteString(l)
	}
	fmt.Fprintf(&b, "-- stdout --\n%s-- stderr --\n%s-- exit --\n%d\n", r.stdout, r.stderr, r.exit)
	if i := strings.Index(string(data), "\n-- berth differs --\n"); i >= 0 {
		b.WriteString(string(data)[i+1:])
	}
	return b.Bytes()
}

var (
	parityTime  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	parityID64  = regexp.MustCompile(`[0-9a-f]{64}`)
	parityID12  = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
	parityCPUs  = regexp.MustCompile(`(from 0\.01 to |there are only |available: 0-)\d+`)
	parityRoots = []string{"/var/tmp/docker-reference/data", "/var/lib/docker"}
)

// parityVolatile are the JSON keys whose values differ between any two runs or hosts (times,
// addresses, process IDs, storage paths): their values are compared as present, not as equal.
var parityVolatile = map[string]bool{
	"Created": true, "StartedAt": true, "FinishedAt": true, "Pid": true, "Hostname": true,
	"Gateway": true, "IPAddress": true, "MacAddress": true, "SandboxKey": true,
	"LowerDir": true, "MergedDir": true, "UpperDir": true, "WorkDir": true, "CreatedAt": true,
	"Subnet": true, "Size": true, "VirtualSize": true, "SizeRootFs": true,
}

// normalizeParity makes two answers comparable: the root directory, IDs, times and the
// program's name are replaced by placeholders; a JSON document becomes one "path = value" line
// per leaf, in document order, volatile values masked.
func normalizeParity(s, root string) string {
	if root != "" {
		s = strings.ReplaceAll(s, root, "<ROOT>")
	}
	for _, r := range parityRoots {
		s = strings.ReplaceAll(s, r, "<ROOT>")
	}
	s = parityTime.ReplaceAllString(s, "<TIME>")
	s = parityID64.ReplaceAllString(s, "<ID>")
	s = parityID12.ReplaceAllString(s, "<ID12>")
	// The host's CPU count, which some of Docker's messages name.
	s = parityCPUs.ReplaceAllString(s, "${1}<N>")
	// berth is daemonless: Docker's "Error response from daemon: " is berth's "Error: ".
	s = strings.ReplaceAll(s, "Error response from daemon: ", "Error: ")
	s = regexp.MustCompile(`\bberth\b`).ReplaceAllString(s, "docker")
	s = regexp.MustCompile(`\bBerth\b`).ReplaceAllString(s, "Docker")
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		if lines, err := jsonLeaves(t); err == nil {
			return strings.Join(lines, "\n") + "\n"
		}
	}
	return s
}

// jsonLeaves lists a JSON document's leaves as "path = value" in document order.
func jsonLeaves(s string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out []string
	var walk func(path, key string) error
	walk = func(path, key string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				n := 0
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					k := kt.(string)
					if err := walk(path+"."+k, k); err != nil {
						return err
					}
					n++
				}
				dec.Token()
				if n == 0 {
					out = append(out, path+" = {}")
				}
			case '[':
				n := 0
				for dec.More() {
					if err := walk(fmt.Sprintf("%s[%d]", path, n), key); err != nil {
						return err
					}
					n++
				}
				dec.Token()
				if n == 0 {
					out = append(out, path+" = []")
				}
			}
		default:
			val := fmt.Sprintf("%#v", v)
			if v == nil {
				val = "null"
			} else if n, ok := v.(json.Number); ok {
				val = n.String()
			}
			if parityVolatile[key] && v != nil && val != `""` && val != "0" {
				val = "<V>"
			}
			out = append(out, path+" = "+val)
		}
		return nil
	}
	for dec.More() {
		if err := walk("", ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lineDiff lists the lines only in a ("- line") and only in b ("+ line"), by a longest common
// subsequence of lines.
func lineDiff(a, b string) []string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(al), len(bl)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, "+ "+bl[j])
			j++
		default:
			out = append(out, "- "+al[i])
			i++
		}
	}
	return out
}

// undeclared are the differences of berth's output (either stream) from Docker's that the case does not list.
func (pc parityCase) undeclared(docker, berth parityResult) []string {
	allowed := map[string]bool{}
	for _, l := range pc.allowed {
		allowed[l] = true
	}
	var out []string
	for _, l := range append(lineDiff(docker.stdout, berth.stdout), lineDiff(docker.stderr, berth.stderr)...) {
		if !allowed[l] {
			out = append(out, l)
		}
	}
	return out
}

// matches says whether berth's answer is Docker's but for the case's declared differences.
func (pc parityCase) matches(docker, berth parityResult) bool {
	if docker == berth {
		return true
	}
	return len(pc.allowed) > 0 && docker.exit == berth.exit &&
		len(pc.undeclared(docker, berth)) == 0
}

// classifyParity names how berth's answer stands to Docker's.
func classifyParity(docker, berth parityResult) string {
	switch {
	case docker == berth:
		return "identical"
	case strings.Contains(berth.stderr, "unknown flag") || strings.Contains(berth.stderr, "unknown shorthand flag") ||
		strings.Contains(berth.stderr, "is not a docker command"):
		return "missing"
	case docker.exit == berth.exit && docker.stdout == berth.stdout && (docker.stderr == "") == (berth.stderr == ""):
		return "wording"
	}
	return "differs"
}

func loadParityCases(t *testing.T) []parityCase {
	files, err := filepath.Glob("testdata/parity/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no parity cases: %v", err)
	}
	sort.Strings(files)
	var cases []parityCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := parseParityCase(f, data)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, pc)
	}
	return cases
}

// runParity runs a case's commands with run (berth or docker) and returns the last one's answer.
func runParity(t *testing.T, pc parityCase, run func(args []string) parityResult) (parityResult, error) {
	for _, s := range pc.setup {
		if r := run(s.args); r.exit != 0 && !s.mayFail {
			return r, fmt.Errorf("setup %q: exit %d: %s%s", s.verbatim, r.exit, r.stdout, r.stderr)
		}
	}
	return run(pc.cmd), nil
}

func TestParitySuite(t *testing.T) {
	cases := loadParityCases(t)
	// Docker 20.10's default runtime is runc; berth's is crun where installed: berth is run
	// with Docker's default, so that inspect's HostConfig.Runtime compares.
	conf := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(conf, []byte(`{"default-runtime": "runc"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_CONFIG", conf)
	e := newCtrEnv(t)
	e.ok("tag", "bb:1", "reference-busybox:1")
	berth := func(args []string) parityResult {
		out, errs, code := e.run(args...)
		return parityResult{normalizeParity(out, e.root), normalizeParity(errs, e.root), code}
	}
	cleanBerth := func() {
		out, _, _ := e.run("ps", "-aq")
		for _, id := range strings.Fields(out) {
			e.run("rm", "-fv", id)
		}
		e.run("volume", "prune", "-f")
		out, _, _ = e.run("network", "ls", "-q", "--filter", "name=parity-")
		for _, id := range strings.Fields(out) {
			e.run("network", "rm", id)
		}
		out, _, _ = e.run("images", "-q", "--filter", "reference=parity-*")
		for _, id := range strings.Fields(out) {
			e.run("rmi", "-f", id)
		}
	}
	dockerBin := os.Getenv("BERTH_PARITY_DOCKER")
	if dockerBin == "" {
		for _, pc := range cases {
			t.Run(filepath.Base(pc.file), func(t *testing.T) {
				defer cleanBerth()
				got, err := runParity(t, pc, berth)
				if err != nil {
					t.Fatal(err)
				}
				want := parityResult{normalizeParity(pc.want.stdout, ""), normalizeParity(pc.want.stderr, ""), pc.want.exit}
				if !pc.matches(want, got) {
					detail := parityDiff(want, got)
					if len(pc.allowed) > 0 {
						detail = "undeclared differences:\n" + strings.Join(pc.undeclared(want, got), "\n") + "\n" + detail
					}
					t.Errorf("%s: berth %s differs from Docker 20.10 (%s)\n%s", pc.file, strings.Join(pc.cmd, " "),
						classifyParity(want, got), detail)
				}
			})
		}
		return
	}
	docker := func(args []string) parityResult {
		// The reference daemon's default bridge: other programs on this shared machine (a
		// second dockerd that exits) delete docker0 under it; put it back as dockerd made it.
		if err := exec.Command("ip", "link", "show", "docker0").Run(); err != nil {
			exec.Command("sh", "-c", "ip link add name docker0 type bridge && ip addr add 172.17.0.1/16 dev docker0 && ip link set docker0 up").Run()
		}
		c := exec.Command(dockerBin, args...)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return parityResult{out.String(), errb.String(), code}
	}
	cleanDocker := func() {
		sh := `docker ps -aq --filter name=parity- | xargs -r docker rm -fv; docker volume ls -q --filter name=parity- | xargs -r docker volume rm; docker network ls -q --filter name=parity- | xargs -r docker network rm; docker images -q --filter reference='parity-*' | xargs -r docker rmi -f`
		exec.Command("sh", "-c", strings.ReplaceAll(sh, "docker", dockerBin)).Run()
	}
	counts := map[string]int{}
	var table strings.Builder
	only, err := regexp.Compile(os.Getenv("BERTH_PARITY_ONLY")) // a subset of the cases, by file name
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range cases {
		if !only.MatchString(filepath.Base(pc.file)) {
			continue
		}
		cleanDocker()
		raw, derr := runParity(t, pc, docker)
		cleanDocker()
		got, berr := runParity(t, pc, berth)
		cleanBerth()
		d := parityResult{normalizeParity(raw.stdout, ""), normalizeParity(raw.stderr, ""), raw.exit}
		class := classifyParity(d, got)
		if class != "identical" && pc.matches(d, got) {
			class = "declared" // differs only where the case says berth differs by design
		}
		if derr != nil || berr != nil {
			class = fmt.Sprintf("differs (setup: docker %v, berth %v)", derr, berr)
		}
		counts[strings.Fields(class)[0]]++
		fmt.Fprintf(&table, "%-10s %-40s %s\n", strings.Fields(class)[0], filepath.Base(pc.file), strings.Join(pc.cmd, " "))
		if class == "declared" {
			fmt.Fprintf(&table, "    (%d declared differences)\n", len(lineDiff(d.stdout, got.stdout))+len(lineDiff(d.stderr, got.stderr)))
		} else if class != "identical" {
			fmt.Fprintf(&table, "%s", indent(parityDiff(d, got)))
		}
		if os.Getenv("BERTH_PARITY_RECORD") == "1" && derr == nil && !strings.Contains(raw.stderr, "failed to create endpoint") {
			rec := parityResult{parityID64.ReplaceAllString(raw.stdout, "<ID>"), parityID64.ReplaceAllString(raw.stderr, "<ID>"), raw.exit}
			if err := os.WriteFile(pc.file, pc.format(rec), 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	fmt.Fprintf(os.Stdout, "%s\nidentical %d, declared %d, wording %d, differs %d, missing %d\n", table.String(),
		counts["identical"], counts["declared"], counts["wording"], counts["differs"], counts["missing"])
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// parityDiff shows the lines that differ between Docker's answer and berth's.
func parityDiff(want, got parityResult) string {
	var b strings.Builder
	if want.exit != got.exit {
		fmt.Fprintf(&b, "exit: docker %d, berth %d\n", want.exit, got.exit)
	}
	for _, s := range []struct{ name, w, g string }{{"stdout", want.stdout, got.stdout}, {"stderr", want.stderr, got.stderr}} {
		if s.w == s.g {
			continue
		}
		wl, gl := strings.Split(s.w, "\n"), strings.Split(s.g, "\n")
		gs, ws := map[string]bool{}, map[string]bool{}
		for _, l := range gl {
			gs[l] = true
		}
		for _, l := range wl {
			ws[l] = true
		}
		for _, l := range wl {
			if !gs[l] {
				fmt.Fprintf(&b, "%s docker: %s\n", s.name, l)
			}
		}
		for _, l := range gl {
			if !ws[l] {
				fmt.Fprintf(&b, "%s berth:  %s\n", s.name, l)
			}
		}
		if b.Len() == 0 {
			fmt.Fprintf(&b, "%s: same lines, other order\n", s.name)
		}
	}
	return b.String()
}

// The suite's own parts, without containers: the case format and the normalising.
func TestParityCaseFormatAndNormalizing(t *testing.T) {
	pc, err := parseParityCase("x.txt", []byte("# c\n$ volume create parity-v\n$? rm -f 'a b'\n$ inspect -f '{{.Name}} x' parity-v\n-- stdout --\nparity-v x\n-- stderr --\n-- exit --\n0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pc.setup) != 2 || !pc.setup[1].mayFail || pc.setup[1].args[2] != "a b" || strings.Join(pc.cmd, "|") != "inspect|-f|{{.Name}} x|parity-v" ||
		pc.want.stdout != "parity-v x\n" || pc.want.exit != 0 {
		t.Errorf("parsed %+v", pc)
	}
	id := strings.Repeat("ab", 32)
	a := normalizeParity("[{\"Id\":\""+id+"\",\"Created\":\"2026-12-03T07:08:01.1Z\",\"Path\":\"/var/tmp/docker-reference/data/x\",\"Pid\":12}]", "")
	b := normalizeParity("[{\"Id\":\""+strings.Repeat("cd", 32)+"\",\"Created\":\"2027-01-01T00:00:00Z\",\"Path\":\"/tmp/bt-1/x\",\"Pid\":99}]", "/tmp/bt-1")
	if a != b || !strings.Contains(a, ".Path = \"<ROOT>/x\"") {
		t.Errorf("normalised:\n%s\n%s", a, b)
	}
	// Key order is part of the answer.
	if normalizeParity(`{"A":1,"B":2}`, "") == normalizeParity(`{"B":2,"A":1}`, "") {
		t.Error("key order ignored")
	}
	if got := normalizeParity("berth: Error: Range of CPUs is from 0.01 to 8.00, as there are only 8 CPUs available.", ""); got != "docker: Error: Range of CPUs is from 0.01 to <N>.00, as there are only <N> CPUs available." {
		t.Errorf("cpus: %q", got)
	}
	if classifyParity(parityResult{"", "x\n", 1}, parityResult{"", "unknown flag: --foo\n", 125}) != "missing" ||
		classifyParity(parityResult{"", "x\n", 1}, parityResult{"", "y\n", 1}) != "wording" ||
		classifyParity(parityResult{"a", "", 0}, parityResult{"b", "", 0}) != "differs" {
		t.Error("classification")
	}
}
