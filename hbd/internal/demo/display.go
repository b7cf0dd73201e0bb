package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Printer writes lines prefixed with the time since the demo started.
// Safe for concurrent use.
type Printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

// NewPrinter starts the clock now.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w, start: time.Now()} }

// rel formats t as seconds since the start: "+12.345s".
func (p *Printer) rel(t time.Time) string {
	return fmt.Sprintf("+%6.3fs", t.Sub(p.start).Seconds())
}

// At prints a line stamped with time t.
func (p *Printer) At(t time.Time, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s  %s\n", p.rel(t), line)
}

// Printf prints a line stamped now.
func (p *Printer) Printf(format string, args ...any) { p.At(time.Now(), format, args...) }

// Plain prints a line without a time stamp.
func (p *Printer) Plain(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Tracker turns the stream of probes into a few readable lines: one when
// the responder changes, one when a failure streak starts and one when it
// ends.
type Tracker struct {
	mu     sync.Mutex
	out    *Printer
	lastAt time.Time // start of the newest probe shown
	who    string    // current responder; "" before any answer
	down   bool      // in a failure streak
	since  time.Time // start of the streak
	fails  int
}

// NewTracker reports to out.
func NewTracker(out *Printer) *Tracker { return &Tracker{out: out} }

// Add takes one probe. Probes run concurrently and may finish out of
// order; one that started before the newest already shown is not shown
// (it is still counted in the windows).
func (t *Tracker) Add(p Probe) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.At.Before(t.lastAt) {
		return
	}
	t.lastAt = p.At
	if !p.OK() {
		if !t.down {
			t.down, t.since, t.fails = true, p.At, 0
			t.out.At(p.End(), "   client: no answer (%s)", p.Err)
		}
		t.fails++
		return
	}
	switch {
	case t.down:
		t.out.At(p.End(), "   client: %s answers  (after %d failed requests, %s without an answer)",
			p.Whom, t.fails, p.End().Sub(t.since).Round(time.Millisecond))
	case p.Whom != t.who && t.who != "":
		t.out.At(p.End(), "   client: %s answers  (was %s; no request failed)", p.Whom, t.who)
	case p.Whom != t.who:
		t.out.At(p.End(), "   client: %s answers", p.Whom)
	}
	t.down = false
	t.who = p.Whom
}

// interestingLog matches the log lines worth showing while a step runs:
// deaths, takeovers, releases, acquisitions and resource script runs.
var interestingLog = regexp.MustCompile(`is dead|[Dd]ead node|Resources being acquired|[Aa]cquir|[Rr]eleas|Giving up|gave up|takeover|[Tt]aking over|shutdown notice|[Ss]hutdown complete|failback|standby|Running .*resource\.d/.* (start|stop)$|Return code|CRIT|ERROR`)

// logStamp is the date and time in a Heartbeat log line.
var logStamp = regexp.MustCompile(`\s*\d{4}/\d\d/\d\d_\d\d:\d\d:\d\d(\.\d+)?\s*`)

// shortLogLine drops the date from a Heartbeat log line (the demo prints
// its own clock).
func shortLogLine(line string) string {
	return strings.TrimSpace(logStamp.ReplaceAllString(line, " "))
}

// tailLog prints the interesting lines appended to path after offset,
// prefixed with who, until ctx ends (and once more then, for lines written
// just before). It returns when it has printed them.
func tailLog(ctx context.Context, out *Printer, who, path string, offset int64) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var partial string
	for {
		offset, partial = printNewLines(out, who, path, offset, partial)
		select {
		case <-ctx.Done():
			printNewLines(out, who, path, offset, partial)
			return
		case <-t.C:
		}
	}
}

func printNewLines(out *Printer, who, path string, offset int64, partial string) (int64, string) {
	f, err := os.Open(path)
	if err != nil {
		return offset, partial
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset, partial
	}
	r := bufio.NewReader(f)
	for {
		chunk, err := r.ReadString('\n')
		offset += int64(len(chunk))
		if err != nil {
			return offset, partial + chunk
		}
		line := strings.TrimRight(partial+chunk, "\r\n")
		partial = ""
		if interestingLog.MatchString(line) {
			out.Printf("   %s log: %s", who, shortLogLine(line))
		}
	}
}

// fileSize is the size of path, 0 if it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
