package cluster

import "time"

// Fence asks the daemon to fence (STONITH) a node: run fence_command
// NODE, or the built-in AWS fence (fence_aws), within fence_timeout, and
// feed back a FenceDone. The core emits it when a peer that did not stop
// gracefully is declared dead and fencing is configured, before any
// group is taken over (declared dead while this node had no group: when
// a reload gives it its first groups); no group starts here until the
// fence succeeded (or the peer is heard again). A failed fence is retried
// every fence_retry.
type Fence struct {
	Node string
}

func (Fence) isAction() {}

// FenceDone is the end of a Fence: OK when the node is fenced (the
// command exited 0, the instance is stopping or stopped, the Elastic IP
// was moved here). Detail is for the log (the command's last output, the
// EC2 error).
type FenceDone struct {
	Now    time.Time
	Node   string
	OK     bool
	Detail string
}

func (e FenceDone) at() time.Time { return e.Now }

// fencing is a silent peer that must be fenced before a takeover.
type fencing struct {
	since    time.Time // declared dead
	inFlight bool      // a Fence was emitted, its FenceDone has not come
	attempts int
	retryAt  time.Time // after a failure: when to try again
}

// fence emits a Fence for name.
func (n *Node) fence(name string, f *fencing) {
	f.inFlight = true
	f.attempts++
	f.retryAt = time.Time{}
	if f.attempts == 1 {
		n.logf(LevelWarn, "Fencing %s before taking over its resource groups (%s)", name, n.cfg.Fence.Method())
	} else {
		n.logf(LevelWarn, "Fencing %s again (attempt %d)", name, f.attempts)
	}
	n.out = append(n.out, Fence{Node: name})
}

func (n *Node) onFenceDone(e FenceDone) {
	n.recheck()
	if p := n.peerByName(e.Node); p != nil && e.OK {
		p.fencedAt = n.now
	}
	f := n.sb.fences[e.Node]
	if f == nil || !f.inFlight {
		if e.OK {
			n.logf(LevelInfo, "%s fenced (%s); it was no longer waited for", e.Node, e.Detail)
		} else {
			n.logf(LevelWarn, "Fencing %s failed (%s); it was no longer waited for", e.Node, e.Detail)
		}
		return
	}
	f.inFlight = false
	if e.OK {
		delete(n.sb.fences, e.Node)
		n.logf(LevelWarn, "%s fenced after %d ms (%s): its resource groups may be taken over", e.Node, n.now.Sub(f.since).Milliseconds(), e.Detail)
		n.holdStarts(e.Node, "fenced")
		return
	}
	retry := n.cfg.Fence.Retry
	if retry <= 0 {
		retry = time.Second
	}
	f.retryAt = n.now.Add(retry)
	n.logf(LevelError, "Fencing %s failed (attempt %d: %s): retrying in %d ms; its resource groups are not taken over meanwhile", e.Node, f.attempts, e.Detail, retry.Milliseconds())
}

// operatorFenced: the operator says silent node name is off (hbd node
// fenced): the takeover that waits for its fence here goes ahead, logged
// as the operator's decision. A fence still running is no longer waited
// for; nothing changes when no takeover waits for name.
func (n *Node) operatorFenced(name string) {
	f := n.sb.fences[name]
	if f == nil {
		n.logf(LevelWarn, "Operator: %s fenced (hbd node fenced), but no takeover here waits for a fence of it: nothing to do", name)
		return
	}
	delete(n.sb.fences, name)
	n.recheck()
	n.logf(LevelCrit, "Operator: %s is off (hbd node fenced) after %d ms without a successful fence: its resource groups may be taken over on the operator's word", name, n.now.Sub(f.since).Milliseconds())
}

// AwaitingFence lists the silent nodes a takeover here waits to see
// fenced (hbd node fenced NODE lets it go ahead), in ha.cf order.
func (n *Node) AwaitingFence() []string {
	var out []string
	for _, name := range n.cfg.Nodes {
		if n.sb.fences[name] != nil {
			out = append(out, name)
		}
	}
	return out
}
