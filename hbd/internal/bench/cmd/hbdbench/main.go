//go:build linux

// Command hbdbench measures failover in network namespaces for hbd,
// Debian's Heartbeat 3.0.6 and keepalived, in one run and the same
// namespaces (`make bench`), and writes docs/benchmarks.md. `hbdbench web`
// is the small web server the benchmark's resource scripts start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/bench"
	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
)

const intro = `# Benchmarks

` + "`make bench`" + ` runs the Go micro-benchmarks and then this failover benchmark
(as root; otherwise it says why it skips). See the generated section below.
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "web" {
		os.Exit(web(os.Args[2:]))
	}
	os.Exit(run())
}

// web serves X-Whom: NAME on -listen until SIGTERM; it writes its pid to
// -pidfile once it listens.
func web(args []string) int {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	name := fs.String("name", "", "node `NAME` to answer with")
	listen := fs.String("listen", ":8080", "`ADDR` to listen on")
	pidfile := fs.String("pidfile", "", "write the pid to `FILE` once listening")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "web: %v\n", err)
		return 1
	}
	if *pidfile != "" {
		tmp := *pidfile + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "web: %v\n", err)
			return 1
		}
		if err := os.Rename(tmp, *pidfile); err != nil {
			fmt.Fprintf(os.Stderr, "web: %v\n", err)
			return 1
		}
	}
	srv := &http.Server{Handler: netlab.WhomHandler(*name), ReadHeaderTimeout: 5 * time.Second}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "web: %v\n", err)
		return 1
	}
	return 0
}

func parseTiming(s string) (bench.Timing, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return bench.Timing{}, fmt.Errorf("timing %q: want KEEPALIVE/DEADTIME, e.g. 10ms/40ms", s)
	}
	k, err := time.ParseDuration(a)
	if err != nil {
		return bench.Timing{}, err
	}
	d, err := time.ParseDuration(b)
	if err != nil {
		return bench.Timing{}, err
	}
	return bench.Timing{Keepalive: k, Deadtime: d}, nil
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run() int {
	n := flag.Int("n", 3, "runs per daemon, settings and scenario (interleaved)")
	daemons := flag.String("daemons", "heartbeat,keepalived,keepalived-vip,hbd,hbd-builtin,hbd-resourced", "daemons to measure (comma-separated)")
	scenarios := flag.String("scenarios", strings.Join(bench.Scenarios, ","), "scenarios (comma-separated; \"\" runs none: the idle cost, soak and search only)")
	settings := flag.String("settings", "matched,fastest", "settings (comma-separated)")
	hbdBin := flag.String("hbd", "bin/hbd", "the hbd `program`")
	hbdFast := flag.String("hbd-fast", "10ms/40ms", "hbd's fastest setting, KEEPALIVE/DEADTIME")
	idle := flag.Duration("idle", time.Minute, "idle cost measurement per daemon and settings (0 skips)")
	soak := flag.Duration("soak", time.Minute, "hbd soak under loss with busy CPUs (0 skips; the full one is 10m)")
	soakTiming := flag.String("soak-timing", "10ms/100ms", "hbd timing for the soak")
	soakLoss := flag.Float64("soak-loss", 10, "loss percent during the soak (each direction)")
	searchStep := flag.Duration("search-step", 30*time.Second, "duration of each loss rate in the search (0 skips)")
	searchTiming := flag.String("search-timing", "10ms/40ms", "hbd timing for the loss search")
	searchLosses := flag.String("search-losses", "0,1,2,5,10,15,20,30", "loss rates (percent) the search tries, in order")
	busy := flag.Int("busy", runtime.NumCPU(), "busy loops during soak and search")
	out := flag.String("out", "docs/benchmarks.md", "markdown `file` to write the results into (\"\" = print only)")
	timeout := flag.Duration("timeout", 4*time.Hour, "give up after this long")
	quiet := flag.Bool("q", false, "no progress lines")
	flag.Parse()

	logf := func(format string, args ...any) {
		if !*quiet {
			fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
		}
	}
	if os.Geteuid() != 0 {
		fmt.Println("bench: skipped: network namespaces need root (run `sudo make bench`)")
		return 0
	}
	installDeps(logf)

	fast, err := parseTiming(*hbdFast)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbdbench:", err)
		return 2
	}
	st, err := parseTiming(*soakTiming)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbdbench:", err)
		return 2
	}
	srt, err := parseTiming(*searchTiming)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbdbench:", err)
		return 2
	}
	var losses []float64
	for _, f := range list(*searchLosses) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hbdbench: -search-losses:", err)
			return 2
		}
		losses = append(losses, v)
	}
	var sets []bench.SettingsSet
	for _, s := range bench.DefaultSettings(fast) {
		for _, want := range list(*settings) {
			if s.Name == want {
				sets = append(sets, s)
			}
		}
	}
	var drivers []bench.Driver
	abs, err := filepath.Abs(*hbdBin)
	if err != nil {
		abs = *hbdBin
	}
	for _, k := range list(*daemons) {
		switch k {
		case "heartbeat":
			drivers = append(drivers, &bench.Heartbeat{})
		case "keepalived":
			drivers = append(drivers, &bench.Keepalived{})
		case "keepalived-vip":
			drivers = append(drivers, &bench.Keepalived{BuiltinVIP: true})
		case "hbd":
			drivers = append(drivers, &bench.Hbd{Bin: abs})
		case "hbd-builtin":
			drivers = append(drivers, &bench.Hbd{Bin: abs, Resources: bench.HbdBuiltin})
		case "hbd-resourced":
			drivers = append(drivers, &bench.Hbd{Bin: abs, Resources: bench.HbdResourceD})
		default:
			fmt.Fprintf(os.Stderr, "hbdbench: unknown daemon %q\n", k)
			return 2
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbdbench:", err)
		return 1
	}

	scs := list(*scenarios)
	if scs == nil {
		scs = []string{} // none, not the default list
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	rig, err := bench.NewRig(ctx, self)
	if err != nil {
		fmt.Printf("bench: skipped: cannot build the network namespaces: %v\n", err)
		return 0
	}
	defer func() {
		if err := rig.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "hbdbench: cleanup:", err)
		}
	}()
	rep := bench.Bench(ctx, rig, drivers, bench.Options{
		N: *n, Scenarios: scs, Settings: sets, Idle: *idle,
		Soak: *soak, SoakTiming: st, SoakLoss: *soakLoss,
		SearchStep: *searchStep, SearchTiming: srt, SearchLosses: losses,
		BusyCPUs: *busy, Logf: logf,
	})
	md := rep.Markdown()
	fmt.Println(md)
	if *out != "" {
		if err := bench.WriteDoc(*out, intro, md); err != nil {
			fmt.Fprintln(os.Stderr, "hbdbench:", err)
			return 1
		}
		logf("wrote %s", *out)
	}
	return 0
}

// installDeps runs .ci/test-deps.sh (as root) when heartbeat or keepalived
// is missing.
func installDeps(logf func(string, ...any)) {
	if hbref.Installed() {
		if _, err := os.Stat(bench.KeepalivedBin); err == nil {
			return
		}
	}
	script := ".ci/test-deps.sh"
	if _, err := os.Stat(script); err != nil {
		logf("heartbeat or keepalived missing and %s not found: those daemons will be skipped", script)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, script).CombinedOutput()
	logf("%s: %v %s", script, err, strings.TrimSpace(string(out)))
}
