package daemon

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestShownText: printable UTF-8 is shown as it is; bytes a terminal
// acts on, text that is not UTF-8 (which JSON would not carry) and a
// leading quote are Go-quoted in ASCII.
func TestShownText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"IPaddr2::10.0.0.5/24", "IPaddr2::10.0.0.5/24"},
		{"grüße", "grüße"},
		{"junk\x1b[2J", `"junk\x1b[2J"`},
		{"caf\xe9", `"caf\xe9"`},
		{`"quoted"`, `"\"quoted\""`},
		{"", ""},
	} {
		if got := ShownText(tt.in); got != tt.want {
			t.Errorf("ShownText(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestAnswerSettings: the control request settings lists the table
// with what the configuration lacks marked, clears one setting by its
// kind and its name as shown (also quoted), and clears every setting
// in force of a name the configuration lacks at once; what it clears
// is kept in the state file; a kind or setting it does not know is the
// caller's error.
func TestAnswerSettings(t *testing.T) {
	d, cfg, dir := daemonWithSettings(t, []cluster.Setting{
		{Kind: cluster.SettingDisabled, Name: "rec::a", Value: "1", Version: 3, Origin: "node1"},
		{Kind: cluster.SettingDisabled, Name: "junk::1", Value: "1", Version: 4, Origin: "node2"},
		{Kind: cluster.SettingStandby, Name: "ghost", Value: "1", Version: 5, Origin: "node2"},
		{Kind: cluster.SettingMove, Name: "junk\x1b[2J", Value: ">node2", Version: 6, Origin: "node2"},
	})
	list := func() map[string]ctl.SettingRow {
		t.Helper()
		r := d.answerSettings(ctl.Request{Cmd: "settings", Args: []string{"list"}})
		var rows []ctl.SettingRow
		if err := json.Unmarshal(r.Data, &rows); err != nil || !r.OK {
			t.Fatalf("settings list: %+v, %v", r, err)
		}
		m := map[string]ctl.SettingRow{}
		for _, row := range rows {
			m[row.Kind+" "+row.Name] = row
		}
		return m
	}
	rows := list()
	for key, configured := range map[string]bool{"disabled rec::a": true, "disabled junk::1": false, "standby ghost": false, `move "junk\x1b[2J"`: false} {
		if row, ok := rows[key]; !ok || row.Configured != configured || row.Value == "" {
			t.Errorf("settings list: %s is %+v (listed %v), want in force, configured %v", key, row, ok, configured)
		}
	}

	for _, tt := range []struct{ args, err string }{
		{"clear bogus x", `unknown kind "bogus"`},
		{"clear disabled nosuch", "no setting disabled"},
		{"clear disabled", "want KIND NAME"},
	} {
		r := d.answerSettings(ctl.Request{Cmd: "settings", Args: strings.Fields(tt.args)})
		if r.OK || !strings.Contains(r.Error, tt.err) {
			t.Errorf("settings %s: %+v, want the error %q", tt.args, r, tt.err)
		}
	}

	if r := d.answerSettings(ctl.Request{Cmd: "settings", Args: []string{"clear", "move", `"junk\x1b[2J"`}}); !r.OK {
		t.Fatalf("settings clear of a quoted name: %+v", r)
	}
	if row := list()[`move "junk\x1b[2J"`]; row.Value != "" {
		t.Errorf("after its clear: %+v", row)
	}
	r := d.answerSettings(ctl.Request{Cmd: "settings", Args: []string{"clear-unconfigured"}})
	var cleared []ctl.SettingRow
	if err := json.Unmarshal(r.Data, &cleared); err != nil || !r.OK || len(cleared) != 2 {
		t.Fatalf("settings clear-unconfigured: %+v, %v; want the 2 left in force", r, err)
	}
	rows = list()
	for key, row := range rows {
		if !row.Configured && row.Value != "" {
			t.Errorf("after clear-unconfigured, %s is in force", key)
		}
	}
	if rows["disabled rec::a"].Value != "1" {
		t.Errorf("clear-unconfigured cleared the configured group's disable")
	}
	kept, _, err := LoadSettings(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range kept {
		if s.Name != "rec::a" && s.Value != "" {
			t.Errorf("the state file keeps %s in force", s)
		}
	}
}

// TestClearUnconfiguredAtTheCap: with a setting at the last version a
// node takes, no clear can be newer: clear-unconfigured is refused with
// why, clears nothing, and lists nothing as cleared.
func TestClearUnconfiguredAtTheCap(t *testing.T) {
	d, _, _ := daemonWithSettings(t, []cluster.Setting{
		{Kind: cluster.SettingDisabled, Name: "junk::1", Value: "1", Version: 4, Origin: "node2"},
		{Kind: cluster.SettingStandby, Name: "ghost", Value: "1", Version: cluster.MaxSettingVersion, Origin: "node2"},
	})
	r := d.answerSettings(ctl.Request{Cmd: "settings", Args: []string{"clear-unconfigured"}})
	if r.OK || !strings.Contains(r.Error, "the highest any node takes") || len(r.Data) > 0 {
		t.Errorf("clear-unconfigured at the cap: %+v, want a refusal saying why", r)
	}
	for _, s := range d.core.Settings() {
		if s.Value == "" {
			t.Errorf("%s cleared although refused", s)
		}
	}
}

// daemonWithSettings is a test daemon of reloadFiles whose state file
// held list at its start; its configuration and directory.
func daemonWithSettings(t *testing.T, list []cluster.Setting) (*Daemon, *config.Config, string) {
	t.Helper()
	dir := testenv.WriteConfigDir(t, reloadFiles)
	cfg, diags := config.Load(dir, reloadLoad)
	if cfg == nil {
		t.Fatal(diags)
	}
	if err := saveSettings(dir, list); err != nil {
		t.Fatal(err)
	}
	d, _, _ := newTestDaemonIn(t, cfg, &fakeRunner{}, dir)
	return d, cfg, dir
}
