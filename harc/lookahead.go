package harc

import (
	"context"

	"github.com/hbdproject/hbd/hbd/config"
)

// lookahead runs the status checks a group's start needs, one after
// another, in a goroutine of its own, from the moment the start begins:
// while Start runs one resource's start script, the status of the next
// one is already being read. Heartbeat's ResourceManager reads each
// status just before its start; the answer is the same unless a start
// makes another resource of the group run (then that one's start runs
// on a running resource, which an LSB script takes as success), and the
// status, one fork and exec or more, is off the acquisition's path but
// for the first resource.
//
// At most one status runs at a time, beside the start in progress: a
// group of many resources does not take every CPU from the start it
// waits for.
type lookahead struct {
	cancel context.CancelFunc
	done   chan struct{}
	ready  []chan struct{} // per resource, closed once its status is in st; nil: none is read
	st     []ResourceStatus
	// ahead: begun by Prepare, before the start (prefetch.go).
	ahead bool
}

// lookAhead begins the status checks of g's resources whose start needs
// one (all but the built-in agents whose start converges), under a
// child of ctx. The caller ends it with stop.
func (r *Runner) lookAhead(ctx context.Context, g config.Group) *lookahead {
	ctx, cancel := context.WithCancel(ctx)
	la := &lookahead{
		cancel: cancel,
		done:   make(chan struct{}),
		ready:  make([]chan struct{}, len(g.Resources)),
		st:     make([]ResourceStatus, len(g.Resources)),
	}
	var todo []int
	for i, res := range g.Resources {
		if !r.converges(res) {
			la.ready[i] = make(chan struct{})
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		close(la.done)
		return la
	}
	go func() {
		defer close(la.done)
		for _, i := range todo {
			la.st[i] = r.runStatus(ctx, g.Resources[i])
			close(la.ready[i])
		}
	}()
	return la
}

// status waits for the status of resource i; ok is false when its start
// needs none.
func (la *lookahead) status(i int) (ResourceStatus, bool) {
	if la.ready[i] == nil {
		return ResourceStatus{}, false
	}
	<-la.ready[i]
	return la.st[i], true
}

// none says that no resource's start needs a status.
func (la *lookahead) none() bool {
	for _, c := range la.ready {
		if c != nil {
			return false
		}
	}
	return true
}

// stop ends the checks still to come, killing a status script in
// progress, and returns once none runs.
func (la *lookahead) stop() {
	la.cancel()
	<-la.done
}
