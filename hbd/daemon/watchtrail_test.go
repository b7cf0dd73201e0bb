package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// configMap lays dir out as Kubernetes mounts a ConfigMap: each file a
// link through ..data to a timestamped directory that holds the content.
func configMap(t *testing.T, dir, version, hacf string) {
	t.Helper()
	ts := "..2026_12_07_" + version
	writeVersion(t, dir, ts, hacf)
	must(t, os.Symlink(ts, filepath.Join(dir, "..data")))
	for _, f := range configFiles() {
		must(t, os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)))
	}
}

func writeVersion(t *testing.T, dir, ts, hacf string) {
	t.Helper()
	must(t, os.Mkdir(filepath.Join(dir, ts), 0o755))
	for _, f := range configFiles() {
		content := "# " + f + "\n"
		if f == config.HaCfFile {
			content = hacf
		}
		must(t, os.WriteFile(filepath.Join(dir, ts, f), []byte(content), 0o600))
	}
}

// swapConfigMap applies a ConfigMap update as the kubelet does: the new
// version's directory, a ..data_tmp link to it renamed over ..data
// (rename(2): atomic), then the old version removed (unless oldVersion
// is "": a tool that keeps it).
func swapConfigMap(t *testing.T, dir, oldVersion, version, hacf string) {
	t.Helper()
	ts := "..2026_12_07_" + version
	writeVersion(t, dir, ts, hacf)
	must(t, os.Symlink(ts, filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	if oldVersion != "" {
		must(t, os.RemoveAll(filepath.Join(dir, "..2026_12_07_"+oldVersion)))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfigTrail(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name string
		lay  func(t *testing.T, dir string)
		// in and out are names relative to dir (or absolute) that the
		// trail's entries must and must not hold; dirs likewise for the
		// directories watched.
		in, out, dirs, notDirs []string
	}{
		{
			name: "plain files",
			lay: func(t *testing.T, dir string) {
				for _, f := range configFiles() {
					must(t, os.WriteFile(filepath.Join(dir, f), nil, 0o600))
				}
			},
			in:   []string{"ha.cf", "authkeys", "haresources"},
			out:  []string{".ha.cf.swp", "ha.cf~", "..data"},
			dirs: []string{"."},
			// no link on the directory's own way: its parent is not
			// watched (its other entries' events would wake the watch)
			notDirs: []string{".."},
		},
		{
			name: "a missing file is an entry: its creation counts",
			lay:  func(t *testing.T, dir string) {},
			in:   []string{"ha.cf", "authkeys", "haresources"},
			dirs: []string{"."},
		},
		{
			name: "a ConfigMap",
			lay:  func(t *testing.T, dir string) { configMap(t, dir, "v1", "keepalive 1\n") },
			in:   []string{"ha.cf", "..data", "..2026_12_07_v1", "..2026_12_07_v1/ha.cf", "..2026_12_07_v1/haresources"},
			out:  []string{"..data_tmp", "..2026_12_07_v2", ".ha.cf.swp"},
			dirs: []string{".", "..2026_12_07_v1"},
		},
		{
			name: "a link out of the directory",
			lay: func(t *testing.T, dir string) {
				must(t, os.WriteFile(filepath.Join(outside, "ha.cf"), nil, 0o600))
				must(t, os.Symlink(filepath.Join(outside, "ha.cf"), filepath.Join(dir, "ha.cf")))
			},
			in:   []string{"ha.cf", filepath.Join(outside, "ha.cf")},
			out:  []string{filepath.Join(outside, "authkeys")},
			dirs: []string{".", outside},
		},
		{
			name: "a loop of links ends",
			lay: func(t *testing.T, dir string) {
				must(t, os.Symlink("b", filepath.Join(dir, "ha.cf")))
				must(t, os.Symlink("ha.cf", filepath.Join(dir, "b")))
			},
			in:   []string{"ha.cf", "b"},
			dirs: []string{"."},
		},
		{
			name: "a link through .. to a sibling directory",
			lay: func(t *testing.T, dir string) {
				must(t, os.Mkdir(filepath.Join(dir, "conf"), 0o755))
				must(t, os.Mkdir(filepath.Join(dir, "conf", "v1"), 0o755))
				must(t, os.WriteFile(filepath.Join(dir, "conf", "v1", "ha.cf"), nil, 0o600))
				must(t, os.Symlink("conf/sub/../v1/ha.cf", filepath.Join(dir, "ha.cf")))
			},
			// conf/sub does not exist: the kernel fails the lookup there
			// (a missing component is not skipped by its ..).
			in:      []string{"ha.cf", "conf", "conf/sub"},
			out:     []string{"conf/v1/ha.cf"},
			dirs:    []string{".", "conf"},
			notDirs: []string{"conf/v1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := realDir(t.TempDir())
			tc.lay(t, dir)
			tr := configTrail(dir)
			abs := func(p string) string {
				if filepath.IsAbs(p) {
					return p
				}
				return filepath.Join(dir, p)
			}
			for _, c := range []struct {
				set   map[string]bool
				what  string
				paths []string
				want  bool
			}{
				{tr.entries, "on the trail", tc.in, true},
				{tr.entries, "on the trail", tc.out, false},
				{tr.dirs, "a watched directory", tc.dirs, true},
				{tr.dirs, "a watched directory", tc.notDirs, false},
			} {
				for _, p := range c.paths {
					if c.set[abs(p)] != c.want {
						t.Errorf("%s %s: %v, want %v (%v)", p, c.what, !c.want, c.want, c.set)
					}
				}
			}
		})
	}
}

// startWatch runs watchConfig on dir, with no poll (only inotify can
// report), until the test ends.
func startWatch(t *testing.T, dir string, quiet time.Duration) <-chan struct{} {
	t.Helper()
	out := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	lg, buf := testLogger()
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchConfig(ctx, dir, watchTiming{quiet: quiet, poll: time.Hour}, nil, out, lg)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, func() bool { return strings.Contains(buf.String(), "Watching "+dir+" for edits") })
	return out
}

// TestWatchConfigMapSwap: a ConfigMap update (a new ..data renamed over
// the old) is reported after the quiet period, and so is the next one
// (the watch follows the new version), whether or not the old version is
// removed; files created beside it are not.
func TestWatchConfigMapSwap(t *testing.T) {
	const quiet = 100 * time.Millisecond
	dir := t.TempDir()
	configMap(t, dir, "v1", "keepalive 1\n")
	out := startWatch(t, dir, quiet)

	for _, sw := range []struct{ old, v string }{{"v1", "v2"}, {"", "v3"}, {"v3", "v4"}} {
		swapConfigMap(t, dir, sw.old, sw.v, "keepalive "+sw.v+"\n")
		select {
		case <-out:
		case <-time.After(10 * time.Second):
			t.Fatalf("the swap to %s was not reported (the directory's ..data changed, not ha.cf)", sw.v)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, config.HaCfFile))
	must(t, err)
	if string(b) != "keepalive v4\n" {
		t.Fatalf("ha.cf reads %q after the swaps", b)
	}

	// Beside it: an editor's swap file and backup, a new version not
	// linked (yet), a file in the version in force that is not one of
	// the configuration's.
	for _, p := range []string{".ha.cf.swp", "ha.cf~", "..2026_12_07_v9/ha.cf", "..data/notes"} {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, p), []byte("keepalive 9\n"), 0o600))
	}
	select {
	case <-out:
		t.Fatal("files beside the configuration were reported as an edit")
	case <-time.After(5 * quiet):
	}
}

