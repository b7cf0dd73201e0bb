package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// hungFIFO makes a named pipe that the test holds open for reading and
// writing and does not read: a log file at its path takes 64 KiB, then
// every write waits, as on a hung mount, until the returned function
// starts reading it; that returns what it read so far.
func hungFIFO(t *testing.T) (string, func() func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ha-log")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() }) // ends the reader, and a write still waiting
	read := &testenv.LockedBuffer{}
	var once sync.Once
	return path, func() func() string {
		once.Do(func() { readAll(f, read, nil) })
		return read.String
	}
}

// logStatus is the log part of the status answer.
func logStatus(t *testing.T, r *loopRig) logging.Health {
	t.Helper()
	var st ctl.Status
	if err := json.Unmarshal(r.call(ctl.Request{Cmd: "status"}).Data, &st); err != nil {
		t.Fatal(err)
	}
	return st.Log
}

func outputHealth(h logging.Health, name string) logging.OutputHealth {
	for _, o := range h.Outputs {
		if o.Output == name {
			return o
		}
	}
	return logging.OutputHealth{Output: name}
}

// TestHungLogFileKeepsTheLoop: with the log file a FIFO nobody reads (a
// file on a hung mount) and the debug file working, the loop keeps
// sending heartbeats at keepalive through a flood of lines, SIGHUPs
// (which reopen the log) and a peer going silent and coming back; the
// status names the log file stuck and counts what it dropped; the debug
// file gets the flood, the word that the log file is stuck and that its
// reopen waits; once the pipe is read the log file gets its lines, in
// order, and says how many it dropped, as many as the status counts.
func TestHungLogFileKeepsTheLoop(t *testing.T) {
	cfg := loopConfig("node1", "node2")
	// Deadtime: 25 keepalives, for a loop slowed down by the race
	// detector on a loaded machine; a loop held by its log misses it
	// by far.
	cfg.Keepalive, cfg.Warntime, cfg.Deadtime, cfg.Initdead = 10*time.Millisecond, 100*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
	fifo, drain := hungFIFO(t)
	debug := filepath.Join(t.TempDir(), "ha-debug")
	r, tl, lg := loggedLoopRig(t, cfg, logging.Options{Outputs: logging.Outputs{Logfile: fifo, Debugfile: debug, Keepalive: cfg.Keepalive},
		Stderr: &testenv.LockedBuffer{}, Async: true, StuckAfter: 100 * time.Millisecond, CloseWait: 100 * time.Millisecond})

	const n = 5 * logging.QueueLines // 300 KiB: more than the pipe and the queue
	var flood sync.WaitGroup
	flood.Go(func() {
		script := lg.WithTag("IPaddr2", 4321)
		for i := range n {
			script.Infof("output line %d", i)
			if i%16 == 15 {
				time.Sleep(time.Millisecond) // the debug file keeps up
			}
		}
	})
	// The log file is stuck in a write before the first SIGHUP: its
	// reopen is the one said to wait.
	logName := "log file " + fifo
	for i := 0; lg.Health().Stuck != logName; i++ {
		if i == 1000 {
			t.Fatal("the log file never got stuck")
		}
		r.fromPeer("eth0", 0, "t", "status", "st", "active", "dt", "fa", "protocol", "1")
		time.Sleep(cfg.Keepalive)
	}
	from := time.Now()
	steps := peerSteps(r, from, cfg.Keepalive)
	to := time.Now()
	flood.Wait()
	noDeadtimeMissed(t, tl, from, to, steps, cfg.Deadtime)

	var h logging.Health
	waitFor(t, func() bool { h = logStatus(t, r); return h.Stuck == logName })
	if outputHealth(h, logName).Dropped == 0 {
		t.Errorf("status log %+v, want the log file's lines dropped", h)
	}
	got := readFileString(t, debug)
	for _, want := range []string{
		"WARN: Log output " + logName + ": a write has not returned for",
		"WARN: reopen log files: " + logName + " is reopened once its current write returns",
		"IPaddr2[4321]: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the debug file lacks %q", want)
		}
	}

	read := drain()
	var reported uint64
	waitFor(t, func() bool {
		h = logStatus(t, r)
		reported = 0
		for _, m := range droppedRE.FindAllStringSubmatch(read(), -1) {
			k, _ := strconv.ParseUint(m[1], 10, 64)
			reported += k
		}
		return h.Stuck == "" && reported == outputHealth(h, logName).Dropped
	})
	wrote, prev := 0, -1
	for _, m := range outputLineRE.FindAllStringSubmatch(read(), -1) {
		i, _ := strconv.Atoi(m[1])
		if i <= prev {
			t.Fatalf("the log file has line %d after line %d", i, prev)
		}
		prev = i
		wrote++
	}
	// The count takes in the loop's own lines dropped too (the SIGHUPs'
	// reloads say the test has no configuration files).
	if uint64(wrote)+reported < n {
		t.Errorf("the log file has %d lines of the flood and counts %d dropped, want at least the %d of the flood", wrote, reported, n)
	}
}

