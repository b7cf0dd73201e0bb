package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
)

// Bounds of `hbd status --watch`'s refresh.
const (
	defaultWatchInterval = time.Second
	minWatchInterval     = 200 * time.Millisecond
	// watchRefresh: on a terminal the screen is also redrawn this often
	// without a change, so the "ago" columns do not go stale.
	watchRefresh = 10 * time.Second
)

// Terminal control: cursor home, clear the screen.
const clearScreen = "\x1b[H\x1b[2J"

// watcher is `hbd status --watch` (`hbd mon`), like crm_mon: it asks the
// daemon for its status every interval and shows it again whenever the
// cluster changed. On a terminal the screen is redrawn in place; anywhere
// else (a pipe, a file, a log) each change is one full status in plain
// text, headed by the time, with no escape codes.
type watcher struct {
	name     string // the command, for messages
	fetch    func() (ctl.Status, error)
	out      io.Writer
	errOut   io.Writer // where a daemon that never answered is reported
	tty      bool
	interval time.Duration
	now      func() time.Time
}

// run shows the status until ctx ends; 3 or 1 when the daemon does not
// answer the first time (as `hbd status`), 0 otherwise. A daemon that stops
// answering later is shown as such, and watched for until it is back.
func (w *watcher) run(ctx context.Context) int {
	var last string // the change key of what is shown
	var drawn time.Time
	first := true
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		now := w.now()
		st, err := w.fetch()
		if err != nil && first {
			fmt.Fprintf(w.errOut, "hbd %s: %v\n", w.name, err)
			return noAnswerCode(err)
		}
		first = false
		key := "down: " + fmt.Sprint(err)
		if err == nil {
			key = changeKey(st)
		}
		if key != last || (w.tty && now.Sub(drawn) >= watchRefresh) {
			w.draw(st, err, now)
			last, drawn = key, now
		}
		if ctx.Err() != nil {
			return 0 // Ctrl-C wins over a tick that is also due
		}
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}

// draw shows one status (or why there is none).
func (w *watcher) draw(st ctl.Status, err error, now time.Time) {
	var b bytes.Buffer
	if w.tty {
		b.WriteString(clearScreen)
	}
	fmt.Fprintf(&b, "=== %s (every %s; Ctrl-C to stop) ===\n", now.Format("2006-01-02 15:04:05"), w.interval)
	if err != nil {
		fmt.Fprintf(&b, "hbd does not answer: %v\n", err)
	} else {
		printStatus(&b, st, now)
	}
	if !w.tty {
		b.WriteString("\n")
	}
	_, _ = w.out.Write(b.Bytes())
}

// changeKey is what of a status counts as a change for the watch: node
// and link states, flags, group holders, states, flags and errors,
// failures, fences, monitors' states and failure counts, ping, whether the
// log dropped lines and where a log write is stuck. Times and counters,
// which move all the time, are left out.
func changeKey(st ctl.Status) string {
	c := st.Cluster
	type link struct{ Name, State string }
	type node struct {
		Name, State string
		Standby     bool
		Generation  uint64
		Links       []link
	}
	type group struct {
		Key, Holder, State, Desired, LastError string
		Flags                                  []string
	}
	type mon struct {
		Group, Resource, State, Op string
		FailCount, LocalRestarts   int
	}
	type fence struct {
		Node     string
		InFlight bool
		Attempts int
	}
	v := struct {
		Self          node
		Flags         []string
		PID           int
		Nodes         []node
		Groups        []group
		Monitors      []mon
		Fences        []fence
		StartsBlocked string
		Ping          string
		Log           string   // the outputs dropping lines or stuck (logKey)
		Etcd          *etcdKey `json:",omitempty"`
	}{
		Self: node{Name: c.Node, State: c.State, Generation: c.Generation}, Flags: selfFlags(c), PID: st.PID,
		StartsBlocked: c.StartsBlocked, Ping: st.Ping, Log: logKey(st.Log),
	}
	for _, p := range c.Peers {
		n := node{Name: p.Name, State: p.State, Standby: p.InStandby, Generation: p.Generation}
		for _, l := range p.Links {
			n.Links = append(n.Links, link{l.Name, l.State})
		}
		v.Nodes = append(v.Nodes, n)
	}
	for _, g := range c.Groups {
		// The flags as at the failure's end: without the remaining time
		// (failed-here's "for 5m"), which moves all the time.
		v.Groups = append(v.Groups, group{g.Key, g.Holder, g.State, g.Desired, logging.Escape(g.LastError), groupFlags(g, g.FailedUntil)})
	}
	for _, m := range st.Monitors {
		v.Monitors = append(v.Monitors, mon{m.Group, m.Resource, m.State, m.Op, m.FailCount, m.LocalRestarts})
	}
	for _, f := range c.Fences {
		v.Fences = append(v.Fences, fence{f.Node, f.InFlight, f.Attempts})
	}
	if e := st.Etcd; e != nil {
		v.Etcd = &etcdKey{Lease: e.Lease, Members: e.Members, Standby: e.Standby, Groups: e.Groups, Unread: e.Error != "", Stopping: e.Stopping}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// etcdKey is what of the etcd backend's status counts as a change: the
// lease (a new one, or none), the members, the owners and tokens, whether
// etcd answered; not the lease's remaining time.
type etcdKey struct {
	Lease    string
	Members  []string
	Standby  []string
	Groups   []ctl.EtcdGroup
	Unread   bool
	Stopping bool
}

// isTerminal says whether f is a terminal (where the watch redraws in
// place).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
