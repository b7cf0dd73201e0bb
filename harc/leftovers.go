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
	// LeftoverOtherBoot: the record is of an earlier boot, or its boot
	// id or this boot's is unknown: its pids may name other processes.
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

// DefaultLeftoverWait bounds the wait for the processes killed to be
// gone (one in uninterruptible sleep dies only when its system call
// returns): one wait for all the records read together.
const DefaultLeftoverWait = 5 * time.Second

const (
	// leftoverBatch is how many directory entries KillLeftovers reads,
	// and deals with together (one wait for their processes), at a time.
	leftoverBatch = 1024
	// maxLeftovers bounds the Leftovers KillLeftovers returns and the
	// records it logs one by one: beyond it, only the scripts it killed,
	// or that survived, have a line each; the rest are counted.
	maxLeftovers = 4096
)

// KillLeftovers deals with the records a previous process left in the
// directory (it died while their scripts ran): for each, every process
// still running of the script's process group is killed with SIGKILL,
// and KillLeftovers waits (up to wait, DefaultLeftoverWait if 0, for
// the processes of all the records it read together) until they are
// gone. It logs a warning for each script cut short, says which
// processes it killed, and removes the record. It reads every record,
// however many there are, leftoverBatch at a time; it returns the first
// maxLeftovers.
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
// and removed. A record of another boot is removed; so is one when this
// boot's id or the record's is unknown (the pids of another boot name
// other processes: a record kills only what it can be sure of). A
// temporary record (.PGID.tmp: its writer died before the rename) is
// read as a record when it is whole, and removed with a warning when it
// is not. The returned error is not nil when processes survived the
// kill (their records are kept, for the next attempt) or the directory
// could not be read; it is the caller's to refuse to go on.
func (rs *Records) KillLeftovers(wait time.Duration) ([]Leftover, error) {
	if wait <= 0 {
		wait = DefaultLeftoverWait
	}
	d, err := os.Open(rs.dir)
	if err != nil {
		return nil, fmt.Errorf("script records: %w", err)
	}
	defer d.Close()
	sw := &sweep{rs: rs, wait: wait, quiet: map[LeftoverOutcome]int{}}
	for {
		names, err := d.Readdirnames(leftoverBatch)
		if len(names) > 0 {
			sort.Strings(names)
			sw.batch(names)
		}
		if errors.Is(err, io.EOF) || err == nil && len(names) == 0 {
			break
		}
		if err != nil {
			return sw.out, errors.Join(sw.err(), fmt.Errorf("script records %s: %w; the rest were not read", rs.dir, err))
		}
	}
	if n := sw.quietTotal(); n > 0 {
		rs.log.Warnf("script records %s: %d more records (%s) were dealt with as the ones above, with no line each",
			rs.dir, n, sw.quietCounts())
	}
	return sw.out, sw.err()
}

// sweep is one KillLeftovers: what it has done so far.
type sweep struct {
	rs   *Records
	wait time.Duration
	out  []Leftover // at most maxLeftovers
	seen int        // records dealt with
	// quiet counts, per outcome, the records past maxLeftovers not
	// logged one by one.
	quiet map[LeftoverOutcome]int
	// survived names (at most maxNamed) the scripts with processes left
	// after SIGKILL, of nSurvived.
	survived  []string
	nSurvived int
}

// batch deals with the records names of the directory.
func (sw *sweep) batch(names []string) {
	rs := sw.rs
	var kill []scriptRecord
	var killNames []string
	for _, name := range names {
		l, rec, ok := sw.examine(name)
		if ok {
			kill, killNames = append(kill, rec), append(killNames, name)
			continue
		}
		if l != nil {
			sw.add(*l)
		}
		rs.remove(name)
	}
	for i, r := range killAll(kill, sw.wait, rs.signal) {
		rec, name := kill[i], killNames[i]
		l := Leftover{Name: name, PGID: rec.PGID, Info: recordInfo(rec), Killed: r.killed}
		what := describeRecord(rec)
		switch {
		case r.err != nil:
			l.Outcome, l.Err = LeftoverSurvived, fmt.Errorf("%s: %w", what, r.err)
			rs.log.Errorf("%v", l.Err)
			sw.nSurvived++
			if len(sw.survived) < maxNamed {
				sw.survived = append(sw.survived, l.Err.Error())
			}
		case len(r.killed) == 0:
			l.Outcome = LeftoverEnded
			sw.logf(l.Outcome, rs.log.Warnf, "%s was cut short when the previous run ended (nothing of it runs any more)", what)
		default:
			l.Outcome = LeftoverKilled
			rs.log.Warnf("%s was still running after the previous run ended: killed process group %d (%s); the %s was cut short",
				what, rec.PGID, strings.Join(r.comms, " "), rec.Op)
		}
		sw.add(l)
		if l.Outcome != LeftoverSurvived {
			rs.remove(name)
		}
	}
}

