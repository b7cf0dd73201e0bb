package harc

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// drainPoll is how long a pipe's reader waits for more output once the
// script has exited, before it asks the kernel whether the pipe still
// holds any: a pipe a daemon keeps open costs a start this much, not a
// wait for the end of the daemon's output.
const drainPoll = time.Millisecond

// pipeReader reads one of a script's output pipes to its end, logging
// each line at debug level and keeping it in the tails. Once the script
// has exited (exited), it tells (caught) when it has read everything
// the pipe held, which is everything the script wrote: EOF, or an empty
// pipe that a process the script left behind keeps open. It goes on
// reading that process's output in the background, so that the process
// never gets EPIPE, until the last writer closes the pipe.
type pipeReader struct {
	f      *os.File
	caught chan struct{}
	once   sync.Once
}

func newPipeReader(f *os.File) *pipeReader {
	return &pipeReader{f: f, caught: make(chan struct{})}
}

// exited says the script has exited (or was killed): from now on, a read
// that finds the pipe empty does not wait for more.
func (p *pipeReader) exited() {
	if err := p.f.SetReadDeadline(time.Now().Add(drainPoll)); err != nil {
		p.catchUp() // no deadlines on this file: do not wait for its end
	}
}

func (p *pipeReader) catchUp() { p.once.Do(func() { close(p.caught) }) }

func (p *pipeReader) read(log logrus.FieldLogger, all, own *tail) {
	defer p.catchUp()
	defer p.f.Close()
	br := bufio.NewReaderSize(p.f, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				// The end of a line too long for one piece, or a
				// last line without newline: each piece is a line
				// of its own, added in one go so that the other
				// stream's lines never land inside it.
				line = append(line[:len(line):len(line)], '\n')
			}
			all.add(line)
			if own != nil {
				own.add(line)
			}
			if log != nil {
				log.Debug(strings.TrimRight(string(line), "\r\n"))
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, os.ErrDeadlineExceeded):
			if pipePending(p.f) > 0 {
				// Not read yet (a busy machine, a full pipe): read on.
				_ = p.f.SetReadDeadline(time.Now().Add(drainPoll))
				continue
			}
			p.catchUp()
			_ = p.f.SetReadDeadline(time.Time{})
		default:
			return // EOF: every writer has closed the pipe
		}
	}
}

// pipePending is how many bytes the pipe f holds unread (Linux's
// TIOCINQ, the FIONREAD of other systems; 0 if the kernel cannot say).
func pipePending(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	return n
}

// drainPipes tells the readers that the script has exited and waits until
// each has read what its pipe held, or max has passed (a process the
// script left behind may keep a pipe full).
func drainPipes(max time.Duration, ps ...*pipeReader) {
	for _, p := range ps {
		p.exited()
	}
	t := time.NewTimer(max)
	defer t.Stop()
	for _, p := range ps {
		select {
		case <-p.caught:
		case <-t.C:
			return
		}
	}
}
