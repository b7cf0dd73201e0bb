package harc

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestRunEvent(t *testing.T) {
	f := newFixture(t)
	f.hook("status", `#!/bin/sh
echo "$0 $*" > "$CTL/hook-args"
env > "$CTL/hook-env"
echo "status hook ran"
`, 0o755)
	f.opts.NiceFailback = true
	r := f.runner()
	err := r.RunEvent(context.Background(), "status", map[string]string{
		"t": "status", "st": "dead", "src": "node2", "rsc_hold": "foreign",
		"info": "mach_down takeover", "bad-name": "x", "DIR": "/evil",
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, "rc.d", "status")
	env := readEnv(t, filepath.Join(f.ctl, "hook-env"))
	for k, v := range map[string]string{
		"HA_t": "status", "HA_st": "dead", "HA_src": "node2", "HA_rsc_hold": "foreign",
		"HA_info": "mach_down takeover", "HA_CURHOST": "node1", "HA_DIR": f.dir,
		"HA_NICEFAILBACK": "yes", "HA_LOGFILE": f.opts.Logfile, "HA_DEBUGLOG": f.opts.Debugfile,
	} {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["HA_bad-name"]; ok {
		t.Errorf("invalid field name exported")
	}
	args := readFile(t, filepath.Join(f.ctl, "hook-args"))
	if args != path+" status\n" {
		t.Errorf("hook ran as %q", args)
	}
	e, ok := f.log.find("Running " + path + " status")
	if !ok || e.tag != "harc" || e.level != logrus.InfoLevel {
		t.Errorf("no harc info line: %+v\n%s", e, f.log.text())
	}
	if e, ok := f.log.find("status hook ran"); !ok || e.tag != "status" || e.level != logrus.DebugLevel {
		t.Errorf("hook output not logged at debug: %+v", e)
	}
}

func TestRunEventCases(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		body    string
		mode    uint32
		timeout time.Duration
		wantErr string // "" = success
		wantLog string
	}{
		{name: "missing hook is a no-op", event: "ask_resources"},
		{name: "not executable", event: "hb_takeover", body: "#!/bin/sh\n", mode: 0o644, wantErr: "not an executable file", wantLog: "ERROR:"},
		{name: "hook fails", event: "ip-request", body: "#!/bin/sh\necho nope; exit 3\n", mode: 0o755, wantErr: `exit code 3; last output: "nope"`, wantLog: "ERROR:"},
		{name: "hook hangs", event: "shutdone", body: "#!/bin/sh\nsleep 30\n", mode: 0o755, timeout: 300 * time.Millisecond, wantErr: "timed out", wantLog: "timed out"},
		{name: "bad event name", event: "../resource.d/x", wantErr: "not an event name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.body != "" {
				f.hook(tc.event, tc.body, fsMode(tc.mode))
			}
			f.opts.EventTimeout = tc.timeout
			r := f.runner()
			start := time.Now()
			err := r.RunEvent(context.Background(), tc.event, nil)
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr == "" && f.log.text() != "" {
				t.Errorf("a missing hook logged:\n%s", f.log.text())
			}
			if tc.wantLog != "" && !strings.Contains(f.log.text(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, f.log.text())
			}
		})
	}
}
