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
