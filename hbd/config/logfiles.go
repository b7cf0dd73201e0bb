package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// checkLogFiles warns about a logfile or debugfile that cannot be
// opened as ha.cf names it: its directory missing (or not a directory),
// or the path a directory. The logger then writes to stderr instead,
// which under an init script goes nowhere: the operator would find no
// log where ha.cf says. A warning, not an error: a node without its log
// file still fails over.
func checkLogFiles(hacfPath string, p *hacfParser) []Diag {
	d := diags{file: hacfPath}
	for _, f := range []struct{ name, path string }{{"logfile", p.c.Logfile}, {"debugfile", p.c.Debugfile}} {
		if f.path == "" || !filepath.IsAbs(f.path) {
			continue // unset, or warned about as a relative path
		}
		line := p.seen[f.name]
		dir := filepath.Dir(f.path)
		if fi, err := os.Stat(f.path); err == nil && fi.IsDir() {
			d.warnf(line, "%s %s is a directory; hbd logs to stderr instead: name a file in it", f.name, f.path)
			continue
		}
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			d.warnf(line, "%s %s: directory %s does not exist; hbd logs to stderr instead until it does: create it (mkdir -p %s) or fix the path", f.name, f.path, dir, dir)
		case err != nil:
			d.warnf(line, "%s %s: %v; hbd logs to stderr instead while it cannot open the file", f.name, f.path, err)
		case !fi.IsDir():
			d.warnf(line, "%s %s: %s is not a directory; hbd logs to stderr instead: fix the path", f.name, f.path, dir)
		}
	}
	return d.list
}
