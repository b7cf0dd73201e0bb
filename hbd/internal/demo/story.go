package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// errNoGroups says the hbd under demo does not run resource groups yet.
var errNoGroups = errors.New("this hbd does not report resource groups in `hbd status --json`: it cannot run the demo's service yet")

// hasGroups reports whether an `hbd status --json` answer has a "groups"
// member, at the top or in "cluster": the sign that this hbd runs
// resource groups.
func hasGroups(statusJSON []byte) (bool, error) {
	var st map[string]json.RawMessage
	if err := json.Unmarshal(statusJSON, &st); err != nil {
		return false, fmt.Errorf("hbd status --json: %w", err)
	}
	if _, ok := st["groups"]; ok {
		return true, nil
	}
	var cl map[string]json.RawMessage
	if raw, ok := st["cluster"]; ok && json.Unmarshal(raw, &cl) == nil {
		if _, ok := cl["groups"]; ok {
			return true, nil
		}
	}
	return false, nil
}

// story is one run of the demo's story.
type story struct {
	c       cluster
	nodes   []*Node // [preferred, other]
	src     probeSource
	out     *Printer
	timings Timings
	// hold is how long the demo lets the audience watch a steady state
	// before the next step.
	hold  time.Duration
	steps []stepResult
}

// stepResult is one step of the story, for the final table.
type stepResult struct {
	Name   string
	Window Window
	Err    error
}

// expectedResponders is the story the client must see.
func expectedResponders(a, b string) []string { return []string{a, b, a, b} }

// step runs one step: prints its title, takes action, then waits (within
// limit) for want to answer while both nodes' logs are tailed.
func (s *story) step(ctx context.Context, title, want string, limit time.Duration, action func() (time.Time, error)) (Window, error) {
	s.out.Plain("")
	s.out.Printf("== %s", title)
	offsets := make([]int64, len(s.nodes))
	for i, n := range s.nodes {
		offsets[i] = fileSize(n.DebugFile())
	}
	tctx, stopTail := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, n := range s.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tailLog(tctx, s.out, n.Name, n.DebugFile(), offsets[i])
		}()
	}
	defer func() {
		// A moment for the last log lines of the step (the acquisition
		// finishing) to be written.
		time.Sleep(150 * time.Millisecond)
		stopTail()
		wg.Wait()
	}()
	since, err := action()
	if err != nil {
		return Window{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if _, err := waitFor(wctx, s.src, since, want); err != nil {
		if ctx.Err() != nil {
			return Window{}, ctx.Err()
		}
		return MeasureWindow(s.src.Probes(), since, want), fmt.Errorf("%s did not answer within %s: %w", want, limit, err)
	}
	// The first answer is in; requests that started before it may still
	// be in flight (timeouts): let them finish before measuring.
	time.Sleep(250 * time.Millisecond)
	return MeasureWindow(s.src.Probes(), since, want), nil
}

func (s *story) record(name string, w Window, err error) error {
	s.steps = append(s.steps, stepResult{Name: name, Window: w, Err: err})
	if err != nil {
		s.out.Printf("   FAILED: %v", err)
		return err
	}
	if w.Failed == 0 {
		s.out.Printf("   ok: %s answers; no request failed (%s after the action)", w.To, w.AfterAction().Round(time.Millisecond))
	} else {
		s.out.Printf("   ok: %s answers; unavailable for %s (first failed request -> first answer from %s), %d requests failed, %s after the action",
			w.To, w.Unavailable().Round(time.Millisecond), w.To, w.Failed, w.AfterAction().Round(time.Millisecond))
	}
	return nil
}

func (s *story) pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(s.hold):
		return nil
	}
}

