package harc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LeftoverOutcome is what KillLeftovers did with one record.
type LeftoverOutcome int

const (
	// LeftoverKilled: processes of the script were still running and
	// were killed (SIGKILL), and are gone.
	LeftoverKilled LeftoverOutcome = iota + 1
	// LeftoverEnded: nothing of the script ran any more.
	LeftoverEnded
	// LeftoverReused: its process group id now belongs to a process that
	// is not the script (the leader's start time differs): left alone.
	LeftoverReused
	// LeftoverOtherBoot: the record is of an earlier boot.
	LeftoverOtherBoot
	// LeftoverCorrupt: the file is not a record harc could have written.
	LeftoverCorrupt
	// LeftoverSurvived: processes of the script were still there after
	// SIGKILL and the wait: the record is kept.
	LeftoverSurvived
)

// Leftover is one record KillLeftovers found, and what it did with it.
type Leftover struct {
	Name    string // the file's name
	Info    ScriptInfo
	PGID    int
	Outcome LeftoverOutcome
	Killed  []int // the pids killed
	Err     error // why a record was refused, or what survived
}

// DefaultLeftoverWait bounds the wait, per record, for the processes
// killed to be gone (one in uninterruptible sleep dies only when its
// system call returns).
const DefaultLeftoverWait = 5 * time.Second

// KillLeftovers deals with the records a previous process left in the
// directory (it died while their scripts ran): for each, every process
// still running of the script's process group is killed with SIGKILL,
// and KillLeftovers waits (up to wait per record, DefaultLeftoverWait
// if 0) until they are gone. It logs a warning for each script cut
// short, says which processes it killed, and removes the record.
//
// A process belongs to a recorded script when it is the leader (its
// pid and start time are the record's), or when it is in the recorded
// process group and session and started no earlier than the leader.
// The kernel keeps a pid in use while any process is in a group of that
// id, so a group that still has members is the script's, even after its
// leader died; a leader pid in use by a process with another start time
// means the group ended and its id was reused: nothing is touched.
// Processes are signalled through a pidfd opened before their identity
// is checked, so a pid reused between the check and the kill is never
// signalled.
//
// A record that cannot be read, is malformed, or names pid 1, a group
// id below 2 or this process's own group is refused: logged as an error
// and removed. A record of another boot is removed. The returned error
// is not nil when processes survived the kill (their records are kept,
// for the next attempt) or the directory could not be read; it is the
// caller's to refuse to go on.
func (rs *Records) KillLeftovers(wait time.Duration) ([]Leftover, error) {
	if wait <= 0 {
		wait = DefaultLeftoverWait
	}
	d, err := os.Open(rs.dir)
	if err != nil {
		return nil, fmt.Errorf("script records: %w", err)
	}
	names, err := d.Readdirnames(maxRecordEntries + 1)
	d.Close()
	if err != nil && len(names) == 0 && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("script records %s: %w", rs.dir, err)
	}
	var tooMany error
	if len(names) > maxRecordEntries {
		names = names[:maxRecordEntries]
		tooMany = fmt.Errorf("script records %s: more than %d entries; the rest were not read", rs.dir, maxRecordEntries)
		rs.log.Error(tooMany)
	}
	sort.Strings(names)
	var out []Leftover
	var survived []string
	for _, name := range names {
		if strings.HasPrefix(name, ".") && strings.HasSuffix(name, tmpSuffix) {
			// A record being written when its writer died: its script
			// had just started (its leader died with the writer).
			rs.log.Warnf("script record %s was being written when the previous run ended: removed", filepath.Join(rs.dir, name))
			rs.remove(name)
			continue
		}
		l := rs.leftover(name, wait)
		out = append(out, l)
		if l.Outcome == LeftoverSurvived {
			survived = append(survived, l.Err.Error())
			continue
		}
		rs.remove(name)
	}
	if len(survived) > 0 {
		return out, fmt.Errorf("scripts of the previous run still running after SIGKILL: %s", strings.Join(survived, "; "))
	}
	return out, tooMany
}

func (rs *Records) remove(name string) {
	p := filepath.Join(rs.dir, name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		rs.log.Errorf("script record %s: %v", p, err)
	}
}

