// Command hbd-demo is `make demo`: two hbd nodes on this machine, a web
// service in a resource group, a client that watches who answers, and the
// story of a floating-IP nginx pair — the preferred node serves, dies, the
// other takes over, the first comes back and takes its group back, leaves
// gracefully, and the other takes over at once. It prints every
// unavailability window the client saw and exits non-zero when the story
// did not happen as expected.
//
//	hbd-demo [run] [--hbd PATH] [--keep] [--netns]
//	hbd-demo web --listen IP:PORT --whom NAME [--pidfile FILE]
//
// `run` needs no root: the nodes talk on 127.0.0.1 and 127.0.0.2, and the
// service's "floating IP" is 127.0.0.10:8080, which only the node holding
// the group binds. With --netns (root) the nodes live in network
// namespaces and the group carries a real floating address (IPaddr2).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Exit codes of `hbd-demo run`.
const (
	exitOK          = 0
	exitStoryFailed = 1
	exitUsage       = 2
	// exitNoGroups: the hbd under demo does not run resource groups (yet).
	exitNoGroups = 3
	// exitNeedsRoot: --netns without root.
	exitNeedsRoot   = 4
	exitInterrupted = 130
)

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "web":
			return runWeb(args[1:], stderr)
		case "run":
			return runDemo(args[1:], stdout, stderr)
		case "-h", "-help", "--help", "help":
			fmt.Fprintln(stdout, "usage: hbd-demo [run] [--hbd PATH] [--keep] [--netns]\n       hbd-demo web --listen IP:PORT --whom NAME [--pidfile FILE]")
			return exitOK
		}
	}
	return runDemo(args, stdout, stderr)
}

// envOn reports whether environment variable name is set to something
// other than "", "0" or "no" (make demo KEEP=1).
func envOn(name string) bool {
	v := os.Getenv(name)
	return v != "" && v != "0" && v != "no"
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "hbd-demo: %v\n", err)
		return exitUsage
	}
	hbd := fs.String("hbd", filepath.Join(filepath.Dir(self), "hbd"), "the hbd binary `PATH`")
	keep := fs.Bool("keep", envOn("KEEP"), "keep the temporary directory (configs, logs) afterwards (also KEEP=1)")
	netns := fs.Bool("netns", envOn("NETNS"), "run the nodes in network namespaces with a real floating IP (root; also NETNS=1)")
	hold := fs.Duration("hold", 1500*time.Millisecond, "how long to show each steady state before the next step")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	if *hbd, err = filepath.Abs(*hbd); err != nil {
		fmt.Fprintf(stderr, "hbd-demo: %v\n", err)
		return exitUsage
	}
	if _, err := os.Stat(*hbd); err != nil {
		fmt.Fprintf(stderr, "hbd-demo: %v (build it with `make build`, or give --hbd)\n", err)
		return exitUsage
	}
	if *netns && os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "hbd-demo: NETNS=1 runs the nodes in network namespaces with a real floating IP, which needs root:\n  sudo make demo NETNS=1\n`make demo` without NETNS runs the same story on loopback, no root needed.")
		return exitNeedsRoot
	}

	// SIGPIPE too: `make demo | head` must not kill the demo before it
	// has stopped what it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer stop()

	d := &demo{hbd: *hbd, self: self, keep: *keep, hold: *hold, out: NewPrinter(stdout), stderr: stderr}
	if *netns {
		err = d.runNetns(ctx)
	} else {
		err = d.runLoopback(ctx)
	}
	switch {
	case err == nil:
		d.out.Plain("\nThe demo's story happened as expected.")
		return exitOK
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "hbd-demo: interrupted; everything it started is stopped")
		return exitInterrupted
	case errors.Is(err, errNoGroups):
		fmt.Fprintf(stderr, "hbd-demo: %v\n", err)
		return exitNoGroups
	default:
		fmt.Fprintf(stderr, "hbd-demo: the story did not happen as expected: %v\n", err)
		return exitStoryFailed
	}
}

// demo holds what both variants share.
type demo struct {
	hbd, self string
	keep      bool
	hold      time.Duration
	out       *Printer
	stderr    io.Writer
}