// run tells the story: start, crash, failover, restart, failback,
// graceful stop, stop. It returns the first thing that did not happen as
// expected.
func (s *story) run(ctx context.Context) error {
	n1, n2 := s.nodes[0], s.nodes[1]
	t := s.timings
	startLimit := t.Initdead + 15*time.Second
	failLimit := t.Deadtime + 10*time.Second

	w, err := s.step(ctx, fmt.Sprintf("Step 1: start both nodes; %s, the group's preferred node, should serve", n1.Name), n1.Name, startLimit,
		func() (time.Time, error) {
			at := time.Now()
			for _, n := range s.nodes {
				pid, err := s.c.Start(n)
				if err != nil {
					return at, err
				}
				s.out.Printf("   started %s: hbd pid %d", n.Name, pid)
			}
			if err := s.checkGroups(ctx, n1); err != nil {
				return at, err
			}
			return at, nil
		})
	if errors.Is(err, errNoGroups) {
		return err
	}
	if err := s.record("start: "+n1.Name+" serves", w, err); err != nil {
		return err
	}
	if err := s.pause(ctx); err != nil {
		return err
	}

	w, err = s.step(ctx, fmt.Sprintf("Step 2: %s dies: kill -9 its hbd and, as a machine death would, its web server; %s should take over after deadtime (%s)", n1.Name, n2.Name, t.Deadtime),
		n2.Name, failLimit, func() (time.Time, error) {
			at := time.Now()
			what, err := s.c.Crash(n1)
			if what != "" {
				s.out.At(at, "   killed %s's %s", n1.Name, what)
			}
			return at, err
		})
	if err := s.record("kill -9 "+n1.Name+": "+n2.Name+" takes over", w, err); err != nil {
		return err
	}
	if err := s.pause(ctx); err != nil {
		return err
	}

	w, err = s.step(ctx, fmt.Sprintf("Step 3: restart %s; with auto_failback on, %s gives the group back", n1.Name, n2.Name),
		n1.Name, startLimit, func() (time.Time, error) {
			at := time.Now()
			pid, err := s.c.Start(n1)
			if err == nil {
				s.out.At(at, "   started %s: hbd pid %d", n1.Name, pid)
			}
			return at, err
		})
	if err := s.record("restart "+n1.Name+": failback", w, err); err != nil {
		return err
	}
	if err := s.pause(ctx); err != nil {
		return err
	}

	w, err = s.step(ctx, fmt.Sprintf("Step 4: stop %s gracefully (SIGTERM): it releases the group and says so; %s takes over at once", n1.Name, n2.Name),
		n2.Name, failLimit, func() (time.Time, error) {
			at := time.Now()
			s.out.At(at, "   SIGTERM to %s's hbd", n1.Name)
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := s.c.Stop(sctx, n1); err != nil {
				return at, err
			}
			s.out.Printf("   %s's hbd exited", n1.Name)
			return at, nil
		})
	if err := s.record("SIGTERM "+n1.Name+": "+n2.Name+" takes over", w, err); err != nil {
		return err
	}
	if err := s.pause(ctx); err != nil {
		return err
	}

	s.out.Plain("")
	s.out.Printf("== Step 5: stop %s gracefully too; the service stops", n2.Name)
	since := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.c.Stop(sctx, n2); err != nil {
		return fmt.Errorf("stop %s: %w", n2.Name, err)
	}
	s.out.Printf("   %s's hbd exited", n2.Name)
	dctx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := waitDown(dctx, s.src, since, 300*time.Millisecond); err != nil {
		return fmt.Errorf("after both nodes stopped: %w", err)
	}
	s.out.Printf("   ok: nobody answers any more")
	return nil
}

// checkGroups waits for n's control socket to answer and checks that its
// status reports resource groups.
func (s *story) checkGroups(ctx context.Context, n *Node) error {
	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		out, err := s.c.Status(sctx, n)
		cancel()
		if err == nil {
			ok, err := hasGroups(out)
			if err != nil {
				return err
			}
			if !ok {
				return errNoGroups
			}
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s's control socket did not answer within 10 s: %w", n.Name, lastErr)
}

// summary prints the table of windows and checks the story the client
// saw. It returns an error when the story did not happen as expected.
func (s *story) summary() error {
	s.out.Plain("")
	s.out.Plain("What the client saw (a request every 20 ms, 200 ms timeout):")
	s.out.Plain("")
	s.out.Plain("| step | from | to | unavailable | failed requests | first answer after the action |")
	s.out.Plain("| --- | --- | --- | ---: | ---: | ---: |")
	for _, st := range s.steps {
		w := st.Window
		if st.Err != nil {
			s.out.Plain("| %s | %s | %s | FAILED | %d | — |", st.Name, dash(w.From), w.To, w.Failed)
			continue
		}
		s.out.Plain("| %s | %s | %s | %s | %d | %s |", st.Name, dash(w.From), w.To,
			fmtMS(w.Unavailable()), w.Failed, fmtMS(w.AfterAction()))
	}
	probes := s.src.Probes()
	got := Responders(probes)
	want := expectedResponders(s.nodes[0].Name, s.nodes[1].Name)
	failed := 0
	for _, p := range probes {
		if !p.OK() {
			failed++
		}
	}
	s.out.Plain("")
	s.out.Plain("%d requests, %d answered, %d failed.", len(probes), len(probes)-failed, failed)
	s.out.Plain("Responders, in order: %s (expected %s).", strings.Join(got, " -> "), strings.Join(want, " -> "))
	if !slices.Equal(got, want) {
		return fmt.Errorf("the client saw %s, not %s", strings.Join(got, " -> "), strings.Join(want, " -> "))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func fmtMS(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
