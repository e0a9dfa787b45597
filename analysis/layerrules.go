package analysis

import (
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"mvdan.cc/sh/v3/syntax"
)

// Layer-construction rules beyond BuildKit's. Those hadolint has carry hadolint's code, words and
// wiki URL so `# hadolint ignore=DL3008` comments and habits carry over; RUN scripts are parsed
// as shell (mvdan.cc/sh), never matched with regular expressions. They go through BuildKit's
// linter like its own rules, so `# check=skip=DL3059` and error=true apply to them too.

func hadolintRule(code, msg string) *linter.LinterRule[func() string] {
	return &linter.LinterRule[func() string]{Name: code, Description: msg,
		URL: "https://github.com/hadolint/hadolint/wiki/" + code, Format: func() string { return msg }}
}

var (
	RuleDL3008 = hadolintRule("DL3008", "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>`")
	RuleDL3009 = hadolintRule("DL3009", "Delete the apt-get lists after installing something")
	RuleDL3015 = hadolintRule("DL3015", "Avoid additional packages by specifying `--no-install-recommends`")
	RuleDL3059 = hadolintRule("DL3059", "Multiple consecutive `RUN` instructions. Consider consolidation.")
	RuleDL4006 = hadolintRule("DL4006", "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using /bin/sh in an alpine image or if your shell is symlinked to busybox then consider explicitly setting your SHELL to /bin/ash, or disable this check")
	RuleDL3003 = hadolintRule("DL3003", "Use WORKDIR to switch to a directory")
	RuleDL3006 = hadolintRule("DL3006", "Always tag the version of an image explicitly")
	RuleDL3007 = hadolintRule("DL3007", "Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag")
	RuleDL3020 = hadolintRule("DL3020", "Use COPY instead of ADD for files and folders")
	RuleDL3025 = hadolintRule("DL3025", "Use arguments JSON notation for CMD and ENTRYPOINT arguments")
	RuleDL3002 = hadolintRule("DL3002", "Last USER should not be root")

	// RuleContextCopyBeforeInstall: copying the whole context before installing dependencies
	// makes any change to any file rerun the install.
	RuleContextCopyBeforeInstall = linter.LinterRule[func(install string, line int) string]{
		Name:        "ContextCopyBeforeInstall",
		Description: "Copy only the dependency manifests before installing dependencies, and the rest of the build context after",
		Format: func(install string, line int) string {
			return "COPY of the whole build context before `" + install + "` (line " + itoa(line) +
				"): any change to any file reruns the install; copy the dependency manifests first, install, then copy the rest"
		},
	}
	// RulePackageCacheInLayer: a package manager's download cache left in the layer it was made in.
	RulePackageCacheInLayer = linter.LinterRule[func(tool, dir, fix string) string]{
		Name:        "PackageCacheInLayer",
		Description: "Package manager caches should not be left in a layer",
		Format: func(tool, dir, fix string) string {
			return "`" + tool + "` leaves its cache " + dir + " in the layer: " + fix
		},
	}
)

var berthRules = map[string]struct{}{RuleContextCopyBeforeInstall.Name: {}, RulePackageCacheInLayer.Name: {}}

// hadolintSeverity is each hadolint rule's default severity in hadolint; a build shows only
// warnings and errors (as hadolint's default threshold would), `build --check` everything.
var hadolintSeverity = map[string]string{
	"DL3008": SeverityWarning, "DL3009": SeverityInfo, "DL3015": SeverityInfo, "DL3059": SeverityInfo,
	"DL4006": SeverityWarning, "DL3003": SeverityWarning, "DL3006": SeverityWarning, "DL3007": SeverityWarning,
	"DL3020": SeverityError, "DL3025": SeverityWarning, "DL3002": SeverityWarning,
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// ---- RUN scripts as shell ----

// script is what the layer rules need to know of one RUN.
type script struct {
	calls     [][]string // each simple command's words; a word that is not a plain literal is ""
	pipe      bool       // has a pipeline (a | b)
	pipefail  bool       // runs `set -o pipefail` (or -eo pipefail...) before any pipe
	parsed    bool
	cacheDirs []string // RUN --mount=type=cache targets
}

func wordText(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(x.Value)
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			for _, q := range x.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return ""
				}
				b.WriteString(l.Value)
			}
		default:
			return ""
		}
	}
	return b.String()
}

