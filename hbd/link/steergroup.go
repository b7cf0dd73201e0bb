package link

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// groupSockets counts the UDP sockets of this thread's network namespace
// bound to ap that may be in the reuseport group of shared, a socket bound
// there (/proc/thread-self/net/udp or udp6): all of them but this
// process's own that cannot join it, those without SO_REUSEPORT (the
// sockets of a set a reload replaced, where it did not steer) or bound to
// another device (another interface's link bound to the wildcard address
// at the same port). Another process's sockets are all counted: their
// options cannot be read.
func groupSockets(ap netip.AddrPort, shared *net.UDPConn) (int, error) {
	inodes, err := socketsBoundTo(ap)
	if err != nil {
		return 0, err
	}
	var dev string
	rc, err := shared.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("steering: %w", err)
	}
	if err := rc.Control(func(fd uintptr) { dev, _ = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE) }); err != nil {
		return 0, fmt.Errorf("steering: %w", err)
	}
	n := len(inodes)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return n, nil // all counted: the link opens unsteered
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ino, ok := socketInode(fd)
		if !ok || !inodes[ino] {
			continue
		}
		reuse, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT)
		if err != nil {
			continue
		}
		d, err := unix.GetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
		if err != nil {
			continue
		}
		// The descriptor may have been closed and its number reused
		// meanwhile: the options are its socket's if it still is.
		if again, ok := socketInode(fd); !ok || again != ino {
			continue
		}
		if reuse == 0 || d != dev {
			n--
			delete(inodes, ino) // a descriptor duplicated is one socket
		}
	}
	return n, nil
}

// socketInode is the inode of the socket fd refers to, if it is one.
func socketInode(fd int) (uint64, bool) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return 0, false
	}
	return st.Ino, true
}

// socketsBoundTo is the inodes of the UDP sockets of this thread's network
// namespace bound to ap (/proc/thread-self/net/udp or udp6).
func socketsBoundTo(ap netip.AddrPort) (map[uint64]bool, error) {
	name := "/proc/thread-self/net/udp"
	if !ap.Addr().Is4() {
		name += "6"
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("steering: %w", err)
	}
	defer f.Close()
	want := procAddr(ap)
	inodes := map[uint64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 9 && fs[1] == want {
			ino, err := strconv.ParseUint(fs[9], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("steering: %s: inode %q: %w", name, fs[9], err)
			}
			inodes[ino] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("steering: %s: %w", name, err)
	}
	return inodes, nil
}
