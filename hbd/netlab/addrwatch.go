//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Holders lists, in host order, the hosts that have addr on an interface
// now.
func Holders(addr string, hosts ...*Host) ([]string, error) {
	var out []string
	for _, h := range hosts {
		has, err := h.HasAddr(addr)
		if err != nil {
			return nil, err
		}
		if has {
			out = append(out, h.Name)
		}
	}
	return out, nil
}

// bracketedHolders is one sample for AddrWatch: the hosts that held addr
// at the moment the last host was read. The hosts are read one after
// another, which takes time (a namespace each), so a plain pass can see
// both ends of a handover that happened between two reads: the old
// holder before it removed the address and the new one after it added
// it. So every host but the last is read again afterwards, in reverse
// order, and counts only when both reads found the address: it then held
// it throughout, the last host's read included.
func bracketedHolders(addr string, hosts []*Host) ([]string, error) {
	first, err := Holders(addr, hosts...)
	if err != nil {
		return nil, err
	}
	last := len(hosts) - 1
	held := make([]bool, len(hosts))
	held[last] = slices.Contains(first, hosts[last].Name)
	for i := last - 1; i >= 0; i-- {
		if !slices.Contains(first, hosts[i].Name) {
			continue
		}
		if held[i], err = hosts[i].HasAddr(addr); err != nil {
			return nil, err
		}
	}
	var out []string
	for i, h := range hosts {
		if held[i] {
			out = append(out, h.Name)
		}
	}
	return out, nil
}

// Span is a stretch of time during which the same set of hosts held an
// address.
type Span struct {
	Start, End time.Time // first and last sample that saw it
	Holders    []string
}

func (s Span) String() string {
	return fmt.Sprintf("%s +%v %s", s.Start.Format("15:04:05.000"), s.End.Sub(s.Start).Round(time.Millisecond), strings.Join(s.Holders, ","))
}

// AddrWatch samples which hosts hold an address at a fixed interval.
type AddrWatch struct {
	addr  string
	hosts []*Host
	every time.Duration

	mu      sync.Mutex
	spans   []Span
	samples int
	errs    int
	lastErr error

	stop chan struct{}
	done chan struct{}
}

// WatchAddr starts sampling every interval (10 ms when 0) which of hosts
// hold addr (bracketedHolders: a sample never shows two holders that
// only a handover between two reads put there), until Stop (at most 10^6
// samples). Use it to show that a VIP is never on two nodes at once.
func WatchAddr(addr string, every time.Duration, hosts ...*Host) (*AddrWatch, error) {
	if _, err := parseAddr(addr); err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, errors.New("watch: no hosts")
	}
	if every <= 0 {
		every = 10 * time.Millisecond
	}
	w := &AddrWatch{addr: addr, hosts: hosts, every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w, nil
}

func (w *AddrWatch) loop() {
	defer close(w.done)
	t := time.NewTicker(w.every)
	defer t.Stop()
	for range 1000000 {
		now := time.Now()
		holders, err := bracketedHolders(w.addr, w.hosts)
		w.mu.Lock()
		w.samples++
		if err != nil {
			w.errs++
			w.lastErr = err
		} else if n := len(w.spans); n > 0 && slices.Equal(w.spans[n-1].Holders, holders) {
			w.spans[n-1].End = now
		} else {
			w.spans = append(w.spans, Span{Start: now, End: now, Holders: holders})
		}
		w.mu.Unlock()
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// AddrReport is what an AddrWatch saw.
type AddrReport struct {
	Samples int
	Errors  int   // samples that failed (LastErr says why)
	LastErr error //
	Spans   []Span
}

// Multi returns the spans with more than one holder.
func (r AddrReport) Multi() []Span {
	var out []Span
	for _, s := range r.Spans {
		if len(s.Holders) > 1 {
			out = append(out, s)
		}
	}
	return out
}

// Report returns what was seen so far.
func (w *AddrWatch) Report() AddrReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := AddrReport{Samples: w.samples, Errors: w.errs, LastErr: w.lastErr}
	for _, s := range w.spans {
		s.Holders = slices.Clone(s.Holders)
		r.Spans = append(r.Spans, s)
	}
	return r
}

// Stop ends sampling and returns the report. Calling it again is harmless.
func (w *AddrWatch) Stop() AddrReport {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Report()
}
