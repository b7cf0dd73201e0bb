package main

import (
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
)

func TestRscStatus(t *testing.T) {
	g := func(key, pref, holder, state string) cluster.GroupStatus {
		return cluster.GroupStatus{Key: key, Preferred: pref, Holder: holder, State: state}
	}
	tests := []struct {
		name   string
		groups []cluster.GroupStatus
		want   string
	}{
		{"no groups", nil, "none"},
		{"own group held", []cluster.GroupStatus{g("a", "n1", "n1", "running"), g("b", "n2", "n2", "running")}, "local"},
		{"peer's group held", []cluster.GroupStatus{g("a", "n1", "n2", "running"), g("b", "n2", "n1", "running")}, "foreign"},
		{"everything", []cluster.GroupStatus{g("a", "n1", "n1", "running"), g("b", "n2", "n1", "running")}, "all"},
		{"nothing held", []cluster.GroupStatus{g("a", "n1", "n2", "running")}, "none"},
		{"starting here", []cluster.GroupStatus{g("a", "n1", "n1", "starting")}, "transition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rscStatus("n1", tc.groups); got != tc.want {
				t.Errorf("rscStatus = %q, want %q", got, tc.want)
			}
		})
	}
}
