package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
)

// sample is a valid ha.cf line of a directive, with the lines it needs
// before it; it is read after sampleBase.
type sample struct{ setup, line string }

const sampleBase = "node node1 node2\nucast eth0 10.0.0.2\n"

// samples has a line for every ha.cf directive; TestDirectivesActedOn
// fails for a directive without one.
var samples = map[string]sample{
	"node": {line: "node node3"}, "keepalive": {line: "keepalive 3"}, "deadtime": {line: "deadtime 40"},
	"warntime": {line: "warntime 5"}, "initdead": {line: "initdead 90"}, "deadping": {line: "deadping 20"},
	"resource_timeout": {line: "resource_timeout 60"}, "on_stop_failure": {line: "on_stop_failure reboot"},
	"insecure_auth": {line: "insecure_auth yes"}, "autoreload": {line: "autoreload off"}, "quiet_passive": {line: "quiet_passive off"},
	"monitor": {line: "monitor nginx interval=5s"}, "exclusive": {line: "exclusive 1 2"},
	"udpport": {line: "udpport 700"}, "ucast": {line: "ucast eth1 10.0.1.2"}, "ucast6": {line: "ucast6 eth1 fd00::2"},
	"bcast": {line: "bcast eth1"}, "mcast": {line: "mcast eth1 239.0.0.1 694 1 0"}, "mcast6": {line: "mcast6 eth1 ff02::1:2 694 1 0"},
	"auto_failback": {line: "auto_failback off"}, "failback_delay": {line: "failback_delay 0"}, "drain_time": {line: "drain_time 250ms"}, "quorum": {line: "quorum on"},
	"nice_failback": {line: "nice_failback on"}, "logfile": {line: "logfile /var/log/ha-log"},
	"debugfile": {line: "debugfile /var/log/ha-debug"}, "logfacility": {line: "logfacility local0"},
	"debugfile_ms": {setup: "debugfile /var/log/ha-debug", line: "debugfile_ms on"},
	"debug":        {line: "debug 3"}, "crm": {line: "crm off"}, "pacemaker": {line: "pacemaker off"},
	"hopfudge": {line: "hopfudge 3"}, "ping": {line: "ping 10.0.0.1"}, "ping6": {line: "ping6 fd00::1"},
	"ping_group": {line: "ping_group gw 10.0.0.1 10.0.0.3"}, "ping_takeover": {line: "ping_takeover on"},
	"fence_command": {line: "fence_command /usr/local/sbin/fence"},
	"fence_aws":     {line: "fence_aws stop-instance node1=i-0aaa node2=i-0bbb"},
	"fence_timeout": {line: "fence_timeout 20"}, "fence_retry": {line: "fence_retry 2"},
	"profile": {setup: "ping 10.0.0.1", line: "profile safe"}, "safe_start_delay": {line: "safe_start_delay 9"},
	"backend":        {setup: "etcd_endpoints http://127.0.0.1:2379\nresource_timeout 10", line: "backend etcd"},
	"etcd_endpoints": {line: "etcd_endpoints https://10.0.0.5:2379,https://10.0.0.6:2379"},
	"etcd_prefix":    {line: "etcd_prefix /ha/prod/"}, "etcd_cacert": {line: "etcd_cacert /etc/ha.d/etcd-ca.pem"},
	"etcd_cert": {line: "etcd_cert /etc/ha.d/etcd.pem"}, "etcd_key": {line: "etcd_key /etc/ha.d/etcd-key.pem"},
	"etcd_lease": {line: "etcd_lease 90"},

	"use_logd": {line: "use_logd on"}, "conn_logd_time": {line: "conn_logd_time 60"},
	"compression": {line: "compression bz2"}, "compression_threshold": {line: "compression_threshold 8"},
	"traditional_compression": {line: "traditional_compression on"}, "msgfmt": {line: "msgfmt netstring"},
	"realtime": {line: "realtime off"}, "rtprio": {line: "rtprio 50"}, "coredumps": {line: "coredumps true"},
	"coreroot": {line: "coreroot /var/lib/heartbeat/cores"}, "apiauth": {line: "apiauth ipfail gid=haclient uid=hacluster"},
	"serial": {line: "serial /dev/ttyS0"}, "baud": {line: "baud 19200"}, "watchdog": {line: "watchdog /dev/watchdog"},
	"hbgenmethod": {line: "hbgenmethod time"}, "uuidfrom": {line: "uuidfrom nodename"},
	"respawn": {line: "respawn hacluster /usr/lib/heartbeat/ipfail"}, "stonith": {line: "stonith baytech /etc/ha.d/stonith.cfg"},
	"stonith_host": {line: "stonith_host * baytech 10.0.0.3 login secret"}, "hbaping": {line: "hbaping fc-card"},
	"autojoin": {line: "autojoin any"}, "env": {line: "env HA_FOO=bar"}, "max_rexmit_delay": {line: "max_rexmit_delay 250"},
	"log_badpack": {line: "log_badpack false"}, "use_apphbd": {line: "use_apphbd yes"}, "normalpoll": {line: "normalpoll true"},
	"crm_daemon_dir": {line: "crm_daemon_dir /usr/lib/pacemaker"}, "crmd_spawns_pengine": {line: "crmd_spawns_pengine yes"},
	"record_config_changes": {line: "record_config_changes on"}, "record_pengine_inputs": {line: "record_pengine_inputs on"},
	"enable_config_writes": {line: "enable_config_writes on"}, "memreserve": {line: "memreserve 6500"},
}

