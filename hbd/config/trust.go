package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hbdproject/hbd/hbd/paths"
)

// CheckTrusted reports why a file hbd reads or runs as root (ha.cf,
// authkeys, haresources, a resource script, an rc.d hook, fence_command)
// could be changed by someone else, or nil: the file and the directory
// holding it must be owned by root or by the user hbd runs as, and not
// writable by group or others (a directory with the sticky bit, like
// /tmp, may be: others cannot replace a file they do not own there). The
// error names the file and the commands that fix it. Symbolic links are
// followed: what counts is the file that would run.
func CheckTrusted(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := checkOwnerMode(path, fi, os.Geteuid()); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return err
	}
	return checkOwnerMode(dir, di, os.Geteuid())
}

// checkOwnerMode applies CheckTrusted's rule to one file or directory;
// self is the uid hbd runs as.
func checkOwnerMode(path string, fi fs.FileInfo, self int) error {
	var problems, fixes []string
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != self {
		problems = append(problems, fmt.Sprintf("owned by uid %d, not root", st.Uid))
		fixes = append(fixes, "chown root "+path)
	}
	if m := fi.Mode(); m.Perm()&0o022 != 0 && !(m.IsDir() && m&fs.ModeSticky != 0) {
		problems = append(problems, fmt.Sprintf("writable by group or others (mode %04o)", m.Perm()))
		fixes = append(fixes, "chmod go-w "+path)
	}
	if len(problems) == 0 {
		return nil
	}
	what := "file"
	if fi.IsDir() {
		what = "directory"
	}
	return fmt.Errorf("%s %s is %s: someone other than root could change what hbd reads or runs as root; fix: %s",
		what, path, strings.Join(problems, " and "), strings.Join(fixes, " && "))
}

// checkTrustedFiles applies CheckTrusted to everything of the
// configuration hbd reads or may run: the three files, every resolved
// resource script (built-in agents aside; an OCF agent's file counts), the
// fence_command program and every file in DIR/rc.d. Each finding is an
// error, for `hbd check` as for `hbd run`. cfg may be nil (ha.cf not read).
func checkTrustedFiles(dir string, cfg *Config, groups []Group) []Diag {
	var out []Diag
	seen := map[string]bool{}
	check := func(pos Pos, prefix, path string) {
		if path == "" || seen[path] {
			return
		}
		seen[path] = true
		err := CheckTrusted(path)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return // a missing file has its own diagnostic
		}
		out = append(out, Diag{Pos: pos, Severity: SevError, Msg: prefix + err.Error()})
	}
	for _, f := range []string{HaCfFile, AuthkeysFile, HaresourcesFile} {
		p := filepath.Join(dir, f)
		if fi, err := os.Stat(p); f == AuthkeysFile && err == nil && fi.Mode().Perm()&0o077 != 0 {
			continue // Load's stricter rule for authkeys (0600) says it already
		}
		check(Pos{File: p}, "", p)
	}
	for _, g := range groups {
		for _, r := range g.Resources {
			check(g.Pos, "resource "+r.Name+": ", r.Script.File())
		}
	}
	if cfg != nil && len(cfg.Fence.Command) > 0 {
		check(cfg.Fence.Pos, "fence_command: ", cfg.Fence.Command[0])
	}
	rc := filepath.Join(dir, paths.RcDir)
	entries, err := os.ReadDir(rc)
	if err != nil {
		return out
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		p := filepath.Join(rc, e.Name())
		check(Pos{File: p}, "rc.d hook: ", p)
	}
	return out
}
