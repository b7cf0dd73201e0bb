//go:build linux

package netlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Probe is one request the prober made.
type Probe struct {
	At     time.Time     // when the request started
	Took   time.Duration // until the answer (or the failure)
	Status int           // HTTP status; 0 when the request failed
	Whom   string        // X-Whom header, else the body's first line
	Err    string        // why it failed ("" on an answer)
	// TimedOut: it failed at its deadline (no answer in Timeout), not
	// refused, reset or answered with an error.
	TimedOut bool
}

// OK reports whether the probe got a 200 answer.
func (p Probe) OK() bool { return p.Status == http.StatusOK }

// Prober requests a URL from a client host at a fixed interval, each
// request on a fresh connection with a timeout, and records every result.
type Prober struct {
	// Interval between request starts; Timeout per request (connect,
	// send, answer); MaxProbes bounds what is recorded. Set by StartProber.
	Interval  time.Duration
	Timeout   time.Duration
	MaxProbes int

	host   *Host
	url    string
	addr   string // host:port to dial
	path   string
	hostHd string

	mu     sync.Mutex
	probes []Probe
	cancel context.CancelFunc
	done   chan struct{}
}

// ProberOptions tune a Prober; zero values mean 20 ms, 200 ms, 500000.
type ProberOptions struct {
	Interval  time.Duration
	Timeout   time.Duration
	MaxProbes int
}

// StartProber starts requesting url ("http://10.231.0.100:8080/") from
// inside client every 20 ms with a 200 ms timeout (or as opts say), until
// Stop or the lab's Close. Each request is recorded with its start time,
// status and responder (the X-Whom header, else the first line of the
// body).
func (l *Lab) StartProber(client *Host, url string, opts ProberOptions) (*Prober, error) {
	p := &Prober{Interval: opts.Interval, Timeout: opts.Timeout, MaxProbes: opts.MaxProbes, host: client, url: url}
	if p.Interval <= 0 {
		p.Interval = 20 * time.Millisecond
	}
	if p.Timeout <= 0 {
		p.Timeout = 200 * time.Millisecond
	}
	if p.MaxProbes <= 0 {
		p.MaxProbes = 500000
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("prober: %w", err)
	}
	if req.URL.Scheme != "http" {
		return nil, fmt.Errorf("prober: %s: only http", url)
	}
	p.addr = req.URL.Host
	if req.URL.Port() == "" {
		p.addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	p.path = req.URL.RequestURI()
	p.hostHd = req.URL.Host

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lab closed")
	}
	l.probers = append(l.probers, p)
	l.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done = make(chan struct{})
	go p.loop(ctx)
	return p, nil
}