// exceptions are directives whose place in the lists the field check
// cannot see, each with the reason (which the docs state).
var exceptions = map[string]string{
	"crm":           "accepted only as `off`: there is nothing to act on",
	"pacemaker":     "accepted only as `off`: there is nothing to act on",
	"use_logd":      "ignored by hbd itself, but passed to resource scripts as HA_LOGD, as Heartbeat does",
	"insecure_auth": "acted on inside hbd/config: it decides whether Load refuses weak authkeys keys",
	"rtprio":        "read through Config.RealtimePriority, which the daemon (hbd/daemon/realtime.go) and hbd check use",
}

// fieldsSetBy returns the Config fields that a directive's sample line
// changes.
func fieldsSetBy(s sample) ([]string, error) {
	before := sampleBase + s.setup + "\n"
	c0, d0 := config.ParseHaCf("ha.cf", strings.NewReader(before))
	c1, d1 := config.ParseHaCf("ha.cf", strings.NewReader(before+s.line+"\n"))
	for _, d := range append(d0, d1...) {
		if d.Severity == config.SevError {
			return nil, fmt.Errorf("sample %q: %v", s.line, d)
		}
	}
	var changed []string
	v0, v1 := reflect.ValueOf(*c0), reflect.ValueOf(*c1)
	for i := range v0.NumField() {
		if !reflect.DeepEqual(v0.Field(i).Interface(), v1.Field(i).Interface()) {
			changed = append(changed, v0.Type().Field(i).Name)
		}
	}
	return changed, nil
}

// selectorsOutsideConfig maps every selector name (x.Name) used in the
// repository's non-test Go code outside hbd/config to the packages using it.
func selectorsOutsideConfig(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || rel == filepath.Join("hbd", "config") || rel == filepath.Join("hbd", "internal", "doccheck") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := filepath.Dir(rel)
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok && !slices.Contains(out[s.Sel.Name], pkg) {
				out[s.Sel.Name] = append(out[s.Sel.Name], pkg)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkActedOn holds the config package's list of ignored directives
// against what the code does: a directive on the list must set nothing
// that code outside hbd/config reads, and every other directive must set
// something that code reads.
func checkActedOn(directives, ignored []string, samples map[string]sample, read map[string][]string, exceptions map[string]string) []string {
	var problems []string
	for _, d := range directives {
		s, ok := samples[d]
		if !ok {
			problems = append(problems, fmt.Sprintf("no sample line for directive %s: add one to samples", d))
			continue
		}
		if _, ok := exceptions[d]; ok {
			continue
		}
		fields, err := fieldsSetBy(s)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		var used []string
		for _, f := range fields {
			if pkgs := read[f]; len(pkgs) > 0 {
				used = append(used, fmt.Sprintf("Config.%s (read in %s)", f, strings.Join(pkgs, ", ")))
			}
		}
		switch {
		case slices.Contains(ignored, d) && len(used) > 0:
			problems = append(problems, fmt.Sprintf("%s is listed as ignored (config.IgnoredDirectives), but it sets %s: hbd acts on it", d, strings.Join(used, ", ")))
		case !slices.Contains(ignored, d) && len(used) == 0:
			problems = append(problems, fmt.Sprintf("%s is not listed as ignored, but nothing outside hbd/config reads what it sets (%v); "+
				"if hbd/config itself acts on it (a check when loading), add it to exceptions with the reason", d, fields))
		}
	}
	return problems
}

func TestDirectivesActedOn(t *testing.T) {
	read := selectorsOutsideConfig(t)
	if len(read["Deadtime"]) == 0 {
		t.Fatal("found no code reading Config.Deadtime: the scan of the repository is broken")
	}
	for _, p := range checkActedOn(config.Directives(), config.IgnoredDirectives(), samples, read, exceptions) {
		t.Error(p)
	}
}

// TestCheckActedOnFails: a directive listed as ignored whose value is
// read, one acted on whose value nobody reads, and one without a sample
// are caught.
func TestCheckActedOnFails(t *testing.T) {
	read := map[string][]string{"Keepalive": {"hbd/cluster"}, "Hopfudge": {"hbd/cluster"}}
	tests := []struct {
		name        string
		directives  []string
		ignored     []string
		problems    []string
		samplesFrom map[string]sample
	}{
		{"in step", []string{"keepalive", "compression"}, []string{"compression"}, nil, samples},
		{"ignored but read", []string{"keepalive", "hopfudge"}, []string{"hopfudge"},
			[]string{"hopfudge is listed as ignored (config.IgnoredDirectives), but it sets Config.Hopfudge (read in hbd/cluster)"}, samples},
		{"acted on but never read", []string{"keepalive", "msgfmt"}, nil,
			[]string{"msgfmt is not listed as ignored, but nothing outside hbd/config reads what it sets ([MsgFmt])"}, samples},
		{"no sample", []string{"keepalive", "deadtime"}, nil, []string{"no sample line for directive deadtime"},
			map[string]sample{"keepalive": samples["keepalive"]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkActedOn(tt.directives, tt.ignored, tt.samplesFrom, read, nil), tt.problems)
		})
	}
}
