//go:build !noetcd

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// etcdNode is one hbd node with the etcd backend run in this process
// (Run), whose groups are each a resource script that logs its starts
// and stops, with the fencing token, in an events file.
type etcdNode struct {
	t                  *testing.T
	node               string // its name: n1 unless changed before start
	dir, had           string
	events, logfile    string
	endpoints          []string
	busy               func(bool) // Options.Busy
	cancel             context.CancelFunc
	done               chan error
	ended              bool  // Run returned before stop: within saw it
	endErr             error // what it returned
	logOffset, evCount int
}

// recScript is resource.d/rec: `rec NAME start|stop|status`; NAME runs
// while its state file exists.
const recScript = `#!/bin/sh
state="%[1]s/$1"
case "$2" in
start) touch "$state"; echo "start $1 $HA_FENCING_TOKEN" >> %[2]s ;;
stop) rm -f "$state"; echo "stop $1 $HA_FENCING_TOKEN" >> %[2]s ;;
status|monitor) if [ -e "$state" ]; then echo running; else echo stopped; exit 3; fi ;;
esac
`

func newEtcdNode(t *testing.T, endpoints []string) *etcdNode {
	t.Helper()
	// A short directory: the control socket's path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "hbd-etcd-reload-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &etcdNode{t: t, node: "n1", dir: dir, had: filepath.Join(dir, "ha.d"), events: filepath.Join(dir, "events"),
		logfile: filepath.Join(dir, "ha-log"), endpoints: endpoints}
	t.Cleanup(func() { // before the directory goes: a failure shows what the node did
		if t.Failed() {
			b, _ := os.ReadFile(n.logfile)
			t.Logf("%s's log:\n%s", n.node, b)
		}
	})
	for _, d := range []string{filepath.Join(n.had, "resource.d"), filepath.Join(dir, "groups"), filepath.Join(dir, "run"), filepath.Join(dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n.write("resource.d/rec", fmt.Sprintf(recScript, filepath.Join(dir, "groups"), n.events), 0o755)
	n.write("authkeys", "auth 1\n1 sha1 not-used-with-etcd\n", 0o600)
	return n
}

func (n *etcdNode) write(name, text string, mode os.FileMode) {
	n.t.Helper()
	path := filepath.Join(n.had, name)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), mode); err != nil {
		n.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // as an editor saves
		n.t.Fatal(err)
	}
}

// hacf is ha.cf with the etcd backend under prefix, and extra lines.
// Its timings leave room for a starved process (the race detector, one
// CPU, a loaded machine), in which the in-process etcd answers late: a
// lease of 30 s is renewed every 3 s, each renewal given 3 s, and the
// groups are stopped 14 s after the last renewal (with 6 s, 3.8 s after
// it, each renewal given 600 ms, the watchdog stopped every group in the
// middle of a test); a script has 5 s (with 1 s, a start of rec timed out,
// and the group was not tried again).
func (n *etcdNode) hacf(prefix string, extra ...string) string {
	return fmt.Sprintf("logfile %s\nlogfacility none\nnode n1\nauto_failback on\nbackend etcd\netcd_endpoints %s\netcd_prefix %s\netcd_lease 30\nresource_timeout 5\n%s",
		n.logfile, strings.Join(n.endpoints, " "), prefix, strings.Join(append(extra, ""), "\n"))
}

func (n *etcdNode) start() {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done, n.ended, n.endErr = cancel, make(chan error, 1), false, nil
	go func() {
		n.done <- Run(ctx, Options{ConfigDir: n.had, Node: n.node, RunDir: filepath.Join(n.dir, "run"),
			StateDir: filepath.Join(n.dir, "state"), Version: "test", Stderr: io.Discard, Busy: n.busy})
	}()
	n.t.Cleanup(n.stop)
}

