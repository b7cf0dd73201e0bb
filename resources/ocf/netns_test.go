//go:build linux

package ocf_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/resources/agents"
	"github.com/hbdproject/hbd/resources/ocf"
)

// TestRealIPaddr2InNamespace runs resource-agents' IPaddr2 (which uses
// `ip` and send_arp) through harc inside a network namespace of an
// hbd/netlab lab: the address appears, a client host on the same bridge
// reaches it, and it leaves on stop.
func TestRealIPaddr2InNamespace(t *testing.T) {
	needAgents(t, "IPaddr2")
	lab := netlab.NewT(t, "ocf")
	node, err := lab.Host("node", "10.231.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	client, err := lab.Host("client", "10.231.0.2/24")
	if err != nil {
		t.Fatal(err)
	}
	const vip = "10.231.0.100"
	cfg, diags := loadGroup(t, config.Lookup{Agents: agents.New(ocf.Agents("")...)},
		"ocf:heartbeat:IPaddr2::ip="+vip+"::cidr_netmask=24::nic=eth0")
	if cfg == nil {
		t.Fatalf("config refused: %v", diags)
	}
	g := cfg.Groups[0]
	o := harc.FromConfig(cfg)
	o.BuiltinCommand = []string{"ip", "netns", "exec", node.NS, os.Args[0]}
	o.Env = map[string]string{agentEnv: "1"}
	o.RscTmp = t.TempDir()
	o.Timeout = 60 * time.Second
	o.StopRetries = -1
	r, err := harc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	has := func() bool {
		t.Helper()
		out, err := node.Exec(ctx, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(out, " "+vip+"/")
	}

	if st := groupState(t, r, g); st != harc.GroupNone || has() {
		t.Fatalf("before start: %v, address there: %v", st, has())
	}
	start := time.Now()
	if err := r.Start(ctx, g); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Logf("start took %v", time.Since(start).Round(time.Millisecond))
	if !has() {
		t.Fatal("the address is not on node1 after start")
	}
	if out, err := client.Exec(ctx, "ping", "-c", "1", "-W", "2", vip); err != nil {
		t.Errorf("client cannot reach %s: %v: %s", vip, err, out)
	}
	if st := groupState(t, r, g); st != harc.GroupAll {
		t.Errorf("after start: %v, want ALL", st)
	}
	if err := r.Stop(ctx, g); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if has() {
		t.Error("the address is still on node1 after stop")
	}
	if st := groupState(t, r, g); st != harc.GroupNone {
		t.Errorf("after stop: %v, want NONE", st)
	}
}
