package daemon

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/agents"
)

// ipWatch keeps what one held group's built-in resources hold in place:
// the IP agent's keeper puts back an address someone removed and
// re-announces it periodically. It runs from a successful start until
// the group is asked to stop.
type ipWatch struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
	agents []agents.Keeper
}

// ipAgents returns in-process keepers for the group's resources that
// hbd's own agents run and that offer one (IPaddr, IPaddr2), as the
// registry of built-in agents says.
func (d *Daemon) ipAgents(g config.Group) []agents.Keeper {
	var out []agents.Keeper
	for _, res := range g.Resources {
		name := ""
		switch {
		case res.Script.Kind == config.ScriptBuiltin:
			name = res.Script.Name
		case res.Script.Kind == config.ScriptFile && d.isSelf(res.Script.Path):
			name = res.Name // resource.d/IPaddr2 -> hbd, as make install links it
		}
		a, ok := d.opts.Load.Lookup.Agents.Lookup(name)
		if !ok || a.Keep == nil {
			continue
		}
		k, err := a.Keep(name, res.Args, agents.KeepOptions{StateDir: d.rscTmp, Log: d.log.Logger})
		if err != nil {
			d.log.Warnf("%s: cannot watch the address: %v", res.Spec, err)
			continue
		}
		out = append(out, k)
	}
	return out
}

// startWatch begins watching the addresses of a group this node now
// holds, with the definition it was started with (cluster.WatchGroup).
func (d *Daemon) startWatch(key string, g config.Group) {
	if d.watches[key] != nil {
		return
	}
	agents := d.ipAgents(g)
	if len(agents) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(d.opsCtx)
	w := &ipWatch{cancel: cancel, agents: agents}
	for _, a := range agents {
		w.done.Add(1)
		go func() {
			defer w.done.Done()
			_ = a.Keep(ctx)
		}()
	}
	d.watches[key] = w
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
	for _, a := range w.agents {
		_ = a.Close()
	}
}

// announce re-announces a kept group's built-in addresses at once.
func (w *ipWatch) announce(ctx context.Context) error {
	var first error
	for _, a := range w.agents {
		if err := a.Announce(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
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
