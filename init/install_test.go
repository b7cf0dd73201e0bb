package initfiles_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeInstall runs `make install DESTDIR=... PREFIX=/usr` twice, with
// an operator's edits in between, and checks every file, mode and link.
func TestMakeInstall(t *testing.T) {
	need(t, "make", "gzip")
	root := repoRoot(t)
	dest := t.TempDir()
	install := func() string {
		r := run(t, nil, 5*time.Minute, "make", "-C", root, "install", "DESTDIR="+dest, "PREFIX=/usr")
		if r.code != 0 {
			t.Fatalf("make install: exit %d\n%s", r.code, r.out)
		}
		return r.out
	}
	install()
	// The release build is two static binaries (README): they run on any
	// Linux of its architecture, whatever C library is installed.
	for _, bin := range []string{"usr/sbin/hbd", "usr/sbin/hbd-etcd"} {
		if err := staticELF(filepath.Join(dest, bin)); err != nil {
			t.Errorf("make install's %s: %v", bin, err)
		}
	}

	type want struct {
		mode os.FileMode // 0 for a symlink
		from string      // source file in the tree, or the link target
	}
	files := map[string]want{
		"usr/sbin/hbd":                         {0o755, "bin/hbd"},
		"usr/sbin/hbd-etcd":                    {0o755, "bin/hbd-etcd"},
		"usr/sbin/harc":                        {0, "/usr/sbin/hbd"},
		"usr/bin/cl_status":                    {0, "/usr/sbin/hbd"},
		"usr/bin/hb_standby":                   {0, "/usr/sbin/hbd"},
		"usr/bin/hb_takeover":                  {0, "/usr/sbin/hbd"},
		"usr/share/heartbeat/hb_standby":       {0, "/usr/sbin/hbd"},
		"usr/share/heartbeat/hb_takeover":      {0, "/usr/sbin/hbd"},
		"lib/systemd/system/heartbeat.service": {0o644, "init/heartbeat.service"},
		"etc/init.d/heartbeat":                 {0o755, "init/heartbeat"},
		"etc/logrotate.d/heartbeat":            {0o644, "init/logrotate"},
		"etc/default/heartbeat":                {0o644, "init/default"},
		"etc/ha.d/ha.cf":                       {0o644, "etc/ha.d/ha.cf"},
		"etc/ha.d/haresources":                 {0o644, "etc/ha.d/haresources"},
		"etc/ha.d/authkeys":                    {0o600, "etc/ha.d/authkeys"},
		"etc/ha.d/resource.d/nginx":            {0o755, "etc/ha.d/resource.d/nginx"},
		"etc/ha.d/resource.d/IPaddr":           {0, "/usr/sbin/hbd"},
		"etc/ha.d/resource.d/IPaddr2":          {0, "/usr/sbin/hbd"},
		"etc/ha.d/resource.d/awseip":           {0, "/usr/sbin/hbd"},
		"usr/share/man/man8/hbd.8.gz":          {0o644, "docs/man/hbd.8"},
		"usr/share/man/man5/ha.cf.5.gz":        {0o644, "docs/man/ha.cf.5"},
		"usr/share/man/man5/haresources.5.gz":  {0o644, "docs/man/haresources.5"},
		"usr/share/man/man5/authkeys.5.gz":     {0o644, "docs/man/authkeys.5"},
	}
	check := func(skip map[string]bool) {
		t.Helper()
		for rel, w := range files {
			if skip[rel] {
				continue
			}
			p := filepath.Join(dest, rel)
			fi, err := os.Lstat(p)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				continue
			}
			if w.mode == 0 {
				target, err := os.Readlink(p)
				if err != nil || target != w.from {
					t.Errorf("%s: want a link to %s, got %q (%v, mode %v)", rel, w.from, target, err, fi.Mode())
				}
				continue
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != w.mode {
				t.Errorf("%s: mode %v, want a regular file with %v", rel, fi.Mode(), w.mode)
			}
			got := readFile(t, p)
			if strings.HasSuffix(rel, ".gz") {
				got = gunzip(t, p)
			}
			if src := readFile(t, filepath.Join(root, w.from)); got != src {
				t.Errorf("%s differs from %s", rel, w.from)
			}
		}
	}
	check(nil)

	// Nothing installed that the list does not know of.
	err := filepath.Walk(dest, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dest, p)
		if _, ok := files[rel]; !ok {
			t.Errorf("unexpected file installed: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The operator edits the config, replaces a built-in agent with a
	// script of their own and tightens the defaults; a re-install keeps
	// all of it and still replaces the binary and the service files.
	edited := map[string]string{
		"etc/ha.d/ha.cf":              "# edited\nnode a b\n",
		"etc/ha.d/haresources":        "a 10.0.0.9\n",
		"etc/ha.d/authkeys":           "auth 2\n2 sha256 operator-secret\n",
		"etc/ha.d/resource.d/IPaddr2": "#!/bin/sh\necho mine\n",
		"etc/ha.d/resource.d/nginx":   "#!/bin/sh\necho my nginx\n",
		"etc/default/heartbeat":       "HBD_NODE=a\n",
	}
	for rel, content := range edited {
		p := filepath.Join(dest, rel)
		os.Remove(p)
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(dest, "etc/init.d/heartbeat"))
	os.Remove(filepath.Join(dest, "usr/bin/cl_status"))
	out := install()
	skip := map[string]bool{}
	for rel, content := range edited {
		skip[rel] = true
		if got := readFile(t, filepath.Join(dest, rel)); got != content {
			t.Errorf("re-install overwrote %s:\n%s", rel, got)
		}
		if fi, _ := os.Lstat(filepath.Join(dest, rel)); fi == nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("re-install changed the mode of %s", rel)
		}
		if !strings.Contains(out, "kept existing "+filepath.Join(dest, rel)) {
			t.Errorf("re-install did not say it kept %s:\n%s", rel, out)
		}
	}
	check(skip)

	t.Run("systemd-analyze verify", func(t *testing.T) { verifyInstalledUnit(t, dest) })
	t.Run("man -l", func(t *testing.T) {
		need(t, "man")
		for _, page := range []string{"usr/share/man/man8/hbd.8.gz", "usr/share/man/man5/ha.cf.5.gz"} {
			// Only the warnings (stderr) are kept; the page must render.
			r := run(t, []string{"MANWIDTH=80"}, time.Minute, "sh", "-c",
				`man --warnings -l "$1" | grep -c '^NAME' >/dev/null`, "sh", filepath.Join(dest, page))
			if r.code != 0 || strings.TrimSpace(r.out) != "" {
				t.Errorf("man --warnings -l %s: exit %d\n%s", page, r.code, r.out)
			}
		}
	})
}

// verifyInstalledUnit runs systemd-analyze verify on the installed unit
// in a private mount namespace where /usr/sbin and /usr/share/man are
// the DESTDIR's, so that the ExecStart binary and the man pages named by
// Documentation= are the installed ones.
func verifyInstalledUnit(t *testing.T, dest string) {
	needRoot(t)
	need(t, "systemd-analyze", "unshare", "mount")
	script := `set -e
mount --bind "$1/usr/sbin" /usr/sbin
mount --bind "$1/usr/share/man" /usr/share/man
exec systemd-analyze verify "$1/lib/systemd/system/heartbeat.service"`
	r := run(t, nil, 2*time.Minute, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", dest)
	if r.code != 0 || strings.TrimSpace(r.out) != "" {
		t.Fatalf("systemd-analyze verify: exit %d\n%s", r.code, r.out)
	}
}

func gunzip(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return string(out)
}