// stop stops the node as SIGTERM does and waits for it.
func (n *etcdNode) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	if n.ended {
		if n.endErr != nil {
			n.t.Errorf("hbd run: %v", n.endErr)
		}
		return
	}
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Errorf("hbd run: %v", err)
		}
	case <-time.After(20 * time.Second):
		n.t.Error("hbd run did not stop within 20s")
	}
}

// recEvent is one line of the events file.
type recEvent struct {
	op, group string
	token     int64
}

func (n *etcdNode) allEvents() []recEvent {
	b, err := os.ReadFile(n.events)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		n.t.Fatal(err)
	}
	var out []recEvent
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		tok, _ := strconv.ParseInt(f[2], 10, 64)
		out = append(out, recEvent{f[0], f[1], tok})
	}
	return out
}

// newEvents returns the events since the last call (mark: from now on).
func (n *etcdNode) newEvents() []recEvent {
	all := n.allEvents()
	out := all[min(n.evCount, len(all)):]
	n.evCount = len(all)
	return out
}

// running is what runs by the events file, with the tokens.
func (n *etcdNode) running() map[string]int64 {
	out := map[string]int64{}
	for _, e := range n.allEvents() {
		if e.op == "start" {
			out[e.group] = e.token
		} else {
			delete(out, e.group)
		}
	}
	return out
}

// logSince returns the log written since the last call.
func (n *etcdNode) logSince() string {
	b, _ := os.ReadFile(n.logfile)
	out := string(b[min(n.logOffset, len(b)):])
	n.logOffset = len(b)
	return out
}

// waitAtMost bounds a wait of these tests for what the node does: a
// loaded machine slows its every step, the in-process etcd's most of all
// (the race detector, one CPU: renewals and claims time out and are
// retried, saying so once a minute), and a start that took 1 s took more
// than 15 s at a load of 12. A wait returns as soon as what it waits for
// happens.
const waitAtMost = time.Minute

// within polls cond every 20 ms until it holds, for at most waitAtMost,
// or until the node's Run has returned on its own (a configuration it
// refused): then it fails at once, with what Run returned, unless cond
// holds after all. A test that waits for the stop itself (n.cancel nil)
// keeps reading n.done.
func (n *etcdNode) within(what string, cond func() bool) {
	n.t.Helper()
	for end := time.Now().Add(waitAtMost); !cond(); time.Sleep(20 * time.Millisecond) {
		if n.cancel != nil && !n.ended {
			select {
			case n.endErr = <-n.done:
				n.ended = true
			default:
			}
		}
		if n.ended && !cond() {
			n.t.Fatalf("%s: hbd run ended first: %v", what, n.endErr)
		}
		if time.Now().After(end) {
			n.t.Fatalf("not within %v: %s", waitAtMost, what)
		}
	}
}

// waitRunning waits until exactly want run, and returns their tokens.
func (n *etcdNode) waitRunning(what string, want ...string) map[string]int64 {
	n.t.Helper()
	var got map[string]int64
	n.within(what, func() bool {
		got = n.running()
		if len(got) != len(want) {
			return false
		}
		for _, g := range want {
			if _, ok := got[g]; !ok {
				return false
			}
		}
		return true
	})
	n.t.Logf("%s: running %v", what, got)
	return got
}

// waitLog waits (within) until the log written since the last logSince
// holds s, and returns that log.
func (n *etcdNode) waitLog(s string) string {
	n.t.Helper()
	var seen strings.Builder
	n.within(fmt.Sprintf("the log to say %q", s), func() bool {
		seen.WriteString(n.logSince())
		return strings.Contains(seen.String(), s)
	})
	return seen.String()
}

// ownerKeys lists the owner keys under prefix.
func ownerKeys(t *testing.T, endpoints []string, prefix string) []string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, prefix+"owners/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, strings.TrimPrefix(string(kv.Key), prefix+"owners/"))
	}
	return out
}

