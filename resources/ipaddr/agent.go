package ipaddr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Options are the settings of an Agent beyond its Spec.
type Options struct {
	// StateDir holds the records of addresses hbd added (StateDir/hbd-ipaddr/ADDR);
	// "" means StateDirFromEnv().
	StateDir string
	// Netns is the path of the network namespace to work in
	// ("/run/netns/NAME"); "" means the caller's.
	Netns string
	// Log receives the agent's log lines; nil discards them.
	Log logrus.FieldLogger
	// Burst is the announcement policy; zero fields take the defaults.
	Burst Burst
}

// Agent manages one address. Its methods are safe for concurrent use,
// but Stop must not race a Watch: cancel the Watch (and let it return)
// before stopping. Close releases it.
type Agent struct {
	spec     Spec
	stateDir string
	log      logrus.FieldLogger
	burst    Burst
	ns       netns.NsHandle // netns.None(): the caller's namespace
	h        *netlink.Handle
	prefix   string // "IPaddr2 10.0.0.5/24/eth0: " for log lines
	// events are the subscriptions a Watch shares with the other agents
	// of its namespace; nil: a Watch subscribes on its own.
	events *events

	mu       sync.Mutex
	cancelFU context.CancelFunc // pending second burst
	wg       sync.WaitGroup
}

// New returns an agent for spec. It opens a netlink handle (in
// opts.Netns when given) for routing messages only: the library's default
// also opens XFRM and netfilter sockets, which the agent never uses and
// every start of the in-process agent would pay for. Close releases it.
func New(spec Spec, opts Options) (*Agent, error) {
	if !spec.Addr.IsValid() {
		return nil, errors.New("ipaddr: spec without an address")
	}
	if spec.Agent == "" {
		spec.Agent = NameIPaddr2
	}
	a := &Agent{
		spec:     spec,
		stateDir: opts.StateDir,
		log:      opts.Log,
		burst:    opts.Burst.withDefaults(spec),
		ns:       netns.None(),
		prefix:   spec.Agent + " " + spec.String() + ": ",
	}
	if a.stateDir == "" {
		a.stateDir = StateDirFromEnv()
	}
	if a.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		a.log = l
	}
	var err error
	if opts.Netns != "" {
		a.ns, err = netns.GetFromPath(opts.Netns)
		if err != nil {
			return nil, fmt.Errorf("network namespace %s: %w", opts.Netns, err)
		}
		a.h, err = netlink.NewHandleAt(a.ns, unix.NETLINK_ROUTE)
	} else {
		a.h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	}
	if err != nil {
		if a.ns.IsOpen() {
			a.ns.Close()
		}
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return a, nil
}

// Spec is the agent's resource.
func (a *Agent) Spec() Spec { return a.spec }

// Close cancels a pending second burst, waits for it and releases the
// netlink handle.
func (a *Agent) Close() error {
	a.cancelFollowup()
	a.wg.Wait()
	a.h.Close()
	if a.ns.IsOpen() {
		return a.ns.Close()
	}
	return nil
}

func (a *Agent) family() int {
	if a.spec.Addr.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// inNS runs fn in the agent's network namespace: on this thread when it
// is the caller's, else on a locked thread that enters the namespace and
// is discarded afterwards. Sockets fn opens stay in that namespace.
func (a *Agent) inNS(fn func() error) error {
	if !a.ns.IsOpen() {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends the thread with the goroutine.
		runtime.LockOSThread()
		if err := netns.Set(a.ns); err != nil {
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