// examine reads the record name and deals with what needs no kill: it
// returns the Leftover of a record to remove, or the record whose
// script's processes are to be killed (ok), or neither (nothing to
// report, the file to remove).
func (sw *sweep) examine(name string) (_ *Leftover, _ scriptRecord, ok bool) {
	rs := sw.rs
	path := filepath.Join(rs.dir, name)
	l := &Leftover{Name: name}
	rec, err := readRecord(rs.dir, name)
	if err != nil {
		l.Outcome, l.Err = LeftoverCorrupt, err
		if _, tmp, nerr := recordName(name); tmp && nerr == nil {
			// Written when its writer died, its rename never done:
			// its script had just started (its leader died with the
			// writer), and what it may have forked cannot be found.
			sw.logf(l.Outcome, rs.log.Warnf, "script record %s was being written when the previous run ended (%v): removed", path, err)
			return l, rec, false
		}
		sw.logf(l.Outcome, rs.log.Errorf, "script record %s refused and removed: %v", path, err)
		return l, rec, false
	}
	l.PGID, l.Info = rec.PGID, recordInfo(rec)
	what := describeRecord(rec)
	switch {
	case rs.boot == "" || rec.Boot == "":
		l.Outcome = LeftoverOtherBoot
		sw.logf(l.Outcome, rs.log.Warnf, "%s: no boot id (%q, this boot's %q) says it was written during this boot; removed, nothing killed", what, rec.Boot, rs.boot)
		return l, rec, false
	case rec.Boot != rs.boot:
		l.Outcome = LeftoverOtherBoot
		sw.logf(l.Outcome, rs.log.Infof, "%s: recorded before the last boot; removed", what)
		return l, rec, false
	}
	if st, ok := readProcStat(rec.PGID); ok && st.start != rec.Start {
		l.Outcome = LeftoverReused
		sw.logf(l.Outcome, rs.log.Infof, "%s has ended: process %d is another process now (started later); left alone", what, rec.PGID)
		return l, rec, false
	}
	return nil, rec, true
}

// logf logs a line about a record of outcome o, unless maxLeftovers
// records have been dealt with already: then it counts it.
func (sw *sweep) logf(o LeftoverOutcome, logf func(string, ...any), format string, args ...any) {
	if sw.seen >= maxLeftovers {
		sw.quiet[o]++
		return
	}
	logf(format, args...)
}

// add counts l, and returns it from KillLeftovers if within maxLeftovers.
func (sw *sweep) add(l Leftover) {
	sw.seen++
	if len(sw.out) < maxLeftovers {
		sw.out = append(sw.out, l)
	}
}

func (sw *sweep) quietTotal() int {
	n := 0
	for _, c := range sw.quiet {
		n += c
	}
	return n
}

// quietCounts says how many records of each outcome were not logged.
func (sw *sweep) quietCounts() string {
	names := map[LeftoverOutcome]string{LeftoverEnded: "ended", LeftoverReused: "pid reused", LeftoverOtherBoot: "another boot",
		LeftoverCorrupt: "refused or half written"}
	var parts []string
	for _, o := range []LeftoverOutcome{LeftoverEnded, LeftoverReused, LeftoverOtherBoot, LeftoverCorrupt} {
		if c := sw.quiet[o]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", names[o], c))
		}
	}
	return strings.Join(parts, ", ")
}

// err is KillLeftovers' error: the scripts that survived SIGKILL.
func (sw *sweep) err() error {
	if sw.nSurvived == 0 {
		return nil
	}
	more := ""
	if n := sw.nSurvived - len(sw.survived); n > 0 {
		more = fmt.Sprintf("; and %d more", n)
	}
	return fmt.Errorf("scripts of the previous run still running after SIGKILL: %s%s", strings.Join(sw.survived, "; "), more)
}

func (rs *Records) remove(name string) {
	p := filepath.Join(rs.dir, name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		rs.log.Errorf("script record %s: %v", p, err)
	}
}

func recordInfo(rec scriptRecord) ScriptInfo {
	return ScriptInfo{Group: rec.Group, Resource: rec.Resource, Op: rec.Op, Path: rec.Path}
}

