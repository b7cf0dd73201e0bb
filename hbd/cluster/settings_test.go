package cluster

import "testing"

func TestSettingsMergeNewestWins(t *testing.T) {
	mk := func(value string, ver uint64, origin string) Setting {
		return Setting{Kind: SettingMove, Name: "IPaddr::10.0.0.1", Value: value, Version: ver, Origin: origin}
	}
	tests := []struct {
		name   string
		in     []Setting
		result string
	}{
		{"later counter wins", []Setting{mk(">node1", 1, "node2"), mk("", 2, "node1")}, ""},
		{"order does not matter", []Setting{mk("", 2, "node1"), mk(">node1", 1, "node2")}, ""},
		{"same counter: origin breaks the tie", []Setting{mk("!node1", 3, "node2"), mk(">node1", 3, "node1")}, "!node1"},
		{"same counter, tie the other way", []Setting{mk(">node1", 3, "node1"), mk("!node1", 3, "node2")}, "!node1"},
	}
	for _, tt := range tests {
		ss := make(settings)
		for _, s := range tt.in {
			ss.merge(s)
		}
		if got := ss.value(SettingMove, "IPaddr::10.0.0.1"); got != tt.result {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.result)
		}
	}
}

func TestParseSettings(t *testing.T) {
	good := []Setting{
		{Kind: SettingStandby, Name: "node2", Value: "1", Version: 0x10, Origin: "node1"},
		{Kind: SettingMove, Name: "ocf:heartbeat:IPaddr2::ip=10.0.0.5::cidr_netmask=24", Value: "!node1", Version: 2, Origin: "node2"},
	}
	text := FormatSettings(good)
	got, err := ParseSettings(text)
	if err != nil || len(got) != 2 || got[0] != good[0] || got[1] != good[1] {
		t.Fatalf("ParseSettings(%q) = %+v, %v", text, got, err)
	}
	for _, bad := range []string{"standby:1:1:node1", "standby:2:1:node1:node2", "move:node1:1:node1:g", "x:1:1:node1:g", "disabled:1:zz:node1:g", "disabled:1:0:node1:g"} {
		if _, err := ParseSettings(bad); err == nil {
			t.Errorf("ParseSettings(%q) accepted it", bad)
		}
	}
}
