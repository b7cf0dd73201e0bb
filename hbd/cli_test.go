package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryCommandAnswersHelpAndBadFlags runs every command of `hbd help`
// with each way of asking for help and with a flag it does not have:
// help is the usage on stdout and exit 0, a bad flag is the problem and
// the usage on stderr and exit 2, and neither does anything else.
func TestEveryCommandAnswersHelpAndBadFlags(t *testing.T) {
	for _, c := range commands() {
		synopsis := "usage: hbd " + c.name
		for _, tc := range []struct {
			arg      string
			wantCode int
			wantErr  string // in stderr; "" means stderr stays empty
		}{
			{"-h", 0, ""},
			{"-help", 0, ""},
			{"--help", 0, ""},
			{"--no-such-flag", 2, "hbd " + c.name + ": flag provided but not defined: -no-such-flag"},
			{"-Z", 2, "hbd " + c.name + ": flag provided but not defined: -Z"},
		} {
			t.Run(c.name+" "+tc.arg, func(t *testing.T) {
				var out, errb bytes.Buffer
				code := dispatch([]string{c.name, tc.arg}, &out, &errb)
				if code != tc.wantCode {
					t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out.String(), errb.String())
				}
				usage, other := out.String(), errb.String()
				if tc.wantCode != 0 {
					usage, other = errb.String(), out.String()
				}
				if !strings.Contains(usage, synopsis) {
					t.Errorf("no %q in the usage:\n%s", synopsis, usage)
				}
				if other != "" {
					t.Errorf("unexpected output on the other stream:\n%s", other)
				}
				if tc.wantErr != "" && !strings.HasPrefix(errb.String(), tc.wantErr+"\n") {
					t.Errorf("stderr does not start with %q:\n%s", tc.wantErr, errb.String())
				}
			})
		}
	}
}

// TestHelpCommand checks that `hbd help` lists every command and that
// `hbd help NAME` is `hbd NAME -h`.
func TestHelpCommand(t *testing.T) {
	var list bytes.Buffer
	if code := dispatch([]string{"help"}, &list, &list); code != 0 {
		t.Fatalf("hbd help: exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(list.String(), "\n  "+c.name+" ") {
			t.Errorf("hbd help does not list %s:\n%s", c.name, list.String())
		}
		if c.name == "help" {
			continue
		}
		var viaHelp, viaFlag bytes.Buffer
		dispatch([]string{"help", c.name}, &viaHelp, &viaHelp)
		dispatch([]string{c.name, "-h"}, &viaFlag, &viaFlag)
		if viaHelp.String() != viaFlag.String() {
			t.Errorf("hbd help %s differs from hbd %s -h:\n%s\n---\n%s", c.name, c.name, viaHelp.String(), viaFlag.String())
		}
	}
}

// TestUsageErrors checks the arguments commands refuse before doing
// anything: each is exit 2 with the reason and the usage on stderr.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `hbd: unknown command "frobnicate"`},
		{[]string{"--no-such-flag"}, "hbd run: flag provided but not defined"},
		{[]string{"run", "extra"}, `hbd run: unexpected argument "extra"`},
		{[]string{"check", "extra"}, `hbd check: unexpected argument "extra"`},
		{[]string{"check", "-c"}, "hbd check: flag needs an argument: -c"},
		{[]string{"status", "extra"}, `hbd status: unexpected argument "extra"`},
		{[]string{"standby", "everything"}, `hbd standby: unknown resource class "everything": want all, foreign, local or failback`},
		{[]string{"takeover", "all", "local"}, "hbd takeover: one argument at most"},
		{[]string{"cleanup", "a", "b"}, "hbd cleanup: one GROUP at most"},
		{[]string{"cl_status"}, "hbd cl_status: no query"},
		{[]string{"harc"}, "hbd harc: no command"},
		{[]string{"agent"}, "hbd agent: no agent named"},
		{[]string{"agent", "NoSuchAgent", "start"}, `hbd agent: no built-in agent "NoSuchAgent"`},
		{[]string{"install", "extra"}, `hbd install: unexpected argument "extra"`},
		{[]string{"uninstall", "extra"}, `hbd uninstall: unexpected argument "extra"`},
		{[]string{"version", "extra"}, `hbd version: unexpected argument "extra"`},
		{[]string{"help", "frobnicate"}, `hbd help: unknown command "frobnicate"`},
	} {
		var out, errb bytes.Buffer
		code := dispatch(tc.args, &out, &errb)
		if code != 2 || out.Len() != 0 || !strings.HasPrefix(errb.String(), tc.want) || !strings.Contains(errb.String(), "usage: hbd") {
			t.Errorf("hbd %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2, nothing on stdout, stderr starting %q with the usage",
				strings.Join(tc.args, " "), code, out.String(), errb.String(), tc.want)
		}
	}
}

