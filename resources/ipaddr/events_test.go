package ipaddr

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// fakeSub is a library subscription the test drives: each call of
// subscribe is one subscription, its channel and done kept.
type fakeSub[T any] struct {
	calls int
	ch    chan T
	done  chan struct{}
	err   error
}

func (f *fakeSub[T]) subscribe(ch chan T, done chan struct{}) error {
	if f.err != nil {
		return f.err
	}
	f.calls++
	f.ch, f.done = ch, done
	return nil
}

// isClosed says whether done is closed.
func isClosed(done chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// recvWithin is the next update on ch, false when ch is closed; it fails
// the test when nothing comes within 10 s.
func recvWithin[T any](t *testing.T, ch <-chan T) (T, bool) {
	t.Helper()
	select {
	case u, ok := <-ch:
		return u, ok
	case <-time.After(10 * time.Second):
		t.Fatal("nothing on the follower's channel within 10 s")
	}
	var zero T
	return zero, false
}

// waitClosed fails the test unless ch is closed (after what is queued on
// it) within 10 s.
func waitClosed[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-limit:
			t.Fatal("the follower's channel is not closed within 10 s")
		}
	}
}

// One subscription serves every follower, and ends with the last.
func TestHubSharesOneSubscription(t *testing.T) {
	var lib fakeSub[int]
	h := &hub[int]{subscribe: lib.subscribe}
	a, stopA, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	b, stopB, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	if lib.calls != 1 {
		t.Fatalf("%d subscriptions for two followers, want 1", lib.calls)
	}
	lib.ch <- 7
	for name, ch := range map[string]<-chan int{"a": a, "b": b} {
		if u, ok := recvWithin(t, ch); !ok || u != 7 {
			t.Errorf("follower %s got %d, %v; want 7", name, u, ok)
		}
	}
	stopA()
	waitClosed(t, a)
	if isClosed(lib.done) {
		t.Fatal("the subscription ended while b still follows it")
	}
	lib.ch <- 8
	if u, ok := recvWithin(t, b); !ok || u != 8 {
		t.Errorf("b got %d, %v after a left; want 8", u, ok)
	}
	stopB()
	stopB() // a second stop does nothing
	waitClosed(t, b)
	if !isClosed(lib.done) {
		t.Fatal("the subscription goes on with no follower")
	}
	close(lib.ch) // as the library does once done is closed

	// The next follower subscribes anew.
	c, stopC, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stopC()
	if lib.calls != 2 {
		t.Fatalf("%d subscriptions after the first ended, want 2", lib.calls)
	}
	lib.ch <- 9
	if u, ok := recvWithin(t, c); !ok || u != 9 {
		t.Errorf("c got %d, %v; want 9", u, ok)
	}
}

// A follower that falls behind is dropped (its channel closed, after
// what it holds), the others keep their updates; when the library's
// subscription breaks every follower's channel closes, and the next
// follow subscribes again.
func TestHubDropsTheSlowAndEndsOnABreak(t *testing.T) {
	var lib fakeSub[int]
	h := &hub[int]{subscribe: lib.subscribe}
	slow, stopSlow, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stopSlow()
	fast, stopFast, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stopFast()
	const n = followCap + 10
	for i := range n {
		lib.ch <- i
		if u, ok := recvWithin(t, fast); !ok || u != i {
			t.Fatalf("fast follower got %d, %v; want %d", u, ok, i)
		}
	}
	got := 0
	for range slow {
		got++
	}
	if got != followCap {
		t.Errorf("the slow follower read %d updates before its channel closed, want the %d it had room for", got, followCap)
	}
	if isClosed(lib.done) {
		t.Fatal("the subscription ended with a follower left")
	}

	close(lib.ch) // the library's subscription broke
	waitClosed(t, fast)
	if !isClosed(lib.done) {
		t.Error("a broken subscription is not ended (its socket left open)")
	}
	again, stopAgain, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stopAgain()
	if lib.calls != 2 {
		t.Fatalf("%d subscriptions after the break, want 2", lib.calls)
	}
	lib.ch <- 1
	if u, ok := recvWithin(t, again); !ok || u != 1 {
		t.Errorf("after the break a follower got %d, %v; want 1", u, ok)
	}
}

func TestHubSubscribeError(t *testing.T) {
	lib := fakeSub[int]{err: errors.New("no netlink here")}
	h := &hub[int]{subscribe: lib.subscribe}
	if _, _, err := h.follow(); err == nil {
		t.Fatal("follow succeeded although the subscription failed")
	}
	lib.err = nil
	ch, stop, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	lib.ch <- 3
	if u, ok := recvWithin(t, ch); !ok || u != 3 {
		t.Errorf("got %d, %v; want 3", u, ok)
	}
}

