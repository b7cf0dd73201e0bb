package harc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// testRecords opens records in a new directory, logging to a buffer.
func testRecords(t *testing.T) (*Records, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	lg := logrus.New()
	lg.Out = &buf
	lg.Formatter = &logrus.TextFormatter{DisableTimestamp: true}
	rs, err := OpenRecords(filepath.Join(t.TempDir(), "scripts"), lg)
	if err != nil {
		t.Fatal(err)
	}
	return rs, &buf
}

// startGroup starts sh -c body in a process group of its own, as harc
// does, and has the test reap it at its end.
func startGroup(t *testing.T, body string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", body)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	pids, err := procPIDs()
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, pid := range pids {
		if st, ok := readProcStat(pid); ok && st.pgrp == pgid && st.live() {
			out = append(out, pid)
		}
	}
	return out
}

// waitMembers waits until group pgid has n live processes.
func waitMembers(t *testing.T, pgid, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(groupMembers(t, pgid)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d: %v, want %d processes", pgid, groupMembers(t, pgid), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func recordNames(t *testing.T, rs *Records) []string {
	t.Helper()
	ents, err := os.ReadDir(rs.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// A script's record exists while it runs and is gone once it has been
// reaped; what it says is what the script is.
func TestCommandRecordsWhileItRuns(t *testing.T) {
	rs, logged := testRecords(t)
	dir := t.TempDir()
	go func() {
		// Let the script go once its record is seen.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && len(recordNames(t, rs)) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		_ = os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	}()
	info := ScriptInfo{Group: "node1 web", Resource: "web", Op: "start", Path: "/bin/sh"}
	var seen []string
	var rec scriptRecord
	res := Command{
		Path: "/bin/sh", Args: []string{"-c", `while [ ! -e "$0/go" ]; do sleep 0.01; done`, dir},
		Track: func(pid int) func() {
			untrack := rs.Track(pid, info)
			seen = recordNames(t, rs)
			var err error
			if rec, err = readRecord(rs.Dir(), strconv.Itoa(pid)); err != nil {
				t.Errorf("record of pid %d: %v", pid, err)
			}
			return untrack
		},
	}.Run(context.Background())
	if !res.OK() {
		t.Fatalf("%s", res.Describe())
	}
	if len(seen) != 1 || seen[0] != strconv.Itoa(res.PID) {
		t.Errorf("records while it ran: %v, want [%d]", seen, res.PID)
	}
	self, ok := readProcStat(os.Getpid())
	if !ok {
		t.Fatal("cannot read this process's stat")
	}
	// The script keeps the session of the process that ran it.
	if rec.PGID != res.PID || rec.Group != info.Group || rec.Op != "start" || rec.Start == 0 || rec.Session != self.session {
		t.Errorf("record %+v, want session %d", rec, self.session)
	}
	if left := recordNames(t, rs); len(left) != 0 {
		t.Errorf("records after the script ended: %v", left)
	}
	if logged.Len() != 0 {
		t.Errorf("logged: %s", logged)
	}
}

// A script that will not die when its timeout kills it... dies; its
// record goes once its group is gone. (The kill of a group that survives
// SIGKILL cannot be shown without a process stuck in the kernel.)
func TestCommandRecordGoesWithKilledGroup(t *testing.T) {
	rs, _ := testRecords(t)
	res := Command{
		Path: "/bin/sh", Args: []string{"-c", `trap "" TERM; sleep 30 & sleep 30`},
		Timeout: 200 * time.Millisecond, KillGrace: 100 * time.Millisecond,
		Track: func(pid int) func() { return rs.Track(pid, ScriptInfo{Op: "start"}) },
	}.Run(context.Background())
	if !res.TimedOut || res.Err != nil {
		t.Fatalf("%s (%v)", res.Describe(), res.Err)
	}
	if left := recordNames(t, rs); len(left) != 0 {
		t.Errorf("records after the group was killed: %v", left)
	}
}

func TestKillLeftovers(t *testing.T) {
	t.Run("leader and child still running", func(t *testing.T) {
		rs, logged := testRecords(t)
		cmd := startGroup(t, "sleep 30 & exec sleep 30")
		pid := cmd.Process.Pid
		waitMembers(t, pid, 2)
		rs.Track(pid, ScriptInfo{Group: "node1 web", Resource: "web", Op: "start", Path: "/etc/ha.d/resource.d/web"})
		l := sweepOne(t, rs, LeftoverKilled)
		if len(l.Killed) != 2 {
			t.Fatalf("%+v", l)
		}
		if m := groupMembers(t, pid); len(m) != 0 {
			t.Errorf("group %d still has %v", pid, m)
		}
		for _, want := range []string{"level=warning", "the start script of resource group", "node1 web", "process group " + strconv.Itoa(pid), "sleep[", "the start was cut short"} {
			if !strings.Contains(logged.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logged)
			}
		}
	})
	t.Run("leader gone, its child still in the group", func(t *testing.T) {
		rs, logged := testRecords(t)
		cmd := startGroup(t, "sleep 30 & wait")
		pid := cmd.Process.Pid
		waitMembers(t, pid, 2)
		rs.Track(pid, ScriptInfo{Op: "stop"})
		_ = syscall.Kill(pid, syscall.SIGKILL) // the leader only
		_ = cmd.Wait()
		waitMembers(t, pid, 1)
		l := sweepOne(t, rs, LeftoverKilled)
		if len(l.Killed) != 1 {
			t.Fatalf("%+v", l)
		}
		if m := groupMembers(t, pid); len(m) != 0 {
			t.Errorf("group %d still has %v", pid, m)
		}
		if !strings.Contains(logged.String(), "the stop was cut short") {
			t.Errorf("log:\n%s", logged)
		}
	})
	t.Run("group already ended", func(t *testing.T) {
		rs, logged := testRecords(t)
		cmd := startGroup(t, "exit 0")
		rs.Track(cmd.Process.Pid, ScriptInfo{Op: "start"}) // not reaped yet
		_ = cmd.Wait()
		l := sweepOne(t, rs, LeftoverEnded)
		if len(l.Killed) != 0 {
			t.Fatalf("%+v", l)
		}
		if !strings.Contains(logged.String(), "nothing of it runs any more") {
			t.Errorf("log:\n%s", logged)
		}
	})
	t.Run("group id reused by another process", func(t *testing.T) {
		rs, _ := testRecords(t)
		cmd := startGroup(t, "sleep 30 & exec sleep 30")
		pid := cmd.Process.Pid
		waitMembers(t, pid, 2)
		rs.Track(pid, ScriptInfo{Op: "start"})
		// The record's leader started earlier than the process with
		// its pid now: that is another process, and so is its group.
		rewrite(t, rs, pid, func(r *scriptRecord) { r.Start-- })
		sweepOne(t, rs, LeftoverReused)
		if m := groupMembers(t, pid); len(m) != 2 {
			t.Errorf("group %d: %v, want both processes left alone", pid, m)
		}
	})
	t.Run("a later boot", func(t *testing.T) {
		rs, _ := testRecords(t)
		cmd := startGroup(t, "exec sleep 30")
		pid := cmd.Process.Pid
		rs.Track(pid, ScriptInfo{Op: "start"})
		rewrite(t, rs, pid, func(r *scriptRecord) { r.Boot = "another-boot" })
		sweepOne(t, rs, LeftoverOtherBoot)
		if m := groupMembers(t, pid); len(m) != 1 {
			t.Errorf("group %d: %v, want it left alone", pid, m)
		}
	})
}

// sweepOne runs KillLeftovers, which must find one record and deal with
// it as want says.
func sweepOne(t *testing.T, rs *Records, want LeftoverOutcome) Leftover {
	t.Helper()
	out, err := rs.KillLeftovers(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Outcome != want {
		t.Fatalf("%+v, want one record, outcome %d", out, want)
	}
	if left := recordNames(t, rs); len(left) != 0 {
		t.Errorf("records left: %v", left)
	}
	return out[0]
}

// rewrite changes the record of pid in place.
func rewrite(t *testing.T, rs *Records, pid int, change func(*scriptRecord)) {
	t.Helper()
	rec, err := readRecord(rs.Dir(), strconv.Itoa(pid))
	if err != nil {
		t.Fatal(err)
	}
	change(&rec)
	if err := writeRecord(filepath.Join(rs.Dir(), strconv.Itoa(pid)), rec); err != nil {
		t.Fatal(err)
	}
}

// A record harc could not have written is refused with an error that
// says why, removed, and kills nothing: not the process it names, not
// pid 1, not this process's group.
func TestKillLeftoversRefusesCorruptRecords(t *testing.T) {
	cmd := startGroup(t, "exec sleep 30")
	victim := cmd.Process.Pid
	st, ok := readProcStat(victim)
	if !ok {
		t.Fatal("no stat of", victim)
	}
	good := scriptRecord{Version: recordVersion, PGID: victim, Start: st.start, Session: st.session, Boot: bootID(), Op: "start"}
	js := func(change func(*scriptRecord)) string {
		r := good
		change(&r)
		b, _ := json.Marshal(r)
		return string(b)
	}
	v := strconv.Itoa(victim)
	self := strconv.Itoa(os.Getpid())
	// The test binary is pid 1 when it is the first process of a pid
	// namespace (unshare --pid --fork, a container's command): its own
	// group is then refused as group 1, before the own-group check.
	ownWhy := "own group"
	if os.Getpid() == 1 {
		ownWhy = "process group 1"
	}
	cases := []struct {
		name, file, content, why string
	}{
		{"not JSON", v, "pgid " + v + "\n", "not a record"},
		{"empty", v, "", "not a record"},
		{"unknown field", v, strings.Replace(js(func(*scriptRecord) {}), `{`, `{"kill":"all",`, 1), "unknown field"},
		{"two objects", v, js(func(*scriptRecord) {}) + js(func(*scriptRecord) {}), "more after"},
		{"too long", v, js(func(r *scriptRecord) { r.Path = strings.Repeat("x", maxRecord) }), "longer than"},
		{"name and group differ", "12345", js(func(*scriptRecord) {}), "its file name"},
		{"not a number", "web", js(func(*scriptRecord) {}), "not a record's name"},
		{"leading zero", "0" + v, js(func(*scriptRecord) {}), "not a record's name"},
		{"negative", "-" + v, js(func(*scriptRecord) {}), "not a record's name"},
		{"init", "1", js(func(r *scriptRecord) { r.PGID = 1 }), "process group 1"},
		{"own group", self, js(func(r *scriptRecord) { r.PGID = os.Getpid() }), ownWhy},
		{"no start time", v, js(func(r *scriptRecord) { r.Start = 0 }), "no start time"},
		{"negative session", v, js(func(r *scriptRecord) { r.Session = -1 }), "session -1"},
		{"no operation", v, js(func(r *scriptRecord) { r.Op = "" }), "operation"},
		{"operation with a newline", v, js(func(r *scriptRecord) { r.Op = "start\nCRIT: x" }), "operation"},
		{"another version", v, js(func(r *scriptRecord) { r.Version = 2 }), "version 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, logged := testRecords(t)
			if err := os.WriteFile(filepath.Join(rs.Dir(), tc.file), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := rs.KillLeftovers(time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 || out[0].Outcome != LeftoverCorrupt || out[0].Err == nil || !strings.Contains(out[0].Err.Error(), tc.why) {
				t.Fatalf("%+v, want refused: %s", out, tc.why)
			}
			if !strings.Contains(logged.String(), "level=error") || !strings.Contains(logged.String(), "refused and removed") {
				t.Errorf("log:\n%s", logged)
			}
			if left := recordNames(t, rs); len(left) != 0 {
				t.Errorf("left: %v", left)
			}
			if len(groupMembers(t, victim)) != 1 {
				t.Errorf("process %d was killed", victim)
			}
		})
	}
	t.Run("symbolic link and fifo", func(t *testing.T) {
		rs, _ := testRecords(t)
		target := filepath.Join(t.TempDir(), "rec")
		if err := os.WriteFile(target, []byte(js(func(*scriptRecord) {})), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(rs.Dir(), v)); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(rs.Dir(), "12345"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := rs.KillLeftovers(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || out[0].Outcome != LeftoverCorrupt || out[1].Outcome != LeftoverCorrupt {
			t.Fatalf("%+v", out)
		}
		if len(groupMembers(t, victim)) != 1 {
			t.Errorf("process %d was killed", victim)
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("the link's target: %v", err)
		}
	})
	t.Run("half-written record", func(t *testing.T) {
		rs, logged := testRecords(t)
		if err := os.WriteFile(filepath.Join(rs.Dir(), "."+v+tmpSuffix), []byte(`{"v":1,"pgid":`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.KillLeftovers(time.Second); err != nil {
			t.Fatal(err)
		}
		if left := recordNames(t, rs); len(left) != 0 {
			t.Errorf("left: %v", left)
		}
		if !strings.Contains(logged.String(), "being written") || len(groupMembers(t, victim)) != 1 {
			t.Errorf("log:\n%s", logged)
		}
	})
}

func TestOpenRecordsRefusesUnsafeDirectory(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{open: "writable by others", file: "not a directory", link: "not a directory"} {
		if _, err := OpenRecords(dir, nil); !errors.Is(err, ErrUnsafeRecordsDir) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", dir, err, want)
		}
	}
}

// TestRecordOfTheLongestFields: a record whose text fields are each at
// their bound and made of what JSON escapes the most is written, and
// read back whole: a group's name never voids its script's record.
func TestRecordOfTheLongestFields(t *testing.T) {
	dir := t.TempDir()
	worst := strings.Repeat("\x01<&", maxRecordField)
	rec := scriptRecord{
		Version: recordVersion, PGID: 4242, Start: 1, Session: 4242, Boot: "b", Daemon: 1, Began: time.Now().Format(time.RFC3339Nano),
		Group: clip(worst), Resource: clip(worst), Op: "start", Path: clip(worst),
	}
	if err := writeRecord(filepath.Join(dir, "4242"), rec); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := readRecord(dir, "4242")
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if got.Group != rec.Group || got.Path != rec.Path {
		t.Error("read back other fields than written")
	}
}

// Track does not write a record its reader would refuse (here, for its
// operation): it warns that the script runs unrecorded.
func TestTrackWritesNoRecordItsReaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		op     string
		record bool
	}{
		{"start", true},
		{"meta-data", true},
		{"", false},
		{"start\nCRIT: x", false},
		{"stop now", false},
		{strings.Repeat("x", 65), false},
	} {
		t.Run(strconv.Quote(tc.op), func(t *testing.T) {
			rs, logged := testRecords(t)
			cmd := startGroup(t, "exec sleep 30")
			untrack := rs.Track(cmd.Process.Pid, ScriptInfo{Op: tc.op, Path: "/bin/sh"})
			defer untrack()
			names := recordNames(t, rs)
			if got := len(names) == 1; got != tc.record {
				t.Fatalf("records %v, want one: %v", names, tc.record)
			}
			if tc.record {
				if _, err := readRecord(rs.Dir(), names[0]); err != nil {
					t.Errorf("read back: %v", err)
				}
				return
			}
			if !strings.Contains(logged.String(), "level=warning") || !strings.Contains(logged.String(), "not recorded") {
				t.Errorf("log:\n%s", logged)
			}
		})
	}
}

// clip keeps every valid character before its bound, whatever invalid
// UTF-8 the text holds, and cuts on a character boundary.
func TestClip(t *testing.T) {
	long := strings.Repeat("a", maxRecordField)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short", "web", "web"},
		{"at the bound", long, long},
		{"over the bound", long + "b", long},
		{"invalid byte first, then too long", "\xff" + long, "\ufffd" + long[:maxRecordField-3]},
		{"invalid byte, short", "we\xffb", "we\ufffdb"},
		{"a character across the bound", long[:maxRecordField-1] + "é", long[:maxRecordField-1]},
		{"a cut character ends it", "abc\xc3", "abc\ufffd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := clip(tc.in)
			if got != tc.want {
				t.Errorf("clip(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !utf8.ValidString(got) || len(got) > maxRecordField {
				t.Errorf("clip(%q) = %q: %d bytes, valid %v", tc.in, got, len(got), utf8.ValidString(got))
			}
		})
	}
}

// Without this boot's id (or the record's), a record cannot tell this
// boot from an earlier one, whose pids name other processes: it is
// removed, kills nothing, and says why.
func TestKillLeftoversWithoutBootID(t *testing.T) {
	for _, tc := range []struct {
		name       string
		readerBoot string
		recordBoot string
	}{
		{"this boot's id unknown", "", "a-boot"},
		{"the record's boot id blank", "a-boot", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, logged := testRecords(t)
			cmd := startGroup(t, "exec sleep 30")
			pid := cmd.Process.Pid
			rs.Track(pid, ScriptInfo{Op: "start"})
			rewrite(t, rs, pid, func(r *scriptRecord) { r.Boot = tc.recordBoot })
			rs.boot = tc.readerBoot
			sweepOne(t, rs, LeftoverOtherBoot)
			if m := groupMembers(t, pid); len(m) != 1 {
				t.Errorf("group %d: %v, want it left alone", pid, m)
			}
			if !strings.Contains(logged.String(), "no boot id") || !strings.Contains(logged.String(), "nothing killed") {
				t.Errorf("log:\n%s", logged)
			}
		})
	}
}

// A temporary record (its writer died before the rename) that is whole
// is a record: its script's processes are killed.
func TestKillLeftoversReadsWholeTemporaryRecord(t *testing.T) {
	rs, logged := testRecords(t)
	cmd := startGroup(t, "sleep 30 & exec sleep 30")
	pid := cmd.Process.Pid
	waitMembers(t, pid, 2)
	rs.Track(pid, ScriptInfo{Group: "node1 web", Op: "start"})
	name := strconv.Itoa(pid)
	tmp := "." + name + tmpSuffix
	if err := os.Rename(filepath.Join(rs.Dir(), name), filepath.Join(rs.Dir(), tmp)); err != nil {
		t.Fatal(err)
	}
	l := sweepOne(t, rs, LeftoverKilled)
	if l.Name != tmp || len(l.Killed) != 2 {
		t.Errorf("%+v", l)
	}
	if m := groupMembers(t, pid); len(m) != 0 {
		t.Errorf("group %d still has %v", pid, m)
	}
	if !strings.Contains(logged.String(), "the start was cut short") {
		t.Errorf("log:\n%s", logged)
	}
	// Names that only look like temporary records are refused.
	for _, bad := range []string{tmpSuffix, "." + tmpSuffix, ".x" + tmpSuffix, ".0" + name + tmpSuffix} {
		if _, _, err := recordName(bad); err == nil {
			t.Errorf("recordName(%q): no error", bad)
		}
	}
}

// KillLeftovers waits once for the processes of all the records it
// read, not once per record: four scripts whose processes survive
// (here: the kill does nothing) hold it up about one wait, not four.
func TestKillLeftoversWaitsOnceForAll(t *testing.T) {
	rs, _ := testRecords(t)
	rs.signal = func(*os.Process) error { return nil }
	const n = 4
	var pids []int
	for range n {
		cmd := startGroup(t, "exec sleep 30")
		pids = append(pids, cmd.Process.Pid)
		rs.Track(cmd.Process.Pid, ScriptInfo{Op: "start"})
	}
	const wait = 300 * time.Millisecond
	began := time.Now()
	out, err := rs.KillLeftovers(wait)
	took := time.Since(began)
	if err == nil || len(out) != n {
		t.Fatalf("%+v, %v: want %d survivors and an error", out, err, n)
	}
	for _, l := range out {
		if l.Outcome != LeftoverSurvived {
			t.Errorf("%+v", l)
		}
	}
	// One wait per record would take n waits at least.
	if took >= (n-1)*wait {
		t.Errorf("KillLeftovers took %v for %d records, wait %v: a wait per record", took, n, wait)
	}
	if left := recordNames(t, rs); len(left) != n {
		t.Errorf("records kept: %v, want %d", left, n)
	}
	for _, pid := range pids {
		if !strings.Contains(err.Error(), "process group "+strconv.Itoa(pid)) {
			t.Errorf("error %q does not name %d", err, pid)
		}
	}
}

// More records than KillLeftovers reads at a time, or returns, are all
// dealt with: the start goes on; the lines past the bound are counted.
func TestKillLeftoversReadsAllRecords(t *testing.T) {
	rs, logged := testRecords(t)
	boot := bootID()
	const extra = 10
	n := 0
	for pid := 4194303; n < maxLeftovers+extra && pid > 1; pid-- {
		if syscall.Kill(pid, 0) == nil || groupHas(pid) {
			continue // in use: its record would not be of an ended script
		}
		rec := scriptRecord{Version: recordVersion, PGID: pid, Start: 1, Session: 1, Boot: boot, Op: "start"}
		b, _ := json.Marshal(rec)
		if err := os.WriteFile(filepath.Join(rs.Dir(), strconv.Itoa(pid)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		n++
	}
	out, err := rs.KillLeftovers(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != maxLeftovers || out[0].Outcome != LeftoverEnded {
		t.Errorf("%d leftovers, want %d", len(out), maxLeftovers)
	}
	if left := recordNames(t, rs); len(left) != 0 {
		t.Errorf("%d records left", len(left))
	}
	if want := strconv.Itoa(extra) + " more records (ended: " + strconv.Itoa(extra) + ")"; !strings.Contains(logged.String(), want) {
		t.Errorf("the log lacks %q", want)
	}
}

// groupHas says whether process group pgid has a member.
func groupHas(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}

func TestPidList(t *testing.T) {
	many := make([]int, maxNamed+3)
	for i := range many {
		many[i] = i + 2
	}
	for _, tc := range []struct {
		pids []int
		want string
	}{
		{[]int{42}, "[42]"},
		{many[:maxNamed], fmt.Sprint(many[:maxNamed])},
		{many, fmt.Sprint(many[:maxNamed]) + " and 3 more"},
	} {
		if got := pidList(tc.pids); got != tc.want {
			t.Errorf("pidList(%v) = %q, want %q", tc.pids, got, tc.want)
		}
	}
}
