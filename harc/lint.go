package harc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/paths"
)

// syntaxCheckTimeout bounds one `sh -n`.
const syntaxCheckTimeout = 10 * time.Second

// shells are the interpreters whose scripts `sh -n` style checking
// understands (`INTERPRETER -n FILE` parses without running).
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ksh": true, "zsh": true}

// LintScripts returns `hbd check`'s warnings about the scripts the
// configuration in cfg.Dir runs the way Heartbeat ran them: every
// resource script that is a file (resource.d, init.d) and every rc.d
// hook. A script without a "#!" line runs through Shell (see
// Command.start) and gets a warning naming the fix; one that is not a
// regular file or not executable, or that its shell cannot parse
// (`sh -n`), gets a warning naming the file. A resource.d or init.d file
// that is passed over for a built-in agent of the same name because it
// is not executable is named too. The daemon does not run this: it reads
// every script and may run a shell for each.
func LintScripts(ctx context.Context, cfg *config.Config, initDir string) []config.Diag {
	var out []config.Diag
	seen := map[string]bool{}
	lint := func(pos config.Pos, what, path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		for _, msg := range lintFile(ctx, path) {
			out = append(out, config.Diag{Pos: pos, Severity: config.SevWarning, Msg: what + msg})
		}
	}
	if initDir == "" {
		initDir = paths.InitDir
	}
	for _, g := range cfg.Groups {
		for _, r := range g.Resources {
			switch r.Script.Kind {
			case config.ScriptFile:
				lint(g.Pos, "resource "+r.Name+": ", r.Script.Path)
			case config.ScriptBuiltin:
				for _, d := range []string{filepath.Join(cfg.Dir, paths.ResourceDir), initDir} {
					p := filepath.Join(d, r.Name)
					if _, err := os.Stat(p); err == nil && !seen[p] {
						seen[p] = true
						out = append(out, config.Diag{Pos: g.Pos, Severity: config.SevWarning, Msg: fmt.Sprintf(
							"resource %s: %s is not an executable file, so hbd's built-in agent %s runs instead; chmod 755 %s to run the file, or remove it",
							r.Name, p, r.Script.Name, p)})
					}
				}
			}
		}
	}
	rc := filepath.Join(cfg.Dir, paths.RcDir)
	entries, err := os.ReadDir(rc)
	if err != nil {
		return out
	}
	for _, e := range entries {
		p := filepath.Join(rc, e.Name())
		lint(config.Pos{File: p}, "rc.d hook: ", p)
	}
	return out
}

// lintFile says what is wrong with one script, nothing when all is well.
func lintFile(ctx context.Context, path string) []string {
	fi, err := os.Stat(path)
	if err != nil {
		return []string{err.Error()}
	}
	if !fi.Mode().IsRegular() {
		return []string{fmt.Sprintf("%s is not a regular file (%s); hbd cannot run it", path, fi.Mode().Type())}
	}
	var msgs []string
	if fi.Mode().Perm()&0o111 == 0 {
		msgs = append(msgs, fmt.Sprintf("%s is not executable; fix: chmod 755 %s", path, path))
	}
	first, err := firstLine(path)
	if err != nil {
		return append(msgs, err.Error())
	}
	shell := Shell
	if interp, ok := strings.CutPrefix(first, "#!"); ok {
		fields := strings.Fields(interp)
		if len(fields) == 0 {
			return append(msgs, fmt.Sprintf("%s: its #! line names no interpreter; fix: make the first line #!/bin/sh", path))
		}
		shell = fields[0]
		if filepath.Base(shell) == "env" && len(fields) > 1 {
			shell = fields[1]
		}
		if !shells[filepath.Base(shell)] {
			return msgs // not a shell script: nothing to parse
		}
		if !filepath.IsAbs(shell) {
			if shell, err = exec.LookPath(shell); err != nil {
				return append(msgs, fmt.Sprintf("%s: interpreter of its #! line: %v", path, err))
			}
		}
	} else {
		msgs = append(msgs, fmt.Sprintf("%s has no #! line (first line %q): hbd runs it through %s as Heartbeat did; fix: make its first line #!/bin/sh (or #!/bin/bash for bash)",
			path, first, Shell))
	}
	if msg := syntaxCheck(ctx, shell, path); msg != "" {
		msgs = append(msgs, msg)
	}
	return msgs
}

// firstLine is the file's first line, at most 256 bytes of it.
func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return "", nil // empty file
	}
	if len(line) > 256 {
		line = line[:256]
	}
	return string(bytes.TrimRight(line, "\r\n")), nil
}

// syntaxCheck runs `SHELL -n PATH` and says why it failed, "" when the
// shell parses the script (or cannot be run here).
func syntaxCheck(ctx context.Context, shell, path string) string {
	if _, err := os.Stat(shell); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, syntaxCheckTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, shell, "-n", path).CombinedOutput()
	if err == nil {
		return ""
	}
	why := strings.TrimSpace(string(out))
	if why == "" {
		why = err.Error()
	}
	return fmt.Sprintf("%s fails `%s -n` (does not parse): %s", path, shell, logging.Escape(strings.Join(strings.Fields(why), " ")))
}
