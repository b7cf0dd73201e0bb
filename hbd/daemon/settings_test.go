package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
)

func TestSettingsFile(t *testing.T) {
	dir := t.TempDir()
	cfg := settingsConfig()
	if got, warn, err := LoadSettings(dir, cfg); err != nil || got != nil || warn != "" {
		t.Fatalf("LoadSettings of an empty dir = %v, %q, %v; want none", got, warn, err)
	}
	want := []cluster.Setting{
		{Kind: cluster.SettingDisabled, Name: "IPaddr2::10.0.0.5/24/eth0", Value: "1", Version: 3, Origin: "node2"},
		{Kind: cluster.SettingMove, Name: "ocf:heartbeat:IPaddr2::ip=10.0.0.6::cidr_netmask=24", Value: ">node1", Version: 0x1a, Origin: "node1"},
		{Kind: cluster.SettingStandby, Name: "node2", Version: 4, Origin: "node1"},
	}
	if err := saveSettings(dir, want); err != nil {
		t.Fatal(err)
	}
	got, warn, err := LoadSettings(dir, cfg)
	if err != nil || warn != "" || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadSettings after saveSettings = %+v, %q, %v; want %+v", got, warn, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, settingsFile), []byte("standby:2:1:node1:node2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A malformed setting is dropped with a warning naming the file and
	// the line; the rest is kept.
	bad := "standby:2:1:node1:node2\nstandby:1:4:node1:node2\n"
	if err := os.WriteFile(filepath.Join(dir, settingsFile), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	got, warn, err = LoadSettings(dir, cfg)
	if err != nil || len(got) != 1 || !strings.Contains(warn, filepath.Join(dir, settingsFile)+": 1 setting(s) dropped") || !strings.Contains(warn, "line 1: setting") {
		t.Errorf("LoadSettings of a file with a bad line: %v, %q, %v; want the good line and a warning naming the file and the line", got, warn, err)
	}
}

// TestStateFileSpaceInName: a state file holding a setting whose name
// has white space (written by an older version, which took it from a
// peer) is read, not refused: the start goes on.
func TestStateFileSpaceInName(t *testing.T) {
	cfg := settingsConfig()
	for _, name := range []string{"junk x", "junk\tx", "junk\u00a0x", "junk\u0085x", "junk\rx", "junk\vx", "junk\nx"} {
		dir := t.TempDir()
		if err := saveSettings(dir, []cluster.Setting{{Kind: cluster.SettingDisabled, Name: name, Value: "1", Version: 5, Origin: "node2"}}); err != nil {
			t.Fatal(err)
		}
		got, warn, err := LoadSettings(dir, cfg)
		if err != nil || warn == "" {
			t.Errorf("%q: %v, %q; want a warning", name, err, warn)
		}
		for _, s := range got {
			if strings.ContainsFunc(s.Name, unicode.IsSpace) {
				t.Errorf("%q: kept %q", name, s.Name)
			}
		}
	}
}

// settingsConfig is a two-node configuration of two groups.
func settingsConfig() *config.Config {
	cfg := &config.Config{ThisNode: "node1", Nodes: []string{"node1", "node2"}, UDPPort: 694, Hopfudge: 1}
	cfg.SetTimingDefaults()
	cfg.Groups = []config.Group{
		{Preferred: "node1", Pos: config.Pos{Line: 2}, Resources: []config.Resource{{Spec: "IPaddr2::10.0.0.5/24", Name: "IPaddr2"}, {Spec: "httpd", Name: "httpd"}}},
		{Preferred: "node2", Pos: config.Pos{Line: 3}, Resources: []config.Resource{{Spec: "IPaddr2::10.0.0.6/24", Name: "IPaddr2"}}},
	}
	return cfg
}

// TestSettingsFileOverCaps: a settings file over the caps (an older
// version's, a corruption, a hand edit) is read with one warning that
// names the file and what was dropped; what the caps take is kept, the
// settings of configured names whatever their place in the file. A
// table written from what a hostile peer filled stays within the caps.
func TestSettingsFileOverCaps(t *testing.T) {
	cfg := settingsConfig()
	mine := []string{"disabled:1:3:node2:IPaddr2::10.0.0.5/24", "standby:1:4:node1:node2"}
	junk := func(i, nameLen int) string {
		name := fmt.Sprintf("IPaddr::%06d", i)
		return fmt.Sprintf("move:>%s:%x:%s:%s", strings.Repeat("v", config.MaxNodeName), 1<<20+i, strings.Repeat("o", config.MaxNodeName), name+strings.Repeat("n", nameLen-len(name)))
	}
	for _, tt := range []struct {
		name     string
		lines    []string
		wantWarn []string
	}{
		{"an older version's table of a peer's 1024 settings of a datagram each", func() []string {
			var l []string
			for i := range cluster.MaxSettings {
				l = append(l, junk(i, 16<<10))
			}
			return append(l, mine...)
		}(), []string{"1024 setting(s) dropped", "line 1: 16", "more than the"}},
		{"1024 settings at the caps", func() []string {
			var l []string
			for i := range cluster.MaxSettings {
				l = append(l, junk(i, cluster.MaxSettingName))
			}
			return append(l, mine...)
		}(), []string{"setting(s) dropped", "no room"}},
		{"a value over its cap", append([]string{"move:>" + strings.Repeat("n", config.MaxNodeName+1) + ":5:node1:IPaddr2::10.0.0.6/24"}, mine...),
			[]string{"1 setting(s) dropped", "a value of 102 bytes"}},
		{"a version no operator reaches", append([]string{"disabled:1:ffffffffffffffff:node2:junk"}, mine...),
			[]string{"1 setting(s) dropped", "a version of ffffffffffffffff"}},
		{"a line of a megabyte", append([]string{strings.Repeat("x", 1<<20)}, mine...), []string{"1 setting(s) dropped", "line 1: 1048576 bytes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, settingsFile)
			if err := os.WriteFile(path, []byte(strings.Join(tt.lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			got, warn, err := LoadSettings(dir, cfg)
			if err != nil {
				t.Fatalf("LoadSettings refused the file: %v", err)
			}
			for _, w := range append([]string{path + ": "}, tt.wantWarn...) {
				if !strings.Contains(warn, w) {
					t.Errorf("the warning does not say %q: %.500s", w, warn)
				}
			}
			if len(warn) > 2000 {
				t.Errorf("a warning of %d bytes", len(warn))
			}
			text := cluster.FormatSettings(got)
			for _, m := range mine {
				if !strings.Contains(text, m) {
					t.Errorf("%s was dropped", m)
				}
			}
			if len(got) > cluster.MaxSettings || len(text) > cluster.MaxSettingsBytes {
				t.Errorf("kept %d settings, %d bytes", len(got), len(text))
			}
			// Written back, the file is within the caps.
			if err := saveSettings(dir, got); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() > cluster.MaxSettingsBytes {
				t.Errorf("the file written back: %v, %v", fi.Size(), err)
			}
			if again, warn, err := LoadSettings(dir, cfg); err != nil || warn != "" || !reflect.DeepEqual(again, got) {
				t.Errorf("read back: %d settings, %q, %v", len(again), warn, err)
			}
		})
	}
}

func TestSettingsCommand(t *testing.T) {
	cfg := settingsConfig()
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
