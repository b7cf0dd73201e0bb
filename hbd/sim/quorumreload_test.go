package sim

import (
	"strings"
	"testing"
)

// TestReloadLengthensQuorumWait: in RandomReloadConfig seed 7223 a
// partition cuts one node of three off under a 2 s deadtime, and every
// node then reloads to 4 s while the majority waits for the cut-off node
// to notice and stop. The cut-off node notices under the new deadtime,
// so the majority's pending wait must grow with it: without that both
// sides held IPaddr::10.99.0.104/24/eth0 across the partition.
func TestReloadLengthensQuorumWait(t *testing.T) {
	c := RandomReloadConfig(7223)
	c.Trace = true
	res := Run(c)
	for _, v := range res.Violations {
		t.Errorf("violation: %s", v)
	}
	grew := false
	for _, l := range res.Trace {
		if strings.Contains(l, "Quorum: the deadtime grew by") {
			grew = true
			break
		}
	}
	if !grew {
		t.Errorf("no node extended a pending quorum wait on the reload: the seed no longer exercises it")
	}
}
