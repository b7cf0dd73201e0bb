package daemon

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHeartbeatHandler(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, script string
		want         bool
	}{
		// The shape of the heartbeat package's rc.d/ask_resources.
		{"heartbeat's own", "#!/bin/sh\n. /etc/ha.d/shellfuncs\n$HA_NOARCHBIN/ResourceManager takegroup $1\n", true},
		{"mach_down caller", "#!/bin/sh\n$HA_BIN/mach_down $HA_src\n", true},
		{"an operator's hook", "#!/bin/sh\necho \"$HA_src is $HA_st\" | mail -s heartbeat ops@example.org\n", false},
		{"missing", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if tc.script != "" {
				if err := os.WriteFile(p, []byte(tc.script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if got := heartbeatHandler(p); got != tc.want {
				t.Errorf("heartbeatHandler = %v, want %v", got, tc.want)
			}
		})
	}
}