// leftover deals with one record.
func (rs *Records) leftover(name string, wait time.Duration) Leftover {
	l := Leftover{Name: name}
	rec, err := readRecord(rs.dir, name)
	if err != nil {
		l.Outcome, l.Err = LeftoverCorrupt, err
		rs.log.Errorf("script record %s refused and removed: %v", filepath.Join(rs.dir, name), err)
		return l
	}
	l.PGID = rec.PGID
	l.Info = ScriptInfo{Group: rec.Group, Resource: rec.Resource, Op: rec.Op, Path: rec.Path}
	what := describeRecord(rec)
	if rec.Boot != rs.boot {
		l.Outcome = LeftoverOtherBoot
		rs.log.Infof("%s: recorded before the last boot; removed", what)
		return l
	}
	if st, ok := readProcStat(rec.PGID); ok && st.start != rec.Start {
		l.Outcome = LeftoverReused
		rs.log.Infof("%s has ended: process %d is another process now (started later); left alone", what, rec.PGID)
		return l
	}
	killed, comms, err := killRecorded(rec, wait)
	l.Killed = killed
	switch {
	case err != nil:
		l.Outcome, l.Err = LeftoverSurvived, fmt.Errorf("%s: %w", what, err)
		rs.log.Errorf("%v", l.Err)
	case len(killed) == 0:
		l.Outcome = LeftoverEnded
		rs.log.Warnf("%s was cut short when the previous run ended (nothing of it runs any more)", what)
	default:
		l.Outcome = LeftoverKilled
		rs.log.Warnf("%s was still running after the previous run ended: killed process group %d (%s); the %s was cut short",
			what, rec.PGID, strings.Join(comms, " "), rec.Op)
	}
	return l
}

// describeRecord names a recorded script for the log: `the start script
// of resource group "KEY" ("RES", PATH, began TIME by hbd pid N)`.
func describeRecord(rec scriptRecord) string {
	group := "run for no group"
	if rec.Group != "" {
		group = fmt.Sprintf("of resource group %q", rec.Group)
	}
	return fmt.Sprintf("the %s script %s (resource %q, %q, began %q by pid %d, process group %d)",
		rec.Op, group, rec.Resource, rec.Path, rec.Began, rec.Daemon, rec.PGID)
}

// maxNamed bounds the processes a log line names.
const maxNamed = 8

// killRecorded SIGKILLs, until none is left or wait has passed, every
// live process of rec's script. It returns the pids killed and their
// names (COMM[PID], at most maxNamed), or an error naming those that
// survived.
func killRecorded(rec scriptRecord, wait time.Duration) ([]int, []string, error) {
	deadline := time.Now().Add(wait)
	self := os.Getpid()
	seen := map[int]bool{}
	var killed []int
	var comms []string
	for {
		members, err := recordedMembers(rec, self)
		if err != nil {
			return killed, comms, err
		}
		if len(members) == 0 {
			return killed, comms, nil
		}
		if !time.Now().Before(deadline) {
			return killed, comms, fmt.Errorf("processes %v survived SIGKILL for %v", members, wait)
		}
		for _, pid := range members {
			if seen[pid] {
				continue // killed already: waited for, not signalled again
			}
			comm := procComm(pid) // before the kill, which may reap it
			if !signalMember(rec, pid, self) {
				continue
			}
			seen[pid] = true
			killed = append(killed, pid)
			switch {
			case len(comms) < maxNamed:
				comms = append(comms, fmt.Sprintf("%s[%d]", comm, pid))
			case len(comms) == maxNamed:
				comms = append(comms, "...")
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recordedMembers lists the live processes of rec's script.
func recordedMembers(rec scriptRecord, self int) ([]int, error) {
	pids, err := procPIDs()
	if err != nil {
		return nil, fmt.Errorf("cannot list processes: %w", err)
	}
	var members []int
	for _, pid := range pids {
		if st, ok := readProcStat(pid); ok && st.live() && isMember(rec, pid, st, self) {
			members = append(members, pid)
		}
	}
	return members, nil
}

// isMember says whether process pid, of /proc stat st, belongs to rec's
// script (see KillLeftovers). Pid 1 and this process never do.
func isMember(rec scriptRecord, pid int, st procStat, self int) bool {
	if pid <= 1 || pid == self {
		return false
	}
	if pid == rec.PGID {
		return st.start == rec.Start
	}
	return st.pgrp == rec.PGID && st.session == rec.Session && st.start >= rec.Start
}

// signalMember sends SIGKILL to pid if it still belongs to rec's script,
// through a pidfd opened before the check (os.FindProcess): a pid reused
// after the check is not signalled. It reports whether it was sent.
func signalMember(rec scriptRecord, pid, self int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	defer p.Release()
	st, ok := readProcStat(pid)
	if !ok || !st.live() || !isMember(rec, pid, st, self) {
		return false
	}
	return p.Signal(syscall.SIGKILL) == nil
}

// procComm is the command name of pid, "?" when it cannot be read.
func procComm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil || len(b) > 64 {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