func parseRun(r *instructions.RunCommand) script {
	var s script
	for _, m := range instructions.GetMounts(r) {
		if m.Type == instructions.MountTypeCache {
			s.cacheDirs = append(s.cacheDirs, m.Target)
		}
	}
	if !r.PrependShell {
		s.calls = [][]string{append([]string(nil), r.CmdLine...)}
		s.parsed = true
		return s
	}
	src := strings.Join(r.CmdLine, " ")
	for _, f := range r.Files { // heredoc RUN: the scripts
		src += "\n" + f.Data
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		return s
	}
	s.parsed = true
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.BinaryCmd:
			if x.Op == syntax.Pipe || x.Op == syntax.PipeAll {
				s.pipe = true
			}
		case *syntax.CallExpr:
			var words []string
			for _, a := range x.Args {
				words = append(words, wordText(a))
			}
			if len(words) > 0 {
				if words[0] == "set" && !s.pipe {
					for i, w := range words[1:] {
						if strings.HasPrefix(w, "-") && strings.Contains(w, "o") && i+2 < len(words) && words[i+2] == "pipefail" {
							s.pipefail = true
						}
					}
				}
				s.calls = append(s.calls, words)
			}
		}
		return true
	})
	return s
}

// cmdName is a command's name without its directory ("/usr/bin/apt-get" → "apt-get"), skipping
// sudo/env/command/exec prefixes.
func cmdArgs(call []string) (string, []string) {
	for len(call) > 0 {
		n := path.Base(call[0])
		switch n {
		case "sudo", "command", "exec", "nice", "time":
			call = call[1:]
			continue
		case "env":
			call = call[1:]
			for len(call) > 0 && (strings.Contains(call[0], "=") || strings.HasPrefix(call[0], "-")) {
				call = call[1:]
			}
			continue
		}
		return n, call[1:]
	}
	return "", nil
}

// subcommand returns the first argument that is not an option (apt-get -y install → install).
func subcommand(args []string) (string, []string) {
	for i, a := range args {
		if a == "-o" || a == "-c" || a == "-t" {
			continue
		}
		if strings.HasPrefix(a, "-") || i > 0 && (args[i-1] == "-o" || args[i-1] == "-c" || args[i-1] == "-t") {
			continue
		}
		return a, args[i+1:]
	}
	return "", nil
}

func (s script) find(fn func(name string, args []string) bool) bool {
	for _, c := range s.calls {
		n, a := cmdArgs(c)
		if fn(n, a) {
			return true
		}
	}
	return false
}

func isApt(n string) bool { return n == "apt-get" || n == "apt" }

func hasArg(args []string, want ...string) bool {
	for _, a := range args {
		for _, w := range want {
			if a == w {
				return true
			}
		}
	}
	return false
}

// removes reports whether the script runs rm over a path at or under dir.
func (s script) removes(dir string) bool {
	return s.find(func(n string, args []string) bool {
		if n != "rm" {
			return false
		}
		for _, a := range args {
			a = strings.TrimSuffix(strings.TrimSuffix(a, "*"), "/")
			if a != "" && !strings.HasPrefix(a, "-") && (a == dir || strings.HasPrefix(a, dir+"/") || strings.HasPrefix(dir, a+"/")) {
				return true
			}
		}
		return false
	})
}

func (s script) cached(dir string) bool {
	for _, d := range s.cacheDirs {
		d = strings.TrimSuffix(d, "/")
		if d == dir || strings.HasPrefix(dir, d+"/") {
			return true
		}
	}
	return false
}

