package harc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// Records keeps, in a directory of its own (under the daemon's run
// directory), one file per script harc runs, for as long as it runs: its
// process group, the start time of its leader, and what it is. A daemon
// that dies while a script runs (kill -9, a crash, the OOM killer)
// leaves the file behind, and the next daemon started from the same
// directory kills what is left of the script before it looks at its
// groups (KillLeftovers): otherwise a start cut short would finish after
// the new daemon found its resource stopped and let a peer take the
// group, and the resource would run on two nodes.
//
// A record is written (to a temporary name, then renamed: a file under
// its final name is always whole) after the script has started and
// before Run waits for it, and removed once its leader has been reaped.
// It is safe for concurrent use.
type Records struct {
	dir  string
	boot string // this boot's id: a record of another boot names nothing
	log  logrus.FieldLogger
	// signal kills a leftover process (KillLeftovers); nil: SIGKILL.
	signal func(*os.Process) error
}

// ScriptInfo says what a recorded script is, for the log lines of the
// daemon that finds it left behind.
type ScriptInfo struct {
	Group    string // the resource group's key; "" when it runs for none
	Resource string // the resource as configured (its spec)
	Op       string // start, stop, status, monitor, ...
	Path     string // the executable
}

// scriptRecord is the content of a record file (JSON, one object).
type scriptRecord struct {
	Version  int    `json:"v"`
	PGID     int    `json:"pgid"`   // the leader's pid and process group
	Start    uint64 `json:"start"`  // the leader's start time, clock ticks after boot
	Session  int    `json:"sid"`    // the leader's session; 0 when its leader is outside this pid namespace
	Boot     string `json:"boot"`   // /proc/sys/kernel/random/boot_id
	Daemon   int    `json:"daemon"` // the pid of the process that ran it
	Began    string `json:"began"`  // RFC 3339, for the log
	Group    string `json:"group"`
	Resource string `json:"resource"`
	Op       string `json:"op"`
	Path     string `json:"path"`
}

const (
	recordVersion = 1
	// maxRecord bounds a record file: what is longer is not one. It
	// holds the longest record Track writes: four text fields of
	// maxRecordField bytes, each byte escaped by JSON in at most six
	// ("\u001f"), and the rest.
	maxRecord = 16384
	// maxRecordField bounds each text field of a record (clip), so that a
	// record stays below maxRecord whatever a group is called.
	maxRecordField = 512
	// tmpSuffix ends the name a record is written under before its rename.
	tmpSuffix = ".tmp"
)

// ErrUnsafeRecordsDir: the records' directory is not one OpenRecords
// may use (not a directory, another user's, writable by others).
var ErrUnsafeRecordsDir = errors.New("unsafe script records directory")

