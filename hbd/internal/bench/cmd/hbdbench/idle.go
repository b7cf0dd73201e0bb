//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/bench"
)

// idleUsage explains `hbdbench idle`.
const idleUsage = `usage: hbdbench idle [flags]

Runs several idle pairs at the same time, each in network namespaces of
its own: one hbd pair (built-in IPaddr2) for each -hbd program and a
keepalived pair (built-in VIP), and measures every node's CPU (every
thread's schedstat) over the same window, window after window. Each
window moves every pair to another lab (-rotate and the window's number).
It prints markdown and writes no file.
`

// idle is `hbdbench idle`.
func idle(args []string) int {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	hbds := fs.String("hbd", "bin/hbd", "the hbd `programs`, comma-separated, each LABEL=PROGRAM or PROGRAM (labelled by its position: hbd1, hbd2…)")
	ka := fs.Bool("keepalived", true, "run a keepalived pair (built-in VIP) beside them, labelled keepalived")
	settings := fs.String("settings", "matched", "matched (hbd 1s/3s, advert_int 1) or fastest (hbd at -hbd-fast, advert_int 0.01)")
	hbdFast := fs.String("hbd-fast", "10ms/40ms", "hbd's fastest setting, KEEPALIVE/DEADTIME")
	hbdHacf := fs.String("hbd-hacf", "", "lines added to the ha.cf of hbd's nodes (';' between lines)")
	window := fs.Duration("window", 5*time.Minute, "each window's length")
	windows := fs.Int("windows", 1, "windows, one after another")
	rotate := fs.Int("rotate", 0, "the first window's rotation: pair j runs in lab (j + rotation + window) mod pairs")
	quiet := fs.Bool("q", false, "no progress lines")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), idleUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	bad := func(err error) int {
		fmt.Fprintln(os.Stderr, "hbdbench idle:", err)
		return 2
	}
	if fs.NArg() > 0 {
		return bad(fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if *window <= 0 || *windows <= 0 {
		return bad(fmt.Errorf("-window and -windows must be above zero"))
	}
	fast, err := bench.ParseTiming(*hbdFast)
	if err != nil {
		return bad(fmt.Errorf("-hbd-fast: %w", err))
	}
	var set *bench.SettingsSet
	for _, s := range bench.DefaultSettings(fast) {
		if s.Name == *settings {
			set = &s
		}
	}
	if set == nil {
		return bad(fmt.Errorf("-settings %q: want matched or fastest", *settings))
	}
	progs, err := bench.ParseLabelled(*hbds, "hbd", "keepalived")
	if err != nil {
		return bad(fmt.Errorf("-hbd: %w", err))
	}
	var pairs []bench.IdlePair
	for _, p := range progs {
		abs, err := filepath.Abs(p.Value)
		if err != nil {
			return bad(err)
		}
		d := &bench.Hbd{Bin: abs, Resources: bench.HbdBuiltin, HaCf: bench.Lines(*hbdHacf)}
		if m := d.Missing(); m != "" {
			return bad(fmt.Errorf("%s: %s", p.Label, m))
		}
		pairs = append(pairs, bench.IdlePair{Label: p.Label, Driver: d, Timing: set.Timing[d.Key()]})
	}
	if *ka {
		k := &bench.Keepalived{BuiltinVIP: true}
		if m := k.Missing(); m != "" {
			return bad(fmt.Errorf("keepalived: %s", m))
		}
		pairs = append(pairs, bench.IdlePair{Label: "keepalived", Driver: k, Timing: set.Timing[k.Key()]})
	}
	if len(pairs) == 0 {
		return bad(fmt.Errorf("nothing to measure: no -hbd program and -keepalived=false"))
	}
	if os.Geteuid() != 0 {
		fmt.Println("bench: skipped: network namespaces need root")
		return 0
	}
	logf := func(format string, args ...any) {
		if !*quiet {
			fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hbdbench idle:", err)
		return 1
	}
	// Each window: up to a minute to start and settle, the window, and the
	// stop.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*windows)*(*window+3*time.Minute))
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rigs []*bench.Rig
	defer func() {
		for _, r := range rigs {
			if err := r.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "hbdbench idle: cleanup:", err)
			}
		}
	}()
	for range pairs {
		r, err := bench.NewRig(ctx, self)
		if err != nil {
			fmt.Printf("bench: skipped: cannot build the network namespaces: %v\n", err)
			return 0
		}
		rigs = append(rigs, r)
	}
	var ws []bench.IdleWindow
	for k := range *windows {
		rot := *rotate + k
		logf("window %d/%d (rotation %d): %d pairs at %s, %s …", k+1, *windows, rot, len(pairs), set.Name, *window)
		w := bench.ConcurrentIdle(ctx, rigs, pairs, rot, *window, logf)
		ws = append(ws, w)
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Printf("## Idle pairs side by side (settings %s)\n\nMachine: %s.\n\n", set.Name, bench.MachineInfo())
	for _, p := range pairs {
		fmt.Printf("- %s: %s (%s)\n", p.Label, p.Driver.Version(), p.Timing)
	}
	fmt.Println()
	ref := ""
	if *ka {
		ref = "keepalived"
	}
	fmt.Print(bench.IdleWindowsMarkdown(ws, ref))
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "hbdbench idle: cut short:", ctx.Err())
		return 1
	}
	return 0
}