// linkUpdate is an update of link index named name, up or not.
func linkUpdate(typ uint16, index int, name string, up bool) netlink.LinkUpdate {
	at := netlink.NewLinkAttrs()
	at.Index, at.Name = index, name
	if up {
		at.Flags = net.FlagUp
		at.OperState = netlink.OperUp
	}
	u := netlink.LinkUpdate{Link: &netlink.Veth{LinkAttrs: at, PeerName: "peer"}}
	u.Header.Type = typ
	return u
}

// A follower that comes after the others gets the latest state of every
// link first, as its own subscription's listing would give it, without
// the links deleted.
func TestHubGivesALateFollowerTheLinks(t *testing.T) {
	var lib fakeSub[netlink.LinkUpdate]
	h := &hub[netlink.LinkUpdate]{subscribe: lib.subscribe, state: linkState}
	first, stop, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, u := range []netlink.LinkUpdate{
		linkUpdate(unix.RTM_NEWLINK, 1, "lo", true),
		linkUpdate(unix.RTM_NEWLINK, 2, "eth0", false),
		linkUpdate(unix.RTM_NEWLINK, 3, "eth1", true),
		linkUpdate(unix.RTM_NEWLINK, 2, "eth0", true),
		linkUpdate(unix.RTM_DELLINK, 3, "eth1", false),
	} {
		lib.ch <- u
		recvWithin(t, first)
	}
	late, stopLate, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stopLate()
	got := map[int]bool{}
	for range 2 {
		u, ok := recvWithin(t, late)
		if !ok {
			t.Fatal("the late follower's channel closed")
		}
		got[u.Attrs().Index] = u.Attrs().Flags&net.FlagUp != 0 && u.Attrs().OperState != netlink.OperDown
		if u.Attrs().Name == "" {
			t.Errorf("link %d replayed without its name", u.Attrs().Index)
		}
	}
	if want := map[int]bool{1: true, 2: true}; len(got) != len(want) || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("the late follower got links %v first, want %v", got, want)
	}
	select {
	case u := <-late:
		t.Errorf("more than the links' state replayed: %+v", u.Attrs())
	default:
	}
}

// The first follower gets the links listed at the subscription's start
// first, however many (more than a follower's channel holds for
// updates), then the updates that came meanwhile, in order; it is not
// dropped for the listing. A listing that fails ends the subscription
// it began, and the next follow starts over.
func TestHubListsTheLinksFirst(t *testing.T) {
	var lib fakeSub[netlink.LinkUpdate]
	const links = 2*followCap + 5
	var listed []netlink.LinkUpdate
	for i := range links {
		listed = append(listed, linkUpdate(unix.RTM_NEWLINK, i+1, fmt.Sprintf("d%d", i), true))
	}
	listErr := errors.New("dump interrupted")
	h := &hub[netlink.LinkUpdate]{subscribe: lib.subscribe, state: linkState,
		list: func() ([]netlink.LinkUpdate, error) {
			if listErr != nil {
				return nil, listErr
			}
			// An update that comes while the links are listed.
			lib.ch <- linkUpdate(unix.RTM_NEWLINK, 1, "d0", false)
			return listed, nil
		}}
	if _, _, err := h.follow(); err == nil {
		t.Fatal("follow succeeded although the listing failed")
	}
	if !isClosed(lib.done) {
		t.Fatal("the subscription of a failed listing is not ended")
	}
	close(lib.ch) // as the library does once done is closed
	listErr = nil

	ch, stop, err := h.follow()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if lib.calls != 2 {
		t.Fatalf("%d subscriptions, want 2", lib.calls)
	}
	up := map[int]bool{}
	for range links + 1 {
		u, ok := recvWithin(t, ch)
		if !ok {
			t.Fatalf("the follower was dropped after %d updates of the %d links listed", len(up), links)
		}
		up[u.Attrs().Index] = u.Attrs().Flags&net.FlagUp != 0
	}
	if len(up) != links || up[1] {
		t.Errorf("the follower read %d links (link 1 up: %v), want %d with link 1 down after the update", len(up), up[1], links)
	}
}

// linkList without a namespace lists the caller's links (a daemon's
// agents work in its own namespace), loopback among them, each as an
// RTM_NEWLINK update with its index.
func TestLinkListHere(t *testing.T) {
	ups, err := linkList(nil)()
	if err != nil {
		t.Fatal(err)
	}
	lo := false
	for _, u := range ups {
		if u.Header.Type != unix.RTM_NEWLINK || int(u.Index) != u.Attrs().Index {
			t.Errorf("link %s listed as type %d, index %d (its own %d)", u.Attrs().Name, u.Header.Type, u.Index, u.Attrs().Index)
		}
		lo = lo || u.Attrs().Flags&net.FlagLoopback != 0
	}
	if !lo {
		t.Errorf("no loopback among the %d links listed", len(ups))
	}
}
