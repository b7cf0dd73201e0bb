package ipaddr

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// dumpMsg builds one message of an address dump: a header of type typ
// with seq and flags, then body.
func dumpMsg(typ, flags uint16, seq uint32, body []byte) []byte {
	ne := binary.NativeEndian
	b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body)+4)
	ne.PutUint32(b[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], flags)
	ne.PutUint32(b[8:], seq)
	b = append(b, body...)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// addrBody is an ifaddrmsg on interface index with ifa_flags flags, then
// the attributes attrs (type, value).
func addrBody(index uint32, flags uint8, attrs ...any) []byte {
	ne := binary.NativeEndian
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0], b[2] = unix.AF_INET, flags
	ne.PutUint32(b[4:], index)
	for i := 0; i+1 < len(attrs); i += 2 {
		v := attrs[i+1].([]byte)
		a := make([]byte, unix.SizeofRtAttr)
		ne.PutUint16(a[0:], uint16(unix.SizeofRtAttr+len(v)))
		ne.PutUint16(a[2:], uint16(attrs[i].(int)))
		a = append(a, v...)
		for len(a)%unix.RTA_ALIGNTO != 0 {
			a = append(a, 0)
		}
		b = append(b, a...)
	}
	return b
}

// negErrno is errno as an NLMSG_ERROR carries it: negated.
func negErrno(e unix.Errno) uint32 { return uint32(-int32(e)) }

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func join(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// TestAddrLookScan: a part of the dump is read as the library reads an
// address (IFA_LOCAL before IFA_ADDRESS, IFA_FLAGS over ifa_flags, a
// failed duplicate address detection is not held), on the interface
// asked for only, and a dump interrupted or malformed is an error (the
// Watch then looks the library's way).
func TestAddrLookScan(t *testing.T) {
	vip := netip.MustParseAddr("10.231.0.100")
	other := []byte{10, 231, 0, 1}
	mine := vip.AsSlice()
	done := dumpMsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 7, u32(0))
	for _, tc := range []struct {
		name     string
		part     []byte
		index    int
		wantDone bool
		wantHeld bool
		wantErr  bool
	}{
		{"held, address only", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_ADDRESS, mine)), done), 2, true, true, false},
		{"held, local first", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_ADDRESS, other, unix.IFA_LOCAL, mine)), done), 2, true, true, false},
		{"peer address is not ours", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_LOCAL, other, unix.IFA_ADDRESS, mine)), done), 2, true, false, false},
		{"on another interface", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(3, 0, unix.IFA_LOCAL, mine)), done), 2, true, false, false},
		{"dad failed in ifa_flags", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, unix.IFA_F_DADFAILED, unix.IFA_LOCAL, mine)), done), 2, true, false, false},
		{"dad failed in IFA_FLAGS", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_LOCAL, mine, unix.IFA_FLAGS, u32(unix.IFA_F_DADFAILED))), done), 2, true, false, false},
		{"IFA_FLAGS without dad failed", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, unix.IFA_F_DADFAILED, unix.IFA_LOCAL, mine, unix.IFA_FLAGS, u32(unix.IFA_F_PERMANENT))), done), 2, true, true, false},
		{"among others, not done yet", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_LOCAL, other)), dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_LOCAL, mine))), 2, false, true, false},
		{"an earlier request's answer is skipped", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 6, addrBody(2, 0, unix.IFA_LOCAL, mine)), done), 2, true, false, false},
		{"interrupted", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI|unix.NLM_F_DUMP_INTR, 7, addrBody(2, 0, unix.IFA_LOCAL, mine)), done), 2, false, false, true},
		{"error", dumpMsg(unix.NLMSG_ERROR, 0, 7, u32(negErrno(unix.EPERM))), 2, false, false, true},
		{"malformed length", func() []byte {
			b := dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_LOCAL, mine))
			binary.NativeEndian.PutUint32(b[0:], uint32(len(b)+64))
			return b
		}(), 2, false, false, true},
		{"truncated attribute", join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 7, addrBody(2, 0, unix.IFA_LOCAL, mine)[:unix.SizeofIfAddrmsg+6]), done), 2, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &addrLook{fd: -1, seq: 7}
			d, held, err := l.scan(tc.part, vip, tc.index)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if d != tc.wantDone || held != tc.wantHeld {
				t.Errorf("done %v held %v, want %v %v", d, held, tc.wantDone, tc.wantHeld)
			}
		})
	}
}

// TestAddrLookTakesTheKernelsAnswerOnly: a message another netlink socket
// sends to the look's socket (which root, or any process with
// CAP_NET_ADMIN in the namespace, may do), shaped as the answer to the
// look's next dump and listing the address, is not taken for the
// kernel's answer: the address, on no interface, is not held. It runs in
// the test's own namespace and only reads its addresses.
func TestAddrLookTakesTheKernelsAnswerOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sending to another netlink socket needs CAP_NET_ADMIN")
	}
	vip := netip.MustParseAddr("10.231.254.77") // on no interface here
	a := &Agent{spec: Spec{Addr: vip}, ns: netns.None()}
	l := newAddrLook()
	defer l.close()
	if err := l.open(a); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(l.fd)
	if err != nil {
		t.Fatal(err)
	}
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: sa.(*unix.SockaddrNetlink).Pid}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	const index = 1
	next := l.seq + 1
	forged := join(dumpMsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, next, addrBody(index, 0, unix.IFA_LOCAL, vip.AsSlice())),
		dumpMsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, next, u32(0)))
	if err := unix.Sendto(fd, forged, 0, to); err != nil {
		t.Logf("the forged answer was refused: %v", err)
	}
	held, err := l.heldOn(a, index)
	if err != nil {
		t.Fatal(err)
	}
	if held {
		t.Errorf("%s, on no interface, is held on interface %d: the look took another socket's message for the kernel's answer", vip, index)
	}
}
