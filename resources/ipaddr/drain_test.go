package ipaddr

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMidExchange(t *testing.T) {
	full := int(unix.SizeofTCPInfo)
	// info is a tcp_info with data sent segsOut times, the last data
	// received recv ms ago and sent sent ms ago.
	info := func(segsOut, recv, sent uint32) unix.TCPInfo {
		return unix.TCPInfo{Data_segs_out: segsOut, Last_data_recv: recv, Last_data_sent: sent}
	}
	tests := []struct {
		name string
		c    diagConn
		want bool
	}{
		{"SYN_RECV (a request socket, no tcp_info)", diagConn{state: tcpSynRecv}, true},
		{"NEW_SYN_RECV", diagConn{state: tcpNewSynRecv}, true},
		{"SYN_SENT", diagConn{state: tcpSynSent}, true},
		{"FIN_WAIT1: our FIN not acknowledged", diagConn{state: tcpFinWait1, info: info(3, 5, 1), infoLen: full}, true},
		{"LAST_ACK", diagConn{state: tcpLastAck, infoLen: full}, true},
		{"CLOSING", diagConn{state: tcpClosing, infoLen: full}, true},
		{"FIN_WAIT1 retransmitted to a peer gone (an orphan of an earlier cut)", diagConn{state: tcpFinWait1, retrans: 3, infoLen: full}, false},
		{"SYN_RECV whose SYN-ACK was retransmitted", diagConn{state: tcpSynRecv, retrans: 1}, false},
		{"established, answer retransmitted", diagConn{state: tcpEstablished, retrans: 1, wqueue: 900, info: info(1, 5, 0), infoLen: full}, false},
		{"FIN_WAIT2: all we sent acknowledged", diagConn{state: 5, infoLen: full}, false},
		{"TIME_WAIT", diagConn{state: 6}, false},
		{"LISTEN with a backlog", diagConn{state: 10, rqueue: 3}, false},
		{"established, request unread", diagConn{state: tcpEstablished, rqueue: 120, info: info(1, 0, 40), infoLen: full}, true},
		{"established, answer not acknowledged", diagConn{state: tcpEstablished, wqueue: 900, info: info(1, 5, 0), infoLen: full}, true},
		{"established, nothing sent yet (first request awaited or being answered)", diagConn{state: tcpEstablished, info: info(0, 0, 0), infoLen: full}, true},
		{"established, request read and not answered", diagConn{state: tcpEstablished, info: info(4, 3, 250), infoLen: full}, true},
		{"established, idle keep-alive (answered and acknowledged)", diagConn{state: tcpEstablished, info: info(4, 260, 250), infoLen: full}, false},
		{"established, request and answer in the same jiffy", diagConn{state: tcpEstablished, info: info(4, 8, 8), infoLen: full}, false},
		{"CLOSE_WAIT, answer still to come", diagConn{state: tcpCloseWait, info: info(0, 0, 0), infoLen: full}, true},
		{"CLOSE_WAIT, answered", diagConn{state: tcpCloseWait, info: info(2, 9, 1), infoLen: full}, false},
		{"established, tcp_info too short to judge", diagConn{state: tcpEstablished, infoLen: 40}, true},
		{"established, tcp_info without data_segs_out (older kernel)", diagConn{state: tcpEstablished, info: info(0, 30, 20), infoLen: tcpInfoLastRecvEnd}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.midExchange(); got != tc.want {
				t.Errorf("midExchange = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDiagRequestCompat checks the one-dump request of an IPv4 address
// against struct inet_diag_req: its extension and states, then the same
// filter as diagRequest's.
func TestDiagRequestCompat(t *testing.T) {
	ne := binary.NativeEndian
	a := netip.MustParseAddr("10.0.0.5")
	b, v2 := diagRequestCompat(a), diagRequest(unix.AF_INET, a)
	if int(ne.Uint32(b)) != len(b) || ne.Uint16(b[4:]) != tcpdiagGetSock || ne.Uint16(b[6:]) != unix.NLM_F_REQUEST|unix.NLM_F_DUMP {
		t.Fatalf("header % x", b[:8])
	}
	r := b[unix.SizeofNlMsghdr:]
	if r[3] != 1<<(inetDiagInfo-1) || ne.Uint32(r[52:]) != drainStates {
		t.Errorf("inet_diag_req: ext %#x states %#x", r[3], ne.Uint32(r[52:]))
	}
	if got, want := b[unix.SizeofNlMsghdr+sizeofInetDiagReq:], v2[unix.SizeofNlMsghdr+sizeofInetDiagReqV2:]; !bytes.Equal(got, want) {
		t.Errorf("filter % x, want % x", got, want)
	}
}

// TestDiagRequest checks the dump request's layout against
// linux/inet_diag.h: the filter matches the local address, any port.
func TestDiagRequest(t *testing.T) {
	ne := binary.NativeEndian
	for _, tc := range []struct {
		family uint8
		addr   string
	}{{unix.AF_INET, "10.0.0.5"}, {unix.AF_INET6, "10.0.0.5"}, {unix.AF_INET6, "fd00::5"}} {
		a := netip.MustParseAddr(tc.addr)
		b := diagRequest(tc.family, a)
		if int(ne.Uint32(b)) != len(b) || len(b)%4 != 0 {
			t.Fatalf("%s: length field %d, request %d bytes", tc.addr, ne.Uint32(b), len(b))
		}
		if ne.Uint16(b[4:]) != unix.SOCK_DIAG_BY_FAMILY || ne.Uint16(b[6:]) != unix.NLM_F_REQUEST|unix.NLM_F_DUMP {
			t.Errorf("%s: type %d flags %#x", tc.addr, ne.Uint16(b[4:]), ne.Uint16(b[6:]))
		}
		r := b[unix.SizeofNlMsghdr:]
		if r[0] != tc.family || r[1] != unix.IPPROTO_TCP || r[2] != 1<<(inetDiagInfo-1) || ne.Uint32(r[4:]) != drainStates {
			t.Errorf("%s: inet_diag_req_v2 % x", tc.addr, r[:8])
		}
		at := r[sizeofInetDiagReqV2:]
		alen, bc := int(ne.Uint16(at)), at[sizeofRtAttr:]
		ab := a.AsSlice()
		opLen := 12 + len(ab)
		if ne.Uint16(at[2:]) != inetDiagReqBytecode || alen != sizeofRtAttr+opLen {
			t.Fatalf("%s: attribute type %d length %d", tc.addr, ne.Uint16(at[2:]), alen)
		}
		if bc[0] != inetDiagBCSCond || int(bc[1]) != opLen || int(ne.Uint16(bc[2:])) != opLen+4 {
			t.Errorf("%s: op % x: want S_COND, yes %d, no %d", tc.addr, bc[:4], opLen, opLen+4)
		}
		if int(bc[5]) != 8*len(ab) || int32(ne.Uint32(bc[8:])) != -1 || !bytes.Equal(bc[12:opLen], ab) {
			t.Errorf("%s: hostcond % x", tc.addr, bc[4:opLen])
		}
	}
}

// TestTCPOpens reads ActiveOpens plus PassiveOpens from /proc/net/snmp's
// text, found by the names of the Tcp header line.
func TestTCPOpens(t *testing.T) {
	const ip = "Ip: Forwarding DefaultTTL\nIp: 1 64\n"
	tests := []struct {
		name string
		text string
		want uint64
		ok   bool
	}{
		{"kernel 6.18", ip + "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs\n" +
			"Tcp: 1 200 120000 -1 418259 115936 300661 24085 0 7601802\nUdp: InDatagrams\nUdp: 5\n", 418259 + 115936, true},
		{"columns in another order", "Tcp: PassiveOpens MaxConn ActiveOpens\nTcp: 7 -1 3\n", 10, true},
		{"no Tcp values line", ip + "Tcp: ActiveOpens PassiveOpens\n", 0, false},
		{"a counter missing", "Tcp: ActiveOpens CurrEstab\nTcp: 3 1\n", 0, false},
		{"not a number", "Tcp: ActiveOpens PassiveOpens\nTcp: 3 x\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tcpOpens([]byte(tc.text))
			if got != tc.want || ok != tc.ok {
				t.Errorf("tcpOpens = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
