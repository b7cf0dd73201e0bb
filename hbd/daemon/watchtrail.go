package daemon

import (
	"os"
	"path/filepath"
	"strings"
)

// maxTrailLinks is how many symbolic links the resolution of one
// configuration file's path follows, the kernel's own limit (ELOOP).
const maxTrailLinks = 40

// trail is what the paths of the configuration files go through, for the
// watcher: a file reached through a symbolic link changes when any link
// or directory on its way is replaced, not only when the file is
// written. Kubernetes mounts a ConfigMap as ha.cf -> ..data/ha.cf and
// ..data -> ..2026_12_07_v1, and applies an update by renaming a new
// ..data link over the old one: inotify on the configuration directory
// then reports ..data, never ha.cf.
type trail struct {
	// entries are every path the resolution looked up (each component
	// of each path it resolved, links and the files themselves), as an
	// inotify event of the directory holding it names it: a change of
	// any of them may change what the files are.
	entries map[string]bool
	// dirs are the directories that hold a link on the way or a file
	// itself (or where a missing one would be created): those to watch.
	dirs map[string]bool
}

// configTrail resolves the paths of the configuration files of the
// directory dir, from the root, and returns their trail: dir's own path
// is on it, so a symbolic link on that way re-pointed (/etc/ha.d itself a
// link to the version in force) changes the files as much as one of
// theirs does.
func configTrail(dir string) trail {
	t := trail{entries: map[string]bool{}, dirs: map[string]bool{}}
	if !filepath.IsAbs(dir) {
		if wd, err := os.Getwd(); err == nil {
			dir = wd + "/" + dir
		}
	}
	for _, f := range configFiles() {
		t.follow("/", dir+"/"+f)
	}
	return t
}

// follow resolves rest, relative to the real directory done, one
// component at a time as the kernel does, and records each path it looks
// up. A component that cannot be looked up ends the walk: its creation
// is an event of the directory that would hold it, which is watched.
func (t *trail) follow(done, rest string) {
	links := 0
	for rest != "" {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		switch comp {
		case "", ".":
			continue
		case "..":
			done = filepath.Dir(done) // done has no links: .. is lexical
			continue
		}
		p := filepath.Join(done, comp)
		t.entries[p] = true
		fi, err := os.Lstat(p)
		if err != nil {
			t.dirs[done] = true
			return
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			if rest == "" {
				t.dirs[done] = true
			}
			done = p
			continue
		}
		t.dirs[done] = true
		links++
		target, err := os.Readlink(p)
		if err != nil || links > maxTrailLinks {
			return
		}
		if filepath.IsAbs(target) {
			done = "/"
		}
		if rest != "" {
			target += "/" + rest
		}
		rest = target
	}
}

// realDir is dir with its symbolic links resolved, absolute: the form
// the trail's paths and the watcher's events take. dir itself when it
// cannot be resolved (it does not exist: the watch fails and says so).
func realDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		if a, err := filepath.Abs(r); err == nil {
			return a
		}
	}
	return dir
}
