package ocf_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/resources/agents"
	"github.com/hbdproject/hbd/resources/ocf"
)

// agentEnv makes the test binary act as `hbd agent`: harc runs
// BuiltinCommand (this binary) + NAME + ARGS + OP with it set.
const agentEnv = "HBD_OCF_TEST_AS_AGENT"

func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) == "1" {
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		os.Exit(ocf.Main(os.Args[1], os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// needAgents skips unless Debian's resource-agents are installed (the
// heartbeat package brings them; .ci/test-deps.sh installs it as root).
func needAgents(t *testing.T, agent string) string {
	t.Helper()
	p := filepath.Join(ocf.DefaultRoot, "resource.d", "heartbeat", agent)
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o111 == 0 {
		testenv.Skip(t, "real OCF agent %s not installed (apt-get install resource-agents, or run .ci/test-deps.sh as root): %v", p, err)
	}
	return p
}

// loadGroup writes a temp ha.d whose haresources is `node1 RESOURCES`
// and loads it as hbd does.
func loadGroup(t *testing.T, lookup config.Lookup, resources string) (*config.Config, []config.Diag) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		config.HaCfFile:        "node node1 node2\nucast lo 127.0.0.1\n",
		config.AuthkeysFile:    "auth 1\n1 sha1 ocf-test-secret-0123456789\n",
		config.HaresourcesFile: "# test\nnode1 " + resources + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return config.Load(dir, config.LoadOptions{Node: "node1", Lookup: lookup,
		Interfaces: func() ([]string, error) { return []string{"lo"}, nil }})
}

func newRunner(t *testing.T, cfg *config.Config) *harc.Runner {
	t.Helper()
	o := harc.FromConfig(cfg)
	o.BuiltinCommand = []string{os.Args[0]}
	o.Env = map[string]string{agentEnv: "1"}
	o.RscTmp = t.TempDir()
	o.Timeout = 30 * time.Second
	o.StopRetries = -1
	r, err := harc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func groupState(t *testing.T, r *harc.Runner, g config.Group) harc.GroupState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := r.Status(ctx, g)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, rs := range st.Resources {
		t.Logf("status %s: running=%v (%s); exit %d", rs.Resource, rs.Running, rs.Reason, rs.Result.ExitCode)
	}
	return st.State
}

// TestRealDummy runs resource-agents' own Dummy agent through a group
// loaded from a temp ha.d and harc: start, status running, stop, status
// stopped, with its state file appearing and going as the proof.
func TestRealDummy(t *testing.T) {
	agent := needAgents(t, "Dummy")
	state := filepath.Join(t.TempDir(), "dummy.state")
	cfg, diags := loadGroup(t, config.Lookup{Agents: agents.New(ocf.Agents("")...)}, "ocf:heartbeat:Dummy::state="+state)
	if cfg == nil {
		t.Fatalf("config refused: %v", diags)
	}
	g := cfg.Groups[0]
	if want := (config.Script{Kind: config.ScriptOCF, Name: "ocf", Path: agent}); g.Resources[0].Script != want {
		t.Fatalf("resolved to %+v, want %+v", g.Resources[0].Script, want)
	}
	r := newRunner(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if st := groupState(t, r, g); st != harc.GroupNone {
		t.Fatalf("before start: %v, want NONE", st)
	}
	if err := r.Start(ctx, g); err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("Dummy did not create its state file after start: %v", err)
	}
	if st := groupState(t, r, g); st != harc.GroupAll {
		t.Errorf("after start: %v, want ALL", st)
	}
	if err := r.Stop(ctx, g); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file still there after stop: %v", err)
	}
	if st := groupState(t, r, g); st != harc.GroupNone {
		t.Errorf("after stop: %v, want NONE", st)
	}
}

// TestRealDummyFailure: a start the real agent refuses (its state
// directory does not exist) fails with the agent's reason in the error.
func TestRealDummyFailure(t *testing.T) {
	needAgents(t, "Dummy")
	state := filepath.Join(t.TempDir(), "missing-dir", "dummy.state")
	cfg, diags := loadGroup(t, config.Lookup{Agents: agents.New(ocf.Agents("")...)}, "ocf:heartbeat:Dummy::state="+state)
	if cfg == nil {
		t.Fatalf("config refused: %v", diags)
	}
	r := newRunner(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := r.Start(ctx, cfg.Groups[0])
	if !errors.Is(err, harc.ErrStartFailed) {
		t.Fatalf("start: %v, want ErrStartFailed", err)
	}
	t.Logf("start error: %v", err)
	if msg := err.Error(); !strings.Contains(msg, "OCF_ERR_") {
		t.Errorf("start error does not name the OCF code: %v", msg)
	}
}

// TestConfigErrors: a missing or non-executable agent and bad parameters
// are configuration errors at the haresources line.
func TestConfigErrors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "acme")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "NoExec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lookup := config.Lookup{Agents: agents.New(ocf.Agents(root)...)}
	for _, tc := range []struct {
		res, want string
	}{
		{"ocf:acme:Missing", filepath.Join(dir, "Missing") + " does not exist"},
		{"ocf:acme:NoExec", "is not executable"},
		{"ocf:acme:NoExec::10.0.0.5", "is not NAME=VALUE"},
		{"ocf:acme", "needs a provider and a type"},
	} {
		cfg, diags := loadGroup(t, lookup, tc.res)
		if cfg != nil {
			t.Errorf("%s: accepted", tc.res)
			continue
		}
		found := false
		for _, d := range diags {
			if d.Pos.Line == 2 && strings.HasSuffix(d.Pos.File, "haresources") && strings.Contains(d.Msg, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no haresources:2 error containing %q in %v", tc.res, tc.want, diags)
		}
	}
	// Without the built-in runner, OCF names do not resolve.
	if cfg, diags := loadGroup(t, config.Lookup{}, "ocf:acme:NoExec"); cfg != nil || len(diags) == 0 {
		t.Errorf("OCF resolved without the ocf built-in: %v", diags)
	}
}
