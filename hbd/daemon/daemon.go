// Package daemon is the only part of hbd with I/O and goroutines. It owns
// the real clock, the sockets, the control socket, signals and the
// logger, and turns everything that happens into events for one goroutine
// that owns the cluster state machine (hbd/cluster).
//
// That goroutine's loop (loop.go) is an executor: it feeds each event to
// the core's Step and executes the actions returned, in order, and
// decides nothing itself. It does not compare the core's state before and
// after a Step, does not read a message again after Step, and never looks
// a group up by key: what it must do, the core says (the list of actions
// is in hbd/cluster's package documentation).
//
//   - Datagrams are decoded and verified off the loop (intake.go); the loop
//     gets verified messages only.
//   - Group operations (StartGroup, StopGroup, ProbeGroup) run in the
//     background through the Runner (harc) with the Spec the action
//     carries; their results come back as OpDone events (groups.go).
//   - PrepareGroup has the Runner read the group's statuses ahead of the
//     start that follows (harc's Prepare), counted as an operation in
//     flight until the reads end; nothing comes back (groups.go).
//   - WatchGroup starts the watch of the group's built-in addresses
//     (watch_ip.go) and its monitor lines (monitor.go); UnwatchGroup ends
//     both, and the group's next operation waits until they have stopped.
//     A monitor that gives a group up comes back as GroupFailure.
//   - PeerState and RunHook run rc.d hooks (hooks.go), at most a few at a
//     time per event, a few more queued, the rest dropped and counted.
//   - Fence runs the fencing method (fence.go); FenceDone comes back.
//   - PeerGenerations and PersistSettings replace a file of the state
//     directory atomically (peergens.go, settings.go); at the next start
//     newCore gives what they kept to the core.
//   - A reload (reload.go) applies whole or not at all; the watch of the
//     configuration files (watch.go, edit.go) reports an edit once the
//     files are quiet and holds one that removes a group.
//   - Exit ends the loop. The shutdown notice has left by then: the links
//     write on the caller's goroutine, so a Send is done when it returns.
//   - StandingStatus is executed by a sender on the loop timer's own
//     goroutine (standing.go): woken by the timerfd, it takes loopMu,
//     which the loop holds whenever it is not parked in its select,
//     sends the order's status when due and arms the timer again,
//     and wakes the loop only when the loop's own deadline has come (the
//     core's next Tick or a chore's). At rest beside a quiet peer the
//     loop then wakes about once per status of that peer, not once a
//     keepalive; a loop stuck in anything holds loopMu and sends nothing.
//
// The loop uses the links and the runner through two small interfaces
// (Links, Runner), so its tests drive it with fakes, without root.
package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/monitor"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Options say where a node's files are.
type Options struct {
	ConfigDir string // /etc/ha.d
	Node      string // this node's name (uname -n unless --node)
	RunDir    string // pid file and control socket
	StateDir  string // hb_uuid, hb_generation, hbd_settings, hbd_peer_generations
	Version   string // for the startup line
	// Load is how the configuration is read (node, built-in agents);
	// Strict is forced on.
	Load config.LoadOptions
	// AgentCommand runs a built-in agent (harc.Options.BuiltinCommand).
	AgentCommand []string
	Stderr       io.Writer
	// Busy, when set, is called with true when the first group
	// operation begins (a start, stop, probe or re-announcement) and
	// with false when the last one running has ended: main gives the
	// runtime more than its one P meanwhile (hbd/cmd_run.go), so that
	// the operations of many groups, and the loop, run beside each
	// other's scripts.
	Busy func(busy bool)
	// ExecEtcd is what a build without the etcd backend (-tags noetcd,
	// the installed hbd) does with a configuration that says `backend
	// etcd`: it replaces this process with the program that has the
	// backend (hbd-etcd, hbd/etcdexec.go) and returns only the reason it
	// could not. Run calls it right after reading the configuration,
	// before the log, the pid file, the sockets or anything else a new
	// program would open again; the pid stays. Nil: such a build refuses
	// `backend etcd`. A build with the backend never calls it.
	ExecEtcd func() error
	// Ready, when set, is called once, when the daemon serves: its pid
	// file and state lock taken, its media and control socket open, its
	// core made, before its loop runs (main tells the service manager,
	// hbd/sdnotify.go). A start refused or failed before then never
	// calls it, so that the manager sees the start fail.
	Ready func()
}

