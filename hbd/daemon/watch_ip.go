package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/agents"
)

// ipWatch keeps what one held group's IP addresses in place and known:
// the built-in IP agent's keeper puts back an address someone removed
// and re-announces it periodically; an address a script holds (a
// resource.d IPaddr2, an OCF IPaddr2, IPv6addr) hbd announces itself,
// once when the watch begins (just after the start) and whenever the
// core asks to announce the group again. It runs from a successful
// start until the group is asked to stop.
type ipWatch struct {
	ctx     context.Context
	cancel  context.CancelFunc
	done    sync.WaitGroup
	keepers []agents.Keeper
	// wakes are the keepers' clocks (agents.KeepOptions.Wake), one each:
	// the loop sends on them from a heartbeat's wake-up (checkKept).
	wakes []chan time.Time
	// announcers are the addresses scripts hold; covered marks the
	// group's resources (by index) that keepers or announcers announce.
	announcers []agents.Announcer
	covered    map[int]bool
}

// ipAgents returns in-process keepers for the group's resources that
// hbd's own agents run and that offer one (IPaddr, IPaddr2), and
// announcers for the other resources the registry recognises as IP
// addresses, whatever script runs them.
func (d *Daemon) ipAgents(g config.Group) (keepers []agents.Keeper, wakes []chan time.Time, announcers []agents.Announcer, covered map[int]bool) {
	reg := d.opts.Load.Lookup.Agents
	o := agents.KeepOptions{StateDir: d.rscTmp, Log: d.log.Logger}
	covered = map[int]bool{}
	for i, res := range g.Resources {
		name := ""
		switch {
		case res.Script.Kind == config.ScriptBuiltin:
			name = res.Script.Name
		case res.Script.Kind == config.ScriptFile && d.isSelf(res.Script.Path):
			name = res.Name // resource.d/IPaddr2 -> hbd, as make install links it
		}
		if a, ok := reg.Lookup(name); ok && a.Keep != nil {
			ko := o
			wake := make(chan time.Time, 1)
			ko.Wake = wake
			k, err := a.Keep(name, res.Args, ko)
			if err != nil {
				d.log.Warnf("%s: cannot watch the address: %v", res.Spec, err)
				continue
			}
			keepers = append(keepers, k)
			wakes = append(wakes, wake)
			covered[i] = true
			continue
		}
		an, ok, err := reg.Address(res.Name, res.Args, o)
		switch {
		case err != nil:
			d.log.Warnf("%s: cannot announce the address: %v", res.Spec, err)
		case ok:
			announcers = append(announcers, an)
			covered[i] = true
		}
	}
	return keepers, wakes, announcers, covered
}

// startWatch begins watching the addresses of a group this node now
// holds, with the definition it was started with (cluster.WatchGroup),
// and announces at once the addresses its scripts put in place: their
// start may not have (resource-agents' IPaddr2 sends nothing when the
// address was there already).
func (d *Daemon) startWatch(key string, g config.Group) {
	if d.watches[key] != nil {
		return
	}
	keepers, wakes, announcers, covered := d.ipAgents(g)
	if len(keepers) == 0 && len(announcers) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(d.opsCtx)
	w := &ipWatch{ctx: ctx, cancel: cancel, keepers: keepers, wakes: wakes, announcers: announcers, covered: covered}
	for _, k := range keepers {
		w.done.Add(1)
		go func() {
			defer w.done.Done()
			_ = k.Keep(ctx)
		}()
	}
	if len(announcers) > 0 {
		w.done.Add(1)
		go func() {
			defer w.done.Done()
			if err := announceAll(ctx, announcers); err != nil && ctx.Err() == nil {
				d.log.Warnf("announcing the addresses of %s: %v", key, err)
			}
		}()
	}
	d.watches[key] = w
}

// keptCheckBy is when the loop's timer must fire, nt being the core's
// next deadline: at nt, or at the keepers' next check (keptCheck) when nt
// is more than half a KeepCheck later than it. At rest the timer fires at
// the heartbeats, so a short keepalive carries the checks with no wake-up
// of their own; a long keepalive, or a core with nothing due, would leave
// them a keepalive apart: the checks then wake the loop themselves, and
// are never more than one and a half KeepCheck apart.
func (d *Daemon) keptCheckBy(nt time.Time) time.Time {
	if len(d.watches) > 0 && nt.After(d.keptCheck.Add(agents.KeepCheck/2)) {
		return d.keptCheck
	}
	return nt
}

// checkKept is called by the loop at each of its timer's wake-ups:
// every agents.KeepCheck it has the keepers look for what they keep.
// The keepers then need no timer of their own, whose expiries would
// wake the process, and the runtime's monitor thread too. The standing
// status order's sends run it too (sendStanding). When nothing wakes
// the process by half a KeepCheck after the check is due (a keepalive
// longer than that) the loop wakes for it (keptCheckBy).
func (d *Daemon) checkKept(now time.Time) {
	if len(d.watches) == 0 || now.Before(d.keptCheck) {
		return
	}
	d.keptCheck = now.Add(agents.KeepCheck)
	for _, w := range d.watches {
		for _, c := range w.wakes {
			select {
			case c <- now:
			default: // the last one is not taken yet
			}
		}
	}
}

// takeWatch removes a group's watch from the loop's bookkeeping; the
// caller stops it (ipWatch.stop) off the event loop, before the group's
// next operation runs.
func (d *Daemon) takeWatch(key string) *ipWatch {
	w := d.watches[key]
	delete(d.watches, key)
	return w
}

func (w *ipWatch) stop() {
	if w == nil {
		return
	}
	w.cancel()
	w.done.Wait()
	for _, k := range w.keepers {
		_ = k.Close()
	}
	for _, a := range w.announcers {
		_ = a.Close()
	}
}

// announce re-announces a kept group's addresses at once, every
// address in parallel; it ends when the watch stops or ctx ends.
func (w *ipWatch) announce(ctx context.Context) error {
	all := make([]agents.Announcer, 0, len(w.keepers)+len(w.announcers))
	for _, k := range w.keepers {
		all = append(all, k)
	}
	all = append(all, w.announcers...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(w.ctx, cancel)()
	return announceAll(ctx, all)
}

// announceAll runs every announcer's burst at once and returns the first
// error.
func announceAll(ctx context.Context, list []agents.Announcer) error {
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, a := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.Announce(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// isSelf tells whether path is (a link to) this hbd binary.
func (d *Daemon) isSelf(path string) bool {
	if len(d.opts.AgentCommand) == 0 {
		return false
	}
	self, err1 := filepath.EvalSymlinks(d.opts.AgentCommand[0])
	p, err2 := filepath.EvalSymlinks(path)
	return err1 == nil && err2 == nil && self == p
}
