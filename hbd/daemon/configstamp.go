package daemon

import (
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// configStamp is what statx says of each configuration file when the
// watcher last hashed them (fingerprint): the periodic poll, the backstop
// for edits inotify did not report, hashes the files again only when a
// stamp moved. A poll that read and hashed the three files every 30 s
// cost a few hundred µs of CPU each time at rest (three opens, fstats,
// reads and closes, a SHA-256 and the file mode's text), about as much
// as two of the heartbeats' wake-ups at keepalive 1 s; three statx calls
// cost a few µs.
//
// Any write, truncation, chmod or rename over a file changes its change
// time (ctime, which no user can set back) or its inode; the size and
// modification time are compared too. A timestamp has the resolution of
// the kernel's coarse clock (a few ms), so two writes of the same size in
// one tick could leave the same stamp: a stamp taken less than
// stampSettle after the file's ctime is not trusted, and the next poll
// hashes again. Only the poll trusts the stamps: an inotify event always
// has the files hashed.
type configStamp struct {
	paths [3]string
	stamp [3]fileStamp
	valid bool
}

// stampSettle is how old a file's ctime must be, when the files are
// hashed, for its stamp to stand for its content.
const stampSettle = time.Second

// fileStamp is the part of statx(2) that changes with a file's content.
type fileStamp struct {
	ok             bool
	dev, ino, size uint64
	mode           uint16
	ctime, mtime   int64 // ns since the epoch
}

func newConfigStamp(dir string) *configStamp {
	s := &configStamp{}
	for i, f := range configFiles() {
		s.paths[i] = filepath.Join(dir, f)
	}
	return s
}

// unchanged reports whether every file's stamp is the one taken at the
// last hash (taken), which then still stands for the files.
func (s *configStamp) unchanged() bool {
	if !s.valid {
		return false
	}
	for i := range s.paths {
		if statStamp(s.paths[i]) != s.stamp[i] {
			return false
		}
	}
	return true
}

// taken records the files' stamps before they are hashed, as of now: a
// stamp that moves after this is seen by the next unchanged.
func (s *configStamp) taken(now time.Time) {
	s.valid = true
	for i := range s.paths {
		st := statStamp(s.paths[i])
		if st.ok && now.Sub(time.Unix(0, st.ctime)) < stampSettle {
			s.valid = false // too fresh to stand for the content
		}
		s.stamp[i] = st
	}
}

// statStamp is path's stamp; a file that cannot be statted has the zero
// stamp (a file that appears or goes away changes it). The call is not
// raw: on NFS statx may wait for the server, and in the runtime's
// blocking-call state that wait holds only the watcher's goroutine, never
// the event loop (the daemon runs on one P).
func statStamp(path string) fileStamp {
	var sx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_BASIC_STATS, &sx); err != nil {
		return fileStamp{}
	}
	return fileStamp{
		ok:  true,
		dev: uint64(sx.Dev_major)<<32 | uint64(sx.Dev_minor), ino: sx.Ino, size: sx.Size, mode: sx.Mode,
		ctime: sx.Ctime.Sec*1e9 + int64(sx.Ctime.Nsec), mtime: sx.Mtime.Sec*1e9 + int64(sx.Mtime.Nsec),
	}
}
