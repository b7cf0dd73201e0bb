package etcdown

import (
	"fmt"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// BenchmarkPass is the CPU of one pass of the loop at rest: the view
// read from the copy of the keys and the placement rule over it, with
// every group on its preferred node.
func BenchmarkPass(b *testing.B) {
	for _, size := range []struct{ nodes, groups int }{{3, 200}, {16, 200}, {32, 1000}, {64, 2000}} {
		b.Run(fmt.Sprintf("%dx%d", size.nodes, size.groups), func(b *testing.B) {
			var nodes []string
			st := newStore("/hbd/")
			rev := int64(1)
			for i := range size.nodes {
				n := fmt.Sprintf("n%02d", i+1)
				nodes = append(nodes, n)
				st.wrote(kv{key: "/hbd/" + dirMembers + n, value: n, lease: int64(i + 1), created: rev}, rev, false)
				rev++
			}
			var groups []cluster.PlacedGroup
			for i := range size.groups {
				g, pref := fmt.Sprintf("g%04d", i), nodes[i%len(nodes)]
				groups = append(groups, placed(g, pref))
				st.wrote(kv{key: "/hbd/" + dirOwners + g, value: pref, lease: int64(i%len(nodes) + 1), created: rev}, rev, false)
				rev++
			}
			b.ResetTimer()
			for b.Loop() {
				v, _ := st.view()
				d := cluster.Placement{Nodes: nodes, Failback: true, Groups: groups, Live: v.live, Holders: v.holder,
					Standby: v.standby, Disabled: v.disabled, Moves: v.moves, Failed: v.failed}.Desired()
				if d[groups[0].Key] != nodes[0] {
					b.Fatalf("group %s placed on %q", groups[0].Key, d[groups[0].Key])
				}
			}
		})
	}
}