// ConfigError is returned when the configuration is invalid; the command
// exits 6 as Heartbeat does ("program is not configured" in LSB terms).
type ConfigError struct{ Diags []config.Diag }

func (e *ConfigError) Error() string {
	lines := make([]string, 0, len(e.Diags))
	for _, d := range e.Diags {
		if d.Severity == config.SevError {
			lines = append(lines, d.String())
		}
	}
	return "configuration error:\n" + strings.Join(lines, "\n")
}

// Daemon is one running node.
type Daemon struct {
	opts  Options
	cfg   *config.Config
	log   *logging.Logger
	keys  *wire.Keyring
	links Links
	core  *cluster.Node
	id    Identity
	start time.Time

	intake *intake // decodes and verifies what the links receive
	calls  chan ctlCall
	// ctlWait bounds a control request's wait for the event loop (0:
	// ctlWaitDefault).
	ctlWait time.Duration
	reloads chan struct{}
	// The watch of the configuration files (edit.go): stopped by
	// `autoreload off`; held keeps an edit that removes groups waiting.
	watchTiming watchTiming
	watchStop   context.CancelFunc
	// configPolls is the watcher's clock: the loop sends on it every
	// watchTiming.poll (pollConfig, at configPoll or later).
	configPolls chan time.Time
	configPoll  time.Time
	held        removalHold

	runner Runner
	rscTmp string // the runner's HA_RSCTMP (built-in agents' records)
	// records records the resource scripts while they run (leftovers.go).
	records *harc.Records
	ops     chan cluster.OpDone
	opsCtx  context.Context // resource operations: not cancelled by a graceful stop
	opsWG   sync.WaitGroup
	busy    busyGauge // operations in flight (Options.Busy)
	exit    bool      // the core said the graceful stop is complete

	watches map[string]*ipWatch // held groups whose addresses are watched
	// keptCheck is when the watches' keepers look next (checkKept).
	keptCheck time.Time
	// unwatching waits, per group, until its ended watch and monitor
	// checks have stopped; the group's next operation waits for it.
	unwatching map[string]func()
	// reannouncing is, per group, closed when its last re-announce has
	// ended: the next one waits for it (a script's start never runs
	// twice at once).
	reannouncing map[string]chan struct{}
	// starts calls off, per group, the start under way (AbandonStart)
	// until its OpDone is stepped.
	starts map[string]*harc.Abandon

	monitors     *monitor.Set         // ha.cf monitor lines of the groups held here
	monitorFails chan monitor.Failure // groups a monitor gave up

	hooks *hooks  // rc.d hooks, bounded per event
	load  loadavg // the ld field of status messages (loadavg.go)

	sendBuf     []byte      // the last message encoded (execute, Send)
	encodeFails encodeFails // messages that could not be (encodefail.go)
	// drainFn is drained, bound once: the links' Drain is handed it at
	// every step without allocating. pending is what a wake-up took from
	// the links and the loop's queue before its event, in the order sent
	// (collect, order).
	drainFn func(link.Packet)
	pending []received
	order   sendOrder
	// routineRead is when the links' routine sockets were last read
	// (take), by readClock (nil: time.Now; the tests' own clock); zero
	// since the links were swapped (a reload's new media).
	routineRead time.Time
	readClock   func() time.Time
	// stepAt is when the core was given the event whose actions are being
	// executed: the moment of the decision, which the group operations'
	// debug lines count their milliseconds from.
	stepAt time.Time

	rt rtSched // realtime, rtprio (realtime.go)
	// rtAt is when the standing order's sender last ran the realtime
	// check (standing.go).
	rtAt time.Time

	// loopMu is held by the loop's goroutine whenever it is not parked
	// in its select, and by the timer's goroutine while it sends the
	// standing order's status (standing.go). standing executes the
	// core's order; loopDue is the loop's own next deadline (rearm).
	loopMu   sync.Mutex
	standing cluster.Standing
	loopDue  time.Time
	// ordered says whether an order stands, for fire to read without
	// loopMu: a node with none (a quiet passive) hands each expiry to
	// the loop at once.
	ordered atomic.Bool

	pages *pageRelease // drops the program's file pages (rss.go)
	// reopenStuck: a reopen of the log files found the log output stuck
	// and was left to the writer; said once until a reopen is done again
	// (reopenLog).
	reopenStuck bool

	sbEvents chan cluster.Event // PingStatus and FenceDone (ping.go, fence.go)
	pingStop context.CancelFunc // stops the ping prober (restarted on reload)

	// etcd is the etcd backend's side (etcd.go); nil with the Heartbeat
	// backend, which has core, links and intake instead.
	etcd *etcdBackend
}

