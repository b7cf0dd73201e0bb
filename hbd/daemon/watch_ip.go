package daemon

import (
	"context"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/ipaddr"
)

// ipWatch keeps the addresses of one held group on their interfaces:
// the built-in IP agent's Watch puts back an address someone removed and
// re-announces it periodically. It runs from a successful start until
// the group is asked to stop.
type ipWatch struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
	agents []*ipaddr.Agent
}

// ipAgents returns in-process agents for the group's built-in IP
// resources (those resolved to hbd's own IPaddr/IPaddr2).
func (d *Daemon) ipAgents(g config.Group) []*ipaddr.Agent {
	var out []*ipaddr.Agent
	for _, res := range g.Resources {
		name := strings.TrimPrefix(res.Script, "builtin:")
		if name == res.Script && d.isSelf(res.Script) {
			name = res.Name // resource.d/IPaddr2 -> hbd, as make install links it
		}
		if !ipaddr.IsName(name) {
			continue
		}
		spec, err := ipaddr.Parse(name, res.Args)
		if err != nil {
			d.log.Warnf("%s: cannot watch the address: %v", res.Spec, err)
			continue
		}
		a, err := ipaddr.New(spec, ipaddr.Options{StateDir: d.rscTmp, Log: d.log.Logger})
		if err != nil {
			d.log.Warnf("%s: cannot watch the address: %v", res.Spec, err)
			continue
		}
		out = append(out, a)
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
			_ = a.Watch(ctx, ipaddr.WatchOptions{})
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
