package daemon

import (
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// TestPairStormNoDeath: a pair at keepalive 20 ms / deadtime 200 ms, node1
// holding, node2 quiet, both loops running, nothing lost on the network.
// Meanwhile every other source of events hits both loops at random
// moments: control requests, ping statuses, SIGHUPs (a reload that finds
// no files and changes nothing). However the loops' waits and wake-ups
// fall, neither declares the other, or a link of it, dead, no seq of
// either is lost, and node1's view of node2 stays fresh.
func TestPairStormNoDeath(t *testing.T) {
	if testing.Short() {
		t.Skip("a storm of a few seconds")
	}
	const ka, dt = 20 * time.Millisecond, 200 * time.Millisecond
	p := newPair(t, ka, dt)
	p.waitQuiet(15 * time.Second)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 {
		d, sigs := p.ends[i].d, p.rigs[i].sigs
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(rand.IntN(5000)) * time.Microsecond):
				}
				switch rand.IntN(10) {
				case 0, 1, 2, 3:
					c := ctlCall{req: ctl.Request{Cmd: "status"}, reply: make(chan ctl.Response, 1)}
					d.calls <- c
					<-c.reply
				case 4, 5, 6, 7, 8:
					select {
					case d.sbEvents <- cluster.PingStatus{Now: time.Now()}:
					default:
					}
				case 9:
					if rand.IntN(10) != 0 {
						continue // a SIGHUP in a hundred events
					}
					select {
					case sigs <- syscall.SIGHUP:
					default:
					}
				}
			}
		}()
	}
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	for i := range 2 {
		if d := p.deaths(i); len(d) > 0 {
			t.Errorf("node%d declared deaths with nothing lost:\n%s", i+1, strings.Join(d, "\n"))
		}
		for _, l := range strings.Split(p.ends[i].logs.String(), "\n") {
			if strings.Contains(l, "lost") {
				t.Errorf("node%d: %s", i+1, l)
			}
		}
	}
	st := p.status(0)
	if len(st.Peers) != 1 || st.Peers[0].State != cluster.StateActive || st.Peers[0].Lost != 0 {
		t.Errorf("node1 sees node2 %+v, want active, nothing lost", st.Peers)
	}
}
