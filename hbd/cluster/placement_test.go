package cluster

import (
	"slices"
	"strings"
	"testing"
)

// ruleFacts is a view of nodes, every one active and announced, with
// quorum, auto_failback off, and the groups as key:pref pairs.
func ruleFacts(nodes []string, groups ...string) *facts {
	f := &facts{nodes: nodes, quorum: true}
	for _, name := range nodes {
		f.members = append(f.members, memberFacts{name: name, active: true})
	}
	for _, kp := range groups {
		key, pref, _ := strings.Cut(kp, ":")
		f.groups = append(f.groups, groupFacts{key: key, pref: pref})
	}
	return f
}

func keys(ks ...string) map[string]bool {
	m := make(map[string]bool)
	for _, k := range ks {
		m[k] = true
	}
	return m
}

func TestDesired(t *testing.T) {
	ab := []string{"a", "b"}
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name   string
		nodes  []string
		groups []string // key:pref, haresources order
		set    func(f *facts)
		group  string
		want   string
	}{
		{
			name: "nobody holds it: the preferred node", nodes: ab, groups: []string{"web:b"},
			group: "web", want: "b",
		},
		{
			name: "auto_failback on: the preferred node, from its holder", nodes: ab, groups: []string{"web:a"},
			set:   func(f *facts) { f.failback = true; f.member("b").held = keys("web") },
			group: "web", want: "a",
		},
		{
			name: "auto_failback off: stays with its holder", nodes: ab, groups: []string{"web:a"},
			set:   func(f *facts) { f.member("b").held = keys("web") },
			group: "web", want: "b",
		},
		{
			name: "auto_failback on, preferred node stands by: stays with its holder", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.failback = true
				f.member("a").standby = keys("web")
				f.member("b").held = keys("web")
			},
			group: "web", want: "b",
		},
		{
			name: "holder stands by: the next willing node", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.member("a").held = keys("web")
				f.member("a").standby = keys("web")
			},
			group: "web", want: "b",
		},
		{
			name: "two holders (healed partition): the first from the preferred node on", nodes: abc, groups: []string{"web:b"},
			set: func(f *facts) {
				f.member("a").held = keys("web")
				f.member("c").held = keys("web")
			},
			group: "web", want: "c",
		},
		{
			name: "3 nodes, preferred dead: its successor", nodes: abc, groups: []string{"web:b"},
			set:   func(f *facts) { f.member("b").active = false },
			group: "web", want: "c",
		},
		{
			name: "3 nodes, last node preferred and dead: the successor wraps", nodes: abc, groups: []string{"web:c"},
			set:   func(f *facts) { f.member("c").active = false },
			group: "web", want: "a",
		},
		{
			name: "3 nodes, preferred unknown to the view: the successor wraps", nodes: abc, groups: []string{"web:c"},
			set:   func(f *facts) { f.members = f.members[:2] },
			group: "web", want: "a",
		},
		{
			name: "standby: another node takes it", nodes: ab, groups: []string{"web:a"},
			set:   func(f *facts) { f.member("a").standby = keys("web") },
			group: "web", want: "b",
		},
		{
			name: "standby still takes what nobody else can hold", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.member("a").standby = keys("web")
				f.member("b").active = false
			},
			group: "web", want: "a",
		},
		{
			name: "every node stands by: the first eligible from the preferred one", nodes: abc, groups: []string{"web:b"},
			set: func(f *facts) {
				for i := range f.members {
					f.members[i].standby = keys("web")
				}
			},
			group: "web", want: "b",
		},
		{
			name: "nobody eligible: nobody", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.member("a").active = false
				f.member("b").active = false
			},
			group: "web", want: "",
		},
		{
			name: "no quorum: nobody, not even the holder", nodes: abc, groups: []string{"web:a"},
			set: func(f *facts) {
				f.quorum = false
				f.member("a").held = keys("web")
			},
			group: "web", want: "",
		},
		{
			name: "failed on the preferred node: the next one", nodes: ab, groups: []string{"web:a"},
			set:   func(f *facts) { f.failback = true; f.member("a").failed = keys("web") },
			group: "web", want: "b",
		},
		{
			name: "failed everywhere: nobody", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.member("a").failed = keys("web")
				f.member("b").failed = keys("web")
			},
			group: "web", want: "",
		},
		{
			name: "failed on its holder: moves", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.member("b").held = keys("web")
				f.member("b").failed = keys("web")
			},
			group: "web", want: "a",
		},
		{
			name: "exclusive: the first listed takes the shared preferred node", nodes: ab, groups: []string{"db:a", "batch:a"},
			set:   func(f *facts) { f.exclusive = [][]string{{"db", "batch"}} },
			group: "db", want: "a",
		},
		{
			name: "exclusive: the second listed goes elsewhere", nodes: ab, groups: []string{"db:a", "batch:a"},
			set:   func(f *facts) { f.exclusive = [][]string{{"db", "batch"}} },
			group: "batch", want: "b",
		},
		{
			name: "exclusive: the second listed leaves its holder for the first", nodes: ab, groups: []string{"db:a", "batch:a"},
			set: func(f *facts) {
				f.exclusive = [][]string{{"db", "batch"}}
				f.member("a").held = keys("batch")
			},
			group: "batch", want: "b",
		},
		{
			name: "exclusive: the second listed runs nowhere when one node is left", nodes: ab, groups: []string{"db:a", "batch:b"},
			set: func(f *facts) {
				f.exclusive = [][]string{{"db", "batch"}}
				f.member("a").active = false
			},
			group: "batch", want: "",
		},
		{
			name: "exclusive: a group probed there blocks the later ones", nodes: abc, groups: []string{"db:b", "batch:a"},
			set: func(f *facts) {
				f.exclusive = [][]string{{"db", "batch"}}
				f.member("a").probing = keys("db")
			},
			group: "batch", want: "c",
		},
		{
			name: "exclusive: a removed group blocks nothing", nodes: ab, groups: []string{"db:a", "batch:a"},
			set: func(f *facts) {
				f.exclusive = [][]string{{"db", "batch"}}
				f.groups[0].removed = true
			},
			group: "batch", want: "a",
		},
		{
			name: "ping: the preferred node reaches fewer ping nodes", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.ping, f.failback = true, true
				a, b := f.member("a"), f.member("b")
				a.reach, a.reachKnown = 0, true
				b.reach, b.reachKnown = 1, true
			},
			group: "web", want: "b",
		},
		{
			name: "ping: an unknown count changes nothing", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.ping = true
				a := f.member("a")
				a.reach, a.reachKnown = 0, true
			},
			group: "web", want: "a",
		},
		{
			name: "ping: the better node is not eligible", nodes: ab, groups: []string{"web:a"},
			set: func(f *facts) {
				f.ping = true
				a, b := f.member("a"), f.member("b")
				a.reach, a.reachKnown = 0, true
				b.reach, b.reachKnown = 1, true
				b.failed = keys("web")
			},
			group: "web", want: "a",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ruleFacts(tc.nodes, tc.groups...)
			if tc.set != nil {
				tc.set(f)
			}
			if got := f.desired(f.group(tc.group)); got != tc.want {
				t.Errorf("desired(%s) = %q, want %q", tc.group, got, tc.want)
			}
		})
	}
}

func TestHolders(t *testing.T) {
	f := ruleFacts([]string{"a", "b", "c"}, "web:b")
	f.member("a").held = keys("web")
	f.member("c").held = keys("web")
	if got, want := f.holders(f.group("web")), []string{"c", "a"}; !slices.Equal(got, want) {
		t.Errorf("holders = %v, want %v (from the preferred node on)", got, want)
	}
	f.members = f.members[1:] // a is no longer tracked
	if got, want := f.holders(f.group("web")), []string{"c"}; !slices.Equal(got, want) {
		t.Errorf("holders = %v, want %v", got, want)
	}
}
