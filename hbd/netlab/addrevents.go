//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// AddrEvent is one change of an address on a host, as the kernel
// announced it.
type AddrEvent struct {
	At    time.Time
	Host  string
	Added bool // false: removed
}

// AddrEvents records when an address is added to and removed from each
// of some hosts, from the kernel's own notifications (netlink
// RTM_NEWADDR and RTM_DELADDR in each host's namespace): exact to the
// notification's delivery, where WatchAddr's samples are 10 ms apart.
// A handover's dark time (the address on no host) and any overlap (on
// two at once) read from it to a fraction of a millisecond.
type AddrEvents struct {
	addr netip.Addr
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	events []AddrEvent
	errs   []error
}

// TrackAddr starts recording addr's changes on hosts until Stop. The
// hosts that hold it already are recorded as added when tracking began.
func TrackAddr(addr string, hosts ...*Host) (*AddrEvents, error) {
	a, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, errors.New("track: no hosts")
	}
	e := &AddrEvents{addr: a, stop: make(chan struct{})}
	for _, h := range hosts {
		ns, err := netns.GetFromPath(h.Path())
		if err != nil {
			e.Stop()
			return nil, fmt.Errorf("track %s: namespace of %s: %w", addr, h.Name, err)
		}
		ch := make(chan netlink.AddrUpdate, 64)
		err = netlink.AddrSubscribeWithOptions(ch, e.stop, netlink.AddrSubscribeOptions{
			Namespace:    &ns,
			ListExisting: true,
			ErrorCallback: func(err error) {
				select {
				case <-e.stop:
					return // the socket closing under a pending read
				default:
				}
				e.mu.Lock()
				e.errs = append(e.errs, fmt.Errorf("%s: %w", h.Name, err))
				e.mu.Unlock()
			},
		})
		ns.Close()
		if err != nil {
			e.Stop()
			return nil, fmt.Errorf("track %s on %s: %w", addr, h.Name, err)
		}
		e.wg.Add(1)
		go e.read(h.Name, ch)
	}
	return e, nil
}

func (e *AddrEvents) read(host string, ch <-chan netlink.AddrUpdate) {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case u, ok := <-ch:
			if !ok {
				return
			}
			at := time.Now()
			if a, ok := netip.AddrFromSlice(u.LinkAddress.IP); !ok || a.Unmap() != e.addr {
				continue
			}
			e.mu.Lock()
			e.events = append(e.events, AddrEvent{At: at, Host: host, Added: u.NewAddr})
			e.mu.Unlock()
		}
	}
}

// Events returns what was recorded so far, in the order it arrived, and
// the errors of the subscriptions (a lost notification would make the
// events wrong: a caller should treat any error as a failed measurement).
func (e *AddrEvents) Events() ([]AddrEvent, []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.events), slices.Clone(e.errs)
}

// Stop ends the recording. Calling it again is harmless.
func (e *AddrEvents) Stop() {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	e.wg.Wait()
}

// HolderSpans turns events into the stretches of time during which the
// same hosts held the address, from the first event to until; a span's
// Holders are sorted, and empty while no host held it. Events are taken
// in time order (each host's are read by its own goroutine).
func HolderSpans(events []AddrEvent, until time.Time) []Span {
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b AddrEvent) int { return a.At.Compare(b.At) })
	var spans []Span
	held := map[string]bool{}
	holders := func() []string {
		var out []string
		for h, on := range held {
			if on {
				out = append(out, h)
			}
		}
		slices.Sort(out)
		return out
	}
	for i, ev := range events {
		held[ev.Host] = ev.Added
		end := until
		if i+1 < len(events) {
			end = events[i+1].At
		}
		hs := holders()
		if n := len(spans); n > 0 && slices.Equal(spans[n-1].Holders, hs) {
			spans[n-1].End = end
			continue
		}
		spans = append(spans, Span{Start: ev.At, End: end, Holders: hs})
	}
	return spans
}
