package daemon

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
)

// TestLogOutputsFromConfig: the logger gets every logging setting of
// ha.cf, and the keepalive that bounds its waits.
func TestLogOutputsFromConfig(t *testing.T) {
	cfg := &config.Config{Logfile: "/var/log/ha-log", Debugfile: "/var/log/ha-debug", DebugfileMS: true,
		LogFacility: "local0", Debug: 1, Keepalive: 10 * time.Millisecond}
	want := logging.Outputs{Logfile: "/var/log/ha-log", Debugfile: "/var/log/ha-debug", DebugMillis: true,
		Facility: "local0", Debug: 1, Keepalive: 10 * time.Millisecond}
	if got := outputs(cfg); got != want {
		t.Errorf("outputs = %+v, want %+v", got, want)
	}
}
