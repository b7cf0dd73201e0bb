package sim

import (
	"strconv"
	"strings"
	"testing"
)

// foundSeeds are seeds of TestFreshSeeds (or, with gen "routine/NAME",
// of TestRoutineReads) that once failed, kept with the bug they caught
// so that every run replays them: the fixed seeds of the other tests did
// not reach these stories.
var foundSeeds = []struct {
	gen    string // a goldenGenerators or freshOnlyGenerators name, or routine/ and one
	seed   uint64
	caught string
}{
	{"widereload", 42278644754, "five nodes, quorum: node4 came back from a partition with one resource message (holding a group) and no status, and was cut off again; node3 never declared it dead again, so its quorum wait did not cover node4's stop, and node3 started the group while node4 still stopped it"},
	{"widereload", 336247517967, "two nodes: a reload removed every group while node2's standby handoff waited for an answer; reconcile returned early with no group, so the handoff never timed out and NextTick stayed at its past deadline (a daemon would spin)"},
	{"quorum", 436918777064, "three nodes: node2 restarted cut off from node1 and declared it dead at initdead, never heard, so without the quorum wait; node3, which had heard node1 until the partition moved, waited, but already named node2 the holder of node1's group, and node2 started it while node1 still ran it"},
	{"nodeset", 962842220370, "the simulation's own check: node1 forgot node2 (a reload removed it) after hearing node2's restart and named it again; the restart-seen check still expected node1 to see node2 up one keepalive after the restart, before node2's next status"},
	{"widereload", 827594599680, "profile safe: node3 declared node2 dead while a reload had left it no group, so it fenced nothing; the next reload gave it groups back and it started node2's group unfenced while node2 still stopped it"},
	{"widereload", 577197441199, "five nodes, quorum: node4, cut off with node3, had declared node5 dead; a partition cut node5 off alone just after it started node4's group with node1's and node2's consent, and gave node4 the majority back; node4 waited one deadtime, node1 (not yet seeing node5 dead) named node4 the holder, and node4 started the group while node5, noticing its lost quorum, still stopped it"},
	{"nodeset", 577197440793, "the simulation's own check: a partition left node1 and node2 both holding a group, and the removal of node4 had reached node2 but not node1, so each was the keeper by its own preferred node until node1 reloaded; the heal bound ran from the heal, not from when their configurations agreed"},
	{"widereload", 788255204790, "two nodes, two reloads in a row: node1, on the second, had handed a group to node2, which on the first still named node1; node1 applied the third (the group back to node1) and started it at once on node2's old consent, while node2 applied the second (the group to node2) and started it on node1's old one: the wants crossed in flight"},
	{"widereload", 1038283627222, "five nodes, quorum: node4 reloaded a shorter deadtime while the longer one of the reload before still applied, and so kept it for another 5.25 s; a partition cut node4 off, node2 (restarted since, at the new 1.5 s) waited two of its own deadtimes after node4's death and started node4's group while node4, slow to notice the lost quorum, still stopped it"},
	{"reload", 780692001798, "two nodes: after a heal node1 and node2 both held two groups (node2 kept them) when node1 began a graceful stop; the stop released one group at a time, 7 s stop scripts each, so one duplicate outlived the heal bound by waiting for every stop before it"},
	{"widereload", 183729693608, "five nodes: node4 went standby while a partition cut node5 off (node1 took its groups); node5 declared node4 dead, and after the heal received node4's announcements saying isstable=1, then its old ask_resources info=me, resent at node2's request; node5 served it and waited for a done sent during the partition, so node4's group 10.99.0.102, which the rule then gave node5, never started"},
	{"leadreload", 1342, "five nodes, quorum: a partition cut node5 (holding 10.99.0.101) and node2 off; node5 then applied a reload from deadtime 1.5 s to 5.25 s, 16 s before the others, and noticed the lost majority only 5.25 s after the cut, while the majority, which had heard 1.5 s, started the group 3 s after its death"},
	{"stopcut", 154, "three nodes, quorum: node2 stopped gracefully holding four groups and a partition cut it off after its first release; node3 took node2's silence for the end of its stop (it had announced hbd_stopping=1) and started every group at once without the quorum wait, while node2, cut off, kept releasing them one at a time without noticing it had lost the majority"},
	{"routine/nodeset", 386, "the simulation's own check: node2's first status of its new run waited at node1, read as the daemon reads it, while a reload naming node2 reached node1; the core read it before the reload, under the configuration without node2, and rightly ignored it, but the checks already counted node1's new configuration and expected node1 to see node2's new generation"},
}

func TestFoundSeeds(t *testing.T) {
	gens := make(map[string]func(uint64) Config, 2*(len(goldenGenerators)+len(freshOnlyGenerators)))
	for _, g := range everyGenerator() {
		gens[g.name] = g.gen
		gens["routine/"+g.name] = withRoutineReads(g.gen)
	}
	for _, f := range foundSeeds {
		t.Run(f.gen+"/"+strconv.FormatUint(f.seed, 10), func(t *testing.T) {
			gen, ok := gens[f.gen]
			if !ok {
				t.Fatalf("no generator %q", f.gen)
			}
			c := withCodec(gen)(f.seed)
			if res := Run(c); len(res.Violations) > 0 {
				t.Logf("this seed caught: %s", f.caught)
				test := "TestFreshSeeds/" + f.gen
				if name, ok := strings.CutPrefix(f.gen, "routine/"); ok {
					test = "TestRoutineReads/" + name
				}
				report(t, test, c, res)
			}
		})
	}
}
