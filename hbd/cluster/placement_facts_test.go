package cluster

import (
	"reflect"
	"testing"
)

func TestPlacementDesired(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	groups := []PlacedGroup{{"web", "n1"}, {"db", "n2"}}
	tests := []struct {
		name     string
		failback bool
		excl     [][]string
		live     []string
		holders  map[string]string
		want     map[string]string
	}{
		{"all live", true, nil, nodes, nil, map[string]string{"web": "n1", "db": "n2"}},
		{"preferred dead: the next in node order", true, nil, []string{"n2", "n3"}, nil, map[string]string{"web": "n2", "db": "n2"}},
		{"wraps", true, nil, []string{"n1", "n3"}, nil, map[string]string{"web": "n1", "db": "n3"}},
		{"failback on returns it", true, nil, nodes, map[string]string{"web": "n3"}, map[string]string{"web": "n1", "db": "n2"}},
		{"failback off keeps the holder", false, nil, nodes, map[string]string{"web": "n3"}, map[string]string{"web": "n3", "db": "n2"}},
		{"a dead holder is not kept", false, nil, []string{"n1", "n2"}, map[string]string{"web": "n3"}, map[string]string{"web": "n1", "db": "n2"}},
		{"nobody live", true, nil, nil, nil, map[string]string{"web": "", "db": ""}},
		{"exclusive: the first listed wins", true, [][]string{{"web", "db"}}, []string{"n2"}, nil, map[string]string{"web": "n2", "db": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Placement{Nodes: nodes, Failback: tt.failback, Exclusive: tt.excl, Groups: groups, Live: tt.live, Holders: tt.holders}
			if got := p.Desired(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlacementSettings: the operator settings and failures a backend
// records (standby, disable, move, failed) act as in the core.
func TestPlacementSettings(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	groups := []PlacedGroup{{"web", "n1"}, {"db", "n2"}}
	tests := []struct {
		name string
		p    Placement
		want map[string]string
	}{
		{"standby holds nothing", Placement{Standby: map[string]bool{"n1": true}},
			map[string]string{"web": "n2", "db": "n2"}},
		{"every live node in standby: nobody", Placement{Standby: map[string]bool{"n1": true, "n2": true, "n3": true}},
			map[string]string{"web": "", "db": ""}},
		{"disabled runs nowhere", Placement{Disabled: map[string]bool{"db": true}},
			map[string]string{"web": "n1", "db": ""}},
		{"moved to a node stays there despite failback", Placement{Moves: map[string]string{"web": ">n3"}},
			map[string]string{"web": "n3", "db": "n2"}},
		{"moved to a node in standby: the rule as usual", Placement{Moves: map[string]string{"web": ">n3"}, Standby: map[string]bool{"n3": true}},
			map[string]string{"web": "n1", "db": "n2"}},
		{"moved away from a node", Placement{Moves: map[string]string{"web": "!n1"}},
			map[string]string{"web": "n2", "db": "n2"}},
		{"failed on the preferred node: the next", Placement{Failed: map[string]map[string]bool{"n1": {"web": true}}},
			map[string]string{"web": "n2", "db": "n2"}},
		{"standing by for a group: the next willing node, despite failback", Placement{StandsBy: map[string]map[string]bool{"n1": {"web": true}}, Holders: map[string]string{"web": "n1"}},
			map[string]string{"web": "n2", "db": "n2"}},
		{"standing by, nobody else willing: kept", Placement{StandsBy: map[string]map[string]bool{"n1": {"web": true}, "n2": {"web": true}, "n3": {"web": true}}, Holders: map[string]string{"web": "n1"}},
			map[string]string{"web": "n1", "db": "n2"}},
		{"standing by, the others not eligible: taken back", Placement{StandsBy: map[string]map[string]bool{"n1": {"web": true}}, Failed: map[string]map[string]bool{"n2": {"web": true}, "n3": {"web": true}}},
			map[string]string{"web": "n1", "db": "n2"}},
		{"failed everywhere: nobody", Placement{Failed: map[string]map[string]bool{"n1": {"web": true}, "n2": {"web": true}, "n3": {"web": true}}},
			map[string]string{"web": "", "db": "n2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Nodes, p.Failback, p.Groups, p.Live = nodes, true, groups, nodes
			if got := p.Desired(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
