package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// pidWatchInterval is how often the web server checks its pid file.
const pidWatchInterval = 250 * time.Millisecond

// Serve answers netlab.WhomHandler(whom) on ln until ctx ends, or until pidfile
// (when not "") no longer names this process: removing or rewriting the
// pid file stops a web server whose demo went away without cleaning up.
func Serve(ctx context.Context, ln net.Listener, whom, pidfile string) error {
	srv := &http.Server{Handler: netlab.WhomHandler(whom), ReadHeaderTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var tick <-chan time.Time
	if pidfile != "" {
		t := time.NewTicker(pidWatchInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			_ = srv.Close()
			<-errc
			return nil
		case <-tick:
			if !pidFileNamesUs(pidfile) {
				_ = srv.Close()
				<-errc
				return fmt.Errorf("pid file %s no longer names pid %d: exiting", pidfile, os.Getpid())
			}
		}
	}
}

func pidFileNamesUs(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && pid == os.Getpid()
}

// writePIDFile writes our pid to path atomically (a reader never sees a
// half-written file).
func writePIDFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// runWeb is `hbd-demo web --listen IP:PORT --whom NAME [--pidfile FILE]`:
// the demo's service. It binds first and writes the pid file only then, so
// the resource script knows the start worked.
func runWeb(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.10:8080", "`IP:PORT` to serve on")
	whom := fs.String("whom", "", "the node `NAME` to answer with (body and X-Whom header)")
	pidfile := fs.String("pidfile", "", "write the pid to `FILE` once listening; exit when it no longer names this process")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *whom == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: hbd-demo web --listen IP:PORT --whom NAME [--pidfile FILE]")
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "hbd-demo web: %v\n", err)
		return 1
	}
	if *pidfile != "" {
		if err := writePIDFile(*pidfile); err != nil {
			fmt.Fprintf(stderr, "hbd-demo web: pid file: %v\n", err)
			ln.Close()
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fmt.Fprintf(stderr, "%s hbd-demo web: %s answering on %s (pid %d)\n", time.Now().Format(time.TimeOnly), *whom, *listen, os.Getpid())
	err = Serve(ctx, ln, *whom, *pidfile)
	if *pidfile != "" && pidFileNamesUs(*pidfile) {
		_ = os.Remove(*pidfile)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "%s hbd-demo web: %v\n", time.Now().Format(time.TimeOnly), err)
		return 1
	}
	fmt.Fprintf(stderr, "%s hbd-demo web: %s stopped answering on %s\n", time.Now().Format(time.TimeOnly), *whom, *listen)
	return 0
}