// describeRecord names a recorded script for the log: `the start script
// of resource group "KEY" ("RES", PATH, began TIME by hbd pid N)`, or
// `the status hook (PATH, ...)` for an rc.d hook.
func describeRecord(rec scriptRecord) string {
	if rec.Group == "" && rec.Resource == "" {
		// An rc.d hook: no resource of its own.
		return fmt.Sprintf("the %s hook (%q, began %q by pid %d, process group %d)", rec.Op, rec.Path, rec.Began, rec.Daemon, rec.PGID)
	}
	group := "run for no group"
	if rec.Group != "" {
		group = fmt.Sprintf("of resource group %q", rec.Group)
	}
	return fmt.Sprintf("the %s script %s (resource %q, %q, began %q by pid %d, process group %d)",
		rec.Op, group, rec.Resource, rec.Path, rec.Began, rec.Daemon, rec.PGID)
}

// maxNamed bounds the processes a log line names.
const maxNamed = 8

// killResult is what killAll did for one record.
type killResult struct {
	killed []int    // the pids killed
	comms  []string // their names, COMM[PID] (at most maxNamed, then "...")
	err    error    // the processes that survived
}

// killAll SIGKILLs (through signal, nil for SIGKILL), until none is left
// or wait has passed, every live process of the scripts of recs: one
// wait for all, one scan of /proc at a time for all.
func killAll(recs []scriptRecord, wait time.Duration, signal func(*os.Process) error) []killResult {
	out := make([]killResult, len(recs))
	if len(recs) == 0 {
		return out
	}
	if signal == nil {
		signal = func(p *os.Process) error { return p.Signal(syscall.SIGKILL) }
	}
	deadline := time.Now().Add(wait)
	self := os.Getpid()
	byGroup := make(map[int][]int, len(recs)) // process group id -> indexes in recs
	for i, r := range recs {
		byGroup[r.PGID] = append(byGroup[r.PGID], i)
	}
	done := make([]bool, len(recs))
	left := len(recs)
	signalled := map[int]bool{}
	for {
		members, err := scriptMembers(recs, byGroup, done, self)
		if err != nil {
			for i := range recs {
				if !done[i] {
					out[i].err = err
				}
			}
			return out
		}
		expired := !time.Now().Before(deadline)
		for i := range recs {
			switch {
			case done[i]:
				continue
			case len(members[i]) == 0:
			case expired:
				out[i].err = fmt.Errorf("processes %s survived SIGKILL for %v", pidList(members[i]), wait)
			default:
				for _, pid := range members[i] {
					if signalled[pid] {
						continue // killed already: waited for, not signalled again
					}
					comm := procComm(pid) // before the kill, which may reap it
					if !signalMember(recs[i], pid, self, signal) {
						continue
					}
					signalled[pid] = true
					out[i].killed = append(out[i].killed, pid)
					switch {
					case len(out[i].comms) < maxNamed:
						out[i].comms = append(out[i].comms, fmt.Sprintf("%s[%d]", comm, pid))
					case len(out[i].comms) == maxNamed:
						out[i].comms = append(out[i].comms, "...")
					}
				}
				continue
			}
			done[i] = true
			left--
		}
		if left == 0 {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scriptMembers lists, for each record of recs not done, the live
// processes of its script, from one scan of /proc.
func scriptMembers(recs []scriptRecord, byGroup map[int][]int, done []bool, self int) ([][]int, error) {
	pids, err := procPIDs()
	if err != nil {
		return nil, fmt.Errorf("cannot list processes: %w", err)
	}
	members := make([][]int, len(recs))
	for _, pid := range pids {
		st, ok := readProcStat(pid)
		if !ok || !st.live() {
			continue
		}
		// A process is a leader (its pid a record's group) or in a
		// recorded group (its group).
		for _, i := range byGroup[pid] {
			if !done[i] && isMember(recs[i], pid, st, self) {
				members[i] = append(members[i], pid)
			}
		}
		if st.pgrp == pid {
			continue
		}
		for _, i := range byGroup[st.pgrp] {
			if !done[i] && isMember(recs[i], pid, st, self) {
				members[i] = append(members[i], pid)
			}
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

// signalMember sends SIGKILL (signal) to pid if it still belongs to rec's script,
// through a pidfd opened before the check (os.FindProcess): a pid reused
// after the check is not signalled. It reports whether it was sent.
func signalMember(rec scriptRecord, pid, self int, signal func(*os.Process) error) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	defer p.Release()
	st, ok := readProcStat(pid)
	if !ok || !st.live() || !isMember(rec, pid, st, self) {
		return false
	}
	return signal(p) == nil
}

// pidList names at most maxNamed pids, then how many more: "[1 2] and
// 3 more".
func pidList(pids []int) string {
	if len(pids) <= maxNamed {
		return fmt.Sprint(pids)
	}
	return fmt.Sprintf("%v and %d more", pids[:maxNamed], len(pids)-maxNamed)
}

// procComm is the command name of pid, "?" when it cannot be read.
func procComm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil || len(b) > 64 {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
