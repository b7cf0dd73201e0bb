package link

import (
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/wire"
)

// Steering: on a ucast socket the kernel itself sorts what arrives. The
// socket that sends (the shared one) and two receive sockets per peer (the
// peer's own, and its routine one) are bound to the same address and port
// with SO_REUSEPORT, in that order, and a classic BPF program attached to
// the group (SO_ATTACH_REUSEPORT_CBPF) picks the socket of each datagram by
// the index it was bound at:
//
//   - from a peer's address and beginning with wire.RoutinePrefix: the
//     peer's routine socket, which is not in the runtime's poller (an
//     arrival wakes nobody) and is read at the caller's next wake-up
//     (Set.Drain);
//   - from a peer's address otherwise: the peer's own socket, read at once;
//   - from any other address: the shared socket.
//
// The kernel runs the program with the datagram's data at the UDP payload;
// the offsets from skfNetOff reach the IP header, where the source address
// is. A flood from any address but a peer's fills the shared socket's
// buffer only, as the connected per-peer sockets of the fallback do
// (openPeerSockets); a routine datagram is just as authenticated as any
// other (the mark is a signed field), the steering only decides when it
// is read.

// skfNetOff is SKF_NET_OFF: a load at skfNetOff+k reads byte k of the
// network header.
const skfNetOff = -0x100000

// steerPeer is one peer's sockets in the reuseport group.
type steerPeer struct {
	addr         netip.Addr
	own, routine uint32 // indexes in the group
}

// steerProgram is the program above for a group whose shared socket has
// index shared: a routine datagram from peers[k].addr goes to
// peers[k].routine, any other datagram from it to peers[k].own, the rest
// to shared. v4 says whether the sockets are IPv4.
func steerProgram(v4 bool, peers []steerPeer, shared uint32) ([]unix.SockFilter, error) {
	prefix := wire.RoutinePrefix
	words := len(prefix) / 4 // the prefix's whole words are compared
	// Labels: jumps are fixed once every instruction's index is known.
	type fix struct {
		at    int // index of a bpf.Jump
		label int // its target
	}
	var prog []bpf.Instruction
	var fixes []fix
	labels := map[int]int{}
	const lDispatch = -1
	// X = 1 when the datagram begins with the prefix, 0 otherwise.
	prog = append(prog,
		bpf.LoadConstant{Dst: bpf.RegX, Val: 0},
		bpf.LoadExtension{Num: bpf.ExtLen},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(words * 4), SkipTrue: 1},
		bpf.Jump{}, // to dispatch
	)
	fixes = append(fixes, fix{at: len(prog) - 1, label: lDispatch})
	for i := range words {
		w := uint32(prefix[4*i])<<24 | uint32(prefix[4*i+1])<<16 | uint32(prefix[4*i+2])<<8 | uint32(prefix[4*i+3])
		prog = append(prog, bpf.LoadAbsolute{Off: uint32(4 * i), Size: 4}, bpf.JumpIf{Cond: bpf.JumpEqual, Val: w, SkipTrue: 1}, bpf.Jump{})
		fixes = append(fixes, fix{at: len(prog) - 1, label: lDispatch})
	}
	prog = append(prog, bpf.LoadConstant{Dst: bpf.RegX, Val: 1})
	labels[lDispatch] = len(prog)
	// Dispatch on the source address: for each peer, compare its words,
	// on a mismatch go on with the next peer.
	srcOff, addrWords := 12, 1 // IPv4 header: source at 12
	if !v4 {
		srcOff, addrWords = 8, 4 // IPv6 header: source at 8
	}
	for k, p := range peers {
		var b []byte
		if v4 {
			a := p.addr.Unmap().As4()
			b = a[:]
		} else {
			a := p.addr.As16()
			b = a[:]
		}
		next := 2*k + 1 // label: the next peer's comparison
		for j := range addrWords {
			w := uint32(b[4*j])<<24 | uint32(b[4*j+1])<<16 | uint32(b[4*j+2])<<8 | uint32(b[4*j+3])
			prog = append(prog, bpf.LoadAbsolute{Off: uint32(int32(skfNetOff + srcOff + 4*j)), Size: 4}, bpf.JumpIf{Cond: bpf.JumpEqual, Val: w, SkipTrue: 1}, bpf.Jump{})
			fixes = append(fixes, fix{at: len(prog) - 1, label: next})
		}
		// This peer: routine socket if X, own socket otherwise.
		prog = append(prog,
			bpf.TXA{},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 1, SkipFalse: 1},
			bpf.RetConstant{Val: p.routine},
			bpf.RetConstant{Val: p.own},
		)
		labels[next] = len(prog)
	}
	prog = append(prog, bpf.RetConstant{Val: shared})
	for _, f := range fixes {
		to, ok := labels[f.label]
		if !ok {
			return nil, fmt.Errorf("steering program: bad jump at %d", f.at)
		}
		prog[f.at] = bpf.Jump{Skip: uint32(to - f.at - 1)}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("steering program: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// attachSteering attaches prog to the reuseport group of fd.
func attachSteering(fd int, prog []unix.SockFilter) error {
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fp); err != nil {
		return fmt.Errorf("SO_ATTACH_REUSEPORT_CBPF: %w", err)
	}
	return nil
}
