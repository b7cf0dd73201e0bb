package ipaddr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// A planned release leaves the address on no node from its removal here
// until the new holder has added it and its announcement has reached the
// clients: about a millisecond. A client that sends in that window sends
// to this node's MAC; this node's kernel drops the frame (the address is
// gone, and it does not route), and a TCP client sends its SYN again only
// a second later. A handover saves those frames: a packet socket on the
// address's interface, opened before the removal, keeps the frames for
// the address that reach this node after it, learns the new holder's MAC
// from its announcement (a gratuitous ARP or an unsolicited neighbour
// advertisement of the address, from another MAC) and sends them on to
// that MAC, with this node's own MAC as the source. The address is on one
// node at most throughout: this node only passes frames on, at the
// Ethernet level, to the node that announced the address.
//
// It is bounded: it ends HandoverFor after the removal, or HandoverQuiet
// after the last frame it passed on once the new holder is known, or as
// soon as this node holds the address again (its record is back: a start
// here wrote it before adding the address); it holds at most
// handoverHeld frames (handoverHeldBytes) while no new holder is known,
// and passes on at most handoverMax. A frame the kernel stamped before
// the removal was returned is never passed on: this node's own stack may
// have taken it.
const (
	HandoverFor       = time.Second
	HandoverQuiet     = 100 * time.Millisecond
	handoverHeld      = 64
	handoverHeldBytes = 256 << 10
	handoverMax       = 1024
	handoverReadMax   = 64 << 10 // larger frames are dropped, not passed on
	handoverReadCap   = 16384    // frames read in all: more ends the handover (a flood)
	handoverSkipMax   = 256      // frames queued at the removal, dropped on the release's path

	// vnetHdrLen is the virtio_net_hdr the socket reads before each
	// frame and sends before each frame it passes on (PACKET_VNET_HDR):
	// a frame whose checksum the sender left to the hardware (a veth, a
	// virtual NIC) or that the kernel merged (GRO) arrives incomplete,
	// and is sent on with the header that says so, for the kernel to
	// finish.
	vnetHdrLen = 10
)

// handover is one release's packet socket and what it has seen.
type handover struct {
	fd      int
	ifindex int
	ifname  string
	own     net.HardwareAddr
	addr    netip.Addr
	record  string // this node's record of the address: back means ours again
	log     logrus.FieldLogger
	prefix  string

	removed   time.Time        // the removal acknowledged: frames stamped later are passed on
	last      time.Time        // the new holder's announcement, or the last frame passed on
	taker     net.HardwareAddr // the new holder, once it has announced
	heard     time.Duration    // removal to the new holder's announcement (its kernel stamp)
	held      [][]byte
	bytes     int
	buf       []byte // read buffer, made before the removal (nothing to allocate after it)
	oob       []byte
	read      int // frames read, of any kind
	passed    int
	dropped   int
	ours      bool // this node holds the address again
	contested bool // another MAC announced the address after the new holder
	done      chan struct{}
}

// openHandover opens the handover's socket on link, for the agent's
// address, in the agent's namespace; nil when link cannot carry one (no
// Ethernet address, or it does not ARP) or when the kernel forwards the
// address's family on link: a router's own stack routes the frames for
// the address once it has gone (to the new holder, once that one
// answers), and a handover would deliver them twice.
func (a *Agent) openHandover(link netlink.Link) (*handover, error) {
	attrs := link.Attrs()
	if len(attrs.HardwareAddr) != 6 || attrs.RawFlags&unix.IFF_NOARP != 0 {
		return nil, nil
	}
	prog, err := handoverFilter(a.spec.Addr)
	if err != nil {
		return nil, err
	}
	h := &handover{
		ifindex: attrs.Index, ifname: attrs.Name, own: attrs.HardwareAddr, addr: a.spec.Addr,
		record: a.recordPath(), log: a.log, prefix: a.prefix, done: make(chan struct{}),
		buf: make([]byte, vnetHdrLen+handoverReadMax), oob: make([]byte, unix.CmsgSpace(16)),
	}
	routes := false
	if err := a.inNS(func() (err error) {
		if routes, err = forwards(a.spec.Addr, attrs.Name); err != nil || routes {
			return err
		}
		h.fd, err = handoverSocket(attrs.Index, prog)
		return err
	}); err != nil {
		return nil, err
	}
	if routes {
		a.log.Debugf("%sno handover: %s forwards %s's family (a router passes the frames on itself)", a.prefix, attrs.Name, a.spec.Addr)
		return nil, nil
	}
	return h, nil
}

