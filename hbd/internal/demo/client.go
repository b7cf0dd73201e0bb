package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Probe is one request of the client.
type Probe struct {
	At   time.Time     // when the request started
	Took time.Duration // until the answer or the failure
	Whom string        // X-Whom of a 200 answer ("" on failure)
	Err  string        // why it failed, in a few words ("" on an answer)
}

// OK reports whether the probe got an answer.
func (p Probe) OK() bool { return p.Err == "" }

// End is when the answer (or the failure) came.
func (p Probe) End() time.Time { return p.At.Add(p.Took) }

// sortProbes returns a copy of ps in start order.
func sortProbes(ps []Probe) []Probe {
	out := append([]Probe(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Client requests URL every Interval, each request on a fresh connection
// with Timeout, records every result and hands each to OnProbe.
type Client struct {
	URL      string
	Interval time.Duration
	Timeout  time.Duration
	OnProbe  func(Probe) // called from the request's goroutine

	mu     sync.Mutex
	probes []Probe
}

// maxProbes bounds what a Client records (a demo makes a few thousand).
const maxProbes = 200000

// Run requests until ctx ends, then waits for the requests in flight.
func (c *Client) Run(ctx context.Context) {
	hc := &http.Client{
		Timeout: c.Timeout,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			Proxy:             nil, // never through a proxy from the environment
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for range maxProbes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := c.once(hc)
			c.mu.Lock()
			c.probes = append(c.probes, p)
			c.mu.Unlock()
			if c.OnProbe != nil {
				c.OnProbe(p)
			}
		}()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Client) once(hc *http.Client) Probe {
	p := Probe{At: time.Now()}
	resp, err := hc.Get(c.URL)
	if err != nil {
		p.Took = time.Since(p.At)
		p.Err = shortError(err)
		return p
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	p.Took = time.Since(p.At)
	switch {
	case err != nil:
		p.Err = shortError(err)
	case resp.StatusCode != http.StatusOK:
		p.Err = resp.Status
	default:
		p.Whom = resp.Header.Get("X-Whom")
		if p.Whom == "" {
			p.Whom, _, _ = strings.Cut(strings.TrimSpace(string(body)), "\n")
		}
		if p.Whom == "" {
			p.Err = "answer without a name"
		}
	}
	return p
}

// shortError says in a few words why a request failed.
func shortError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	}
	return err.Error()
}

// Probes returns what was recorded so far, in start order.
func (c *Client) Probes() []Probe {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortProbes(c.probes)
}

// probeSource is anything that records probes: the loopback Client, or
// the namespace demo's prober.
type probeSource interface {
	Probes() []Probe
}

// waitFor waits until a request started at or after since got an answer
// from whom, polling every 10 ms, at most until ctx ends.
func waitFor(ctx context.Context, src probeSource, since time.Time, whom string) (Probe, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		ps := src.Probes()
		for _, p := range ps {
			if !p.At.Before(since) && p.OK() && p.Whom == whom {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			last := "no request yet"
			if len(ps) > 0 {
				l := ps[len(ps)-1]
				if l.OK() {
					last = "the last answer came from " + l.Whom
				} else {
					last = "the last request failed: " + l.Err
				}
			}
			return Probe{}, fmt.Errorf("no answer from %s (%s)", whom, last)
		case <-t.C:
		}
	}
}

// waitDown waits until every request started at or after since (and at
// least a few of them) failed for span, i.e. nobody serves any more.
func waitDown(ctx context.Context, src probeSource, since time.Time, span time.Duration) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		var firstFail time.Time
		for _, p := range src.Probes() {
			if p.At.Before(since) {
				continue
			}
			if p.OK() {
				firstFail = time.Time{}
				continue
			}
			if firstFail.IsZero() {
				firstFail = p.At
			}
		}
		if !firstFail.IsZero() && time.Since(firstFail) >= span {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the service still answers")
		case <-t.C:
		}
	}
}