// tempRoot makes the demo's temporary directory and returns a function
// that removes it (or says where it is kept).
func (d *demo) tempRoot() (string, func(), error) {
	root, err := os.MkdirTemp("", "hbd-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("temporary directory: %w", err)
	}
	return root, func() {
		if d.keep {
			d.out.Plain("Kept %s (configs in NODE/ha.d, logs in NODE/logs).", root)
			return
		}
		if err := os.RemoveAll(root); err != nil {
			fmt.Fprintf(d.stderr, "hbd-demo: remove %s: %v\n", root, err)
		}
	}, nil
}

// runLoopback is the demo on 127.0.0.1 and 127.0.0.2, no root needed.
func (d *demo) runLoopback(ctx context.Context) error {
	root, cleanup, err := d.tempRoot()
	if err != nil {
		return err
	}
	defer cleanup()
	specs := []NodeSpec{{Name: "node_1", Addr: "127.0.0.1"}, {Name: "node_2", Addr: "127.0.0.2"}}
	udp, err := freeUDPPort([]string{specs[0].Addr, specs[1].Addr})
	if err != nil {
		return err
	}
	const serviceIP = "127.0.0.10"
	web, err := freeTCPPort(serviceIP, 8080)
	if err != nil {
		return err
	}
	plan := &Plan{
		Root: root, Nodes: specs, UDPPort: udp, Timings: DefaultTimings,
		Iface: "lo", BindLocal: true,
		ServiceIP: serviceIP, ServicePort: web, DemoBin: d.self,
	}
	nodes, err := plan.Write()
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s:%d/", serviceIP, web)
	d.intro(plan, nodes, url, "on loopback: no root, nothing configured; the service's floating IP is "+
		fmt.Sprintf("%s:%d, which only the node holding the group binds", serviceIP, web))

	c := newLocalCluster(d.hbd, nodes)
	defer func() {
		if err := c.Close(); err != nil {
			fmt.Fprintf(d.stderr, "hbd-demo: cleanup: %v\n", err)
		}
	}()

	tr := NewTracker(d.out)
	client := &Client{URL: url, Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, OnProbe: tr.Add}
	cctx, stopClient := context.WithCancel(ctx)
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		client.Run(cctx)
	}()
	defer func() {
		stopClient()
		<-clientDone
	}()

	return d.tell(ctx, c, nodes, client)
}

// tell runs the story and its summary.
func (d *demo) tell(ctx context.Context, c cluster, nodes []*Node, src probeSource) error {
	s := &story{c: c, nodes: nodes, src: src, out: d.out, timings: DefaultTimings, hold: d.hold}
	err := s.run(ctx)
	if errors.Is(err, errNoGroups) || ctx.Err() != nil {
		return err
	}
	if serr := s.summary(); err == nil {
		err = serr
	}
	if err != nil {
		for _, n := range nodes {
			d.out.Plain("")
			d.out.Plain("Last lines of %s's log (%s):", n.Name, n.DebugFile())
			for _, l := range lastLines(n.DebugFile(), 15) {
				d.out.Plain("  %s", l)
			}
		}
		if !d.keep {
			d.out.Plain("")
			d.out.Plain("(Run with KEEP=1 to keep the nodes' configs and logs.)")
		}
	}
	return err
}

func (d *demo) intro(plan *Plan, nodes []*Node, url, where string) {
	t := plan.Timings
	d.out.Plain("hbd demo: two nodes %s.", where)
	d.out.Plain("")
	for _, n := range nodes {
		d.out.Plain("  %s  %-10s  hbd %s", n.Name, n.Addr, strings.Join(n.RunArgs(), " "))
	}
	d.out.Plain("  haresources: %s", plan.HAResources())
	d.out.Plain("  ha.cf:       keepalive %s, warntime %s, deadtime %s, initdead %s, auto_failback on",
		t.Keepalive, t.Warntime, t.Deadtime, t.Initdead)
	d.out.Plain("  client:      GET %s every 20 ms (200 ms timeout); a line each time who answers changes", url)
	d.out.Plain("  logs:        %s/NODE/logs/ha-debug (interesting lines are shown as they appear)", plan.Root)
}

// lastLines returns the last n lines of the file at path (none if it
// cannot be read).
func lastLines(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
