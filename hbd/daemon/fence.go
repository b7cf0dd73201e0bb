package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/agents"
)

// Fencer runs one fencing attempt for a node, as ha.cf's fence_command
// or fence_aws says: ok when the node is fenced, detail for the log.
type Fencer struct {
	Fence    config.FenceConfig
	ThisNode string
	// AWS is the fence fence_aws runs (the registry's "aws" fence).
	AWS func(context.Context, agents.FenceRequest) (string, error)
	// Log receives fence_command's output lines at debug level; may be nil.
	Log logrus.FieldLogger
}

// fenceOutputLimit bounds how much of fence_command's output is kept (the
// end of it): a program that writes without end costs no memory.
const fenceOutputLimit = 8 << 10

// Run fences node within the fence timeout.
func (f Fencer) Run(ctx context.Context, node string) (ok bool, detail string) {
	timeout := f.Fence.Timeout
	if timeout <= 0 {
		timeout = config.DefaultFenceTimeout
	}
	start := time.Now()
	var err error
	switch {
	case len(f.Fence.Command) > 0:
		detail, err = f.command(ctx, node, timeout)
	case f.Fence.AWS != nil:
		actx, cancel := context.WithTimeout(ctx, timeout)
		detail, err = f.aws(actx, node)
		cancel()
	default:
		err = errors.New("no fencing method configured")
	}
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		if detail != "" {
			return false, fmt.Sprintf("%v after %s; output: %s", err, took, detail)
		}
		return false, fmt.Sprintf("%v after %s", err, took)
	}
	if detail == "" {
		return true, fmt.Sprintf("%s in %s", f.Fence.Method(), took)
	}
	return true, fmt.Sprintf("%s in %s: %s", f.Fence.Method(), took, detail)
}

// command runs fence_command NODE as harc runs scripts: in its own process
// group, killed whole once the fence timeout passes, its output bounded
// (the last fenceOutputLimit bytes) and not waited for once it has exited
// (a child it left behind may keep the pipe open). Exit status 0 means
// fenced.
func (f Fencer) command(ctx context.Context, node string, timeout time.Duration) (string, error) {
	// It runs as root: refuse a program someone else could have changed
	// since the configuration was loaded, as harc refuses such a script.
	if err := config.CheckTrusted(f.Fence.Command[0]); err != nil {
		return "", fmt.Errorf("fence_command: not run: %w", err)
	}
	res := harc.Command{
		Path:        f.Fence.Command[0],
		Args:        append(append([]string(nil), f.Fence.Command[1:]...), node),
		Env:         os.Environ(),
		Timeout:     timeout,
		OutputLimit: fenceOutputLimit,
		Log:         f.Log,
		Tag:         "fence_command",
	}.Run(ctx)
	text := strings.Join(res.LastLines(3), " | ")
	if !res.OK() {
		why := res.Describe()
		if res.TimedOut {
			why = fmt.Sprintf("timed out (fence_timeout %s): process group killed", timeout)
		}
		return text, fmt.Errorf("fence_command %s %s: %s", strings.Join(f.Fence.Command, " "), node, why)
	}
	return text, nil
}

// aws runs ha.cf's fence_aws through the agent that provides it (the
// registry's "aws" fence): StopInstances (Force) of the node's instance,
// or AssociateAddress of the Elastic IP to this node's instance with
// AllowReassociation.
func (f Fencer) aws(ctx context.Context, node string) (string, error) {
	a := f.Fence.AWS
	if f.AWS == nil {
		return "", errors.New("fence_aws: this program has no AWS fence (no awseip agent)")
	}
	r := agents.FenceRequest{Node: node, AllocationID: a.AllocationID, Region: a.Region, Endpoint: a.Endpoint}
	var ok bool
	if r.Target, ok = a.Instances[node]; !ok {
		return "", fmt.Errorf("fence_aws: node %s has no instance id", node)
	}
	switch a.Action {
	case config.FenceAWSStop:
		r.Action = agents.FenceStop
	case config.FenceAWSReassociate:
		r.Action = agents.FenceReassociate
		if r.Self, ok = a.Instances[f.ThisNode]; !ok {
			return "", fmt.Errorf("fence_aws: this node %s has no instance id", f.ThisNode)
		}
	default:
		return "", fmt.Errorf("fence_aws: unknown action %q", a.Action)
	}
	return f.AWS(ctx, r)
}

// fence runs a Fence in the background; its FenceDone comes back through
// the event loop.
func (d *Daemon) fence(a cluster.Fence) {
	f := Fencer{Fence: d.cfg.Fence, ThisNode: d.cfg.ThisNode, Log: d.log}
	if a, ok := d.opts.Load.Lookup.Agents.Fencer("aws"); ok {
		f.AWS = a.Fence
	}
	d.log.Warnf("Fencing %s: %s", a.Node, f.Fence.Method())
	d.opsWG.Add(1)
	go func() {
		defer d.opsWG.Done()
		ok, detail := f.Run(d.opsCtx, a.Node)
		d.sbEvents <- cluster.FenceDone{Now: time.Now(), Node: a.Node, OK: ok, Detail: detail}
	}()
}
