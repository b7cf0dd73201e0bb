package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
)

func TestSettingsFile(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadSettings(dir); err != nil || got != nil {
		t.Fatalf("LoadSettings of an empty dir = %v, %v; want none", got, err)
	}
	want := []cluster.Setting{
		{Kind: cluster.SettingDisabled, Name: "IPaddr2::10.0.0.5/24/eth0", Value: "1", Version: 3, Origin: "node2"},
		{Kind: cluster.SettingMove, Name: "ocf:heartbeat:IPaddr2::ip=10.0.0.6::cidr_netmask=24", Value: ">node1", Version: 0x1a, Origin: "node1"},
		{Kind: cluster.SettingStandby, Name: "node2", Version: 4, Origin: "node1"},
	}
	if err := saveSettings(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSettings(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadSettings after saveSettings = %+v, %v; want %+v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, settingsFile), []byte("standby:2:1:node1:node2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSettings(dir); err == nil || !strings.Contains(err.Error(), "fix or remove the file") {
		t.Errorf("LoadSettings of a bad file: %v; want an error naming the file", err)
	}
}

func TestSettingsCommand(t *testing.T) {
	cfg := &config.Config{ThisNode: "node1", Nodes: []string{"node1", "node2"}, UDPPort: 694, Hopfudge: 1}
	cfg.SetTimingDefaults()
	cfg.Groups = []config.Group{
		{Preferred: "node1", Pos: config.Pos{Line: 2}, Resources: []config.Resource{{Spec: "IPaddr2::10.0.0.5/24", Name: "IPaddr2"}, {Spec: "httpd", Name: "httpd"}}},
		{Preferred: "node2", Pos: config.Pos{Line: 3}, Resources: []config.Resource{{Spec: "IPaddr2::10.0.0.6/24", Name: "IPaddr2"}}},
	}
	core := cluster.New(cluster.Options{Config: cfg, Now: time.Now()})
	tests := []struct {
		cmd  string
		want cluster.Command
		err  string
	}{
		{cmd: "node standby", want: cluster.Command{Kind: cluster.CmdNodeStandby}},
		{cmd: "node online node2", want: cluster.Command{Kind: cluster.CmdNodeOnline, Node: "node2"}},
		{cmd: "node standby node9", err: `unknown node "node9" (the nodes: node1 node2)`},
		{cmd: "node fenced node2", err: "no takeover here waits for a fence of it (waiting for: none)"},
		{cmd: "node fenced", err: "name the node that is off"},
		{cmd: "group disable httpd", want: cluster.Command{Kind: cluster.CmdGroupDisable, Which: "IPaddr2::10.0.0.5/24"}},
		{cmd: "group enable 2", want: cluster.Command{Kind: cluster.CmdGroupEnable, Which: "IPaddr2::10.0.0.6/24"}},
		{cmd: "group move 2 node1", want: cluster.Command{Kind: cluster.CmdGroupMove, Which: "IPaddr2::10.0.0.6/24", Node: "node1"}},
		{cmd: "group move 2", err: "no node holds it; name the node"},
		{cmd: "group enable 3", err: "there is no group 3: haresources has 2 groups"},
		{cmd: "group clear IPaddr2", err: `"IPaddr2" is in more than one resource group`},
		{cmd: "group disable nginx", err: "2: IPaddr2::10.0.0.6/24 (line 3)"},
		{cmd: "group disable", err: "no GROUP given"},
		{cmd: "group bounce httpd", err: "unknown command group bounce"},
	}
	for _, tt := range tests {
		f := strings.Fields(tt.cmd)
		got, err := settingsCommand(cfg, core, ctl.Request{Cmd: f[0], Args: f[1:]})
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %+v, %v; want error %q", tt.cmd, got, err, tt.err)
			}
		case err != nil || got != tt.want:
			t.Errorf("%s: %+v, %v; want %+v", tt.cmd, got, err, tt.want)
		}
	}
}

// TestSettingsCommandNoRoom: once the settings fill what an announcement
// has room for, `hbd group disable` is the caller's error, naming the
// limit, and the core is not asked to change anything; `hbd group
// enable` of a disabled group still goes through.
func TestSettingsCommandNoRoom(t *testing.T) {
	cfg := &config.Config{ThisNode: "node1", Nodes: []string{"node1", "node2"}, UDPPort: 694, Hopfudge: 1}
	cfg.SetTimingDefaults()
	for i := range 400 {
		cfg.Groups = append(cfg.Groups, config.Group{Preferred: "node1", Pos: config.Pos{Line: i + 1},
			Resources: []config.Resource{{Spec: fmt.Sprintf("rec::%025d", i), Name: "rec"}}})
	}
	fit, _ := cluster.AnnouncementFit(cfg)
	cfg.Groups = cfg.Groups[:fit]
	core := cluster.New(cluster.Options{Config: cfg, Now: time.Now()})
	run := func(cmd string) error {
		f := strings.Fields(cmd)
		c, err := settingsCommand(cfg, core, ctl.Request{Cmd: f[0], Args: f[1:]})
		if err == nil {
			core.Step(c)
		}
		return err
	}
	var err error
	i := 0
	for ; i < fit && err == nil; i++ {
		err = run(fmt.Sprintf("group disable %d", i+1))
	}
	if err == nil {
		t.Fatalf("all %d groups disabled", fit)
	}
	if want := fmt.Sprintf("a resource announcement has room for with this configuration (at least %d", cluster.SettingsReserve); !strings.Contains(err.Error(), want) {
		t.Errorf("group disable %d: %v; want the limit", i, err)
	}
	if g, _ := core.Group(cfg.Groups[i-1].Key()); g.Disabled {
		t.Errorf("group %d disabled although refused", i)
	}
	if err := run("group enable 1"); err != nil {
		t.Errorf("group enable 1: %v", err)
	}
	if g, _ := core.Group(cfg.Groups[0].Key()); g.Disabled {
		t.Errorf("group 1 still disabled")
	}
}