var archiveSuffix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\.(tar|Z|bz2|gz|lz|lzma|tZ|tb2|tbz|tbz2|tgz|tlz|tpz|txz|xz|zst|tzst)$`)
})

// installTools are the dependency installs ContextCopyBeforeInstall looks for.
func installStep(n string, args []string) string {
	sub, _ := subcommand(args)
	switch {
	case isApt(n) && sub == "install", n == "apk" && sub == "add", (n == "yum" || n == "dnf" || n == "microdnf") && sub == "install":
		return "" // system packages rarely come from the context
	case (n == "pip" || n == "pip3") && sub == "install" && (hasArg(args, "-r") || hasArg(args, "--requirement")):
		return n + " install -r"
	case (n == "npm" && (sub == "install" || sub == "ci" || sub == "i")), n == "yarn" && (sub == "" || sub == "install"), n == "pnpm" && sub == "install":
		return n + " " + sub
	case n == "go" && sub == "mod":
		return "go mod download"
	case n == "bundle" && (sub == "install" || sub == ""), n == "composer" && sub == "install", n == "poetry" && sub == "install",
		n == "cargo" && sub == "fetch", n == "mvn" && strings.HasPrefix(strings.Join(args, " "), "dependency:"):
		return strings.TrimSpace(n + " " + sub)
	}
	return ""
}

func (c *checker) layerRules(dt []byte) {
	globalIgnore := hadolintGlobalIgnores(dt)
	final := len(c.stages) - 1
	if c.o.Target != "" {
		for i, st := range c.stages {
			if strings.EqualFold(st.Name, c.o.Target) {
				final = i
			}
		}
	}
	inFinal := map[int]bool{}
	for i := final; i >= 0; i = c.baseIdx[i] {
		inFinal[i] = true
		if c.baseIdx[i] < 0 {
			break
		}
	}
	names := map[string]bool{}
	var lastUser *instructions.UserCommand
	for i, st := range c.stages {
		if !c.needed[i] {
			continue
		}
		stageLint := c.lint.WithMergedConfigFromComments(st.Comments)
		run := func(rule linter.LinterRuleI, loc []parser.Range, comments []string, lint *linter.Linter, msg ...string) {
			if ignored(rule.RuleName(), comments, globalIgnore) {
				return
			}
			lint.Run(rule, loc, msg...)
		}
		// FROM: DL3006/DL3007 on image references (not stages, not scratch, not variables).
		base := st.BaseName
		if !names[strings.ToLower(base)] && !strings.EqualFold(base, "scratch") && !strings.Contains(base, "$") {
			if ref, err := parseRef(base); err == nil {
				switch {
				case ref.digest:
				case ref.tag == "":
					run(RuleDL3006, st.Location, st.Comments, stageLint, RuleDL3006.Format())
				case ref.tag == "latest":
					run(RuleDL3007, st.Location, st.Comments, stageLint, RuleDL3007.Format())
				}
			}
		}
		if st.Name != "" {
			names[strings.ToLower(st.Name)] = true
		}
		shellCmd := []string{"/bin/sh", "-c"}
		if b := c.baseIdx[i]; b >= 0 && c.states[b] != nil && len(c.states[b].shell) > 0 {
			shellCmd = c.states[b].shell
		}
		var prevRun *instructions.RunCommand
		var contextCopy *instructions.CopyCommand
		for _, cmd := range st.Commands {
			lint := c.lint.WithMergedConfigFromComments(cmd.Comments())
			cm := cmd.Comments()
			switch x := cmd.(type) {
			case *instructions.ShellCommand:
				shellCmd = x.Shell
			case *instructions.UserCommand:
				if inFinal[i] {
					lastUser = x
				}
			case *instructions.CmdCommand:
				if x.PrependShell {
					run(RuleDL3025, x.Location(), cm, lint, RuleDL3025.Format())
				}
			case *instructions.EntrypointCommand:
				if x.PrependShell {
					run(RuleDL3025, x.Location(), cm, lint, RuleDL3025.Format())
				}
			case *instructions.AddCommand:
				local := len(x.SourcePaths) > 0
				for _, src := range x.SourcePaths {
					if isURLSource(src) || archiveSuffix().MatchString(src) {
						local = false
					}
				}
				if local {
					run(RuleDL3020, x.Location(), cm, lint, RuleDL3020.Format())
				}
			case *instructions.CopyCommand:
				if x.From == "" && contextCopy == nil {
					for _, src := range x.SourcePaths {
						if s := cleanSlash(src); s == "." || s == "/" || s == "*" {
							contextCopy = x
						}
					}
				}
			case *instructions.RunCommand:
				if prevRun != nil && strings.Join(prevRun.FlagsUsed, ",") == strings.Join(x.FlagsUsed, ",") && sameMounts(prevRun, x) {
					run(RuleDL3059, x.Location(), cm, lint, RuleDL3059.Format())
				}
				s := parseRun(x)
				c.runRules(x, s, shellCmd, inFinal[i], contextCopy, func(rule linter.LinterRuleI, msg ...string) {
					run(rule, x.Location(), cm, lint, msg...)
				})
			}
			if r, ok := cmd.(*instructions.RunCommand); ok {
				prevRun = r
			} else {
				prevRun = nil
			}
		}
	}
	if lastUser != nil {
		u, _, _ := strings.Cut(lastUser.User, ":")
		if u == "root" || u == "0" {
			lint := c.lint.WithMergedConfigFromComments(lastUser.Comments())
			if !ignored(RuleDL3002.Name, lastUser.Comments(), globalIgnore) {
				lint.Run(RuleDL3002, lastUser.Location(), RuleDL3002.Format())
			}
		}
	}
}

func sameMounts(a, b *instructions.RunCommand) bool {
	ma, mb := instructions.GetMounts(a), instructions.GetMounts(b)
	if len(ma) != len(mb) {
		return false
	}
	for i := range ma {
		if ma[i].Type != mb[i].Type || ma[i].Target != mb[i].Target || ma[i].Source != mb[i].Source || ma[i].From != mb[i].From {
			return false
		}
	}
	return true
}

func (c *checker) runRules(r *instructions.RunCommand, s script, shellCmd []string, final bool, contextCopy *instructions.CopyCommand, report func(linter.LinterRuleI, ...string)) {
	if !s.parsed {
		return
	}
	aptUpdate, aptInstall := false, false
	var pinned, recommends = true, true
	for _, call := range s.calls {
		n, args := cmdArgs(call)
		if n != "apt-get" { // hadolint's apt rules are apt-get's (plain apt is its DL3027)
			continue
		}
		sub, rest := subcommand(args)
		switch sub {
		case "update":
			aptUpdate = true
		case "install":
			aptInstall = true
			for _, a := range rest {
				if a == "" || strings.HasPrefix(a, "-") {
					continue
				}
				if !strings.Contains(a, "=") && !strings.HasSuffix(a, ".deb") {
					pinned = false
				}
			}
			if !hasArg(args, "--no-install-recommends", "APT::Install-Recommends=false", "-oAPT::Install-Recommends=false") {
				recommends = false
			}
		}
	}
	if aptInstall && !pinned {
		report(RuleDL3008, RuleDL3008.Format())
	}
	if aptInstall && !recommends {
		report(RuleDL3015, RuleDL3015.Format())
	}
	if final && aptUpdate && !s.removes("/var/lib/apt/lists") && !s.cached("/var/lib/apt/lists") {
		report(RuleDL3009, RuleDL3009.Format())
	}
	if s.find(func(n string, _ []string) bool { return n == "cd" }) {
		report(RuleDL3003, RuleDL3003.Format())
	}
	if s.pipe && r.PrependShell && !s.pipefail && posixShell(shellCmd) && !hasPipefail(shellCmd) {
		report(RuleDL4006, RuleDL4006.Format())
	}
	if contextCopy != nil {
		for _, call := range s.calls {
			n, args := cmdArgs(call)
			if step := installStep(n, args); step != "" {
				line := 0
				if l := contextCopy.Location(); len(l) > 0 {
					line = l[0].Start.Line
				}
				report(&RuleContextCopyBeforeInstall, RuleContextCopyBeforeInstall.Format(step, line))
				break
			}
		}
	}
	// Package manager caches left in the layer (apt's own lists are DL3009's).
	for _, call := range s.calls {
		n, args := cmdArgs(call)
		sub, _ := subcommand(args)
		switch {
		case n == "apk" && sub == "add" && !hasArg(args, "--no-cache") && !s.removes("/var/cache/apk") && !s.cached("/var/cache/apk"):
			report(&RulePackageCacheInLayer, RulePackageCacheInLayer.Format("apk add", "/var/cache/apk", "use `apk add --no-cache` or a cache mount"))
		case (n == "pip" || n == "pip3") && sub == "install" && !hasArg(args, "--no-cache-dir") && !c.envSet("PIP_NO_CACHE_DIR") && !s.removes("/root/.cache") && !s.cached("/root/.cache/pip") && !s.cached("/root/.cache"):
			report(&RulePackageCacheInLayer, RulePackageCacheInLayer.Format("pip install", "/root/.cache/pip", "use `pip install --no-cache-dir` or a cache mount"))
		case (n == "yum" || n == "dnf") && sub == "install" && !s.find(func(m string, a []string) bool { x, _ := subcommand(a); return m == n && x == "clean" }) && !s.removes("/var/cache/"+n) && !s.cached("/var/cache/"+n):
			report(&RulePackageCacheInLayer, RulePackageCacheInLayer.Format(n+" install", "/var/cache/"+n, "run `"+n+" clean all` in the same RUN or use a cache mount"))
		case n == "npm" && (sub == "install" || sub == "ci" || sub == "i") && !s.find(func(m string, a []string) bool { return m == "npm" && hasArg(a, "cache") }) && !s.removes("/root/.npm") && !s.cached("/root/.npm"):
			report(&RulePackageCacheInLayer, RulePackageCacheInLayer.Format("npm "+sub, "/root/.npm", "run `npm cache clean --force` in the same RUN or use a cache mount"))
		default:
			continue
		}
		break
	}
}

// envSet is not scoped per stage: any ENV or ARG of the Dockerfile naming k counts.
func (c *checker) envSet(k string) bool {
	for _, s := range c.states {
		if s == nil {
			continue
		}
		if _, ok := s.env.Get(k); ok {
			return true
		}
	}
	return false
}

func posixShell(sh []string) bool {
	if len(sh) == 0 {
		return true
	}
	switch path.Base(sh[0]) {
	case "sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox":
		return true
	}
	return false
}

func hasPipefail(sh []string) bool {
	for i, a := range sh {
		if a == "-opipefail" || a == "pipefail" && i > 0 && strings.HasPrefix(sh[i-1], "-") && strings.HasSuffix(sh[i-1], "o") {
			return true
		}
	}
	return false
}

// ignored reports whether a rule is switched off by "# hadolint ignore=DL3008,DL3009" right above
// the instruction or by a "# hadolint global ignore=..." anywhere.
func ignored(rule string, comments []string, global map[string]bool) bool {
	if global[rule] {
		return true
	}
	for _, c := range comments {
		if list, ok := hadolintIgnore(c); ok {
			for _, r := range list {
				if r == rule {
					return true
				}
			}
		}
	}
	return false
}

func hadolintIgnore(comment string) ([]string, bool) {
	c := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(comment), "#"))
	rest, ok := strings.CutPrefix(c, "hadolint")
	if !ok {
		return nil, false
	}
	rest = strings.TrimSpace(rest)
	rest, ok = strings.CutPrefix(rest, "ignore=")
	if !ok {
		return nil, false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return nil, true
	}
	var out []string
	for _, r := range strings.Split(fields[0], ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out, true
}

func hadolintGlobalIgnores(dt []byte) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(string(dt), "\n") {
		c := strings.TrimSpace(line)
		if !strings.HasPrefix(c, "#") {
			continue
		}
		c = strings.TrimSpace(strings.TrimPrefix(c, "#"))
		rest, ok := strings.CutPrefix(c, "hadolint global")
		if !ok {
			continue
		}
		if list, ok := hadolintIgnore("hadolint " + strings.TrimSpace(rest)); ok {
			for _, r := range list {
				out[r] = true
			}
		}
	}
	return out
}

type imageRef struct {
	tag    string
	digest bool
}

// parseRef splits an image reference into its tag and whether it has a digest, without
// normalising (a port in the registry host is not a tag).
func parseRef(s string) (imageRef, error) {
	var r imageRef
	if i := strings.Index(s, "@"); i >= 0 {
		r.digest = true
		s = s[:i]
	}
	last := s
	if i := strings.LastIndex(s, "/"); i >= 0 {
		last = s[i+1:]
	}
	if i := strings.LastIndex(last, ":"); i >= 0 {
		r.tag = last[i+1:]
	}
	return r, nil
}