type ctlCall struct {
	req   ctl.Request
	reply chan ctl.Response
}

// Run starts a node and blocks until ctx ends or a SIGTERM/SIGINT arrives.
func Run(ctx context.Context, o Options) error {
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	o.Load.Node, o.Load.Strict = o.Node, true
	cfg, diags := LoadConfig(o.ConfigDir, o.Load)
	if cfg != nil && cfg.Backend == config.BackendEtcd {
		// Before the warnings: the program that runs the backend prints
		// them.
		if err := etcdElsewhere(o, cfg); err != nil {
			return err
		}
	}
	if cfg == nil {
		// The caller prints every line, warnings with the errors.
		return &ConfigError{Diags: diags}
	}
	// The warnings are said on stderr, for the operator who starts the
	// daemon by hand, and logged below; when the log has no output of
	// its own it is stderr, and logging says them there once.
	if !outputs(cfg).ToStderr() {
		for _, d := range diags {
			if d.Severity == config.SevWarning {
				fmt.Fprintln(o.Stderr, d.String())
			}
		}
	}

	// Async: no log write holds up the event loop (logging.Options.Async).
	// A wait for a slow or stuck writer (a CRIT line, SIGHUP's reopen)
	// delays a heartbeat by at most one keepalive.
	lg, err := logging.New(logging.Options{Outputs: outputs(cfg), Stderr: o.Stderr, Async: true})
	if err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	defer lg.Close()
	for _, d := range diags {
		lg.Warn(d.String())
	}

	d := &Daemon{opts: o, cfg: cfg, log: lg, start: time.Now(),
		calls:       make(chan ctlCall),
		reloads:     make(chan struct{}, 1),
		watchTiming: defaultWatchTiming,
		configPolls: make(chan time.Time, 1),
		ops:         make(chan cluster.OpDone, 16),
		busy:        busyGauge{set: o.Busy},
		watches:     map[string]*ipWatch{},
		unwatching:  map[string]func(){},
		starts:      map[string]*harc.Abandon{},
		sbEvents:    make(chan cluster.Event, sbEventQueue),
	}
	err = d.run(ctx)
	if err != nil {
		lg.Errorf("%v", err)
	}
	return err
}

func outputs(cfg *config.Config) logging.Outputs {
	return logging.Outputs{Logfile: cfg.Logfile, Debugfile: cfg.Debugfile, Facility: cfg.LogFacility, Debug: cfg.Debug,
		DebugMillis: cfg.DebugfileMS, Keepalive: cfg.Keepalive}
}

