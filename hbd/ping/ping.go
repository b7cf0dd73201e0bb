// Package ping watches ha.cf's ping nodes with ICMP echo: unprivileged
// ICMP sockets ("udp4"/"udp6", allowed by net.ipv4.ping_group_range)
// where the system allows them, raw ICMP sockets (root) otherwise. A host
// is reachable while it answered within deadping; a ping_group is
// reachable when any of its hosts is. The daemon feeds the counts to the
// core as cluster.PingStatus.
package ping

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Target is one ha.cf ping node: a `ping HOST` (one host) or a
// `ping_group NAME HOST...`.
type Target struct {
	Name  string
	Hosts []netip.Addr
}

// Status is the prober's view at one moment.
type Status struct {
	Reachable, Total int
	// Down names the targets not reachable (for the log).
	Down []string
}

// Options tune a Prober.
type Options struct {
	// Deadping: a host that has not answered for this long is down.
	Deadping time.Duration
	// Interval between two echo requests to a host (default Deadping/4,
	// at most one second).
	Interval time.Duration
	// Log receives one line per problem (socket errors); may be nil.
	Log func(format string, args ...any)
}

// Prober sends echo requests to every host and tracks the answers.
type Prober struct {
	targets []Target
	o       Options
	id      int
	mu      sync.Mutex
	last    map[netip.Addr]time.Time // last answer
	started time.Time
	mode    string
}

// New returns a prober for targets.
func New(targets []Target, o Options) *Prober {
	if o.Deadping <= 0 {
		o.Deadping = 30 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = min(o.Deadping/4, time.Second)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return &Prober{targets: targets, o: o, id: os.Getpid() & 0xffff, last: map[netip.Addr]time.Time{}}
}

// Mode says which sockets are in use ("unprivileged", "raw", or both
// per family), once Run has opened them.
func (p *Prober) Mode() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Status returns the reachability now.
func (p *Prober) Status(now time.Time) Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Total: len(p.targets)}
	for _, t := range p.targets {
		up := false
		for _, h := range t.Hosts {
			if at, ok := p.last[h]; ok && now.Sub(at) < p.o.Deadping {
				up = true
			}
		}
		if up {
			st.Reachable++
		} else {
			st.Down = append(st.Down, t.Name)
		}
	}
	return st
}

type conn struct {
	c     *icmp.PacketConn
	v6    bool
	udp   bool // unprivileged: the kernel owns the id
	proto int
}

// listen opens an ICMP socket for one family, unprivileged first.
func listen(v6 bool) (*conn, error) {
	udp, raw, proto := "udp4", "ip4:icmp", 1
	addr := "0.0.0.0"
	if v6 {
		udp, raw, proto, addr = "udp6", "ip6:ipv6-icmp", 58, "::"
	}
	if c, err := icmp.ListenPacket(udp, addr); err == nil {
		return &conn{c: c, v6: v6, udp: true, proto: proto}, nil
	}
	c, err := icmp.ListenPacket(raw, addr)
	if err != nil {
		return nil, fmt.Errorf("ICMP socket (%s, and %s: not allowed by net.ipv4.ping_group_range?): %w", raw, udp, err)
	}
	return &conn{c: c, v6: v6, proto: proto}, nil
}

// Run probes until ctx ends, calling changed with the new Status each
// time it changes (and once after the first Deadping, or earlier when
// every target answered).
func (p *Prober) Run(ctx context.Context, changed func(Status)) error {
	p.started = time.Now()
	conns := map[bool]*conn{}
	for _, t := range p.targets {
		for _, h := range t.Hosts {
			v6 := h.Is6() && !h.Is4In6()
			if conns[v6] != nil {
				continue
			}
			c, err := listen(v6)
			if err != nil {
				for _, c := range conns {
					c.c.Close()
				}
				return err
			}
			conns[v6] = c
		}
	}
	var modes []string
	for v6, c := range conns {
		fam := map[bool]string{false: "IPv4", true: "IPv6"}[v6]
		modes = append(modes, fam+" "+map[bool]string{true: "unprivileged", false: "raw"}[c.udp])
	}
	p.mu.Lock()
	p.mode = fmt.Sprint(modes)
	p.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.read(ctx, c)
		}()
		go func() { <-ctx.Done(); c.c.Close() }()
	}
	tick := time.NewTicker(p.o.Interval)
	defer tick.Stop()
	var prev *Status
	seq := 0
	for {
		seq++
		for _, t := range p.targets {
			for _, h := range t.Hosts {
				c := conns[h.Is6() && !h.Is4In6()]
				if err := p.send(c, h, seq); err != nil && ctx.Err() == nil {
					p.o.Log("ping %s: %v", h, err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			st := p.Status(now)
			settled := now.Sub(p.started) >= p.o.Deadping || st.Reachable == st.Total
			if settled && (prev == nil || prev.Reachable != st.Reachable || prev.Total != st.Total) {
				prev = &st
				changed(st)
			}
		}
	}
}

func (p *Prober) send(c *conn, h netip.Addr, seq int) error {
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if c.v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: p.id, Seq: seq & 0xffff, Data: []byte("hbd ping")}}
	b, err := m.Marshal(nil)
	if err != nil {
		return err
	}
	var dst net.Addr = &net.IPAddr{IP: h.AsSlice()}
	if c.udp {
		dst = &net.UDPAddr{IP: h.AsSlice()}
	}
	_, err = c.c.WriteTo(b, dst)
	return err
}

func (p *Prober) read(ctx context.Context, c *conn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.o.Log("ping: read: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		m, err := icmp.ParseMessage(c.proto, buf[:n])
		if err != nil {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		if !ok || (m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply) {
			continue
		}
		if !c.udp && echo.ID != p.id {
			continue // another process's ping (raw sockets see them all)
		}
		var ip net.IP
		switch a := from.(type) {
		case *net.UDPAddr:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		addr = addr.Unmap()
		if c.v6 {
			addr, _ = netip.AddrFromSlice(ip.To16())
		}
		p.mu.Lock()
		p.last[addr] = time.Now()
		p.mu.Unlock()
	}
}
