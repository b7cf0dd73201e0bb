package harc

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/agents"
)

// TestBuiltinInProcess: with InProcess, a built-in agent that offers Run
// runs in this process with the resource's arguments and the operation,
// HA_RSCTMP's directory and its output kept and logged; status is read
// from its stdout as from a script's; a run past the timeout ends
// TimedOut without waiting for the agent; an agent without Run still
// runs through BuiltinCommand.
func TestBuiltinInProcess(t *testing.T) {
	f := newFixture(t)
	var gotArgs []string
	var gotDir string
	release := make(chan struct{}) // a hanging agent runs on until the test ends (or 10 s)
	defer close(release)
	run := func(ctx context.Context, name string, args []string, o agents.RunOptions) int {
		gotArgs, gotDir = append([]string{name}, args...), o.StateDir
		switch args[len(args)-1] {
		case "status":
			fmt.Fprintln(o.Stdout, "running")
			return 0
		case "hang":
			<-ctx.Done()
			select { // a slow agent: Run does not wait for it
			case <-release:
			case <-time.After(10 * time.Second):
			}
			return 0
		}
		fmt.Fprint(o.Stderr, "INFO: first\nINFO: no newline")
		return 4
	}
	main := func(string, []string, io.Writer, io.Writer) int { return 0 }
	f.opts.Lookup.Agents = agents.New(agents.Agent{Name: "IPaddr2", Main: main, Run: run}, agents.Agent{Name: "service", Main: main})
	f.opts.BuiltinCommand = []string{"/bin/sh", "-c", `echo "$@" > "$CTL/builtin"`, "hbd", "agent"}
	f.opts.InProcess = true
	r := f.runner()
	ip := resourceOf("IPaddr2::10.0.0.1", config.Script{Kind: config.ScriptBuiltin, Name: "IPaddr2"})

	res := r.RunResource(context.Background(), ip, OpStart, 0)
	if res.ExitCode != 4 || res.PID != 0 || res.Output != "INFO: first\nINFO: no newline\n" {
		t.Errorf("start: %+v", res)
	}
	if strings.Join(gotArgs, " ") != "IPaddr2 10.0.0.1 start" || gotDir != f.opts.RscTmp {
		t.Errorf("ran %q with HA_RSCTMP %q, want %q", gotArgs, gotDir, f.opts.RscTmp)
	}
	if _, ok := f.log.find("INFO: first"); !ok || !strings.Contains(f.log.text(), fmt.Sprintf("IPaddr2[%d]", os.Getpid())) {
		t.Errorf("the agent's output is not logged:\n%s", f.log.text())
	}
	if res := r.RunResource(context.Background(), ip, OpStatus, 0); !res.OK() || res.Stdout != "running\n" {
		t.Errorf("status: %+v", res)
	}
	began := time.Now()
	res = r.RunResource(context.Background(), ip, "hang", 100*time.Millisecond)
	if took := time.Since(began); !res.TimedOut || res.OK() || took < 100*time.Millisecond || took > 5*time.Second {
		t.Errorf("hang: %+v after %s, want timed out at 100ms", res, took)
	}
	if f.exists("builtin") {
		t.Errorf("an in-process agent ran through BuiltinCommand")
	}
	svc := resourceOf("service::nginx", config.Script{Kind: config.ScriptBuiltin, Name: "service"})
	if res := r.RunResource(context.Background(), svc, OpStart, 0); !res.OK() || !f.exists("builtin") {
		t.Errorf("an agent without Run: %+v", res)
	}
}

