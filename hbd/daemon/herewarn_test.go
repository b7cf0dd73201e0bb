package daemon

import (
	"context"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/resources/agents"
)

// TestAgentHereWarned: what a built-in agent's start would meet on this
// machine (agents.Agent.Here: an interface it names that is not there)
// is a warning at the daemon's start, on stderr and in the log, and in
// the log at a reload that applies it; the daemon starts and the reload
// applies all the same (the interface may come later). A reload asks
// the agents off the event loop: the reload is applied, and the loop
// goes on, while an agent's look is still under way (an IP agent may
// read the whole routing table).
func TestAgentHereWarned(t *testing.T) {
	const missing = "interface eth9 does not exist on this machine"
	var gate chan struct{} // when set, the agent's look waits for it
	reg := agents.New(agents.Agent{
		Name: "vip",
		Main: func(string, []string, io.Writer, io.Writer) int { return 0 },
		Here: func(name string, args []string) []string {
			if gate != nil {
				<-gate
			}
			if args[0] == "eth9" {
				return []string{name + " " + args[0] + ": " + missing}
			}
			return nil
		},
	})
	load := reloadLoad
	load.Lookup = config.Lookup{InitDir: t.TempDir(), Agents: reg}
	files := maps.Clone(reloadFiles)
	files["haresources"] = "node1 rec::a\nnode2 vip::eth0\nnode2 vip::eth9\n"
	want := "haresources:3: warning: vip eth9: " + missing

	// At the start: LoadConfig's warnings are what Run says on stderr and
	// logs (TestStartSaysEachWarningOnce).
	t.Run("start", func(t *testing.T) {
		cfg, diags := LoadConfig(testenv.WriteConfigDir(t, files), load)
		if cfg == nil {
			t.Fatalf("the start is refused: %v", diags)
		}
		var got []string
		for _, dg := range diags {
			if strings.Contains(dg.Msg, "vip ") && dg.Severity == config.SevWarning {
				got = append(got, dg.String())
			}
		}
		if len(got) != 1 || !strings.HasSuffix(got[0], want) {
			t.Errorf("the warnings of the agent are %q, want one %q", got, want)
		}
	})

	t.Run("reload", func(t *testing.T) {
		d, dir, buf := reloadDaemon(t, load)
		testenv.WriteConfigFile(t, dir, "haresources", files["haresources"])
		gate = make(chan struct{})
		defer func() { gate = nil }()
		reloaded := make(chan struct{})
		go func() {
			defer close(reloaded)
			d.reload(context.Background(), "test", false)
		}()
		select {
		case <-reloaded:
		case <-time.After(10 * time.Second):
			close(gate)
			<-reloaded
			t.Fatal("the reload waited for the agents' look at this machine")
		}
		if len(d.cfg.Groups) != 3 {
			t.Fatalf("the reload was not applied: %d groups", len(d.cfg.Groups))
		}
		if log := buf.String(); strings.Contains(log, want) {
			t.Fatalf("the reload logged %q before the agent answered", want)
		}
		close(gate)
		d.waitOps(10 * time.Second)
		if log := buf.String(); !strings.Contains(log, want) {
			t.Errorf("the log of the reload does not say %q:\n%s", want, log)
		}
	})

	// Not for another machine (hbd check --files-only), nor for a
	// lenient reader (harc: the agent's start says it then).
	anyMachine, lenient := load, load
	anyMachine.AnyMachine, lenient.Strict = true, false
	for name, o := range map[string]config.LoadOptions{"another machine": anyMachine, "lenient": lenient} {
		t.Run(name, func(t *testing.T) {
			_, diags := LoadConfig(testenv.WriteConfigDir(t, files), o)
			for _, dg := range diags {
				if strings.Contains(dg.Msg, missing) {
					t.Errorf("warned: %s", dg)
				}
			}
		})
	}
}