// TestVersion checks every way of asking for the version.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "-V", "-version", "--version"} {
		var out, errb bytes.Buffer
		if code := dispatch([]string{arg}, &out, &errb); code != 0 || out.String() != "hbd "+version+"\n" || errb.Len() != 0 {
			t.Errorf("hbd %s: exit %d, stdout %q, stderr %q", arg, code, out.String(), errb.String())
		}
	}
}

// TestAgentHelp checks that every built-in agent answers `hbd agent NAME
// -h` with its usage on stdout and exit 0, as the commands do.
func TestAgentHelp(t *testing.T) {
	for _, shown := range builtinAgents().Shown() {
		// A family (ocf:PROVIDER:TYPE) by one of its names: -h runs none.
		name := strings.NewReplacer("PROVIDER", "heartbeat", "TYPE", "Dummy").Replace(shown)
		for _, arg := range []string{"-h", "--help"} {
			var out, errb bytes.Buffer
			code := dispatch([]string{"agent", name, arg}, &out, &errb)
			if code != 0 || !strings.HasPrefix(out.String(), "usage: ") || errb.Len() != 0 {
				t.Errorf("hbd agent %s %s: exit %d, stdout %q, stderr %q; want exit 0 with the usage on stdout", name, arg, code, out.String(), errb.String())
			}
		}
	}
}

// TestInterspersedFlags: a command that lets flags follow its arguments
// takes them anywhere, keeps the arguments in order, and stops at "--"; one
// that does not leaves everything after its first argument alone.
func TestInterspersedFlags(t *testing.T) {
	for _, tc := range []struct {
		interspersed bool
		args         []string
		wantDir      string
		wantArgs     []string
	}{
		{true, []string{"list"}, "/run/heartbeat", []string{"list"}},
		{true, []string{"--run-dir", "/d", "list"}, "/d", []string{"list"}},
		{true, []string{"list", "--run-dir", "/d"}, "/d", []string{"list"}},
		{true, []string{"move", "--run-dir=/d", "web", "node2"}, "/d", []string{"move", "web", "node2"}},
		{true, []string{"move", "web", "--", "--run-dir", "/d"}, "/run/heartbeat", []string{"move", "web", "--run-dir", "/d"}},
		{true, []string{"standby", "-"}, "/run/heartbeat", []string{"standby", "-"}},
		{false, []string{"start", "--run-dir", "/d"}, "/run/heartbeat", []string{"start", "--run-dir", "/d"}},
	} {
		var out, errOut bytes.Buffer
		fs := newFlags("t", "usage: hbd t", &out, &errOut)
		fs.interspersed = tc.interspersed
		dir := fs.String("run-dir", "/run/heartbeat", "")
		if code, ok := fs.parse(tc.args); !ok {
			t.Fatalf("%q: parse failed with %d: %s", tc.args, code, errOut.String())
		}
		if *dir != tc.wantDir || strings.Join(fs.Args(), "|") != strings.Join(tc.wantArgs, "|") || fs.NArg() != len(tc.wantArgs) {
			t.Errorf("%q: run-dir %q args %q, want %q %q", tc.args, *dir, fs.Args(), tc.wantDir, tc.wantArgs)
		}
	}
	var out, errOut bytes.Buffer
	fs := newFlags("t", "usage: hbd t", &out, &errOut)
	fs.interspersed = true
	if code, ok := fs.parse([]string{"list", "--bogus"}); ok || code != 2 {
		t.Errorf("a bad flag after the arguments: ok %v code %d, want a usage error", ok, code)
	}
}

// TestRunDirFromEnvironment: every command that talks to a running daemon
// looks for it in $HBD_RUN_DIR when no --run-dir is given, so an operator
// who sets it once (as the init script's defaults file does) reaches the
// daemon with any of them.
func TestRunDirFromEnvironment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "elsewhere")
	t.Setenv("HBD_RUN_DIR", dir)
	for _, args := range [][]string{
		{"status"},
		{"status", "--json"},
		{"standby"},
		{"group", "list"},
	} {
		var out, errOut bytes.Buffer
		if code := dispatch(args, &out, &errOut); code == 0 {
			t.Errorf("%q with no daemon: exit 0", args)
		}
		if !strings.Contains(errOut.String(), dir) {
			t.Errorf("%q: %q does not name $HBD_RUN_DIR %s", args, errOut.String(), dir)
		}
	}
}