// forwards says whether this namespace's kernel forwards addr's family
// on interface ifname (/proc/sys/net/ipv4|ipv6/conf/IFNAME/forwarding,
// read in the caller's thread's namespace).
func forwards(addr netip.Addr, ifname string) (bool, error) {
	fam := "ipv4"
	if addr.Is6() {
		fam = "ipv6"
	}
	b, err := os.ReadFile("/proc/sys/net/" + fam + "/conf/" + ifname + "/forwarding")
	if err != nil {
		return false, fmt.Errorf("forwarding on %s: %w", ifname, err)
	}
	return strings.TrimSpace(string(b)) != "0", nil
}

// handoverSocket opens a packet socket on interface ifindex that
// receives, stamped by the kernel, only the frames prog accepts: opened
// for no protocol, filtered, then bound, so no frame reaches it
// unfiltered.
func handoverSocket(ifindex int, prog []bpf.RawInstruction) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("handover socket: %w", err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	steps := []struct {
		what string
		do   func() error
	}{
		{"filter", func() error { return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog) }},
		{"timestamps", func() error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) }},
		{"offload header", func() error { return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1) }},
		{"bind", func() error {
			return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex})
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("handover socket: %s: %w", s.what, err)
		}
	}
	return fd, nil
}

// handoverFilter is the socket filter of a handover for addr: IPv4,
// frames to addr and ARP from addr; IPv6, frames to addr and ICMPv6
// neighbour advertisements of addr. The frames it keeps are checked
// again by classify.
func handoverFilter(addr netip.Addr) ([]bpf.RawInstruction, error) {
	var p asm
	p.ld(12, 2)
	if addr.Is4() {
		a := binary.BigEndian.Uint32(addr.AsSlice())
		p.jeq(etherTypeARP, "", "ip")
		p.ld(28, 4) // ARP sender protocol address
		p.jeq(a, "keep", "drop")
		p.label("ip")
		p.jeq(0x0800, "", "drop")
		p.ld(30, 4) // IPv4 destination
		p.jeq(a, "keep", "drop")
	} else {
		a := addr.As16()
		p.jeq(etherTypeIPv6, "", "drop")
		for i := 0; i < 4; i++ { // the IPv6 destination
			p.ld(38+4*i, 4)
			p.jeq(binary.BigEndian.Uint32(a[4*i:]), "", "na")
		}
		p.jump("keep")
		p.label("na")
		p.ld(20, 1) // next header
		p.jeq(unix.IPPROTO_ICMPV6, "", "drop")
		p.ld(54, 1) // ICMPv6 type
		p.jeq(icmpv6NA, "", "drop")
		for i := 0; i < 4; i++ { // the advertisement's target
			p.ld(62+4*i, 4)
			p.jeq(binary.BigEndian.Uint32(a[4*i:]), "", "drop")
		}
	}
	p.label("keep")
	p.ins(bpf.RetConstant{Val: handoverReadMax})
	p.label("drop")
	p.ins(bpf.RetConstant{Val: 0})
	return p.assemble()
}

// asm assembles a small filter with named jump targets ("" is the next
// instruction).
type asm struct {
	ins_   []bpf.Instruction
	jumps  map[int][2]string // instruction index: its true and false targets
	labels map[string]int
}

func (p *asm) ins(i bpf.Instruction) { p.ins_ = append(p.ins_, i) }

func (p *asm) ld(off, size int) { p.ins(bpf.LoadAbsolute{Off: uint32(off), Size: size}) }

func (p *asm) jeq(v uint32, t, f string) {
	if p.jumps == nil {
		p.jumps = map[int][2]string{}
	}
	p.jumps[len(p.ins_)] = [2]string{t, f}
	p.ins(bpf.JumpIf{Cond: bpf.JumpEqual, Val: v})
}

func (p *asm) jump(to string) {
	if p.jumps == nil {
		p.jumps = map[int][2]string{}
	}
	p.jumps[len(p.ins_)] = [2]string{to, ""}
	p.ins(bpf.Jump{})
}

func (p *asm) label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.ins_)
}

func (p *asm) assemble() ([]bpf.RawInstruction, error) {
	skip := func(at int, to string) (uint32, error) {
		if to == "" {
			return 0, nil
		}
		l, ok := p.labels[to]
		if !ok || l <= at || l-at-1 > 255 {
			return 0, fmt.Errorf("filter: bad jump from %d to %q", at, to)
		}
		return uint32(l - at - 1), nil
	}
	for at, to := range p.jumps {
		t, err := skip(at, to[0])
		if err != nil {
			return nil, err
		}
		f, err := skip(at, to[1])
		if err != nil {
			return nil, err
		}
		switch i := p.ins_[at].(type) {
		case bpf.JumpIf:
			i.SkipTrue, i.SkipFalse = uint8(t), uint8(f)
			p.ins_[at] = i
		case bpf.Jump:
			i.Skip = t
			p.ins_[at] = i
		}
	}
	return bpf.Assemble(p.ins_)
}

