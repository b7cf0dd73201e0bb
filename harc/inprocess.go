package harc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/resources/agents"
)

// inProcess is a built-in agent run in this process (Options.InProcess).
type inProcess struct {
	run  func(ctx context.Context, name string, args []string, o agents.RunOptions) int
	name string
	args []string // the agent's arguments, the operation last
}

// runInProcess runs a built-in agent in this process, with the contract
// of Command.Run: bounded by timeout and ctx (the agent must return
// when its context ends; Run does not wait for it past the timeout),
// its output kept in the Result and logged at debug level, tagged
// TAG[PID] with this process's pid.
func (r *Runner) runInProcess(ctx context.Context, s script, timeout time.Duration) (res Result) {
	res = Result{Path: s.path, Args: s.args, ExitCode: -1}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	if err := ctx.Err(); err != nil {
		res.Canceled = true
		res.Err = fmt.Errorf("%s not run: %w", s.show, context.Cause(ctx))
		return res
	}
	limit := r.opts.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	all, stdout := &tail{limit: limit}, &tail{limit: limit}
	var log logrus.FieldLogger
	if r.opts.Log != nil {
		log = logging.WithTag(r.opts.Log, s.tag, os.Getpid())
	}
	outW := &lineWriter{log: log, all: all, own: stdout}
	errW := &lineWriter{log: log, all: all}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan int, 1)
	rel := releaseOf(ctx)
	go func() {
		done <- s.inproc.run(runCtx, s.inproc.name, s.inproc.args, agents.RunOptions{
			StateDir: r.opts.RscTmp, Debug: r.opts.Debug > 0, Stdout: outW, Stderr: errW, Drain: rel.Drain, Taker: rel.Taker,
			Linger: r.opts.Linger,
		})
	}()
	select {
	case res.ExitCode = <-done:
	case <-runCtx.Done():
		if ctx.Err() != nil {
			res.Canceled = true
			res.Err = fmt.Errorf("%s stopped: %w", s.show, context.Cause(ctx))
		} else {
			res.TimedOut = true
		}
	}
	outW.flush()
	errW.flush()
	res.Output, res.Truncated = all.seal()
	res.Stdout, _ = stdout.seal()
	return res
}

// lineWriter is an agent's stdout or stderr: whole lines go to the
// tails and the log, as pipeReader does for a script's pipes.
type lineWriter struct {
	mu       sync.Mutex
	log      logrus.FieldLogger
	all, own *tail
	partial  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 && len(w.partial) < maxLine {
			return len(p), nil
		}
		if i < 0 {
			i = maxLine - 1
		}
		w.line(w.partial[:i+1])
		w.partial = w.partial[i+1:]
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.line(w.partial)
		w.partial = nil
	}
}

func (w *lineWriter) line(b []byte) {
	l := append([]byte(nil), b...)
	if l[len(l)-1] != '\n' {
		l = append(l, '\n')
	}
	w.all.add(l)
	if w.own != nil {
		w.own.add(l)
	}
	if w.log != nil {
		w.log.Debug(strings.TrimRight(string(l), "\r\n"))
	}
}