// TestWatchIgnoresNeighbours: an edit is reported one quiet period after
// it even while files beside it keep changing: their events do not
// restart the quiet period (they would delay the reload for as long as
// an editor or a log writes there).
func TestWatchIgnoresNeighbours(t *testing.T) {
	const quiet = 100 * time.Millisecond
	dir := t.TempDir()
	configMap(t, dir, "v1", "keepalive 1\n")
	out := startWatch(t, dir, quiet)
	swapConfigMap(t, dir, "v1", "v2", "keepalive 2\n")
	// Churn every quiet/4 for up to 100 quiet periods; the report must
	// come while it goes on.
	for i := 0; i < 400; i++ {
		for _, p := range []string{".ha.cf.swp", "..2026_12_07_v3", "..data_tmp"} {
			p = filepath.Join(dir, p)
			must(t, os.WriteFile(p, []byte{byte(i)}, 0o600))
		}
		select {
		case <-out:
			return
		case <-time.After(quiet / 4):
		}
	}
	t.Fatal("the edit was not reported within 100 quiet periods while files beside it changed")
}

// TestWatchLinkTarget: a file linked from outside the directory and
// edited in place there is reported without waiting for the poll.
func TestWatchLinkTarget(t *testing.T) {
	const quiet = 100 * time.Millisecond
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, config.HaCfFile)
	must(t, os.WriteFile(target, []byte("keepalive 1\n"), 0o600))
	must(t, os.Symlink(target, filepath.Join(dir, config.HaCfFile)))
	out := startWatch(t, dir, quiet)
	must(t, os.WriteFile(target, []byte("keepalive 2\n"), 0o600))
	select {
	case <-out:
	case <-time.After(10 * time.Second):
		t.Fatal("an edit of the file ha.cf links to was not reported")
	}
}

// TestWatchDirectorySwap: with the configuration directory's own path a
// symbolic link (/etc/ha.d -> /srv/ha.d/v1), re-pointing that link (a new
// link renamed over it: atomic) is reported without waiting for the
// poll, and so is the next swap and an edit in the version in force; an
// edit in the version no longer in force is not.
func TestWatchDirectorySwap(t *testing.T) {
	const quiet = 100 * time.Millisecond
	versions, etc := t.TempDir(), t.TempDir()
	dir := filepath.Join(etc, "ha.d")
	writeVersion(t, versions, "v1", "keepalive 1\n")
	must(t, os.Symlink(filepath.Join(versions, "v1"), dir))
	out := startWatch(t, dir, quiet)
	wait := func(what string) {
		t.Helper()
		select {
		case <-out:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not reported", what)
		}
	}
	for _, v := range []string{"v2", "v3"} {
		writeVersion(t, versions, v, "keepalive "+v+"\n")
		must(t, os.Symlink(filepath.Join(versions, v), filepath.Join(etc, "ha.d.tmp")))
		must(t, os.Rename(filepath.Join(etc, "ha.d.tmp"), dir))
		wait("the swap of " + dir + " to " + v)
	}
	must(t, os.WriteFile(filepath.Join(versions, "v2", config.HaCfFile), []byte("keepalive 9\n"), 0o600))
	select {
	case <-out:
		t.Fatal("an edit of the version no longer in force was reported")
	case <-time.After(5 * quiet):
	}
	must(t, os.WriteFile(filepath.Join(dir, config.HaCfFile), []byte("keepalive 4\n"), 0o600))
	wait("an edit of ha.cf in the version in force")
}
