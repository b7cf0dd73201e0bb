package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/wire"
)

// TestPairHostilePeerSettings: node2 holds the authkeys but its
// announcements carry settings of its own making, new ones each time:
// three at the longest name the caps take and one over them, a datagram
// each. Six of them hold more than the table keeps (node2 announces
// again whenever it takes what node1 announced of them; once node1's
// table is full it takes nothing new, and the exchange ends). node1
// keeps a table within the caps and a state file as small, says once
// that it refused what is over them, and its announcements still go
// out: the operator's move of the group to node2, made on node1, takes
// it there.
func TestPairHostilePeerSettings(t *testing.T) {
	const ka, dt, enough = 50 * time.Millisecond, 400 * time.Millisecond, 6
	p := newPair(t, ka, dt)
	var mu sync.Mutex
	hostile := 0
	p.net.mu.Lock()
	p.net.alter = func(from string, m *wire.Message) bool {
		mu.Lock()
		defer mu.Unlock()
		if from != "node2" || m.Type() != wire.TResource || hostile >= 40 {
			return false
		}
		hostile++
		var list []cluster.Setting
		for i := range 3 {
			name := fmt.Sprintf("IPaddr::%03d-%d", hostile, i)
			list = append(list, cluster.Setting{Kind: cluster.SettingMove, Name: name + strings.Repeat("n", cluster.MaxSettingName-len(name)),
				Value: ">node2", Version: uint64(1<<20 + hostile), Origin: "node2"})
		}
		list = append(list, cluster.Setting{Kind: cluster.SettingMove, Name: fmt.Sprintf("g%d", hostile),
			Value: ">" + strings.Repeat("v", config.MaxNodeName+1), Version: uint64(1<<20 + hostile), Origin: "node2"})
		m.Set(wire.FHbdSettings, cluster.FormatSettings(list))
		return true
	}
	p.net.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return hostile
	}
	for count() < enough && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	logs1 := p.ends[0].logs.String()
	if done := count(); done < enough {
		t.Fatalf("node2 made %d hostile announcements, want %d\nnode1:\n%.3000s", done, enough, logs1)
	}
	// The operator moves the group to node2, on node1: node1's
	// announcements must carry the move and its release.
	c := ctlCall{req: ctl.Request{Cmd: "group", Args: []string{"move", "web", "node2"}}, reply: make(chan ctl.Response, 1)}
	p.ends[0].d.calls <- c
	if r := <-c.reply; r.Error != "" {
		t.Fatalf("group move: %s", r.Error)
	}
	var st cluster.Status
	for time.Now().Before(deadline) {
		if st = p.status(1); len(st.Groups) == 1 && st.Groups[0].Holder == "node2" && st.Groups[0].State == "running" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	logs1 = p.ends[0].logs.String()
	if len(st.Groups) != 1 || st.Groups[0].Holder != "node2" || st.Groups[0].State != "running" {
		t.Fatalf("after the move node2 reads the group as %+v\nnode1:\n%.3000s", st.Groups, logs1)
	}
	sets := p.status(0).Settings
	text := cluster.FormatSettings(sets)
	if len(sets) == 0 || len(sets) > cluster.MaxSettings || len(text) > cluster.MaxSettingsBytes {
		t.Errorf("node1 keeps %d settings, %d bytes", len(sets), len(text))
	}
	for _, s := range sets {
		if len(s.Value) > cluster.MaxSettingValue {
			t.Errorf("node1 keeps a setting over a cap: %.80s", s.String())
		}
	}
	if fi, err := os.Stat(filepath.Join(p.ends[0].d.opts.StateDir, settingsFile)); err != nil || fi.Size() > cluster.MaxSettingsBytes {
		t.Errorf("node1's settings file: %v", err)
	}
	if n := strings.Count(logs1, "Settings from node2: "); n != 1 || !strings.Contains(logs1, "refused (a value of 102 bytes") {
		t.Errorf("node1 wrote %d lines of refused settings, want 1 naming the value:\n%.3000s", n, logs1)
	}
	if strings.Contains(logs1, "Resource announcement not sent") {
		t.Errorf("node1 held back an announcement")
	}
}
