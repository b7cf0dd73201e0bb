//go:build linux

// Command hbdbench measures failover in network namespaces for hbd,
// Debian's Heartbeat 3.0.6 and keepalived, in one run and the same
// namespaces (`make bench`), and writes docs/benchmarks.md. It prints the
// run's expected duration first (-plan: only that). `hbdbench merge`
// makes one report of parts run apart with -json; `hbdbench idle`
// measures several idle pairs side by side over the same windows (old and
// new hbd builds beside keepalived); `hbdbench web` is the small web
// server the benchmark's resource scripts start.
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
	"slices"
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
	if len(os.Args) > 1 && os.Args[1] == "merge" {
		os.Exit(merge(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "idle" {
		os.Exit(idle(os.Args[2:]))
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
	delay := fs.Duration("delay", 0, "answer each request after this long")
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
	h := netlab.WhomHandler(*name)
	if *delay > 0 {
		whom := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(*delay)
			whom.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
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

func run() int {
	n := flag.Int("n", 3, "runs per daemon, settings and scenario (interleaved)")
	daemons := flag.String("daemons", bench.DefaultDaemons, "daemons to measure (comma-separated)")
	scenarios := flag.String("scenarios", strings.Join(bench.Scenarios, ","), "scenarios (comma-separated; \"\" runs none: the idle cost and searches only)")
	settings := flag.String("settings", bench.DefaultSettingsNames, "settings (comma-separated): matched, fastest, detection (keepalived at advert_int 0.01, hbd at -hbd-detect)")
	hbdBin := flag.String("hbd", "bin/hbd", "the hbd `program`")
	hbdFast := flag.String("hbd-fast", "10ms/40ms", "hbd's fastest setting, KEEPALIVE/DEADTIME")
	hbdHacf := flag.String("hbd-hacf", "", "lines added to the ha.cf of hbd's nodes (';' between lines), e.g. \"realtime off\"")
	webDelay := flag.Duration("web-delay", 0, "the web server answers each request after this long (0: at once), e.g. 30ms: requests in flight when the address moves")
	hbdDetect := flag.String("hbd-detect", "10ms/36ms", "hbd's setting in -settings detection, KEEPALIVE/DEADTIME: the deadtime that detects as soon as keepalived at advert_int 0.01 (3 × 10 ms + 6.1 ms of skew)")
	idle := flag.Duration("idle", time.Minute, "idle cost measurement per daemon and settings (0 skips)")
	soak := flag.Duration("soak", time.Minute, "each step of the limit search: how long a setting must stay free of false failovers under loss with busy CPUs (0 skips the search; the full one is 10m)")
	limitLosses := flag.String("limit-losses", bench.DefaultLimitLosses, "loss rates (percent, each direction) at which the limit search runs")
	limitDaemons := flag.String("limit-daemons", bench.DefaultLimitDaemons, "daemons whose limit is searched, among -daemons (comma-separated)")
	hbdLadder := flag.String("hbd-ladder", "5ms/20ms,10ms/30ms,10ms/40ms,10ms/60ms,10ms/100ms,20ms/200ms,100ms/500ms,1s/3s", "the limit search's settings for hbd and Heartbeat, KEEPALIVE/DEADTIME, fastest first")
	kaLadder := flag.String("keepalived-ladder", "10ms,20ms,50ms,100ms,200ms,500ms,1s,2s,5s", "the limit search's advert_int settings for keepalived, fastest first")
	searchStep := flag.Duration("search-step", 30*time.Second, "duration of each loss rate in the loss search (0 skips)")
	searchTiming := flag.String("search-timing", "10ms/40ms", "timing for the loss search, KEEPALIVE/DEADTIME")
	searchLosses := flag.String("search-losses", "0,1,2,5,10,15,20,30", "loss rates (percent) the loss search tries, in order")
	searchDaemon := flag.String("search-daemon", "hbd-builtin", "the daemon of the loss search, among -daemons")
	busy := flag.Int("busy", runtime.NumCPU(), "busy loops during the limit and loss searches")
	out := flag.String("out", "docs/benchmarks.md", "markdown `file` to write the results into (\"\" = print only)")
	jsonOut := flag.String("json", "", "also write the results to `file` as JSON, for `hbdbench merge`")
	timeout := flag.Duration("timeout", 0, "give up after this long (0: twice the longest estimate, at least an hour)")
	keep := flag.String("keep", "", "copy the lab's files (every node's configuration and logs) into `DIR`, which must not exist, before they are removed; those of each search's own lab into DIR-lab2, DIR-lab3…")
	quiet := flag.Bool("q", false, "no progress lines")
	planOnly := flag.Bool("plan", false, "print what would run and its expected duration, then stop")
	flag.Parse()

	logf := func(format string, args ...any) {
		if !*quiet {
			fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
		}
	}
	bad := func(err error) int {
		fmt.Fprintln(os.Stderr, "hbdbench:", err)
		return 2
	}
	fast, err := bench.ParseTiming(*hbdFast)
	if err != nil {
		return bad(fmt.Errorf("-hbd-fast: %w", err))
	}
	detect, err := bench.ParseTiming(*hbdDetect)
	if err != nil {
		return bad(fmt.Errorf("-hbd-detect: %w", err))
	}
	srt, err := bench.ParseTiming(*searchTiming)
	if err != nil {
		return bad(fmt.Errorf("-search-timing: %w", err))
	}
	losses, err := bench.ParsePercents(*searchLosses)
	if err != nil {
		return bad(fmt.Errorf("-search-losses: %w", err))
	}
	limLosses, err := bench.ParsePercents(*limitLosses)
	if err != nil {
		return bad(fmt.Errorf("-limit-losses: %w", err))
	}
	hl, err := bench.ParseLadder(*hbdLadder, false)
	if err != nil {
		return bad(fmt.Errorf("-hbd-ladder: %w", err))
	}
	kl, err := bench.ParseLadder(*kaLadder, true)
	if err != nil {
		return bad(fmt.Errorf("-keepalived-ladder: %w", err))
	}
	var sets []bench.SettingsSet
	for _, s := range append(bench.DefaultSettings(fast), bench.EqualDetection(detect)) {
		if slices.Contains(bench.List(*settings), s.Name) {
			sets = append(sets, s)
		}
	}
	abs, err := filepath.Abs(*hbdBin)
	if err != nil {
		abs = *hbdBin
	}
	var drivers []bench.Driver
	var keys []string
	ladders := map[string][]bench.Timing{}
	for _, k := range bench.List(*daemons) {
		d := driver(k, abs, bench.Lines(*hbdHacf))
		if d == nil {
			return bad(fmt.Errorf("unknown daemon %q", k))
		}
		drivers, keys = append(drivers, d), append(keys, k)
		ladders[k] = hl
		if strings.HasPrefix(k, "keepalived") {
			ladders[k] = kl
		}
	}
	scs := bench.List(*scenarios)
	if scs == nil {
		scs = []string{} // none, not the default list
	}
	var flags []string
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name != "q" && f.Name != "plan" && f.Name != "keep" {
			flags = append(flags, fmt.Sprintf("-%s=%s", f.Name, f.Value))
		}
	})
	opts := bench.Options{
		N: *n, Scenarios: scs, Settings: sets, Idle: *idle,
		Limit:      bench.LimitOptions{Step: *soak, Losses: limLosses, Daemons: bench.List(*limitDaemons), Ladders: ladders},
		SearchStep: *searchStep, SearchTiming: srt, SearchLosses: losses, SearchDaemon: *searchDaemon,
		BusyCPUs: *busy, Flags: flags, Logf: logf,
	}
	plan := bench.NewPlan(keys, opts)
	now := time.Now().UTC()
	fmt.Fprintf(os.Stderr, "hbdbench: expected duration %s: from now, done between %s and %s\n",
		plan, now.Add(plan.Min()).Format("15:04"), now.Add(plan.Max()).Format("15:04 MST"))
	if *planOnly {
		return 0
	}
	if *timeout <= 0 {
		*timeout = max(time.Hour, 2*plan.Max())
	}
	if os.Geteuid() != 0 {
		fmt.Println("bench: skipped: network namespaces need root (run `sudo make bench`)")
		return 0
	}
	installDeps(logf)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbdbench:", err)
		return 1
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
	rig.WebDelay = *webDelay
	defer func() {
		if *keep != "" {
			if err := rig.Keep(*keep); err != nil {
				fmt.Fprintln(os.Stderr, "hbdbench:", err)
			} else {
				logf("kept the lab's files in %s", *keep)
			}
		}
		if err := rig.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "hbdbench: cleanup:", err)
		}
	}()
	opts.Keep = *keep
	opts.NewRig = func(ctx context.Context) (*bench.Rig, error) {
		r, err := bench.NewRig(ctx, self)
		if err != nil {
			return nil, err
		}
		r.WebDelay = *webDelay
		return r, nil
	}
	rep := bench.Bench(ctx, rig, drivers, opts)
	rep.Parts[0].Expected = plan.String()
	return write(rep, *out, *jsonOut, logf)
}

// driver is the bench driver of daemon key (nil if there is none).
func driver(key, hbd string, hacf []string) bench.Driver {
	switch key {
	case "heartbeat":
		return &bench.Heartbeat{}
	case "keepalived":
		return &bench.Keepalived{}
	case "keepalived-vip":
		return &bench.Keepalived{BuiltinVIP: true}
	case "hbd":
		return &bench.Hbd{Bin: hbd, HaCf: hacf}
	case "hbd-builtin":
		return &bench.Hbd{Bin: hbd, Resources: bench.HbdBuiltin, HaCf: hacf}
	case "hbd-resourced":
		return &bench.Hbd{Bin: hbd, Resources: bench.HbdResourceD, HaCf: hacf}
	}
	return nil
}

// write prints the report and writes it to out (markdown, between the
// markers) and jsonOut (for merge), each when not "".
func write(rep *bench.Report, out, jsonOut string, logf func(string, ...any)) int {
	md := rep.Markdown()
	fmt.Println(md)
	if jsonOut != "" {
		if err := rep.WriteJSON(jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "hbdbench:", err)
			return 1
		}
		logf("wrote %s", jsonOut)
	}
	if out != "" {
		if err := bench.WriteDoc(out, intro, md); err != nil {
			fmt.Fprintln(os.Stderr, "hbdbench:", err)
			return 1
		}
		logf("wrote %s", out)
	}
	return 0
}

// merge makes one report of parts saved with -json.
func merge(args []string) int {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	out := fs.String("out", "docs/benchmarks.md", "markdown `file` to write the merged results into (\"\" = print only)")
	jsonOut := fs.String("json", "", "also write the merged results to `file` as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: hbdbench merge [-out FILE] [-json FILE] PART.json...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var parts []*bench.Report
	for _, p := range fs.Args() {
		rep, err := bench.ReadJSON(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hbdbench merge:", err)
			return 1
		}
		parts = append(parts, rep)
	}
	rep, err := bench.Merge(parts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbdbench merge:", err)
		return 1
	}
	return write(rep, *out, *jsonOut, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	})
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