// What a frame the filter kept is to a handover.
const (
	frameOther    = iota
	frameToAddr   // for the address: to pass on
	frameAnnounce // the address announced, by the frame's source
)

// classify says what frame is for a handover of addr. An announcement is
// only what every client on the segment sees and follows: a gratuitous
// ARP (sender and target address both addr, from the sender's own
// Ethernet address, to the broadcast address), or an unsolicited
// neighbour advertisement of addr to all nodes; an ARP frame sent to
// this node alone names nobody the clients will go to.
func classify(frame []byte, addr netip.Addr) int {
	if len(frame) < 14 {
		return frameOther
	}
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case etherTypeARP:
		p := frame[14:]
		if addr.Is4() && len(p) >= 28 && binary.BigEndian.Uint16(p[2:4]) == 0x0800 && p[4] == 6 && p[5] == 4 &&
			string(frame[0:6]) == string(ethBroadcast) && string(frame[6:12]) == string(p[8:14]) &&
			netip.AddrFrom4([4]byte(p[14:18])) == addr && netip.AddrFrom4([4]byte(p[24:28])) == addr {
			return frameAnnounce
		}
	case 0x0800:
		if addr.Is4() && len(frame) >= 34 && frame[14]>>4 == 4 && netip.AddrFrom4([4]byte(frame[30:34])) == addr {
			return frameToAddr
		}
	case etherTypeIPv6:
		if !addr.Is6() || len(frame) < 54 || frame[14]>>4 != 6 {
			return frameOther
		}
		if netip.AddrFrom16([16]byte(frame[38:54])) == addr {
			return frameToAddr
		}
		if len(frame) >= 78 && frame[20] == unix.IPPROTO_ICMPV6 && frame[54] == icmpv6NA &&
			string(frame[0:6]) == string(allNodesMAC) && netip.AddrFrom16([16]byte(frame[38:54])) == allNodes &&
			netip.AddrFrom16([16]byte(frame[62:78])) == addr {
			return frameAnnounce
		}
	}
	return frameOther
}

// begin marks when the removal was acknowledged and drops what the
// socket held then; run, once the address's record is gone, is the rest.
func (h *handover) begin(removed time.Time) {
	h.removed = removed
	h.skipQueued()
}