// OpenRecords makes (if need be) and checks the directory dir: it must
// be a directory, not a symbolic link, owned by this process's user and
// writable by no one else. log receives the warnings of Track (a record
// that could not be written) and the lines of KillLeftovers.
func OpenRecords(dir string, log logrus.FieldLogger) (*Records, error) {
	if log == nil {
		log = logrus.New()
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("script records: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("script records: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("script records: %s is not a directory (%v): %w", dir, fi.Mode().Type(), ErrUnsafeRecordsDir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("script records: %s is owned by uid %d, not %d: %w", dir, st.Uid, os.Geteuid(), ErrUnsafeRecordsDir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("script records: %s is writable by others (mode %v): %w", dir, fi.Mode().Perm(), ErrUnsafeRecordsDir)
	}
	rs := &Records{dir: dir, boot: bootID(), log: log}
	if rs.boot == "" {
		log.Warnf("script records %s: this boot's id (%s) cannot be read: what resource scripts a killed hbd leaves running will not be killed at the next start (their records cannot tell this boot from an earlier one)", dir, bootIDFile)
	}
	return rs, nil
}

// Dir is the records' directory.
func (rs *Records) Dir() string { return rs.dir }

// bootIDFile is where the kernel says its boot's id, a random UUID.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// bootID is this boot's id, "" when the kernel does not say.
func bootID() string {
	b, err := os.ReadFile(bootIDFile)
	if err != nil || len(b) > 64 {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Track records the script whose leader is pid (its process group: harc
// starts every script in a group of its own), which must not have been
// reaped yet. It returns the function that removes the record, to be
// called once the leader has been reaped. A record that cannot be written
// is a warning, not a failure of the script: the script runs unrecorded
// (its leader still dies with the daemon, Command's Pdeathsig).
func (rs *Records) Track(pid int, info ScriptInfo) (untrack func()) {
	st, ok := readProcStat(pid)
	if !ok || st.pgrp != pid {
		rs.log.Warnf("%s %s %s (pid %d): not recorded in %s: its process group could not be read", info.Path, info.Resource, info.Op, pid, rs.dir)
		return func() {}
	}
	rec := scriptRecord{
		Version: recordVersion, PGID: pid, Start: st.start, Session: st.session, Boot: rs.boot,
		Daemon: os.Getpid(), Began: time.Now().Format(time.RFC3339Nano),
		Group: clip(info.Group), Resource: clip(info.Resource), Op: clip(info.Op), Path: clip(info.Path),
	}
	name := filepath.Join(rs.dir, strconv.Itoa(pid))
	if err := rec.check(pid); err != nil {
		rs.log.Warnf("%s %s %q (pid %d): not recorded, as its reader would refuse the record: %v", info.Path, info.Resource, info.Op, pid, err)
		return func() {}
	}
	if err := writeRecord(name, rec); err != nil {
		rs.log.Warnf("%s %s %s (pid %d): not recorded: %v", info.Path, info.Resource, info.Op, pid, err)
		return func() {}
	}
	return func() {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			rs.log.Warnf("script record of %s %s %s (pid %d): %v", info.Path, info.Resource, info.Op, pid, err)
		}
	}
}

// writeRecord writes rec under a temporary name, then renames it to
// name: a reader never sees a record half written.
func writeRecord(name string, rec scriptRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if len(b) > maxRecord {
		return fmt.Errorf("record of %d bytes, more than the %d a reader takes", len(b), maxRecord)
	}
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// clip makes s valid UTF-8 (each run of bytes that is not becomes
// U+FFFD, as JSON would write it anyway) and cuts it to maxRecordField
// bytes, before the character the bound falls in: what a record holds
// reads back as written, and every valid character before the bound is
// kept.
func clip(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	if len(s) <= maxRecordField {
		return s
	}
	i := maxRecordField
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// recordName reads the process group id a record's file name gives:
// PGID for a record, .PGID.tmp for one written when its writer died
// (tmp true).
func recordName(name string) (pgid int, tmp bool, err error) {
	n := name
	if len(n) > 1+len(tmpSuffix) && n[0] == '.' && strings.HasSuffix(n, tmpSuffix) {
		n, tmp = n[1:len(n)-len(tmpSuffix)], true
	}
	pgid, err = strconv.Atoi(n)
	if err != nil || pgid <= 0 || strconv.Itoa(pgid) != n {
		return 0, tmp, fmt.Errorf("not a record's name (a process group id)")
	}
	return pgid, tmp, nil
}

// readRecord reads and checks the record file name of directory dir
// (a record, or a temporary one: recordName). Everything in it is
// checked as if anyone could have written it: a record names processes
// to kill.
func readRecord(dir, name string) (scriptRecord, error) {
	var rec scriptRecord
	pgid, _, err := recordName(name)
	if err != nil {
		return rec, err
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return rec, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return rec, err
	} else if !fi.Mode().IsRegular() {
		return rec, fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return rec, err
	}
	if len(b) > maxRecord {
		return rec, fmt.Errorf("longer than %d bytes", maxRecord)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, fmt.Errorf("not a record: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return rec, fmt.Errorf("not a record: more after its object")
	}
	return rec, rec.check(pgid)
}

// check says why rec, the record of process group pgid, is not one a
// reader takes, nil when it is. Track checks what it writes with it
// too: a record the reader would refuse is not written.
func (rec scriptRecord) check(pgid int) error {
	switch {
	case rec.Version != recordVersion:
		return fmt.Errorf("record version %d, want %d", rec.Version, recordVersion)
	case rec.PGID != pgid:
		return fmt.Errorf("names process group %d, its file name %d", rec.PGID, pgid)
	case rec.PGID <= 1:
		return fmt.Errorf("process group %d", rec.PGID)
	case rec.PGID == os.Getpid() || rec.PGID == syscall.Getpgrp():
		return fmt.Errorf("names this process's own group %d", rec.PGID)
	case rec.Start == 0:
		return fmt.Errorf("no start time")
	case rec.Session < 0:
		return fmt.Errorf("session %d", rec.Session)
	case !validOp(rec.Op):
		return fmt.Errorf("operation %q", rec.Op)
	}
	return nil
}

// validOp says whether op can be a script's operation as a record says
// it: 1 to 64 letters, digits, '-' or '_' (it is logged unquoted).
func validOp(op string) bool {
	if op == "" || len(op) > 64 {
		return false
	}
	for _, c := range []byte(op) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
