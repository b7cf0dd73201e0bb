package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadExclusive(t *testing.T) {
	hacf := "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n" // exclusive lines from line 4
	auth := "auth 1\n1 sha1 test-secret-0123456789\n"
	res := "node1 10.0.0.1 peer\n" + // group 1
		"node2 10.0.0.2 citizen\n" + // group 2
		"node2 10.0.0.3\n" // group 3
	scripts := map[string]string{"resource.d/peer": "#!/bin/sh\n", "resource.d/citizen": "#!/bin/sh\n", "resource.d/IPaddr": "#!/bin/sh\n"}
	tests := []struct {
		name  string
		lines string
		want  []want
		sets  [][]string
	}{
		{name: "none", lines: ""},
		{name: "by key", lines: "exclusive IPaddr::10.0.0.1 IPaddr::10.0.0.2\n",
			sets: [][]string{{"IPaddr::10.0.0.1", "IPaddr::10.0.0.2"}}},
		{name: "bare address and number", lines: "exclusive 2 10.0.0.1\n",
			sets: [][]string{{"IPaddr::10.0.0.2", "IPaddr::10.0.0.1"}},
			want: []want{w(4, "exclusive: 2 names a group by its number (its position in haresources), which names another group once a group is added or removed before it; write citizen")}},
		{name: "by unique resources", lines: "exclusive peer citizen\n",
			sets: [][]string{{"IPaddr::10.0.0.1", "IPaddr::10.0.0.2"}}},
		{name: "three in one set", lines: "exclusive 1 2 3\n",
			sets: [][]string{{"IPaddr::10.0.0.1", "IPaddr::10.0.0.2", "IPaddr::10.0.0.3"}},
			want: []want{w(4, "exclusive: 1 names a group by its number"), w(4, "exclusive: 2 names"), w(4, "exclusive: 3 names a group by its number (its position in haresources), which names another group once a group is added or removed before it; write IPaddr::10.0.0.3")}},
		{name: "one word only", lines: "exclusive 1\n", want: []want{e(4, "exclusive: wrong number of arguments (1)")}},
		{name: "unknown group", lines: "\nexclusive 1 10.0.0.9\n",
			want: []want{e(5, `exclusive: unknown resource group "10.0.0.9" (groups: IPaddr::10.0.0.1 IPaddr::10.0.0.2 IPaddr::10.0.0.3)`), w(5, "exclusive: 1 names")}},
		{name: "not a group", lines: "exclusive peer nginx\n",
			want: []want{e(4, `exclusive: unknown resource group "nginx" (groups: IPaddr::10.0.0.1 IPaddr::10.0.0.2 IPaddr::10.0.0.3)`)}},
		{name: "a resource of two groups", lines: "exclusive peer IPaddr\n",
			want: []want{e(4, `exclusive: "IPaddr" is in more than one resource group: name the group by its key or name (groups: IPaddr::10.0.0.1 IPaddr::10.0.0.2 IPaddr::10.0.0.3)`)}},
		{name: "number out of range", lines: "exclusive peer 4\n",
			want: []want{e(4, "exclusive: there is no group 4: haresources has 3 groups (a number is a group's position among them)")}},
		{name: "number zero", lines: "exclusive 0 peer\n",
			want: []want{e(4, "there is no group 0")}},
		{name: "twice in one set", lines: "exclusive peer 10.0.0.1\n",
			want: []want{e(4, "exclusive: group IPaddr::10.0.0.1 is listed twice")}},
		{name: "in two sets", lines: "exclusive peer citizen\nexclusive 10.0.0.3 IPaddr::10.0.0.1\n",
			want: []want{e(5, "exclusive: group IPaddr::10.0.0.1 is already in the exclusive set of line 4")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{HaCfFile: hacf + tt.lines, AuthkeysFile: auth, HaresourcesFile: res}
			for k, v := range scripts {
				files[k] = v
			}
			dir := writeConfig(t, files)
			cfg, diags := Load(dir, LoadOptions{Node: "node1"})
			var got []Diag
			for _, d := range diags {
				if strings.HasSuffix(d.Pos.File, HaCfFile) {
					got = append(got, d)
				}
			}
			checkDiags(t, got, tt.want)
			if wantsError(tt.want) {
				if cfg != nil {
					t.Errorf("config returned despite errors")
				}
				return
			}
			if cfg == nil {
				t.Fatalf("no config: %v", diags)
			}
			if !reflect.DeepEqual(cfg.Exclusive, tt.sets) {
				t.Errorf("Exclusive = %q, want %q", cfg.Exclusive, tt.sets)
			}
		})
	}
}

func TestDiffExclusive(t *testing.T) {
	old := &Config{Exclusive: [][]string{{"a", "b"}}}
	for _, tt := range []struct {
		sets [][]string
		want string
	}{
		{[][]string{{"a", "b"}}, ""},
		{[][]string{{"b", "a"}}, "exclusive [a b] -> [b a]"},
		{nil, "exclusive [a b] -> (none)"},
	} {
		var got []string
		for _, c := range Diff(old, &Config{Exclusive: tt.sets}) {
			if strings.Contains(c.String(), "exclusive") {
				got = append(got, c.String())
			}
		}
		if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)) {
			t.Errorf("Diff to %q: %q, want %q", tt.sets, got, tt.want)
		}
	}
}