// TestEtcdReload: with the etcd backend, an edit of haresources applies
// to the running loop (a changed group restarted under a new token, a new
// one started, the others untouched); an edit that does not validate, or
// one that validates but cannot apply (https:// endpoints of members that
// speak http), changes nothing, not even the part of it that could; a
// change of etcd_prefix restarts the loop, every group placed again
// under the new prefix.
func TestEtcdReload(t *testing.T) {
	c := etcdtest.Start(t, nil)
	n := newEtcdNode(t, c.Endpoints())
	n.write("ha.cf", n.hacf("/hbd-a/"), 0o644)
	n.write("haresources", "n1 rec::a\nn1 rec::b\n", 0o644)
	n.start()
	before := n.waitRunning("started", "a", "b")
	n.newEvents()
	n.logSince()

	// A valid edit: b gets a second resource, d is new.
	n.write("haresources", "n1 rec::a\nn1 rec::b rec::c\nn1 rec::d\n", 0o644)
	n.waitLog("Configuration reloaded")
	after := n.waitRunning("b changed, d added", "a", "b", "c", "d")
	if after["a"] != before["a"] {
		t.Errorf("a restarted (token %d, then %d): the edit did not change it", before["a"], after["a"])
	}
	if after["b"] <= before["b"] || after["c"] != after["b"] {
		t.Errorf("b restarted with token %d (before %d), c with %d: want one new, larger token for the group", after["b"], before["b"], after["c"])
	}
	for _, e := range n.newEvents() {
		if e.group == "a" || e.group == "d" && e.op == "stop" {
			t.Errorf("the edit made %s %s", e.op, e.group)
		}
	}

	// Edits that do not apply: haresources naming a node ha.cf lacks (it
	// does not validate), then ha.cf with the endpoints as https:// beside
	// a new group e (it validates, but the new etcd client cannot be made:
	// the members speak plain http, and the TLS handshake fails). Nothing
	// changes: no group stops or starts until the prefix change below
	// restarts them all.
	n.write("haresources", "n1 rec::a\nn9 rec::b rec::c\nn1 rec::d\n", 0o644)
	n.waitLog("refused")
	n.write("haresources", "n1 rec::a\nn1 rec::b rec::c\nn1 rec::d\nn1 rec::e\n", 0o644)
	n.write("ha.cf", strings.ReplaceAll(n.hacf("/hbd-a/"), "http://", "https://"), 0o644)
	logged := n.waitLog("nothing of it applied")
	if want := strings.Replace(n.endpoints[0], "http://", "https://", 1) + ": TLS handshake"; !strings.Contains(logged, want) {
		t.Errorf("the refusal does not say %q:\n%s", want, logged)
	}

	// A change of etcd_prefix (and the valid haresources with e): the loop
	// restarts, its groups stopped and released, then placed again.
	n.write("ha.cf", n.hacf("/hbd-b/"), 0o644)
	n.waitLog("restarting the ownership loop")
	moved := n.waitRunning("prefix changed", "a", "b", "c", "d", "e")
	n.within("the old prefix's owner keys gone", func() bool { return len(ownerKeys(t, c.Endpoints(), "/hbd-a/")) == 0 })
	if got := ownerKeys(t, c.Endpoints(), "/hbd-b/"); len(got) != 4 { // a, b, d, e
		t.Errorf("owner keys under the new prefix: %v, want a group's each", got)
	}
	// Since the valid edit, each group stopped once under its token and
	// started once under a new one, e only started: anything more is
	// the refused edits' doing (or a lost lease's, which the log says).
	got := map[string][]string{}
	for _, e := range n.newEvents() {
		got[e.group] = append(got[e.group], fmt.Sprint(e.op, " ", e.token))
	}
	for _, g := range []string{"a", "b", "c", "d", "e"} {
		want := []string{fmt.Sprint("start ", moved[g])}
		if g != "e" {
			want = append([]string{fmt.Sprint("stop ", after[g])}, want...)
		}
		if !slices.Equal(got[g], want) || moved[g] <= after[g] {
			t.Errorf("%s since the valid edit: %q, want %q: stopped by the restart only, and started again under a new token", g, got[g], want)
		}
	}
}
