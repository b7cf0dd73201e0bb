package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/paths"
)

// Hook limits. Peers decide how often a hook runs here (one per accepted
// message of a hook type, one per change of a peer's state), and every
// hook is a root process: per event, at most hookLimit run at a time and
// hookQueue more wait; the rest are dropped, counted, and the count is
// logged at most once per hookLogEvery.
const (
	hookLimit    = 4
	hookQueue    = 16
	hookLogEvery = time.Minute
)

// eventFunc runs one rc.d hook (harc.Runner.RunEvent).
type eventFunc func(ctx context.Context, event string, fields map[string]string) error

// hookJob is one hook run waiting for its turn.
type hookJob struct {
	run    eventFunc
	fields map[string]string
}

// hookLane is the hooks of one event: how many run, which wait, how many
// were dropped since the last line saying so.
type hookLane struct {
	running int
	queue   []hookJob
	dropped int
	logged  time.Time
}

// hooks runs rc.d hooks off the event loop, bounded per event. Its
// methods are safe for concurrent use.
type hooks struct {
	dir string // the configuration directory (rc.d is in it)
	ctx context.Context
	wg  *sync.WaitGroup
	log logrus.FieldLogger
	now func() time.Time

	mu      sync.Mutex
	lanes   map[string]*hookLane
	skipped map[string]bool // Heartbeat's own handlers, logged once
}

func newHooks(ctx context.Context, dir string, wg *sync.WaitGroup, log logrus.FieldLogger) *hooks {
	return &hooks{dir: dir, ctx: ctx, wg: wg, log: log, now: time.Now, lanes: map[string]*hookLane{}, skipped: map[string]bool{}}
}

// run runs rc.d/EVENT with fields as HA_<name> through run, in the
// background (a hook may take its time; harc bounds it), or queues or
// drops it when enough of that event's hooks are under way. It never
// blocks and never reads the hook.
func (h *hooks) run(run eventFunc, event string, fields map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.lanes[event]
	if l == nil {
		l = &hookLane{}
		h.lanes[event] = l
	}
	job := hookJob{run: run, fields: fields}
	switch {
	case l.running < hookLimit:
		l.running++
		h.wg.Add(1)
		go h.work(event, job)
	case len(l.queue) < hookQueue:
		l.queue = append(l.queue, job)
	default:
		l.dropped++
		h.logDropsLocked(event, l)
	}
}

// work runs job, then the jobs queued for the same event, one at a time.
func (h *hooks) work(event string, job hookJob) {
	defer h.wg.Done()
	for {
		h.runOne(event, job)
		h.mu.Lock()
		l := h.lanes[event]
		h.logDropsLocked(event, l)
		if len(l.queue) == 0 {
			l.running--
			h.mu.Unlock()
			return
		}
		job = l.queue[0]
		l.queue = l.queue[1:]
		h.mu.Unlock()
	}
}

func (h *hooks) runOne(event string, job hookJob) {
	if heartbeatHandler(filepath.Join(h.dir, paths.RcDir, event)) {
		h.mu.Lock()
		first := !h.skipped[event]
		h.skipped[event] = true
		h.mu.Unlock()
		if first {
			h.log.Infof("Not running rc.d/%s: it is Heartbeat's own handler (it calls ResourceManager, mach_down or hb_standby), and hbd does what it does itself", event)
		}
		return
	}
	if err := job.run(h.ctx, event, job.fields); err != nil {
		h.log.Warnf("rc.d/%s: %v", event, err)
	}
}

// logDropsLocked writes the drop line of an event when hooks were dropped
// and the last line is hookLogEvery old. h.mu is held.
func (h *hooks) logDropsLocked(event string, l *hookLane) {
	now := h.now()
	if l.dropped == 0 || !l.logged.IsZero() && now.Sub(l.logged) < hookLogEvery {
		return
	}
	h.log.Warnf("rc.d/%s: %d hook run(s) dropped: %d already running and %d waiting (at most %d and %d); this is logged at most once a minute", event, l.dropped, l.running, len(l.queue), hookLimit, hookQueue)
	l.dropped = 0
	l.logged = now
}

// heartbeatHandler tells Heartbeat's own rc.d handlers (left in
// /etc/ha.d/rc.d by the heartbeat package) from an operator's hooks.
// Heartbeat's handlers move resources themselves, through its
// ResourceManager; run beside hbd's own core they would start a group a
// second time. An operator's hook that does not call those tools runs.
func heartbeatHandler(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, marker := range []string{"ResourceManager", "mach_down", "req_resource", "hb_standby", "HA_NOARCHBIN"} {
		if strings.Contains(string(b), marker) {
			return true
		}
	}
	return false
}
