package initfiles_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/paths"
	initfiles "github.com/hbdproject/hbd/init"
)

// TestFilesNameDefaultPaths: the service files are shell and systemd
// text, which cannot take hbd/paths' constants; each must name the same
// directories, or hbd and its service would look in different places.
func TestFilesNameDefaultPaths(t *testing.T) {
	for _, tc := range []struct {
		file, text string
		line       string // a whole line the file must hold
	}{
		{"heartbeat", initfiles.SysVScript, "HBD_CONFIG_DIR=" + paths.ConfigDir},
		{"heartbeat", initfiles.SysVScript, "HBD_RUN_DIR=" + paths.RunDir},
		{"heartbeat", initfiles.SysVScript, "HBD_STATE_DIR=" + paths.StateDir},
		{"heartbeat", initfiles.SysVScript, "PIDFILE=$HBD_RUN_DIR/" + ctl.PidFileName},
		{"default", initfiles.Default, "#HBD_CONFIG_DIR=" + paths.ConfigDir},
		{"default", initfiles.Default, "#HBD_RUN_DIR=" + paths.RunDir},
		{"default", initfiles.Default, "#HBD_STATE_DIR=" + paths.StateDir},
		{"heartbeat.service", initfiles.SystemdUnit, "Environment=HBD_CONFIG_DIR=" + paths.ConfigDir + " HBD_NODE="},
		// systemd makes RuntimeDirectory= under /run, StateDirectory= under /var/lib.
		{"heartbeat.service", initfiles.SystemdUnit, "RuntimeDirectory=" + strings.TrimPrefix(paths.RunDir, "/run/")},
		{"heartbeat.service", initfiles.SystemdUnit, "StateDirectory=" + strings.TrimPrefix(paths.StateDir, "/var/lib/")},
	} {
		lines := strings.Split(tc.text, "\n")
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		if !slices.Contains(lines, tc.line) {
			t.Errorf("init/%s has no line %q", tc.file, tc.line)
		}
	}
	if pid := paths.RunDir + "/" + ctl.PidFileName; !strings.Contains(initfiles.Logrotate, pid) {
		t.Errorf("init/logrotate does not name the pid file %s", pid)
	}
}