func (p *Prober) loop(ctx context.Context) {
	defer close(p.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for n := 0; n < p.MaxProbes; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := p.once()
			p.mu.Lock()
			p.probes = append(p.probes, pr)
			p.mu.Unlock()
		}()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once makes one request; it never takes longer than Timeout (plus the
// thread switch into the namespace).
func (p *Prober) once() Probe {
	pr := Probe{At: time.Now()}
	deadline := pr.At.Add(p.Timeout)
	fail := func(err error) Probe {
		pr.Took = time.Since(pr.At)
		pr.Err = err.Error()
		var ne net.Error
		pr.TimedOut = errors.As(err, &ne) && ne.Timeout()
		return pr
	}
	var conn net.Conn
	err := p.host.Do(func() (err error) {
		d := net.Dialer{Deadline: deadline}
		conn, err = d.Dial("tcp", p.addr)
		return err
	})
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fail(err)
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: netlab-prober\r\nConnection: close\r\n\r\n", p.path, p.hostHd); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return fail(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if err != nil {
		return fail(err)
	}
	pr.Took = time.Since(pr.At)
	pr.Status = resp.StatusCode
	pr.Whom = resp.Header.Get("X-Whom")
	if pr.Whom == "" {
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		pr.Whom = strings.TrimSpace(line)
	}
	if resp.StatusCode != http.StatusOK {
		pr.Err = resp.Status
	}
	return pr
}

// Probes returns a copy of what has been recorded so far, in start order.
func (p *Prober) Probes() []Probe {
	p.mu.Lock()
	out := append([]Probe(nil), p.probes...)
	p.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Stop ends probing, waits for requests in flight (at most Timeout) and
// returns every probe in start order. Calling it again is harmless.
func (p *Prober) Stop() []Probe {
	p.cancel()
	<-p.done
	return p.Probes()
}

// Last returns the most recent probe with an answer or failure recorded,
// and false when there is none yet.
func (p *Prober) Last() (Probe, bool) {
	ps := p.Probes()
	if len(ps) == 0 {
		return Probe{}, false
	}
	return ps[len(ps)-1], true
}

// WaitFor waits until a probe started after since gets a 200 answer from
// whom ("" = anyone) and returns it; it gives up when ctx ends (or after
// 60 s without a deadline).
func (p *Prober) WaitFor(ctx context.Context, since time.Time, whom string) (Probe, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
	}
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for range maxPolls {
		ps := p.Probes()
		for i := len(ps) - 1; i >= 0 && !ps[i].At.Before(since); i-- {
			if ps[i].OK() && (whom == "" || ps[i].Whom == whom) {
				return ps[i], nil
			}
		}
		select {
		case <-ctx.Done():
			last := "no probe yet"
			if len(ps) > 0 {
				l := ps[len(ps)-1]
				last = fmt.Sprintf("last: status %d whom %q err %q", l.Status, l.Whom, l.Err)
			}
			return Probe{}, fmt.Errorf("prober: no answer from %q since %s (%s): %w", whom, since.Format("15:04:05.000"), last, ctx.Err())
		case <-t.C:
		}
	}
	return Probe{}, fmt.Errorf("prober: no answer from %q: gave up after %d polls", whom, maxPolls)
}

// Window is one stretch of unavailability: from the first failed request
// to the first answer after it.
type Window struct {
	Start  time.Time // start of the first failed request
	End    time.Time // when the first answer after it arrived; zero if none came
	From   string    // who answered last before it ("" if nobody had)
	To     string    // who answered first after it ("" if nobody did)
	Failed int       // failed requests in it
}

// Open reports whether no answer came after the window started.
func (w Window) Open() bool { return w.End.IsZero() }

// Duration is End - Start (0 for an open window).
func (w Window) Duration() time.Duration {
	if w.Open() {
		return 0
	}
	return w.End.Sub(w.Start)
}

// Switched reports whether the answer after the window came from another
// responder than the one before it (a failover, as opposed to a blip).
func (w Window) Switched() bool { return w.From != "" && w.To != "" && w.From != w.To }

func (w Window) String() string {
	end := "open"
	if !w.Open() {
		end = w.Duration().Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%s %q→%q %s (%d failed)", w.Start.Format("15:04:05.000"), w.From, w.To, end, w.Failed)
}

// Windows finds the unavailability windows in probes (any order): each
// starts at the first failed request after an answer (or at the first
// request) and ends when the first answer after it arrives — normally
// from the new responder, so Duration is what a client saw of the
// failover. Probes are ordered by start time; a request that started
// later but answered sooner ends the window at its answer.
func Windows(probes []Probe) []Window {
	ps := append([]Probe(nil), probes...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].At.Before(ps[j].At) })
	var out []Window
	var cur *Window
	last := ""
	for _, p := range ps {
		if !p.OK() {
			if cur == nil {
				cur = &Window{Start: p.At, From: last}
			}
			cur.Failed++
			continue
		}
		if cur != nil {
			cur.End = p.At.Add(p.Took)
			cur.To = p.Whom
			out = append(out, *cur)
			cur = nil
		}
		last = p.Whom
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// Switch is a change of responder between two consecutive answers.
type Switch struct {
	At       time.Time // start of the first answer from To
	From, To string
}

// Switches lists every change of responder among the answers in probes,
// whether or not requests failed in between.
func Switches(probes []Probe) []Switch {
	ps := append([]Probe(nil), probes...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].At.Before(ps[j].At) })
	var out []Switch
	last := ""
	for _, p := range ps {
		if !p.OK() {
			continue
		}
		if last != "" && p.Whom != last {
			out = append(out, Switch{At: p.At, From: last, To: p.Whom})
		}
		last = p.Whom
	}
	return out
}

// WhomHandler is the web service of the labs, the demo and the benchmark:
// it answers every request with 200, an X-Whom: name header and name plus
// a newline as body, never cached, so a client sees which node served it.
func WhomHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Whom", name)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, name+"\n")
	})
}

// ServeWhom serves WhomHandler(h.Name) on addr (":8080") inside h until the
// returned function is called (or the lab closes the namespace).
func (h *Host) ServeWhom(addr string) (stop func(), err error) {
	ln, err := h.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: WhomHandler(h.Name), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
