package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// TestCheckBoundary: the boundary check finds each kind of broken
// contract, and passes a well-formed sequence.
func TestCheckBoundary(t *testing.T) {
	web := config.Group{Preferred: "n1", Resources: []config.Resource{{Spec: "web", Name: "web"}}}
	startOK := cluster.OpDone{Group: "web", Op: cluster.OpStart, Result: cluster.ResultOK}
	hookMsg := &wire.Message{}
	hookMsg.Set("t", "ip-request")
	hookMsg.Set("src", "n2")
	recv := cluster.Receive{Msg: hookMsg}
	hook := cluster.RunHook{Event: "ip-request", Fields: map[string]string{"t": "ip-request", "src": "n2", "hg": "0", "seq": "1"}}
	type step struct {
		ev   cluster.Event
		acts []cluster.Action
	}
	tests := []struct {
		name  string
		steps []step
		want  string // "" = no violation
	}{
		{"watch, unwatch, stop", []step{
			{startOK, []cluster.Action{cluster.WatchGroup{Group: "web", Spec: web}}},
			{cluster.Stop{}, []cluster.Action{cluster.UnwatchGroup{Group: "web"}, cluster.StopGroup{Group: "web", Spec: web}}},
		}, ""},
		{"stop while watched", []step{
			{startOK, []cluster.Action{cluster.WatchGroup{Group: "web", Spec: web}}},
			{cluster.Stop{}, []cluster.Action{cluster.StopGroup{Group: "web", Spec: web}}},
		}, "StopGroup web while it is watched"},
		{"watch without a start", []step{
			{cluster.Tick{}, []cluster.Action{cluster.WatchGroup{Group: "web", Spec: web}}},
		}, "not on its start's OpDone ok"},
		{"watched twice", []step{
			{startOK, []cluster.Action{cluster.WatchGroup{Group: "web", Spec: web}}},
			{startOK, []cluster.Action{cluster.WatchGroup{Group: "web", Spec: web}}},
		}, "already watched"},
		{"unwatch of a group not watched", []step{
			{cluster.Tick{}, []cluster.Action{cluster.UnwatchGroup{Group: "web"}}},
		}, "not watched"},
		{"exit while watched", []step{
			{startOK, []cluster.Action{cluster.WatchGroup{Group: "web", Spec: web}}},
			{cluster.Tick{}, []cluster.Action{cluster.Exit{}}},
		}, "Exit with groups watched"},
		{"reannounce without its spec", []step{
			{cluster.Tick{}, []cluster.Action{cluster.Reannounce{Group: "web"}}},
		}, "Reannounce web carries the Spec"},
		{"peer state the core does not see", []step{
			{cluster.Tick{}, []cluster.Action{cluster.PeerState{Node: "n2", State: "active"}}},
		}, "PeerState n2=active"},
		{"prepare, then start", []step{
			{cluster.Tick{}, []cluster.Action{cluster.PrepareGroup{Group: "web", Spec: web, From: "n2"}}},
			{cluster.Tick{}, []cluster.Action{cluster.StartGroup{Group: "web", Spec: web}}},
		}, ""},
		{"prepare without its spec", []step{
			{cluster.Tick{}, []cluster.Action{cluster.PrepareGroup{Group: "web", From: "n2"}}},
		}, "PrepareGroup web carries the Spec"},
		{"prepare of a group running here", []step{
			{startOK, []cluster.Action{cluster.WatchGroup{Group: "web", Spec: web}}},
			{cluster.Tick{}, []cluster.Action{cluster.PrepareGroup{Group: "web", Spec: web, From: "n2"}}},
		}, "PrepareGroup web while it is watched"},
		{"prepare of its own release", []step{
			{cluster.Tick{}, []cluster.Action{cluster.PrepareGroup{Group: "web", Spec: web, From: "n1"}}},
		}, `names "n1" as the releasing peer`},
		{"hook once", []step{{recv, []cluster.Action{hook}}}, ""},
		{"hook twice for one message", []step{{recv, []cluster.Action{hook}}, {recv, []cluster.Action{hook}}}, "twice for the message n2/0/1"},
		{"hook without a message", []step{{cluster.Tick{}, []cluster.Action{hook}}}, "not on a Receive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{ThisNode: "n1", Nodes: []string{"n1", "n2"}, Keepalive: time.Second, Warntime: 2 * time.Second, Deadtime: 3 * time.Second, Initdead: 10 * time.Second}
			w := &world{nodes: []*simNode{{name: "n1", core: cluster.New(cluster.Options{Config: cfg, Now: Epoch})}}}
			for _, s := range tc.steps {
				w.checkBoundary(0, s.ev, s.acts)
			}
			var got []string
			for _, v := range w.res.Violations {
				got = append(got, v.Detail)
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("violations %q, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("violations %q, want one saying %q", got, tc.want)
			}
		})
	}
}
