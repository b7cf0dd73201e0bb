package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/internal/doccheck"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/paths"
)

// The tests of this file hold the documentation against the binary: the
// commands and flags of hbd(8), the commands the pages tell the reader to
// type, the configuration files of the guides, and the README's quick
// start. hbd/internal/doccheck holds the checks that need no CLI.

// repoRoot is the repository's top directory, seen from this package.
const repoRoot = ".."

func readDoc(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// markdownPages returns README.md and docs/*.md, by path from the root.
func markdownPages(t *testing.T) map[string]string {
	t.Helper()
	pages := map[string]string{"README.md": readDoc(t, "README.md")}
	matches, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(matches) < 5 {
		t.Fatalf("docs/*.md: %v (%d pages)", err, len(matches))
	}
	for _, m := range matches {
		rel, _ := filepath.Rel(repoRoot, m)
		pages[filepath.ToSlash(rel)] = readDoc(t, rel)
	}
	return pages
}

// binaryCLI asks the binary what it takes: the commands `hbd help` lists
// and, for each, the flags its -h shows (plus -h itself).
func binaryCLI(t *testing.T) doccheck.CLI {
	t.Helper()
	var help, errOut bytes.Buffer
	dispatch([]string{"help"}, &help, &errOut)
	cmds := doccheck.HelpCommands(help.String())
	if len(cmds) < 8 {
		t.Fatalf("hbd help lists %d commands (%v): did its format change?\n%s", len(cmds), cmds, help.String())
	}
	cli := doccheck.CLI{}
	for _, c := range cmds {
		var out, errOut bytes.Buffer
		dispatch([]string{c, "-h"}, &out, &errOut)
		flags := doccheck.UsageFlags(out.String() + errOut.String())
		flags["h"], flags["help"] = false, false
		cli[c] = flags
	}
	return cli
}

// checkManPage holds hbd(8) against the CLI: every command has a
// SYNOPSIS entry and a paragraph in COMMANDS, every flag of a command
// appears in its entry, and every entry names a command that exists.
func checkManPage(cli doccheck.CLI, synopsis, commandTags []string) []string {
	var problems []string
	described := map[string]bool{}
	for _, tag := range commandTags {
		for _, part := range strings.Split(tag, ", ") {
			if f := strings.Fields(part); len(f) > 0 {
				described[f[0]] = true
			}
		}
	}
	for _, c := range sortedCommands(cli) {
		if !described[c] {
			problems = append(problems, fmt.Sprintf("hbd.8 COMMANDS has no paragraph for %s", c))
		}
	}
	documented := map[string][]string{}
	for _, e := range synopsis {
		cmds, flags := doccheck.SynopsisEntry(e)
		if len(cmds) == 0 {
			continue
		}
		for _, c := range cmds {
			if _, ok := cli[c]; !ok && c != "version" {
				problems = append(problems, fmt.Sprintf("hbd.8 SYNOPSIS shows %q, which hbd help does not list", e))
			}
			documented[c] = append(documented[c], flags...)
		}
	}
	for _, c := range sortedCommands(cli) {
		flags, ok := documented[c]
		if !ok {
			problems = append(problems, fmt.Sprintf("hbd.8 SYNOPSIS has no entry for `hbd %s`", c))
			continue
		}
		for _, f := range sortedFlags(cli[c]) {
			if f != "h" && f != "help" && !slices.Contains(flags, f) {
				problems = append(problems, fmt.Sprintf("hbd.8 SYNOPSIS of `hbd %s` lacks its flag -%s", c, f))
			}
		}
	}
	return problems
}

func sortedCommands(cli doccheck.CLI) []string {
	var out []string
	for c := range cli {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func sortedFlags(flags map[string]bool) []string {
	var out []string
	for f := range flags {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func TestManPageCommands(t *testing.T) {
	cli := binaryCLI(t)
	lines := doccheck.ManLines(readDoc(t, "docs/man/hbd.8"))
	synopsis := doccheck.Synopsis(lines)
	for _, p := range checkManPage(cli, synopsis, doccheck.Tags(doccheck.ManSection(lines, "COMMANDS"))) {
		t.Error(p)
	}
}

// TestCheckManPageFails: a command, a flag or a whole entry missing from
// the SYNOPSIS is caught, and so is an entry for a command that is gone.
func TestCheckManPageFails(t *testing.T) {
	cli := doccheck.CLI{
		"check":    {"c": true, "node": true, "h": false},
		"standby":  {"run-dir": true},
		"takeover": {"run-dir": true},
		"install":  {"c": true, "config": true, "print": false},
	}
	man := func(entries ...string) []string {
		return doccheck.Synopsis(doccheck.ManLines(".SH SYNOPSIS\n" + strings.Join(entries, "\n.br\n") + "\n.SH DESCRIPTION\n"))
	}
	check := ".B hbd check\n.RB [ \\-c\n.IR DIR ]\n.RB [ \\-\\-node\n.IR NAME ]"
	standby := ".B hbd standby\n|\n.B takeover\n.RB [ \\-\\-run\\-dir\n.IR DIR ]\n.RB [ all | foreign ]"
	install := ".B hbd install\n.RB [ \\-c | \\-\\-config\n.IR DIR ]\n.RB [ \\-\\-print ]"
	tags := []string{"check", "standby [all|foreign]", "takeover [all|foreign]", "install"}
	tests := []struct {
		name     string
		synopsis []string
		tags     []string
		problems []string
	}{
		{"in step", man(check, standby, install), tags, nil},
		{"no paragraph", man(check, standby, install), tags[:3], []string{"COMMANDS has no paragraph for install"}},
		{"command missing", man(check, install), tags, []string{"no entry for `hbd standby`", "no entry for `hbd takeover`"}},
		{"flag missing", man(check, standby, ".B hbd install\n.RB [ \\-\\-config\n.IR DIR ]\n.RB [ \\-\\-print ]"), tags,
			[]string{"SYNOPSIS of `hbd install` lacks its flag -c"}},
		{"command gone", man(check, standby, install, ".B hbd frobnicate"), tags, []string{`shows "hbd frobnicate", which hbd help does not list`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkManPage(cli, tt.synopsis, tt.tags), tt.problems)
		})
	}
}

// wantProblems asserts that each wanted piece is in one of the problems,
// and that there are problems exactly when some are wanted.
func wantProblems(t *testing.T, got, want []string) {
	t.Helper()
	if len(want) == 0 && len(got) > 0 {
		t.Errorf("unexpected problems:\n%s", strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("no problem contains %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// checkDocCommands finds the hbd commands of a page that the CLI does
// not have.
func checkDocCommands(cli doccheck.CLI, name, md string) []string {
	var problems []string
	for _, inv := range doccheck.Invocations(md) {
		if err := cli.Check(inv.Args); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %q: %v", name, inv.Line, inv.Text, err))
		}
	}
	return problems
}

func TestDocCommands(t *testing.T) {
	cli := binaryCLI(t)
	n := 0
	for name, md := range markdownPages(t) {
		n += len(doccheck.Invocations(md))
		for _, p := range checkDocCommands(cli, name, md) {
			t.Error(p)
		}
	}
	if n < 50 {
		t.Errorf("found only %d hbd commands in the pages: is the extraction broken?", n)
	}
}

// TestCheckDocCommandsFails: an unknown command or flag in a shell block,
// a prompted line or a code span is caught; what the CLI takes is not.
func TestCheckDocCommandsFails(t *testing.T) {
	cli := doccheck.CLI{
		"run":     {"c": true, "node": true},
		"check":   {"c": true, "node": true},
		"status":  {"json": false, "run-dir": true},
		"standby": {"run-dir": true},
		"harc":    {"c": true, "v": false},
		"agent":   {},
	}
	tests := []struct {
		name     string
		md       string
		problems []string
	}{
		{"in step", "```sh\nsudo hbd check -c /etc/ha.d --node node1   # comment -x\nhbd status --json && hb_standby all\n" +
			"sudo bin/hbd harc -v status 1\nhbd agent IPaddr2 10.0.0.5/24/eth0 -x start\n```\n\n```\n$ hbd check\nhbd frob (output, not a command)\n```\n" +
			"Run `hbd check [-c DIR] [--node NAME]` or `hbd --node node1`.\n", nil},
		{"unknown command", "```sh\nsudo hbd frob\n```\n", []string{`"sudo hbd frob": hbd has no command "frob"`}},
		{"unknown flag", "```sh\nhbd status --jsn\n```\n", []string{`hbd status has no flag "--jsn"`}},
		{"flag after value", "```sh\nhbd check -c /etc/ha.d --nod node1\n```\n", []string{`hbd check has no flag "--nod"`}},
		{"prompted line", "```\n$ sudo hbd statu\n```\n", []string{`hbd has no command "statu"`}},
		{"legacy name", "```sh\nhb_standby --force\n```\n", []string{`hbd standby has no flag "--force"`}},
		{"code span", "Use `hbd install --print` to see it.\n", []string{`hbd has no command "install"`}},
		{"daemon flag", "Use `hbd --nodes node1`.\n", []string{`hbd run has no flag "--nodes"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkDocCommands(cli, "page.md", tt.md), tt.problems)
		})
	}
}

// guideSet is one configuration directory a page describes: its files,
// from the page's marked blocks.
type guideSet struct {
	files   map[string]string // ha.cf, authkeys, haresources
	scripts []string          // resource.d/NAME the page says to create
}

// guideSets reads the markers of a page. A block preceded by
// <!-- hbd-check SET FILE --> is that file of configuration SET (FILE is
// ha.cf, authkeys or haresources); <!-- hbd-check SET FILE append -->
// adds the block to it; a line <!-- hbd-check SET script resource.d/NAME -->
// says the page has the reader create that script, and a line
// <!-- hbd-check SET sample --> starts the set from the files of sample
// (etc/ha.d), for a page that shows only the lines it adds.
func guideSets(md string, sample map[string]string) (map[string]*guideSet, []string) {
	sets := map[string]*guideSet{}
	var problems []string
	get := func(name string) *guideSet {
		if sets[name] == nil {
			sets[name] = &guideSet{files: map[string]string{}}
		}
		return sets[name]
	}
	for i, l := range strings.Split(md, "\n") {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "<!-- hbd-check ") || !strings.HasSuffix(t, "-->") {
			continue
		}
		f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(t, "<!--"), "-->"))
		switch {
		case len(f) == 3 && f[2] == "sample":
			for name, body := range sample {
				get(f[1]).files[name] = body
			}
		case len(f) == 4 && f[2] == "script":
			if !strings.HasPrefix(f[3], "resource.d/") {
				problems = append(problems, fmt.Sprintf("line %d: script %s is not under resource.d/", i+1, f[3]))
				continue
			}
			get(f[1]).scripts = append(get(f[1]).scripts, f[3])
		}
	}
	for _, b := range doccheck.Blocks(md) {
		f := strings.Fields(b.Marker)
		if len(f) == 0 || f[0] != "hbd-check" {
			continue
		}
		if len(f) < 3 || len(f) > 4 || len(f) == 4 && f[3] != "append" {
			problems = append(problems, fmt.Sprintf("line %d: marker %q: want hbd-check SET FILE [append]", b.Line-1, b.Marker))
			continue
		}
		s := get(f[1])
		if len(f) == 4 {
			s.files[f[2]] += b.Body
		} else {
			s.files[f[2]] = b.Body
		}
	}
	return sets, problems
}

// sampleFiles returns the configuration files of etc/ha.d, with the
// authkeys placeholder replaced as its comment tells the reader to (hbd
// refuses the placeholder, and check warns about it).
func sampleFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, f := range []string{"ha.cf", "authkeys", "haresources"} {
		files[f] = readDoc(t, filepath.Join("etc", "ha.d", f))
	}
	files["authkeys"] = strings.ReplaceAll(files["authkeys"], "REPLACE-ME", "replaced")
	return files
}

// checkGuideConfig writes each configuration set of a page to a temp
// directory (authkeys at 0600, the scripts the page names as executable
// stubs) and runs `hbd check` on it for every node of its ha.cf: it must
// exit 0, with no warning but a missing interface (the guides' machines
// have eth0, this one may not).
func checkGuideConfig(t *testing.T, name, md string) (problems []string, sets int) {
	t.Helper()
	all, problems := guideSets(md, sampleFiles(t))
	for setName, s := range all {
		where := fmt.Sprintf("%s (hbd-check %s)", name, setName)
		dir := t.TempDir()
		complete := true
		for _, f := range []string{"ha.cf", "authkeys", "haresources"} {
			if _, ok := s.files[f]; !ok {
				problems = append(problems, fmt.Sprintf("%s: no block marked as %s", where, f))
				complete = false
			}
		}
		if !complete {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, "resource.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for f, body := range s.files {
			if f != "ha.cf" && f != "authkeys" && f != "haresources" {
				problems = append(problems, fmt.Sprintf("%s: %s is not a configuration file (ha.cf, authkeys, haresources)", where, f))
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, sc := range s.scripts {
			if err := os.WriteFile(filepath.Join(dir, sc), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var nodes []string
		for _, l := range strings.Split(s.files["ha.cf"], "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "node" {
				nodes = append(nodes, f[1:]...)
			}
		}
		if len(nodes) == 0 {
			problems = append(problems, fmt.Sprintf("%s: its ha.cf has no node line", where))
		}
		for _, node := range nodes {
			var out, errOut bytes.Buffer
			rc := runCheck([]string{"-c", dir, "--node", node, "--run-dir", t.TempDir()}, &out, &errOut)
			if rc != 0 {
				problems = append(problems, fmt.Sprintf("%s: hbd check --node %s exits %d:\n%s", where, node, rc, errOut.String()))
				continue
			}
			for _, l := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
				if l != "" && !strings.Contains(l, "does not exist on this machine") {
					problems = append(problems, fmt.Sprintf("%s: hbd check --node %s: %s", where, node, l))
				}
			}
		}
		sets++
	}
	return problems, sets
}

func TestGuideConfigs(t *testing.T) {
	total := 0
	for name, md := range markdownPages(t) {
		problems, n := checkGuideConfig(t, name, md)
		for _, p := range problems {
			t.Error(p)
		}
		total += n
	}
	// The floating-IP and the Elastic IP guides each describe one cluster.
	if total < 2 {
		t.Errorf("only %d marked configurations found in the pages", total)
	}
}

// TestCheckGuideConfigFails: a broken file, a missing file and a script
// the page does not create are each caught.
func TestCheckGuideConfigFails(t *testing.T) {
	page := func(hacf, haresources string, script bool) string {
		s := "<!-- hbd-check g ha.cf -->\n```\n" + hacf + "```\n\n<!-- hbd-check g authkeys -->\n```\nauth 1\n1 sha1 guide-test-secret-0123456789\n```\n\n" +
			"<!-- hbd-check g haresources -->\n```\n" + haresources + "```\n"
		if script {
			s += "<!-- hbd-check g script resource.d/web -->\n"
		}
		return s
	}
	hacf := "node node1 node2\nucast lo 127.0.0.2\nauto_failback on\n"
	tests := []struct {
		name     string
		md       string
		problems []string
	}{
		{"in step", page(hacf, "node1 web\n", true), nil},
		{"typo", page(hacf+"keepalived 2\n", "node1 web\n", true), []string{`hbd check --node node1 exits 1`, `unknown directive "keepalived"`}},
		{"warning", page("node node1 node2\nucast lo 127.0.0.2\n", "node1 web\n", true), []string{"auto_failback is not set"}},
		{"script not created", page(hacf, "node1 web\n", false), []string{"cannot locate resource script web"}},
		{"file missing", "<!-- hbd-check g ha.cf -->\n```\n" + hacf + "```\n", []string{"no block marked as authkeys", "no block marked as haresources"}},
		{"bad marker", "<!-- hbd-check g -->\n```\nx\n```\n", []string{"want hbd-check SET FILE [append]"}},
		{"on the sample", "<!-- hbd-check g sample -->\n<!-- hbd-check g script resource.d/nginx -->\n<!-- hbd-check g ha.cf append -->\n```\nping 10.0.0.1\n```\n", nil},
		{"on the sample, broken", "<!-- hbd-check g sample -->\n<!-- hbd-check g script resource.d/nginx -->\n<!-- hbd-check g ha.cf append -->\n```\nping gateway\n```\n",
			[]string{`ping: "gateway" is not an IP address`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, _ := checkGuideConfig(t, "page.md", tt.md)
			wantProblems(t, problems, tt.problems)
		})
	}
}

// runQuickStart runs a quick start's lines in a fresh copy of the
// repository's etc/ha.d, with the file modes git gives a clone (0644, or
// 0755 for executables): `chmod MODE PATH` is applied, `bin/hbd ARGS` runs
// this hbd and must exit 0; `make build` is this test's own build, and
// lines with sudo need root and a running cluster, so they are left to
// TestDocCommands.
func runQuickStart(t *testing.T, block string) []string {
	t.Helper()
	clone := t.TempDir()
	src := filepath.Join(repoRoot, "etc", "ha.d")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		dst := filepath.Join(clone, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if fi.Mode()&0o100 != 0 {
			mode = 0o755
		}
		if err := os.WriteFile(dst, b, mode); err != nil {
			return err
		}
		return os.Chmod(dst, mode) // whatever the umask
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(clone)
	var problems []string
	ran := 0
	for i, line := range strings.Split(block, "\n") {
		if j := strings.Index(line, " #"); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0, f[0] == "sudo", len(f) == 2 && f[0] == "make" && f[1] == "build":
		case f[0] == "chmod" && len(f) == 3:
			mode, err := strconv.ParseUint(f[1], 8, 32)
			if err == nil {
				err = os.Chmod(f[2], os.FileMode(mode))
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("line %d: %s: %v", i+1, line, err))
			}
		case f[0] == "bin/hbd":
			var out, errOut bytes.Buffer
			if rc := dispatch(f[1:], &out, &errOut); rc != 0 {
				problems = append(problems, fmt.Sprintf("line %d: %s exits %d:\n%s", i+1, strings.TrimSpace(line), rc, errOut.String()))
			}
			ran++
		default:
			problems = append(problems, fmt.Sprintf("line %d: %q: the test does not know how to run this", i+1, strings.TrimSpace(line)))
		}
	}
	if ran == 0 {
		problems = append(problems, "no bin/hbd line was run")
	}
	return problems
}

// quickStart returns the README's quick start block: the one after the
// <!-- hbd-quickstart --> marker.
func quickStart(t *testing.T) string {
	t.Helper()
	for _, b := range doccheck.Blocks(readDoc(t, "README.md")) {
		if b.Marker == "hbd-quickstart" {
			return b.Body
		}
	}
	t.Fatal("README.md has no block marked <!-- hbd-quickstart -->")
	return ""
}

func TestQuickStart(t *testing.T) {
	for _, p := range runQuickStart(t, quickStart(t)) {
		t.Error(p)
	}
}

// TestQuickStartFails: without its chmod the quick start's check fails on
// a fresh clone, as it did; an unknown step is reported.
func TestQuickStartFails(t *testing.T) {
	var without []string
	for _, l := range strings.Split(quickStart(t), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "chmod ") {
			without = append(without, l)
		}
	}
	t.Run("without chmod", func(t *testing.T) {
		wantProblems(t, runQuickStart(t, strings.Join(without, "\n")), []string{"exits 1", "mode 0644 allows group/others access"})
	})
	t.Run("unknown step", func(t *testing.T) {
		wantProblems(t, runQuickStart(t, "bin/hbd check -c etc/ha.d --node node1\ncp a b\n"), []string{`"cp a b": the test does not know how to run this`, "exits 1"})
	})
}

// errorMutations break a copy of the sample the way each row of the
// floating-IP guide's "Common errors" table says, keyed by the row's
// first cell; each returns the node name to check as.
var errorMutations = map[string]func(t *testing.T, dir string) string{
	"authkeys readable by others": func(t *testing.T, dir string) string {
		chmod(t, filepath.Join(dir, "authkeys"), 0o644)
		return "node1"
	},
	"a typo in a directive": func(t *testing.T, dir string) string {
		editLine(t, dir, "ha.cf", "keepalive 1", "keepalived 1")
		return "node1"
	},
	"a resource script that does not exist": func(t *testing.T, dir string) string {
		editLine(t, dir, "haresources", "node1 IPaddr2::10.0.0.100/24/eth0 nginx", "node1 IPaddr2::10.0.0.100/24/eth0 nginx-proxy")
		return "node1"
	},
	"a script that is not executable": func(t *testing.T, dir string) string {
		chmod(t, filepath.Join(dir, "resource.d", "nginx"), 0o644)
		return "node1"
	},
	"this node is not a `node` (host name differs)": func(*testing.T, string) string { return "web1" },
	"deadtime too small": func(t *testing.T, dir string) string {
		editLine(t, dir, "ha.cf", "deadtime 5", "deadtime 2")
		return "node1"
	},
	"a unit Heartbeat does not know": func(t *testing.T, dir string) string {
		editLine(t, dir, "ha.cf", "warntime 2", "warntime 2m")
		return "node1"
	},
	"`auth` names a key that is not there": func(t *testing.T, dir string) string {
		editLine(t, dir, "authkeys", "auth 1", "auth 2")
		return "node1"
	},
	"Pacemaker mode": func(t *testing.T, dir string) string {
		editLine(t, dir, "ha.cf", "crm off", "crm respawn")
		return "node1"
	},
	"an interface that does not exist (warning; `hbd run` refuses)": func(t *testing.T, dir string) string {
		editLine(t, dir, "ha.cf", "ucast eth0 10.0.0.11", "ucast eth1 10.0.0.11")
		return "node1"
	},
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// editLine replaces the one line of dir/file that reads old.
func editLine(t *testing.T, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	text, err := replaceLine(string(b), file, old, new)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// theirInterfaces hides the machine's own interface list in a message.
var theirInterfaces = regexp.MustCompile(`\(it has: [^)]*\)`)

// checkErrorRows runs each row's mutation on a copy of the sample (which
// the guide says it put in /tmp/ha.d) and compares what hbd check prints
// with the row's message, word for word.
func checkErrorRows(t *testing.T, rows [][]string) []string {
	t.Helper()
	var problems []string
	for _, row := range rows {
		if len(row) < 2 {
			continue
		}
		mutate, ok := errorMutations[row[0]]
		if !ok {
			problems = append(problems, fmt.Sprintf("row %q: no mutation reproduces it; add one to errorMutations", row[0]))
			continue
		}
		dir := sampleCopy(t)
		node := mutate(t, dir)
		var out, errOut bytes.Buffer
		runCheck([]string{"-c", dir, "--node", node, "--run-dir", t.TempDir()}, &out, &errOut)
		got := theirInterfaces.ReplaceAllString(strings.ReplaceAll(errOut.String(), dir, "/tmp/ha.d"), "(it has: …)")
		want := theirInterfaces.ReplaceAllString(strings.TrimSuffix(strings.TrimPrefix(row[1], "`"), "`"), "(it has: …)")
		if !slices.Contains(strings.Split(got, "\n"), want) {
			problems = append(problems, fmt.Sprintf("row %q: hbd check does not print\n  %s\nit prints:\n%s", row[0], want, got))
		}
	}
	return problems
}

func TestGuideErrorMessages(t *testing.T) {
	md := readDoc(t, "docs/guide-floating-ip-nginx.md")
	rows := doccheck.TableRows(doccheck.Section(md, "10. Common errors"))
	if len(rows) < 5 {
		t.Fatalf("found %d rows in the guide's Common errors table", len(rows))
	}
	for _, p := range checkErrorRows(t, rows) {
		t.Error(p)
	}
}

// TestCheckErrorRowsFails: a message that is not what hbd check prints (a
// wrong line number) and a row nothing reproduces are caught.
func TestCheckErrorRowsFails(t *testing.T) {
	wantProblems(t, checkErrorRows(t, [][]string{
		{"a typo in a directive", "`/tmp/ha.d/ha.cf:19: unknown directive \"keepalived\"; did you mean \"keepalive\"?`"},
		{"a brand new mistake", "`/tmp/ha.d/ha.cf:1: oops`"},
	}), []string{`row "a typo in a directive": hbd check does not print`, `row "a brand new mistake": no mutation reproduces it`})
}

// theirWarnings matches what only this machine warns about: an interface
// of the sample it does not have.
const theirWarnings = "does not exist on this machine"

// checkOutput runs `hbd check ARGS` on a copy of the sample (chmod 600
// authkeys, as the README's quick start says) and returns what a terminal
// shows: the diagnostics, then the summary, with the copy's path written
// as etc/ha.d. Warnings that depend on this machine's interfaces are left
// out, and the count in the summary's first line with them.
func checkOutput(t *testing.T, args []string) string {
	t.Helper()
	dir := sampleCopy(t)
	for i := range args {
		if args[i] == "etc/ha.d" {
			args[i] = dir
		}
	}
	var out, errOut bytes.Buffer
	runCheck(append(args, "--run-dir", t.TempDir()), &out, &errOut)
	var lines []string
	dropped := 0
	for _, l := range strings.Split(strings.TrimRight(errOut.String(), "\n"), "\n") {
		if strings.Contains(l, theirWarnings) {
			dropped++
		} else if l != "" {
			lines = append(lines, l)
		}
	}
	summary := out.String()
	if dropped > 0 {
		summary = warningCount.ReplaceAllStringFunc(summary, func(s string) string {
			n, _ := strconv.Atoi(warningCount.FindStringSubmatch(s)[1])
			switch n -= dropped; n {
			case 0:
				return ""
			case 1:
				return " (1 warning above)"
			default:
				return fmt.Sprintf(" (%d warnings above)", n)
			}
		})
	}
	text := strings.Join(append(lines, strings.TrimRight(summary, "\n")), "\n")
	return strings.ReplaceAll(text, dir, "etc/ha.d")
}

var warningCount = regexp.MustCompile(` \((\d+) warnings? above\)`)

// quotedCheck finds the block of a page that quotes `$ hbd check ARGS`
// and its output.
func quotedCheck(md string) (args []string, output string, ok bool) {
	for _, b := range doccheck.Blocks(md) {
		first, rest, _ := strings.Cut(b.Body, "\n")
		if strings.HasPrefix(first, "$ hbd check ") {
			return strings.Fields(first)[3:], strings.TrimRight(rest, "\n"), true
		}
	}
	return nil, "", false
}

// TestGuideCheckOutput: the floating-IP guide quotes hbd check on the
// sample; it is what hbd check prints.
func TestGuideCheckOutput(t *testing.T) {
	args, quoted, ok := quotedCheck(readDoc(t, "docs/guide-floating-ip-nginx.md"))
	if !ok {
		t.Fatal("docs/guide-floating-ip-nginx.md quotes no `$ hbd check` output")
	}
	if got := checkOutput(t, args); got != quoted {
		t.Errorf("the guide quotes\n%s\n\nhbd check prints\n%s", quoted, got)
	}
}

func TestCheckOutputFails(t *testing.T) {
	args, quoted, ok := quotedCheck("text\n\n```\n$ hbd check -c etc/ha.d --node node2\netc/ha.d is valid for node node1\n```\n")
	if !ok || len(args) != 4 {
		t.Fatalf("quotedCheck = %q, %q, %v", args, quoted, ok)
	}
	if got := checkOutput(t, args); got == quoted || !strings.Contains(got, "is valid for node node2") {
		t.Errorf("a quote of the wrong node's output went unnoticed: %q", got)
	}
}

// checkManPaths holds the paths of hbd(8) against the code's: the
// defaults its OPTIONS state, and the files FILES lists.
func checkManPaths(hbd8 string, defaults map[string]string, files []string) []string {
	lines := doccheck.ManLines(hbd8)
	var problems []string
	options := doccheck.Paragraphs(doccheck.ManSection(lines, "OPTIONS"))
	for tag, want := range defaults {
		body, ok := options[tag]
		if !ok {
			problems = append(problems, fmt.Sprintf("hbd.8 OPTIONS has no %q", tag))
		} else if !strings.Contains(body, "Default "+want) {
			problems = append(problems, fmt.Sprintf("hbd.8 OPTIONS: %s does not say \"Default %s\": %q", tag, want, body))
		}
	}
	var listed []string
	for _, tag := range doccheck.Tags(doccheck.ManSection(lines, "FILES")) {
		listed = append(listed, strings.Split(tag, ", ")...)
	}
	for _, f := range files {
		if !slices.Contains(listed, f) {
			problems = append(problems, fmt.Sprintf("hbd.8 FILES does not list %s", f))
		}
	}
	return problems
}

func manPathsWanted() (map[string]string, []string) {
	return map[string]string{
			"-c DIR":          paths.ConfigDir,
			"--run-dir DIR":   paths.RunDir,
			"--state-dir DIR": paths.StateDir,
		}, []string{
			filepath.Join(paths.ConfigDir, config.HaCfFile),
			filepath.Join(paths.ConfigDir, config.AuthkeysFile),
			filepath.Join(paths.ConfigDir, config.HaresourcesFile),
			filepath.Join(paths.ConfigDir, paths.ResourceDir) + "/",
			filepath.Join(paths.RunDir, ctl.PidFileName),
			filepath.Join(paths.RunDir, ctl.SocketName),
			filepath.Join(paths.StateDir, "hb_uuid"),
			filepath.Join(paths.StateDir, "hb_generation"),
		}
}

func TestManPagePaths(t *testing.T) {
	defaults, files := manPathsWanted()
	for _, p := range checkManPaths(readDoc(t, "docs/man/hbd.8"), defaults, files) {
		t.Error(p)
	}
}

func TestCheckManPathsFails(t *testing.T) {
	defaults, files := manPathsWanted()
	man := readDoc(t, "docs/man/hbd.8")
	moved := strings.Replace(man, ".I /run/heartbeat/hbd.sock", ".I /run/hbd/hbd.sock", 1)
	wantProblems(t, checkManPaths(moved, defaults, files), []string{"FILES does not list /run/heartbeat/hbd.sock"})
	other := strings.Replace(man, "Default\n.IR /var/lib/heartbeat .", "Default\n.IR /var/lib/hbd .", 1)
	wantProblems(t, checkManPaths(other, defaults, files), []string{`--state-dir DIR does not say "Default /var/lib/heartbeat"`})
}

// guideStatus is the cluster the floating-IP guide's `hbd status` quote
// shows (section 5): node1 active 10 s after its start, node2 heard 73 ms
// ago on eth0, the group running on node1 for 5.929 s.
func guideStatus(now time.Time) ctl.Status {
	return ctl.Status{
		PID:     28557,
		Started: now.Add(-10 * time.Second),
		Cluster: cluster.Status{
			Node: "node1", State: "active", Generation: 1795326667,
			Peers: []cluster.PeerStatus{{
				Name: "node2", State: "active", LastHeard: now.Add(-73 * time.Millisecond), Generation: 1795326670,
				Links: []cluster.LinkStatus{{Name: "eth0", State: "up", LastHeard: now.Add(-73 * time.Millisecond)}},
			}},
			Groups: []cluster.GroupStatus{{
				Key: "IPaddr2::10.0.0.100/24/eth0", Preferred: "node1", Holder: "node1", State: "running",
				Since: now.Add(-5929 * time.Millisecond),
			}},
		},
		Links: map[string]link.LinkStats{"eth0": {Sent: 23, Received: 18}},
	}
}

// quotedOutput returns the lines after `$ COMMAND` in the first block of
// a page that quotes it.
func quotedOutput(md, command string) (string, bool) {
	for _, b := range doccheck.Blocks(md) {
		first, rest, _ := strings.Cut(b.Body, "\n")
		if first == "$ "+command {
			return strings.TrimRight(rest, "\n"), true
		}
	}
	return "", false
}

// TestGuideStatusOutput: the guide's `hbd status` screen is what hbd
// status prints for the cluster it shows.
func TestGuideStatusOutput(t *testing.T) {
	quoted, ok := quotedOutput(readDoc(t, "docs/guide-floating-ip-nginx.md"), "sudo hbd status")
	if !ok {
		t.Fatal("docs/guide-floating-ip-nginx.md quotes no `$ sudo hbd status`")
	}
	now := time.Date(2026, 11, 22, 5, 51, 20, 0, time.UTC)
	var out bytes.Buffer
	printStatus(&out, guideStatus(now), now)
	if got := trimLines(out.String()); got != trimLines(quoted) {
		t.Errorf("the guide quotes\n%s\n\nhbd status prints\n%s", quoted, got)
	}
}

func TestQuotedOutput(t *testing.T) {
	md := "```\n$ sudo hbd status\nnode1 (this node): active\n```\n"
	if got, ok := quotedOutput(md, "sudo hbd status"); !ok || got != "node1 (this node): active" {
		t.Errorf("quotedOutput = %q, %v", got, ok)
	}
	if _, ok := quotedOutput(md, "hbd status"); ok {
		t.Error("quotedOutput found a command the page does not quote")
	}
}

// trimLines drops the spaces at the ends of lines (tabwriter pads the
// last column; a page does not keep them) and the final newlines.
func trimLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// TestGuideStatusOutputCanFail: another state prints another screen, so
// the comparison above sees a drift.
func TestGuideStatusOutputCanFail(t *testing.T) {
	quoted, _ := quotedOutput(readDoc(t, "docs/guide-floating-ip-nginx.md"), "sudo hbd status")
	now := time.Date(2026, 11, 22, 5, 51, 20, 0, time.UTC)
	st := guideStatus(now)
	st.Links["eth0"] = link.LinkStats{Sent: 23, Received: 18, KernelDrops: 1}
	var out bytes.Buffer
	printStatus(&out, st, now)
	if trimLines(out.String()) == trimLines(quoted) {
		t.Error("a status with a kernel drop printed the guide's screen")
	}
}

// TestGuideNotRunningMessage: what the floating-IP guide says hbd status
// prints, and its exit status, with no daemon running.
func TestGuideNotRunningMessage(t *testing.T) {
	md := readDoc(t, "docs/guide-floating-ip-nginx.md")
	m := regexp.MustCompile("it prints\\s+`([^`]+)`\\s+and exits (\\d+)").FindStringSubmatch(strings.Join(strings.Fields(md), " "))
	if m == nil {
		t.Fatal("the guide no longer says what hbd status prints with no daemon running")
	}
	runDir := t.TempDir()
	var out, errOut bytes.Buffer
	rc := runStatus([]string{"--run-dir", runDir}, &out, &errOut)
	got := strings.TrimSpace(strings.ReplaceAll(errOut.String(), runDir, paths.RunDir))
	if got != m[1] || strconv.Itoa(rc) != m[2] {
		t.Errorf("the guide says %q and exit %s; hbd status prints %q and exits %d", m[1], m[2], got, rc)
	}
}