// skipQueued drops, unread by the handover, the frames the socket holds
// once the removal has been acknowledged: this node's stack may have
// taken any of them, and their kernel stamps cannot always tell. The
// first socket that asks for receive stamps turns them on only a moment
// later (the kernel defers it to a work item), and the kernel stamps a
// frame queued before then when it is read, after the removal. A frame
// is queued to the socket before the stack looks it up, so every frame
// the stack took was queued before the acknowledgement; one queued after
// this point came after the removal. At most handoverSkipMax are read
// here, on the release's path; the rest are judged by their stamps.
func (h *handover) skipQueued() {
	for range handoverSkipMax {
		_, _, _, _, err := unix.Recvmsg(h.fd, h.buf, h.oob, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		h.read++
	}
}

// cancel closes a handover that will not start (the removal failed).
func (h *handover) cancel() {
	unix.Close(h.fd)
	close(h.done)
}

func (h *handover) run() {
	defer close(h.done)
	defer unix.Close(h.fd)
	end := h.removed.Add(HandoverFor)
	var readErr error
	for !h.ours && !h.contested && readErr == nil && h.passed < handoverMax {
		now := time.Now()
		wait := end.Sub(now)
		if h.taker != nil {
			wait = min(wait, h.last.Add(HandoverQuiet).Sub(now))
		}
		if wait <= 0 {
			break
		}
		fds := []unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(wait/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			readErr = err
			break
		}
		readErr = h.readAll(h.buf, h.oob)
	}
	h.dropped += len(h.held)
	switch {
	case h.ours:
		h.log.Debugf("%shandover: %s is this node's again; frames sent here after its removal: %d passed on, %d dropped", h.prefix, h.addr, h.passed, h.dropped)
	case h.contested:
		h.log.Debugf("%shandover: %s announced by %s, then by another node; frames sent here after its removal: %d passed on to %s, %d dropped",
			h.prefix, h.addr, h.taker, h.passed, h.taker, h.dropped)
	case readErr != nil:
		h.log.Warnf("%shandover of %s on %s: %v (%d frames passed on)", h.prefix, h.addr, h.ifname, readErr, h.passed)
	case h.taker != nil:
		h.log.Debugf("%shandover: %s announced by %s %.3f ms after its removal here; frames sent here after the removal: %d passed on to it, %d dropped",
			h.prefix, h.addr, h.taker, float64(h.heard.Microseconds())/1000, h.passed, h.dropped)
	default:
		h.log.Debugf("%shandover: no announcement of %s within %s of its removal; frames sent here after it: %d dropped", h.prefix, h.addr, HandoverFor, h.dropped)
	}
}

// readAll reads what the socket holds, and passes on or holds each frame.
func (h *handover) readAll(buf, oob []byte) error {
	for !h.ours && !h.contested {
		n, oobn, flags, from, err := unix.Recvmsg(h.fd, buf, oob, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return nil
		}
		if err != nil {
			return err
		}
		h.read++
		if h.read > handoverReadCap {
			return errors.New("too many frames for the address: a flood?")
		}
		ll, _ := from.(*unix.SockaddrLinklayer)
		at, stamped := stampOf(oob[:oobn])
		if flags&unix.MSG_TRUNC != 0 || n < vnetHdrLen || ll == nil {
			continue // too big to pass on
		}
		if ll.Pkttype == unix.PACKET_OUTGOING {
			// This node announcing the address again (a start here,
			// whichever agent runs it): it holds it, its own stack
			// takes its frames, and the handover ends, the frames it
			// held dropped. Unstamped counts too: ending is the safe
			// side.
			if classify(buf[vnetHdrLen:n], h.addr) == frameAnnounce && (!stamped || at.After(h.removed)) {
				h.ours = true
			}
			continue
		}
		if !stamped || !at.After(h.removed) {
			continue // maybe taken by this node's stack
		}
		h.frame(buf[:n], ll.Pkttype, at)
	}
	return nil
}

// frame handles one frame received at after the removal, m: the frame
// after its offload header.
func (h *handover) frame(m []byte, pkttype uint8, at time.Time) {
	f := m[vnetHdrLen:]
	switch classify(f, h.addr) {
	case frameAnnounce:
		src := net.HardwareAddr(f[6:12])
		if string(src) == string(h.own) || string(src) == string(h.taker) {
			return
		}
		if h.taker != nil {
			// A second node announces the address: the clients follow
			// the latest, and which one holds it is not this node's to
			// judge. The handover ends.
			h.contested = true
			return
		}
		h.taker = append(net.HardwareAddr(nil), src...)
		h.heard = at.Sub(h.removed)
		h.last = time.Now()
		held := h.held
		h.held, h.bytes = nil, 0
		for _, f := range held {
			h.pass(f)
		}
	case frameToAddr:
		if pkttype != unix.PACKET_HOST {
			return // not sent to this node's MAC: not this node's to pass on
		}
		if h.oursAgain() {
			return
		}
		if h.taker != nil {
			h.pass(m)
			return
		}
		if len(h.held) >= handoverHeld || h.bytes+len(m) > handoverHeldBytes {
			h.dropped++
			return
		}
		h.held = append(h.held, append([]byte(nil), m...))
		h.bytes += len(m)
	}
}

// pass sends m (an offload header, then the frame) on to the new holder,
// unless this node holds the address again (then the handover ends: its
// own stack takes the frames).
func (h *handover) pass(m []byte) {
	if h.oursAgain() {
		h.dropped++
		return
	}
	if h.passed >= handoverMax {
		h.dropped++
		return
	}
	f := m[vnetHdrLen:]
	copy(f[0:6], h.taker)
	copy(f[6:12], h.own)
	to := &unix.SockaddrLinklayer{Ifindex: h.ifindex, Protocol: htons(binary.BigEndian.Uint16(f[12:14])), Halen: 6}
	copy(to.Addr[:], h.taker)
	if err := unix.Sendto(h.fd, m, unix.MSG_DONTWAIT, to); err != nil {
		h.dropped++
		return
	}
	h.passed++
	h.last = time.Now()
}

// oursAgain says whether this node holds the address again: its record
// is back (a start here writes it before it adds the address, so a frame
// read after the addition finds it). Once true, it stays true.
func (h *handover) oursAgain() bool {
	if !h.ours {
		if _, err := os.Stat(h.record); err == nil {
			h.ours = true
		}
	}
	return h.ours
}

// stampOf reads the kernel's receive time (SCM_TIMESTAMPNS) from a
// message's control data.
func stampOf(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}
