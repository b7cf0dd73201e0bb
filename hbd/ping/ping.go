// Package ping watches ha.cf's ping nodes with ICMP echo: unprivileged
// ICMP sockets ("udp4"/"udp6", allowed by net.ipv4.ping_group_range)
// where the system allows them, raw ICMP sockets (root) otherwise. A host
// is reachable while it answered within deadping; a ping_group is
// reachable when any of its hosts is. The daemon feeds the counts to the
// core as cluster.PingStatus.
package ping

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
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
//
// An echo reply counts only when it matches a request of this prober: it
// comes from a configured host, carries this prober's ICMP id (raw
// sockets see every process's echoes; on an unprivileged socket the
// kernel checks the id), a sequence number sent within the last deadping,
// and this prober's payload (a random nonce drawn once per prober, and the
// sequence number again). Anything else is dropped without being
// remembered, so the memory of answers never holds more than the
// configured hosts.
type Prober struct {
	targets []Target
	o       Options
	id      int
	nonce   [8]byte
	window  int // how many recent sequence numbers a reply may carry
	mu      sync.Mutex
	hosts   map[netip.Addr]bool      // the configured hosts
	last    map[netip.Addr]time.Time // last answer of a configured host
	seq     int                      // the last sequence number sent (mod 2^16)
	started time.Time
	mode    string
}

// payloadMagic starts every echo request's payload.
const payloadMagic = "hbd ping"

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
	p := &Prober{targets: targets, o: o, id: os.Getpid() & 0xffff,
		hosts: map[netip.Addr]bool{}, last: map[netip.Addr]time.Time{}}
	for _, t := range targets {
		for _, h := range t.Hosts {
			p.hosts[h.Unmap()] = true
		}
	}
	// A reply to a request sent longer than deadping ago is worthless.
	p.window = int(o.Deadping/o.Interval) + 2
	if p.window > 1<<15 {
		p.window = 1 << 15
	}
	_, _ = rand.Read(p.nonce[:]) // never fails (crypto/rand panics instead)
	return p
}

// payload is the data of the echo request with sequence number seq.
func (p *Prober) payload(seq int) []byte {
	b := make([]byte, 0, len(payloadMagic)+len(p.nonce)+2)
	b = append(b, payloadMagic...)
	b = append(b, p.nonce[:]...)
	return binary.BigEndian.AppendUint16(b, uint16(seq))
}

// match reports whether an echo reply from addr answers one of this
// prober's recent requests; checkID is false on unprivileged sockets,
// where the kernel rewrites the id and filters replies by it itself.
// It returns the configured host the reply counts for.
func (p *Prober) match(from netip.Addr, m *icmp.Message, checkID bool) (netip.Addr, bool) {
	if m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply {
		return netip.Addr{}, false
	}
	echo, ok := m.Body.(*icmp.Echo)
	if !ok || (checkID && echo.ID != p.id) {
		return netip.Addr{}, false
	}
	from = from.Unmap()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hosts[from] {
		return netip.Addr{}, false
	}
	if age := (p.seq - echo.Seq) & 0xffff; age >= p.window || p.seq == 0 {
		return netip.Addr{}, false
	}
	if !bytes.Equal(echo.Data, p.payload(echo.Seq)) {
		return netip.Addr{}, false
	}
	return from, true
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

// CanListen opens, and closes, the ICMP socket a prober would use to
// ping hosts of one family (IPv6 when v6): nil when it can, or why not
// (no CAP_NET_RAW for a raw socket, and net.ipv4.ping_group_range not
// allowing an unprivileged one). hbd check and hbd run ask before
// starting, so that ping nodes that could never be pinged refuse the
// start instead of leaving the node with no ping nodes watched.
func CanListen(v6 bool) error {
	c, err := listen(v6)
	if err != nil {
		return err
	}
	return c.c.Close()
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
		seq = seq%0xffff + 1 // 1..65535: 0 means nothing sent yet
		p.mu.Lock()
		p.seq = seq
		p.mu.Unlock()
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
	m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: p.id, Seq: seq & 0xffff, Data: p.payload(seq)}}
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
		addr, ok = p.match(addr, m, !c.udp)
		if !ok {
			continue // another process's ping, a stale or forged reply
		}
		p.mu.Lock()
		p.last[addr] = time.Now()
		p.mu.Unlock()
	}
}
