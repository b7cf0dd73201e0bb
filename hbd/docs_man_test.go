package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/internal/doccheck"
	"github.com/hbdproject/hbd/hbd/paths"
)

// The checks of hbd(8) against the binary and the code.

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