var outputLineRE = regexp.MustCompile(`output line (\d+)\n`)

func readFileString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hungLogDaemon is a daemon of cfg (no loop: the test steps it) whose
// log file is a FIFO nobody reads, written by an Async logger (FlushWait
// flushWait; 0: the default) whose writer is stuck in a write to it.
func hungLogDaemon(t *testing.T, cfg *config.Config, flushWait time.Duration) (*Daemon, *logging.Logger, string) {
	t.Helper()
	fifo, _ := hungFIFO(t)
	cfg.Logfile = fifo
	d, _, _ := newTestDaemon(t, cfg, &fakeRunner{})
	lg, err := logging.New(logging.Options{Outputs: outputs(cfg), Stderr: &testenv.LockedBuffer{},
		Async: true, FlushWait: flushWait, StuckAfter: 50 * time.Millisecond, CloseWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lg.Close() })
	d.log = lg
	for i := 0; lg.Health().Stuck != "log file "+fifo; i++ {
		if i == 20_000 {
			t.Fatal("the log file never got stuck")
		}
		lg.Infof("filling %d", i)
		if i%64 == 63 {
			time.Sleep(time.Millisecond)
		}
	}
	return d, lg, fifo
}

// TestReloadSetsTheLogWait: while the log file hangs, a reload does not
// wait for it, and the keepalive it sets bounds how long a SIGHUP's
// reopen waits for the log from then on: lowered, raised (up to the
// logger's own bound, 5 s here so that it shows), or kept when the
// reload changes something else. A loop held longer than a keepalive
// would delay a heartbeat.
func TestReloadSetsTheLogWait(t *testing.T) {
	const long = 600 * time.Millisecond
	tests := []struct {
		name                string
		keepalive, reloaded time.Duration
		atLeast, lessThan   time.Duration
	}{
		{"lowered", long, 10 * time.Millisecond, 0, long / 2},
		{"raised", 10 * time.Millisecond, long, long, 5 * time.Second},
		{"kept", long, long, long, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loopConfig("node1", "node2")
			cfg.Keepalive = tc.keepalive
			d, _, _ := hungLogDaemon(t, cfg, 5*time.Second)
			next := *d.cfg
			next.Keepalive = tc.reloaded
			next.Warntime += time.Second // a change even when the keepalive is kept
			t0 := time.Now()
			d.applyConfig(context.Background(), &next, config.Diff(d.cfg, &next), "test")
			if took := time.Since(t0); took > time.Second {
				t.Errorf("the reload took %s while the log file hung", took)
			}
			if d.cfg != &next {
				t.Fatal("the reload was not applied")
			}
			t0 = time.Now()
			d.reopenLog()
			took := time.Since(t0)
			if took < tc.atLeast || took >= tc.lessThan {
				t.Errorf("the reopen waited %s for the hung log file, want %s to %s", took, tc.atLeast, tc.lessThan)
			}
			if !d.reopenStuck {
				t.Error("the reopen did not find the log file stuck")
			}
		})
	}
}

// TestReloadsAwayFromHungLogFile: reloads that move the log file off a
// FIFO nobody reads and back, again and again, each return at once and
// leave one writer for it: the status lists it once; the other file
// gets the lines of the reloads that set it.
func TestReloadsAwayFromHungLogFile(t *testing.T) {
	d, lg, fifo := hungLogDaemon(t, loopConfig("node1", "node2"), 0)
	logName := "log file " + fifo
	other := filepath.Join(t.TempDir(), "ha-log.other")
	const reloads = 40
	for i := range reloads {
		next := *d.cfg
		next.Logfile = other
		if i%2 == 1 {
			next.Logfile = fifo
		}
		t0 := time.Now()
		d.applyConfig(context.Background(), &next, config.Diff(d.cfg, &next), "test")
		if took := time.Since(t0); took > time.Second {
			t.Errorf("reload %d took %s while the log file hung", i, took)
		}
		if d.cfg != &next {
			t.Fatalf("reload %d was not applied", i)
		}
	}
	time.Sleep(150 * time.Millisecond) // a writer left stuck by a reload shows in the status by now
	h := lg.Health()
	if len(h.Outputs) != 1 || h.Outputs[0].Output != logName || h.Stuck != logName {
		t.Errorf("status log %+v, want the hung log file, once", h)
	}
	// Its writer writes them, then closes it (the last reload set the
	// FIFO again).
	waitFor(t, func() bool {
		b, _ := os.ReadFile(other) // not there until its writer has opened it
		return strings.Count(string(b), "info: Configuration change (test): logfile") == reloads/2
	})
}
