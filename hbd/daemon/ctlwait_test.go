package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// TestCtlWaitsForTheLoopAtMost: a control request waits for the event
// loop at most ctlWait, then answers why: a loop that never takes it
// (stuck) has done nothing; one that took it and never answers may
// still apply it. A loop that answers in time is answered through.
func TestCtlWaitsForTheLoopAtMost(t *testing.T) {
	for _, tt := range []struct {
		name string
		loop func(calls chan ctlCall, stop chan struct{})
		want string // in the answer's error; "" none
	}{
		{"the loop never takes it", func(chan ctlCall, chan struct{}) {}, "did not take the request"},
		{"the loop takes it and never answers", func(calls chan ctlCall, stop chan struct{}) {
			select {
			case <-calls:
				<-stop
			case <-stop:
			}
		}, "it may still apply"},
		{"the loop answers", func(calls chan ctlCall, stop chan struct{}) {
			select {
			case c := <-calls:
				c.reply <- ctl.Response{OK: true}
			case <-stop:
			}
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &Daemon{calls: make(chan ctlCall), ctlWait: 50 * time.Millisecond}
			stop := make(chan struct{})
			defer close(stop)
			go tt.loop(d.calls, stop)
			got := make(chan ctl.Response, 1)
			go func() { got <- d.handleCtl(context.Background(), ctl.Request{Cmd: "status"}) }()
			var r ctl.Response
			select {
			case r = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("the request still waits for the loop after 10s")
			}
			switch {
			case tt.want == "" && (!r.OK || r.Error != ""):
				t.Errorf("answer %+v, want the loop's", r)
			case tt.want != "" && (r.OK || !strings.Contains(r.Error, tt.want)):
				t.Errorf("answer %+v, want an error saying %q", r, tt.want)
			}
		})
	}
}
