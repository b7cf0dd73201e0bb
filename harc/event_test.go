package harc

import (
	"context"
	"os"
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
		{name: "writable by others", event: "hb_takeover", body: "#!/bin/sh\ntouch \"$CTL/ran\"\n", mode: 0o757,
			wantErr: "writable by group or others (mode 0757)", wantLog: "fix: chmod go-w"},
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
			if f.exists("ran") {
				t.Errorf("the refused hook ran")
			}
		})
	}
}

// TestFieldEnvOwned: a message field never sets a variable the
// configuration owns, whether or not ha.cf sets it.
func TestFieldEnvOwned(t *testing.T) {
	o := Options{ConfigDir: "/etc/ha.d", Env: map[string]string{"HA_SITE": "x"}} // no logfile, debugfile, logfacility
	tests := []struct {
		field string
		want  string // "" = left out
	}{
		{"src", "HA_src=v"},
		{"st", "HA_st=v"},
		{"rsc_hold", "HA_rsc_hold=v"},
		{"info", "HA_info=v"},
		{"LOGFILE", ""},
		{"logfile", ""},
		{"DEBUGLOG", ""},
		{"LOGFACILITY", ""},
		{"logfacility", ""},
		{"debugfile", ""},
		{"debug", ""},
		{"LOGD", ""},
		{"DIR", ""},
		{"RSCTMP", ""},
		{"CURHOST", ""},
		{"keepalive", ""},
		{"Deadtime", ""},
		{"node", ""},
		{"SITE", ""},
		{"bad-name", ""},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			var skipped []string
			got := o.fieldEnv(map[string]string{tc.field: "v"}, func(k string) { skipped = append(skipped, k) })
			switch {
			case tc.want == "" && (len(got) != 0 || len(skipped) != 1):
				t.Errorf("field %q exported as %q (skipped %q)", tc.field, got, skipped)
			case tc.want != "" && (len(got) != 1 || got[0] != tc.want):
				t.Errorf("field %q gave %q, want %q", tc.field, got, tc.want)
			}
		})
	}
}

// TestRunEventNoLogfile: with no logfile in ha.cf, a field named LOGFILE
// (or DEBUGLOG, LOGFACILITY) still does not reach the hook.
func TestRunEventNoLogfile(t *testing.T) {
	f := newFixture(t)
	f.hook("ip-request", "#!/bin/sh\nenv > \"$CTL/hook-env\"\n", 0o755)
	f.opts.Logfile, f.opts.Debugfile, f.opts.LogFacility = "", "", ""
	r := f.runner()
	err := r.RunEvent(context.Background(), "ip-request", map[string]string{
		"t": "ip-request", "src": "node2",
		"LOGFILE": "/etc/passwd", "DEBUGLOG": "/etc/shadow", "LOGFACILITY": "kern", "logfile": "/tmp/x",
	})
	if err != nil {
		t.Fatal(err)
	}
	env := readEnv(t, filepath.Join(f.ctl, "hook-env"))
	if env["HA_src"] != "node2" || env["HA_t"] != "ip-request" {
		t.Errorf("message fields missing: HA_src=%q HA_t=%q", env["HA_src"], env["HA_t"])
	}
	for _, k := range []string{"HA_LOGFILE", "HA_DEBUGLOG", "HA_LOGFACILITY", "HA_logfile"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s=%q set by a message field", k, v)
		}
	}
}

// An rc.d hook is recorded while it runs, as a resource script is: a
// hook may start what a script would, and what it leaves behind when the
// daemon dies is killed at the next start. The record names it a hook.
func TestRunEventRecordsTheHook(t *testing.T) {
	f := newFixture(t)
	rs, err := OpenRecords(filepath.Join(t.TempDir(), "scripts"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.opts.Records = rs
	f.opts.Env["RECDIR"] = rs.Dir()
	f.hook("ip-request-resp", `#!/bin/sh
i=0
while [ -z "$(ls "$RECDIR")" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
ls "$RECDIR" > "$CTL/recorded"
`, 0o755)
	if err := f.runner().RunEvent(context.Background(), "ip-request-resp", nil); err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(readFile(t, filepath.Join(f.ctl, "recorded")))
	if name == "" {
		t.Fatal("the hook was not recorded while it ran")
	}
	if left, _ := os.ReadDir(rs.Dir()); len(left) != 0 {
		t.Errorf("records after the hook ended: %v", left)
	}
	rec := scriptRecord{Op: "ip-request-resp", Path: filepath.Join(f.dir, "rc.d", "ip-request-resp"), PGID: 42}
	if d := describeRecord(rec); !strings.HasPrefix(d, `the ip-request-resp hook ("`+rec.Path+`"`) {
		t.Errorf("described as %s", d)
	}
}
