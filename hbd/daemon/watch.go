package daemon

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/config"
)

// Reload timing. Editors save in bursts (write a temp file, rename it
// over the original, chmod), and an operator often edits the three files
// one after the other: ha.cf's new node line before haresources' group.
// The watcher waits until the directory has been quiet for
// reloadQuiet before it asks for a reload (which applies only when the
// three files validate together), and also compares the files' hashes
// every reloadPoll, because inotify can overflow or be missing (NFS, some
// container bind mounts). A group that an edit removes is stopped only if
// it stays gone for one more reloadQuiet (removalHold).
const (
	reloadQuiet = time.Second
	reloadPoll  = 30 * time.Second
)

// watchTiming is the watcher's quiet period and poll interval (tests
// shorten them).
type watchTiming struct {
	quiet, poll time.Duration
}

var defaultWatchTiming = watchTiming{quiet: reloadQuiet, poll: reloadPoll}

// configFiles are the files whose change triggers a reload.
func configFiles() []string {
	return []string{config.HaCfFile, config.AuthkeysFile, config.HaresourcesFile}
}

// fingerprint hashes the configuration files (content and mode: a chmod
// of authkeys matters), so a poll notices changes inotify missed.
func fingerprint(dir string) [32]byte {
	h := sha256.New()
	for _, f := range configFiles() {
		p := filepath.Join(dir, f)
		h.Write([]byte(f))
		if st, err := os.Stat(p); err == nil {
			h.Write([]byte(st.Mode().String()))
		}
		if b, err := os.ReadFile(p); err == nil {
			h.Write(b)
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// watchConfig sends on out (without blocking; one pending signal is
// enough) whenever the configuration files in dir have changed and then
// stayed unchanged for tm.quiet, until ctx ends. An event of a file, or
// of a symbolic link or directory on a file's way (trail: a ConfigMap's
// ..data swapped, dir itself a link re-pointed), starts the quiet
// period; other names in the directory (an editor's .ha.cf.swp, ha.cf~,
// a new file) do not. It compares the files'
// hashes whenever a time comes on polls (the event loop sends one every
// tm.poll: Daemon.pollConfig) and their statx stamps moved since the last
// poll's hash (configStamp); a nil polls never.
func watchConfig(ctx context.Context, dir string, tm watchTiming, polls <-chan time.Time, out chan<- struct{}, log logrus.FieldLogger) {
	stamp := newConfigStamp(dir) // what the poll compares first
	stamp.taken(time.Now())
	last := fingerprint(dir) // the files as last reported (or at start)
	var seen [32]byte        // the files when the quiet period began

	var events <-chan fsnotify.Event
	var errs <-chan error
	tr := configTrail(dir)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(realDir(dir)); err != nil {
			w.Close()
		}
	}
	if err != nil {
		log.Warnf("cannot watch %s for changes (%v): edits are noticed every %s and on SIGHUP", dir, err, tm.poll)
		w = nil
	} else {
		defer w.Close()
		events, errs = w.Events, w.Errors
		watchTrail(w, tr, log)
		log.Debugf("Watching %s for edits: a reload follows once the files stay unchanged for %s", dir, tm.quiet)
	}

	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	arm := func() {
		seen = fingerprint(dir)
		quiet.Reset(tm.quiet)
		if w != nil { // what the files go through may have changed
			tr = configTrail(dir)
			watchTrail(w, tr, log)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if tr.entries[ev.Name] {
				arm()
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Warnf("watching %s: %v (falling back to polling every %s)", dir, err, tm.poll)
		case <-quiet.C:
			// Report only files that stayed the same for a whole quiet
			// period: an event may have been missed (inotify overflow).
			sum := fingerprint(dir)
			if sum != seen {
				seen = sum
				quiet.Reset(tm.quiet)
				continue
			}
			if sum == last {
				continue
			}
			last = sum
			select {
			case out <- struct{}{}:
			default:
			}
		case now := <-polls:
			if stamp.unchanged() {
				continue // as at the last poll's hash (configStamp)
			}
			stamp.taken(now)
			if fingerprint(dir) != last {
				arm()
			}
		}
	}
}

// watchTrail has w watch the directories of tr and no others: a
// directory the files no longer go through (the ConfigMap's previous
// version, the version the configuration directory's link pointed to) is
// dropped. A directory that cannot be watched is left to the poll.
func watchTrail(w *fsnotify.Watcher, tr trail, log logrus.FieldLogger) {
	have := map[string]bool{}
	for _, d := range w.WatchList() {
		have[d] = true
		if !tr.dirs[d] {
			_ = w.Remove(d) // gone already when the directory was removed
		}
	}
	for d := range tr.dirs {
		if have[d] {
			continue
		}
		if err := w.Add(d); err != nil {
			log.Debugf("cannot watch %s, on the way to the configuration files (%v): its changes are noticed by the poll", d, err)
		}
	}
}
