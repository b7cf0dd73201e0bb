// Package ctl is the control socket between the running daemon and the
// operator commands (hbd status, hbd standby, cl_status ...).
//
// The protocol is one JSON request line and one JSON response line per
// connection over a unix stream socket. The socket is created mode 0600 and
// the server also checks the peer's credentials (SO_PEERCRED): only root
// and the daemon's own user may talk to it.
package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SocketName is the control socket's file name inside the run directory.
const SocketName = "hbd.sock"

// PidFileName is the daemon's pid file inside the run directory.
const PidFileName = "heartbeat.pid"

// maxRequest bounds a request line; operator commands are tiny.
const maxRequest = 64 << 10

// Request is an operator command.
type Request struct {
	Cmd  string   `json:"cmd"`
	Args []string `json:"args,omitempty"`
}

// Response is the daemon's answer. Data is command specific JSON.
type Response struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// Handler answers one request. It must not block for long: the daemon
// hands requests to its event loop and answers from there.
type Handler func(ctx context.Context, req Request) Response

// Server accepts operator connections on a unix socket.
type Server struct {
	ln   *net.UnixListener
	path string
	wg   sync.WaitGroup
}

// Listen creates the control socket at path (mode 0600). A stale socket
// left by a killed daemon is replaced; a live one is an error, so two
// daemons never share a run directory.
func Listen(path string) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		c, err := net.DialTimeout("unix", path, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another hbd is running there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	}
	lc := net.ListenConfig{Control: ownerOnly}
	l, err := lc.Listen(context.Background(), "unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln := l.(*net.UnixListener)
	// The mode bind gave has the umask taken off; 0600 whatever it is.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket mode: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return &Server{ln: ln, path: path}, nil
}

// ownerOnly makes the socket mode 0600 before it is bound: Linux creates
// a unix socket's file with the mode of the socket's own inode, less the
// umask (unix_bind_bsd in
// https://github.com/torvalds/linux/blob/master/net/unix/af_unix.c), so
// the file is never open to others, not even between bind and chmod.
// Setting the umask instead would set it for the whole process: a file
// another goroutine creates meanwhile, a program it starts, would get it
// too, and two Listens at once could leave it set for good.
func ownerOnly(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) { err = unix.Fchmod(int(fd), 0o600) }); cerr != nil {
		return fmt.Errorf("control socket mode: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("control socket mode: %w", err)
	}
	return nil
}

// Path is where the socket lives.
func (s *Server) Path() string { return s.path }

// Serve answers connections until ctx ends or Close is called.
func (s *Server) Serve(ctx context.Context, h Handler) error {
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("control socket accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, c, h)
		}()
	}
}

// Close stops accepting and removes the socket.
func (s *Server) Close() error { return s.ln.Close() }

func (s *Server) handle(ctx context.Context, c *net.UnixConn, h Handler) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	enc := json.NewEncoder(c)
	if err := authorize(c); err != nil {
		_ = enc.Encode(Response{Error: err.Error()})
		return
	}
	var req Request
	dec := json.NewDecoder(bufio.NewReader(io.LimitReader(c, maxRequest)))
	if err := dec.Decode(&req); err != nil {
		_ = enc.Encode(Response{Error: "bad request: " + err.Error()})
		return
	}
	_ = enc.Encode(h(ctx, req))
}

// authorize admits root and the daemon's own user.
func authorize(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("peer credentials: %w", cerr)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Getuid() {
		return fmt.Errorf("permission denied: uid %d may not control hbd", cred.Uid)
	}
	return nil
}

// ErrNotRunning is Call's error when no daemon listens on the socket:
// the socket is missing, or nothing answers on it.
var ErrNotRunning = errors.New("hbd is not running")

// Call sends one request to the daemon whose socket is at path.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT):
			return Response{}, fmt.Errorf("%w (no control socket at %s)", ErrNotRunning, path)
		case errors.Is(err, syscall.ECONNREFUSED):
			// The socket of an hbd that was killed: the next start removes it.
			return Response{}, fmt.Errorf("%w (nothing answers on %s, left by an hbd that did not stop cleanly)", ErrNotRunning, path)
		}
		return Response{}, fmt.Errorf("connect to hbd: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	werr := json.NewEncoder(c).Encode(req)
	// A daemon that refuses the caller answers before it reads the request
	// and hangs up, so the write may fail; its answer says why.
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		if werr != nil {
			return Response{}, fmt.Errorf("send request: %w", werr)
		}
		return Response{}, fmt.Errorf("read response: %w", err)
	}
	return resp, nil
}
