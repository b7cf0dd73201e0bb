package etcdbench

import (
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStarted(t *testing.T) {
	page := `# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 12
grpc_server_started_total{grpc_method="LeaseKeepAlive",grpc_service="etcdserverpb.Lease",grpc_type="bidi_stream"} 7
grpc_server_started_total{grpc_method="Range",grpc_service="other.KV",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 99
`
	got, err := parseStarted(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]float64{"Range": 13, "LeaseKeepAlive": 7}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseStarted(strings.NewReader("etcd_server_has_leader 1\n")); err == nil {
		t.Error("a page without the metric: no error")
	}
	if _, err := parseStarted(strings.NewReader(`grpc_server_started_total{grpc_method="Range"} x` + "\n")); err == nil {
		t.Error("a malformed value: no error")
	}
}

// TestUsageOf: this process's CPU time grows with work it does, and its
// resident memory is known.
func TestUsageOf(t *testing.T) {
	u0, err := usageOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(end) {
	}
	u1, err := usageOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u1.cpu <= u0.cpu || u1.rss <= 0 {
		t.Errorf("usage before %+v, after 100 ms of work %+v", u0, u1)
	}
}

// TestTrackerOrder: the nodes' lines, read out of order, are put back in
// the order of their times.
func TestTrackerOrder(t *testing.T) {
	at := func(ms int) string {
		return strconv.FormatInt(time.Unix(0, 0).Add(time.Duration(ms)*time.Millisecond).UnixNano(), 10)
	}
	tr := &tracker{running: map[string]string{}, started: map[string]time.Time{}}
	// n1 ran g001 from 1 to 2 ms, n2 from 3 ms; n2's line is read first.
	tr.line("n2", "start g001 7 "+at(3))
	tr.line("n1", "start g001 5 "+at(1))
	tr.line("n1", "stop g001 5 "+at(2))
	if got := tr.running["g001"]; got != "n2" {
		t.Errorf("g001 runs on %q, want n2", got)
	}
	tr.line("n2", "stop g001 7 "+at(4))
	if got, ok := tr.running["g001"]; ok {
		t.Errorf("g001 runs on %q after its stop", got)
	}
}