func (d *Daemon) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Told to stop before it starts: nothing is taken, opened, sent or
	// run. Past this point a stop is a graceful one, which probes every
	// group and releases what it finds running: scripts that may take
	// their resource_timeout, or fail and hold the stop until a cleanup.
	if ctx.Err() != nil {
		d.log.Infof("%s Heartbeat shutdown complete: told to stop before it started, nothing started.", d.cfg.ThisNode)
		return nil
	}
	// Its warnings are logged where run meets them (newCore).
	if errs, _ := CheckDirs(d.opts.RunDir, d.opts.StateDir, d.cfg); len(errs) > 0 {
		return refusal(errs)
	}
	pid, note, err := takePidFile(d.opts.RunDir, d.opts.StateDir)
	if err != nil {
		return err
	}
	defer pid.release()
	if note != "" {
		d.log.Info(note)
	}
	if err := d.killLeftovers(); err != nil {
		return err
	}
	if d.cfg.Backend == config.BackendEtcd {
		return d.runEtcd(ctx)
	}

	d.id, err = LoadIdentity(d.opts.StateDir, d.start)
	if err != nil {
		return err
	}
	if d.id.Previous == 0 {
		d.log.Warnf("No Previous generation - starting at %d", d.id.Generation)
	}
	d.log.Infof("Heartbeat generation: %d", d.id.Generation)

	d.keys, err = keyring(d.cfg)
	if err != nil {
		return err
	}
	d.startRealtime()
	d.intake = newIntake(d.keys, d.log.Logger)
	intakeCtx, intakeStop := context.WithCancel(context.Background()) // runs through a graceful stop
	defer intakeStop()
	go d.intake.run(intakeCtx)
	runner, err := d.newRunner(d.cfg)
	if err != nil {
		return err
	}
	d.runner, d.rscTmp = runner, runner.Options().RscTmp
	opsCtx, opsCancel := context.WithCancel(context.Background())
	defer opsCancel()
	d.opsCtx = opsCtx
	d.hooks = newHooks(opsCtx, d.opts.ConfigDir, &d.opsWG, d.log.Logger)
	defer d.waitOps(10 * time.Second)
	d.monitors = d.newMonitors(runner)
	defer d.monitors.Close()

	// The links outlive a cancelled ctx: a stop still sends the releases
	// and the shutdown notice.
	d.links, err = d.openLinks(context.WithoutCancel(ctx), d.cfg)
	if err != nil {
		return fmt.Errorf("heartbeat media: %w", err)
	}
	defer func() { d.links.Close() }() // the set in use at the end: a reload may replace it
	if d.links.SharedAddress() {
		d.warnShared(d.cfg.Media)
	}

	srv, err := d.serveCtl(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()

	if err := d.newCore(); err != nil {
		return err
	}
	d.log.Infof("Configuration validated. Starting heartbeat %s", d.opts.Version)
	d.ready()

	d.watchEdits(ctx)
	d.startPing(ctx)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	defer d.load.close()
	defer d.rt.tasks.close()
	d.pages = startPageRelease(ctx, d.cfg.Initdead+d.cfg.Deadtime, d.log.Debugf)
	return d.loop(ctx, sigs)
}

// ready tells Options.Ready that the daemon serves.
func (d *Daemon) ready() {
	if d.opts.Ready != nil {
		d.opts.Ready()
	}
}

// serveCtl opens the control socket and serves it until ctx ends.
func (d *Daemon) serveCtl(ctx context.Context) (*ctl.Server, error) {
	srv, err := ctl.Listen(filepath.Join(d.opts.RunDir, ctl.SocketName))
	if err != nil {
		return nil, err
	}
	go func() {
		if err := srv.Serve(ctx, d.handleCtl); err != nil {
			d.log.Errorf("control socket: %v", err)
		}
	}()
	return srv, nil
}

func keyring(cfg *config.Config) (*wire.Keyring, error) {
	keys := make([]wire.Key, 0, len(cfg.Auth.Keys))
	for _, k := range cfg.Auth.Keys {
		keys = append(keys, wire.Key{Index: k.Index, Method: k.Method, Secret: k.Secret})
	}
	kr, err := wire.NewKeyring(cfg.Auth.Active, keys)
	if err != nil {
		return nil, fmt.Errorf("authkeys: %w", err)
	}
	return kr, nil
}

// ctlWaitDefault is how long a control request waits for the event loop:
// a loop that does not take it or answer by then is stuck or far behind.
// It is under the operator commands' own wait (10 s), so that they print
// this answer, not a timeout of theirs, and under the socket's deadline
// (30 s), so that the answer is written.
const ctlWaitDefault = 8 * time.Second

