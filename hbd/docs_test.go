package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/internal/doccheck"
)

// The docs_*_test.go files hold the documentation against the binary:
// the commands and flags of hbd(8) (docs_man_test.go), the commands the
// pages tell the reader to type, as root where they need it (this
// file), the configuration files of the guides and the README's quick
// start (docs_guides_test.go), what the guides quote hbd printing
// (docs_quotes_test.go), and the etcd guide's etcdctl commands, run
// against etcd (docs_etcd_test.go).
// hbd/internal/doccheck holds the checks that need no CLI.

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

// binarySubcommands asks the binary, as binaryCLI does, for the words
// each command takes first after its flags (doccheck.UsageWords).
func binarySubcommands(t *testing.T, cli doccheck.CLI) doccheck.Subcommands {
	t.Helper()
	subs := doccheck.Subcommands{}
	for c := range cli {
		var out, errOut bytes.Buffer
		dispatch([]string{c, "-h"}, &out, &errOut)
		if words, ok := doccheck.UsageWords(c, out.String()+errOut.String()); ok {
			subs[c] = words
		}
	}
	return subs
}

// checkDocCommands finds the hbd commands of a page that the CLI does
// not have: an unknown command, flag, or first word after the flags.
func checkDocCommands(cli doccheck.CLI, subs doccheck.Subcommands, name, md string) []string {
	var problems []string
	for _, inv := range doccheck.Invocations(md) {
		err := cli.Check(inv.Args)
		if err == nil {
			err = cli.CheckWord(inv.Args, subs)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %q: %v", name, inv.Line, inv.Text, err))
		}
	}
	return problems
}

func TestDocCommands(t *testing.T) {
	cli := binaryCLI(t)
	subs := binarySubcommands(t, cli)
	// What the usage texts say, read right: a list, the list a
	// placeholder stands for, none, any.
	for _, w := range []struct {
		cmd, word string
		takes     bool
	}{{"node", "fenced", true}, {"group", "move", true}, {"harc", "takegroup", true}, {"cl_status", "hblinkstatus", true},
		{"standby", "failback", true}, {"status", "all", false}, {"node", "frob", false}} {
		if got := slices.Contains(subs[w.cmd], w.word); got != w.takes {
			t.Fatalf("hbd %s takes %q: %v, want %v (words %q): did its usage's form change?", w.cmd, w.word, got, w.takes, subs[w.cmd])
		}
	}
	if _, listed := subs["agent"]; listed {
		t.Fatalf("hbd agent takes only %q first, want any agent name", subs["agent"])
	}
	n := 0
	for name, md := range markdownPages(t) {
		n += len(doccheck.Invocations(md))
		for _, p := range checkDocCommands(cli, subs, name, md) {
			t.Error(p)
		}
	}
	if n < 50 {
		t.Errorf("found only %d hbd commands in the pages: is the extraction broken?", n)
	}
}

// rootOnly says whether an hbd command line (the words after the
// program) needs root: it asks the running daemon over its root-only
// control socket (a command that takes --run-dir, but run, which makes
// the socket, and check, which only looks at the directory); it reads
// the configuration at its default, /etc/ha.d, whose authkeys only root
// may read (a command that takes -c, given none and no --print); or it
// is the daemon, writing the default run or state directory.
func rootOnly(cli doccheck.CLI, args []string) bool {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd = args[0]
	}
	flags := cli[cmd]
	if _, ok := flags["run-dir"]; ok && cmd != "run" && cmd != "check" {
		return true
	}
	if _, ok := flags["c"]; !ok {
		return false
	}
	given := map[string]bool{}
	for _, a := range args {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") {
			given[name] = true
		}
	}
	switch {
	case given["h"] || given["help"] || given["print"]:
		return false
	case cmd == "run":
		return !given["run-dir"] || !given["state-dir"] || !given["c"] && !given["config"]
	}
	return !given["c"] && !given["config"]
}

// checkDocRoot finds the command lines a page has the reader type (shell
// blocks, prompted lines) that need root (rootOnly) without sudo or a
// root prompt: the control socket refuses anybody else, cl_status
// hbstatus would say the daemon is stopped, and check or harc would not
// read /etc/ha.d/authkeys.
func checkDocRoot(cli doccheck.CLI, name, md string) []string {
	var problems []string
	for _, inv := range doccheck.Invocations(md) {
		if inv.Typed && !inv.Root && rootOnly(cli, inv.Args) {
			problems = append(problems, fmt.Sprintf("%s:%d: %q needs root: sudo, or a # prompt", name, inv.Line, inv.Text))
		}
	}
	return problems
}

func TestDocRootCommands(t *testing.T) {
	cli := binaryCLI(t)
	for _, args := range [][]string{{"status"}, {"standby"}, {"cl_status", "hbstatus"}, {"node", "list"}, {"group", "list"}, {"check"}, {"harc", "status", "1"}, {"run", "-c", "/etc/ha.d"}} {
		if !rootOnly(cli, args) {
			t.Fatalf("hbd %s is not found to need root: did its flags change?", strings.Join(args, " "))
		}
	}
	for name, md := range markdownPages(t) {
		for _, p := range checkDocRoot(cli, name, md) {
			t.Error(p)
		}
	}
}

func TestCheckDocRootFails(t *testing.T) {
	cli := doccheck.CLI{
		"run": {"c": true, "run-dir": true, "state-dir": true}, "check": {"c": true, "run-dir": true}, "harc": {"c": true, "v": false},
		"install": {"c": true, "config": true, "print": false},
		"status":  {"run-dir": true}, "cl_status": {"run-dir": true}, "standby": {"run-dir": true}, "agent": {},
	}
	md := "```sh\nsudo hbd status\nbin/hbd check -c etc/ha.d\nhbd agent IPaddr2 10.0.0.5/24/eth0 status\nhbd install --print\n```\n" +
		"```\n# cl_status hbstatus\n$ hbd harc -c=/tmp/ha.d status 1\n$ hbd check -h\n$ hbd run -c /tmp/x --run-dir /tmp/r --state-dir /tmp/s\n```\n" +
		"Run `hbd status` (root only).\n"
	wantProblems(t, checkDocRoot(cli, "page.md", md), nil)
	md += "```\n$ cl_status listnodes\n```\n```sh\nhb_standby all && hbd status --json\nhbd check\nharc -v status 1\nhbd run -c /tmp/x\n```\n"
	wantProblems(t, checkDocRoot(cli, "page.md", md), []string{
		`page.md:15: "cl_status listnodes" needs root`, `page.md:18: "hb_standby all" needs root`, `page.md:18: "hbd status --json" needs root`,
		`page.md:19: "hbd check" needs root`, `page.md:20: "harc -v status 1" needs root`, `page.md:21: "hbd run -c /tmp/x" needs root`,
	})
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
		{"synopsis words", "Run `hbd standby [all\\|local]`, `hb_standby foreign` or `hbd standby NODE|all`; `hbd harc -v takegroup 1`.\n", nil},
		{"unknown first word", "```sh\nhbd harc -v tkaegroup 1\n```\n", []string{`hbd harc takes status, takegroup, not "tkaegroup"`}},
		{"one of several unknown", "Use `hb_standby [all|remote]`.\n", []string{`hbd standby takes all, foreign, local, not "remote"`}},
		{"no argument taken", "```sh\nhbd status all\n```\n", []string{`hbd status takes no argument, not "all"`}},
	}
	subs := doccheck.Subcommands{"status": nil, "standby": {"all", "foreign", "local"}, "harc": {"status", "takegroup"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkDocCommands(cli, subs, "page.md", tt.md), tt.problems)
		})
	}
}
