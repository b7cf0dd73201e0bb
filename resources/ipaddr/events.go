package ipaddr

import (
	"errors"
	"fmt"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// events shares one netlink subscription per kind of event (addresses,
// links) among the Watches of the agents of one namespace: a daemon that
// holds 32 addresses follows two subscriptions, not 64. Each costs a
// socket, the library's reader goroutine (with its 64 KB receive buffer)
// and the goroutine that closes the socket. A subscription begins with
// the first Watch that follows it and ends with the last one.
type events struct {
	addrs hub[netlink.AddrUpdate]
	links hub[netlink.LinkUpdate]
}

// newEvents returns the shared subscriptions of namespace ns
// (netns.None(): the caller's). ns must stay open while they are used.
func newEvents(ns netns.NsHandle) *events {
	var nsp *netns.NsHandle
	if ns.IsOpen() {
		nsp = &ns
	}
	e := &events{}
	e.addrs.subscribe = addrSubscription(nsp)
	// A Watch follows links from their current state on (wasUp): every
	// follower, the first too, gets the latest update of every link
	// first (kept), then the updates as they come. The subscription does
	// not list the links itself (the library's ListExisting): that
	// listing came as updates like any other, and a host with more
	// links than a follower's channel holds dropped its first follower
	// before it had read them.
	e.links.subscribe = linkSubscription(nsp, false)
	e.links.list = linkList(nsp)
	e.links.state = linkState
	return e
}

// linkList lists the links of namespace ns (nil: the caller's) as the
// updates that would announce them.
func linkList(ns *netns.NsHandle) func() ([]netlink.LinkUpdate, error) {
	return func() ([]netlink.LinkUpdate, error) {
		h := &netlink.Handle{} // the caller's namespace
		if ns != nil {
			var err error
			if h, err = netlink.NewHandleAt(*ns, unix.NETLINK_ROUTE); err != nil {
				return nil, fmt.Errorf("list links: %w", err)
			}
			defer h.Close()
		}
		var links []netlink.Link
		var err error
		// A dump that a change interrupted is taken again: links it
		// left out may have changed before the subscription began.
		for range listTries {
			if links, err = h.LinkList(); !errors.Is(err, netlink.ErrDumpInterrupted) {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("list links: %w", err)
		}
		ups := make([]netlink.LinkUpdate, len(links))
		for i, l := range links {
			at := l.Attrs()
			ups[i].Header.Type = unix.RTM_NEWLINK
			ups[i].Index, ups[i].Flags = int32(at.Index), at.RawFlags
			ups[i].Link = l
		}
		return ups, nil
	}
}

// listTries bounds the dumps of linkList that changes interrupt.
const listTries = 5

// linkState keeps in state what a Watch reads of a link update (its
// index, name, flags and operational state), the latest of each link,
// and forgets a link deleted.
func linkState(state map[int]netlink.LinkUpdate, u netlink.LinkUpdate) {
	if u.Link == nil {
		return
	}
	at := u.Attrs()
	if u.Header.Type == unix.RTM_DELLINK {
		delete(state, at.Index)
		return
	}
	kept := netlink.NewLinkAttrs()
	kept.Index, kept.Name, kept.Flags, kept.RawFlags, kept.OperState = at.Index, at.Name, at.Flags, at.RawFlags, at.OperState
	state[at.Index] = netlink.LinkUpdate{IfInfomsg: u.IfInfomsg, Header: u.Header, Link: &netlink.Device{LinkAttrs: kept}}
}

// followCap is the room of a follower's channel for updates not read
// yet; a follower that lets it fill is dropped (its channel closed), as
// the kernel ends a subscription whose reader falls behind, and the
// others go on.
const followCap = 64

// hub is one subscription shared by its followers.
type hub[T any] struct {
	// subscribe starts the library's subscription, sending on ch until
	// done is closed.
	subscribe func(ch chan T, done chan struct{}) error
	// state, when set, keeps what a new follower is given first.
	state func(state map[int]T, u T)
	// list, when set with state, is what state starts from: listed once
	// the subscription runs, so that an update that comes meanwhile is
	// applied after it, in order.
	list func() ([]T, error)

	mu      sync.Mutex
	gen     uint64 // of the subscription running, if any
	stop    chan struct{}
	follows map[*follower[T]]struct{}
	kept    map[int]T
}

type follower[T any] struct{ ch chan T }

// follow adds a follower: its channel receives every update until stop
// is called (then it is closed), or until the subscription breaks or
// the follower falls behind (closed too: the caller looks for what it
// may have missed, and follows again later).
func (h *hub[T]) follow() (<-chan T, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stop == nil {
		ch := make(chan T, followCap)
		stop := make(chan struct{})
		if err := h.subscribe(ch, stop); err != nil {
			close(stop)
			return nil, nil, err
		}
		kept := map[int]T{}
		if h.list != nil && h.state != nil {
			now, err := h.list()
			if err != nil {
				close(stop)
				go drain(ch)
				return nil, nil, err
			}
			for _, u := range now {
				h.state(kept, u)
			}
		}
		h.gen++
		h.stop, h.follows = stop, map[*follower[T]]struct{}{}
		if h.state != nil {
			h.kept = kept
		}
		go h.pump(ch, h.gen)
	}
	f := &follower[T]{ch: make(chan T, followCap+len(h.kept))}
	for _, u := range h.kept {
		f.ch <- u
	}
	h.follows[f] = struct{}{}
	return f.ch, func() { h.unfollow(f) }, nil
}

// unfollow removes f, and ends the subscription when it was the last.
func (h *hub[T]) unfollow(f *follower[T]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.follows[f]; !ok {
		return // dropped already
	}
	delete(h.follows, f)
	close(f.ch)
	if len(h.follows) == 0 {
		h.end()
	}
}

// end ends the running subscription (h.mu held): the library closes its
// socket, and its channel, which pump drains until then.
func (h *hub[T]) end() {
	close(h.stop)
	h.stop, h.follows, h.kept = nil, nil, nil
}

// pump hands the updates of subscription gen to its followers, and
// drains the library's channel until the library closes it.
func (h *hub[T]) pump(ch <-chan T, gen uint64) {
	for u := range ch {
		h.mu.Lock()
		if h.gen == gen && h.stop != nil {
			if h.state != nil {
				h.state(h.kept, u)
			}
			for f := range h.follows {
				select {
				case f.ch <- u:
				default:
					delete(h.follows, f)
					close(f.ch)
				}
			}
			if len(h.follows) == 0 {
				h.end()
			}
		}
		h.mu.Unlock()
	}
	// The library closed the channel: its subscription broke (a socket
	// error, or updates lost to an overrun), or it was ended.
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen || h.stop == nil {
		return
	}
	for f := range h.follows {
		close(f.ch)
	}
	h.end()
}

// drain reads ch until the library closes it, so that its goroutine
// never blocks on a send nobody reads.
func drain[T any](ch <-chan T) {
	for range ch {
	}
}