// handleCtl runs on the control socket's goroutines: it hands the request
// to the event loop, which owns every piece of state, and waits for the
// answer at most ctlWait: a stuck loop holds neither the caller nor a
// goroutine and a connection of the socket for ever. A request the loop
// has not taken by then is dropped (nothing was done); one it took may
// still apply, and the answer says so.
func (d *Daemon) handleCtl(ctx context.Context, req ctl.Request) ctl.Response {
	wait := d.ctlWait
	if wait <= 0 {
		wait = ctlWaitDefault
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	c := ctlCall{req: req, reply: make(chan ctl.Response, 1)}
	select {
	case d.calls <- c:
	case <-ctx.Done():
		return ctl.Response{Error: "hbd is shutting down"}
	case <-t.C:
		return ctl.Response{Error: fmt.Sprintf("hbd's event loop did not take the request within %v (stuck or far behind): nothing was done", wait)}
	}
	select {
	case r := <-c.reply:
		return r
	case <-ctx.Done():
		return ctl.Response{Error: "hbd is shutting down"}
	case <-t.C:
		return ctl.Response{Error: fmt.Sprintf("hbd's event loop took the request but did not answer within %v: it may still apply", wait)}
	}
}

func (d *Daemon) answer(req ctl.Request) ctl.Response {
	switch req.Cmd {
	case "status":
		rejected, evicted := d.intake.drops.snapshot()
		st := ctl.Status{
			Node: d.cfg.ThisNode, PID: os.Getpid(), Started: d.start, ConfigDir: d.opts.ConfigDir,
			Cluster: d.core.Status(), Links: d.links.Stats(), Rejected: rejected, RejectedEvicted: evicted,
			Generation: d.id.Generation,
			Monitors:   d.monitors.Status(d.cfg.Monitors),
			Ping:       d.core.PingView(),
			Log:        d.log.Health(),
			Nodes:      d.cfg.Nodes,
			GroupNames: make(map[string][]string),
		}
		for _, g := range d.cfg.Groups {
			st.GroupNames[g.Key()] = d.cfg.GroupNames(g)
		}
		b, err := json.Marshal(st)
		if err != nil {
			return ctl.Response{Error: err.Error()}
		}
		return ctl.Response{OK: true, Data: b}
	case "standby", "takeover", "cleanup":
		kind := map[string]cluster.CommandKind{"standby": cluster.CmdStandby, "takeover": cluster.CmdTakeover, "cleanup": cluster.CmdCleanup}[req.Cmd]
		which := ""
		if len(req.Args) > 0 {
			which = req.Args[0]
		}
		if req.Cmd != "cleanup" {
			if _, err := cluster.ParseWhich(which); err != nil {
				return ctl.Response{Error: fmt.Sprintf("%s: %v", req.Cmd, err)}
			}
		} else if which != "" && which != cluster.HoldAll {
			g, err := d.cfg.FindGroup(which)
			if err != nil {
				return ctl.Response{Error: err.Error()}
			}
			which = g.Key()
		}
		d.step(cluster.Command{Now: time.Now(), Kind: kind, Which: which})
		return ctl.Response{OK: true}
	case "settings":
		return d.answerSettings(req)
	case "node", "group":
		return d.stepSettingsCommand(req)
	case "pending":
		changes, diags := d.pendingChanges()
		p := ctl.Pending{ConfigDir: d.opts.ConfigDir}
		for _, c := range changes {
			p.Changes = append(p.Changes, c.Text)
		}
		for _, dg := range diags {
			if dg.Severity == config.SevError {
				p.Errors = append(p.Errors, dg.String())
			}
		}
		b, err := json.Marshal(p)
		if err != nil {
			return ctl.Response{Error: err.Error()}
		}
		return ctl.Response{OK: true, Data: b}
	default:
		return ctl.Response{Error: fmt.Sprintf("unknown command %q", req.Cmd)}
	}
}

// newCore makes the state machine of this run, with what the state
// directory kept of earlier runs: the operator settings and the newest
// generation seen of each peer.
func (d *Daemon) newCore() error {
	sets, warning, err := LoadSettings(d.opts.StateDir, d.cfg)
	if err != nil {
		return err
	}
	if warning != "" {
		d.log.Warnf("%s", warning)
	}
	gens, err := LoadPeerGenerations(d.opts.StateDir)
	if err != nil {
		return err
	}
	d.core = cluster.New(cluster.Options{Config: d.cfg, UUID: d.id.UUID, Generation: d.id.Generation, Now: d.start, Settings: sets, PeerGenerations: gens, Standing: true})
	return nil
}