// TestConverges: only a resource that runs as a built-in agent whose
// start converges skips its status check, and only when the runner can
// start built-in agents; a script on disk of the same name wins over the
// agent when the resource is resolved at run time.
func TestConverges(t *testing.T) {
	builtin := func(name string) config.Script { return config.Script{Kind: config.ScriptBuiltin, Name: name} }
	tests := []struct {
		name      string
		script    config.Script
		onDisk    bool // resource.d/IPaddr2 exists
		noBuiltin bool // the runner has no BuiltinCommand
		want      bool
	}{
		{"converging agent", builtin("IPaddr2"), false, false, true},
		{"other agent", builtin("service"), false, false, false},
		{"unknown agent", builtin("nosuch"), false, false, false},
		{"no BuiltinCommand", builtin("IPaddr2"), false, true, false},
		{"resolved now to the agent", config.Script{}, false, false, true},
		{"resolved now to a script", config.Script{}, true, false, false},
		{"script file", config.Script{Kind: config.ScriptFile, Path: "/bin/true"}, false, false, false},
		{"OCF agent", config.Script{Kind: config.ScriptOCF, Name: "IPaddr2", Path: "/bin/true"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			main := func(string, []string, io.Writer, io.Writer) int { return 0 }
			f.opts.Lookup = config.Lookup{
				InitDir: t.TempDir(),
				Agents: agents.New(
					agents.Agent{Name: "IPaddr2", Main: main, Converges: true},
					agents.Agent{Name: "service", Main: main},
				),
			}
			if !tt.noBuiltin {
				f.opts.BuiltinCommand = []string{"/bin/true"}
			}
			if tt.onDisk {
				f.script("IPaddr2", resScript)
			}
			res := resourceOf("IPaddr2::10.0.0.1", tt.script)
			if got := f.runner().converges(res); got != tt.want {
				t.Errorf("converges(%s) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// TestStartSkipsStatusOfConvergingAgent: a group's start asks the status
// of each resource first, except of a built-in agent whose start
// converges (agents.Agent.Converges), which is started whatever it
// would say, in process or through BuiltinCommand alike.
func TestStartSkipsStatusOfConvergingAgent(t *testing.T) {
	for _, inProcess := range []bool{true, false} {
		for _, converges := range []bool{true, false} {
			t.Run(fmt.Sprintf("in process %v, converges %v", inProcess, converges), func(t *testing.T) {
				f := newFixture(t)
				var ops []string
				run := func(ctx context.Context, name string, args []string, o agents.RunOptions) int {
					op := args[len(args)-1]
					ops = append(ops, op)
					if op == OpStatus {
						fmt.Fprintln(o.Stdout, "stopped")
						return 3
					}
					return 0
				}
				main := func(string, []string, io.Writer, io.Writer) int { return 0 }
				f.opts.Lookup.Agents = agents.New(agents.Agent{Name: "IPaddr2", Main: main, Run: run, Converges: converges})
				// The command form records each operation it runs, and
				// says "stopped" to a status as the agent would.
				f.opts.BuiltinCommand = []string{"/bin/sh", "-c", `for op; do :; done; echo "$op" >> "$CTL/ops"; [ "$op" != status ] || { echo stopped; exit 3; }`, "hbd", "agent"}
				f.opts.InProcess = inProcess
				r := f.runner()
				ip := resourceOf("IPaddr2::10.0.0.1", config.Script{Kind: config.ScriptBuiltin, Name: "IPaddr2"})
				if err := r.Start(context.Background(), config.Group{Preferred: "node1", Resources: []config.Resource{ip}}); err != nil {
					t.Fatal(err)
				}
				if !inProcess {
					b, err := os.ReadFile(filepath.Join(f.ctl, "ops"))
					if err != nil {
						t.Fatal(err)
					}
					ops = strings.Fields(string(b))
				}
				want := "status start"
				if converges {
					want = "start"
				}
				if got := strings.Join(ops, " "); got != want {
					t.Errorf("operations run: %q, want %q", got, want)
				}
			})
		}
	}
}

// TestStopRelease: a planned release (WithRelease) reaches an in-process
// agent's stop whole: its drain bound and its taker, each without the
// other too; a stop without one, or with the zero one, drains not and
// names no taker.
func TestStopRelease(t *testing.T) {
	f := newFixture(t)
	var got []string
	run := func(ctx context.Context, name string, args []string, o agents.RunOptions) int {
		got = append(got, fmt.Sprintf("%v/%q", o.Drain, o.Taker))
		return 0
	}
	main := func(string, []string, io.Writer, io.Writer) int { return 0 }
	f.opts.Lookup.Agents = agents.New(agents.Agent{Name: "IPaddr2", Main: main, Run: run})
	f.opts.BuiltinCommand = []string{"/bin/false"} // never run: the agent runs in process
	f.opts.InProcess = true
	r := f.runner()
	g := config.Group{Preferred: "node1", Resources: []config.Resource{resourceOf("IPaddr2::10.0.0.1", config.Script{Kind: config.ScriptBuiltin, Name: "IPaddr2"})}}
	bg := context.Background()
	for _, tc := range []struct {
		ctx  context.Context
		want string
	}{
		{WithRelease(bg, Release{Drain: 150 * time.Millisecond, Taker: "node2"}), `150ms/"node2"`},
		{WithRelease(bg, Release{Drain: 150 * time.Millisecond}), `150ms/""`},
		{WithRelease(bg, Release{Taker: "node2"}), `0s/"node2"`},
		{WithRelease(bg, Release{Drain: -time.Second, Taker: "node2"}), `0s/"node2"`},
		{bg, `0s/""`},
		{WithRelease(bg, Release{}), `0s/""`},
	} {
		got = got[:0]
		if err := r.Stop(tc.ctx, g); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("the agent's stop got drain/taker %v, want [%s]", got, tc.want)
		}
	}
}
