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
// over the original, chmod); several files are often saved together. The
// watcher waits until the directory has been quiet for reloadDebounce,
// and also compares the files' hashes every reloadPoll, because inotify
// can overflow or be missing (NFS, some container bind mounts).
const (
	reloadDebounce = 400 * time.Millisecond
	reloadPoll     = 30 * time.Second
)

// configFiles are the files whose change triggers a reload.
func configFiles() []string {
	return []string{config.HaCfFile, config.AuthkeysFile, config.HaresourcesFile}
}

func isConfigFile(name string) bool {
	base := filepath.Base(name)
	for _, f := range configFiles() {
		if base == f {
			return true
		}
	}
	return false
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
// enough) whenever the configuration files in dir change, until ctx ends.
func watchConfig(ctx context.Context, dir string, out chan<- struct{}, log logrus.FieldLogger) {
	last := fingerprint(dir)
	notify := func() {
		sum := fingerprint(dir)
		if sum == last {
			return
		}
		last = sum
		select {
		case out <- struct{}{}:
		default:
		}
	}

	var events <-chan fsnotify.Event
	var errs <-chan error
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(dir)
	}
	if err != nil {
		log.Warnf("cannot watch %s for changes (%v): edits are noticed every %s and on SIGHUP", dir, err, reloadPoll)
	} else {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}

	poll := time.NewTicker(reloadPoll)
	defer poll.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if isConfigFile(ev.Name) {
				debounce.Reset(reloadDebounce)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Warnf("watching %s: %v (falling back to polling every %s)", dir, err, reloadPoll)
		case <-debounce.C:
			notify()
		case <-poll.C:
			notify()
		}
	}
}
