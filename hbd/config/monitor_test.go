package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseMonitorLine(t *testing.T) {
	def := Monitor{Interval: DefaultMonitorInterval, Timeout: DefaultMonitorTimeout, Restarts: DefaultMonitorRestarts,
		Window: DefaultMonitorWindow, Op: MonitorAuto}
	with := func(f func(*Monitor)) *Monitor { m := def; f(&m); return &m }
	tests := []struct {
		name string
		in   string // appended to hacfBase: line 4 on
		want []want
		mon  *Monitor // the line's Monitor (Resource and Pos not compared)
	}{
		{"defaults", "monitor web", nil, &def},
		{"every setting", "monitor web interval=2 timeout=500ms restarts=0 window=5m failure_timeout=1h op=status", nil,
			with(func(m *Monitor) {
				m.Interval, m.Timeout, m.Restarts, m.Window = 2*time.Second, 500*time.Millisecond, 0, 5*time.Minute
				m.FailureTimeout, m.FailureTimeoutSet, m.Op = time.Hour, true, MonitorStatus
			})},
		{"minutes spelled min, case-insensitive names", "monitor web WINDOW=2min Op=Monitor", nil,
			with(func(m *Monitor) { m.Window, m.Op = 2*time.Minute, MonitorMonitor })},
		{"failure_timeout never", "monitor web failure_timeout=never", nil,
			with(func(m *Monitor) { m.FailureTimeoutSet = true })},
		{"failure_timeout 0", "monitor web failure_timeout=0", nil,
			with(func(m *Monitor) { m.FailureTimeoutSet = true })},
		{"no resource", "monitor", []want{e(4, "monitor: wrong number of arguments (0); usage: monitor RESOURCE")}, nil},
		{"group setting first", "monitor group=2 web", []want{e(4, `the first word must be a resource of haresources, not "group=2"`)}, nil},
		{"group", "monitor web group=IPaddr2::10.0.0.5::cidr_netmask=24", nil,
			with(func(m *Monitor) { m.InGroup = "IPaddr2::10.0.0.5::cidr_netmask=24" })},
		{"group twice", "monitor web group=1 group=2", []want{e(4, "monitor web: group is given twice")}, nil},
		{"setting first", "monitor interval=5", []want{e(4, `the first word must be a resource of haresources, not "interval=5"`)}, nil},
		{"not name=value", "\nmonitor web 10s", []want{e(5, `monitor web: "10s" is not name=value`)}, nil},
		{"empty value", "monitor web interval=", []want{e(4, `"interval=" is not name=value`)}, nil},
		{"typo suggests", "monitor web intervall=5", []want{e(4, `unknown setting "intervall"; did you mean "interval"?`)}, nil},
		{"unknown setting", "monitor web on-fail=restart", []want{e(4, `unknown setting "on-fail"; the settings are interval, timeout`)}, nil},
		{"twice", "monitor web interval=1 interval=2", []want{e(4, "monitor web: interval is given twice")}, nil},
		{"zero interval", "monitor web interval=0", []want{e(4, "interval=0: must be more than zero")}, nil},
		{"bad time", "monitor web timeout=soon", []want{e(4, `timeout: "soon" is not a time`)}, nil},
		{"bad minutes", "monitor web window=.m", []want{e(4, `window: ".m" is not a time`)}, nil},
		{"huge", "monitor web window=25h", []want{e(4, "more than 24 hours")}, nil},
		{"negative restarts", "monitor web restarts=-1", []want{e(4, "restarts -1 is out of range")}, nil},
		{"restarts not a number", "monitor web restarts=two", []want{e(4, `restarts "two" is not a number`)}, nil},
		{"bad op", "monitor web op=probe", []want{e(4, `op "probe" is not auto, monitor or status`)}, nil},
		{"several errors on one line", "monitor web interval=x op=y", []want{e(4, "interval:"), e(4, `op "y"`)}, nil},
		{"window too short to ever fail over", "monitor web interval=10 restarts=3 window=20",
			[]want{w(4, "window=20s is shorter than restarts=3 checks 10s apart; 4 failures can never fall within it")},
			with(func(m *Monitor) { m.Interval, m.Restarts, m.Window = 10*time.Second, 3, 20*time.Second })},
		{"restarts=0 needs no window", "monitor web interval=10 restarts=0 window=1", nil,
			with(func(m *Monitor) { m.Interval, m.Restarts, m.Window = 10*time.Second, 0, time.Second })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := ParseHaCf("ha.cf", strings.NewReader(hacfBase+tt.in+"\n"))
			checkDiags(t, diags, tt.want)
			if tt.mon == nil {
				if len(c.Monitors) != 0 {
					t.Errorf("monitors %+v, want none", c.Monitors)
				}
				return
			}
			if len(c.Monitors) != 1 {
				t.Fatalf("monitors %+v, want one", c.Monitors)
			}
			got := c.Monitors[0]
			if got.Pos.Line == 0 || got.Resource != "web" {
				t.Errorf("resource %q at %v, want web with a line", got.Resource, got.Pos)
			}
			got.Resource, got.Pos = "", Pos{}
			if got != *tt.mon {
				t.Errorf("monitor\n got %+v\nwant %+v", got, *tt.mon)
			}
		})
	}
}

func TestParseHaCfWithoutMonitorWatchesNothing(t *testing.T) {
	c, diags := ParseHaCf("ha.cf", strings.NewReader(hacfBase))
	checkDiags(t, diags, nil)
	if len(c.Monitors) != 0 {
		t.Errorf("monitors %+v without a monitor line", c.Monitors)
	}
}

func TestParseLongTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10", 10 * time.Second, false},
		{"10s", 10 * time.Second, false},
		{"250ms", 250 * time.Millisecond, false},
		{"10m", 10 * time.Minute, false},
		{"1.5min", 90 * time.Second, false},
		{"2h", 2 * time.Hour, false},
		{"24h", 24 * time.Hour, false},
		{"0", 0, false},
		{"m", 0, true},
		{"1d", 0, true},
		{"-1m", 0, true},
		{"25h", 0, true},
	}
	for _, tt := range tests {
		got, err := parseLongTime(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseLongTime(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestLoadMonitors(t *testing.T) {
	hacf := "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n" // monitor lines from line 4
	auth := "auth 1\n1 sha1 test-secret-0123456789\n"
	res := "node1 10.0.0.1 web::8080 db\n" + // group 1, line 1
		"node2 IPaddr::10.0.0.2 cache\n" + // group 2, line 2
		"node2 10.0.0.3 cache::2\n" // group 3, line 3: cache twice by name
	scripts := map[string]string{"resource.d/web": "#!/bin/sh\n", "resource.d/db": "#!/bin/sh\n", "resource.d/cache": "#!/bin/sh\n", "resource.d/IPaddr": "#!/bin/sh\n"}
	type placed struct {
		resource, group string
		index           int
	}
	tests := []struct {
		name     string
		monitors string
		want     []want // in ha.cf
		placed   []placed
		timeouts map[string]time.Duration // group key → FailureTimeout
	}{
		{name: "none", monitors: ""},
		{name: "by spec and by script name", monitors: "monitor db\nmonitor web::8080 restarts=1\nmonitor 10.0.0.2\n",
			placed: []placed{{"db", "IPaddr::10.0.0.1", 2}, {"web::8080", "IPaddr::10.0.0.1", 1}, {"IPaddr::10.0.0.2", "IPaddr::10.0.0.2", 0}}},
		{name: "name alone when unique", monitors: "monitor web\n",
			placed: []placed{{"web::8080", "IPaddr::10.0.0.1", 1}}},
		{name: "unknown resource suggests", monitors: "\nmonitor webb\n",
			want: []want{e(5, `monitor: webb is not a resource of haresources; did you mean "web"?`)}},
		{name: "unknown resource lists", monitors: "monitor postgresql\n",
			want: []want{e(4, "monitor: postgresql is not a resource of haresources (its resources: IPaddr::10.0.0.1 web::8080 db IPaddr::10.0.0.2 cache IPaddr::10.0.0.3 cache::2)")}},
		{name: "spec with arguments must match exactly", monitors: "monitor web::80\n",
			want: []want{e(4, "monitor: web::80 is not a resource of haresources")}},
		{name: "ambiguous name", monitors: "monitor IPaddr\n",
			want: []want{e(4, "monitor: IPaddr names 3 resources: IPaddr::10.0.0.1 (group 1, IPaddr::10.0.0.1, ")}},
		{name: "exact spec beats name", monitors: "monitor cache\n",
			placed: []placed{{"cache", "IPaddr::10.0.0.2", 1}}},
		{name: "group qualifies a resource in several groups", monitors: "monitor cache group=2\nmonitor cache::2 group=IPaddr::10.0.0.3\nmonitor web group=1\n",
			placed: []placed{{"cache", "IPaddr::10.0.0.2", 1}, {"cache::2", "IPaddr::10.0.0.3", 1}, {"web::8080", "IPaddr::10.0.0.1", 1}},
			want: []want{w(4, "monitor cache: group=2 names a group by its number (its position in haresources), which names another group once a group is added or removed before it; write group=IPaddr::10.0.0.2"),
				w(6, "write group=web::8080")}},
		{name: "group by a resource only it has", monitors: "monitor IPaddr group=db\n",
			placed: []placed{{"IPaddr::10.0.0.1", "IPaddr::10.0.0.1", 0}}},
		{name: "group by bare address", monitors: "monitor IPaddr group=10.0.0.3\n",
			placed: []placed{{"IPaddr::10.0.0.3", "IPaddr::10.0.0.3", 0}}},
		{name: "not in that group", monitors: "monitor db group=2\n",
			want: []want{e(4, "monitor: db is not a resource of group IPaddr::10.0.0.2 of haresources"), w(4, "group=2 names a group by its number")}},
		{name: "no such group", monitors: "monitor db group=4\nmonitor db group=IPaddr::10.0.0.9\n",
			want: []want{e(4, "monitor db: group=4: there is no group 4: haresources has 3 groups (a number is a group's position among them) (groups: IPaddr::10.0.0.1 IPaddr::10.0.0.2 IPaddr::10.0.0.3)"),
				e(5, `monitor db: group=IPaddr::10.0.0.9: unknown resource group "IPaddr::10.0.0.9" (groups: IPaddr::10.0.0.1 IPaddr::10.0.0.2 IPaddr::10.0.0.3)`)}},
		{name: "twice", monitors: "monitor db\nmonitor db interval=1\n",
			want: []want{e(5, "monitor: db is already monitored (line 4)")}},
		{name: "twice, once qualified", monitors: "monitor db\nmonitor db group=1\n",
			want: []want{e(5, "monitor: db of group IPaddr::10.0.0.1 is already monitored (line 4)"), w(5, "group=1 names a group by its number")}},
		{name: "failure timeout to the group", monitors: "monitor web failure_timeout=5m\nmonitor db failure_timeout=300\nmonitor cache\n",
			placed:   []placed{{"web::8080", "IPaddr::10.0.0.1", 1}, {"db", "IPaddr::10.0.0.1", 2}, {"cache", "IPaddr::10.0.0.2", 1}},
			timeouts: map[string]time.Duration{"IPaddr::10.0.0.1": 5 * time.Minute}},
		{name: "failure timeouts disagree", monitors: "monitor web failure_timeout=5m\nmonitor db failure_timeout=never\n",
			want: []want{e(5, "monitor db: failure_timeout=0ms differs from failure_timeout=300s on line 4 for the same group IPaddr::10.0.0.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{HaCfFile: hacf + tt.monitors, AuthkeysFile: auth, HaresourcesFile: res}
			for k, v := range scripts {
				files[k] = v
			}
			dir := writeConfig(t, files)
			cfg, diags := Load(dir, LoadOptions{Node: "node1"})
			for i := range tt.want {
				tt.want[i].sub = strings.ReplaceAll(tt.want[i].sub, "DIR", dir)
			}
			checkDiags(t, diags, tt.want)
			for _, d := range diags {
				if d.Severity == SevError && !strings.HasSuffix(d.Pos.File, HaCfFile) {
					t.Errorf("diagnostic %v does not point at ha.cf", d)
				}
			}
			if HasErrors(diags) {
				if cfg != nil {
					t.Errorf("config returned with errors")
				}
				return
			}
			if cfg == nil {
				t.Fatal("no config")
			}
			var got []placed
			for _, m := range cfg.Monitors {
				got = append(got, placed{m.Resource, m.Group, m.Index})
				g, ok := cfg.Group(m.Group)
				if !ok || g.Resources[m.Index].Spec != m.Resource {
					t.Errorf("monitor %s: group %s index %d does not hold it", m.Resource, m.Group, m.Index)
				}
			}
			if len(got) != len(tt.placed) {
				t.Fatalf("monitors %v, want %v", got, tt.placed)
			}
			for i := range got {
				if got[i] != tt.placed[i] {
					t.Errorf("monitor %d = %v, want %v", i, got[i], tt.placed[i])
				}
			}
			for _, g := range cfg.Groups {
				if g.FailureTimeout != tt.timeouts[g.Key()] {
					t.Errorf("group %s failure timeout %v, want %v", g.Key(), g.FailureTimeout, tt.timeouts[g.Key()])
				}
			}
		})
	}
}

func TestGroupMonitorsInResourceOrder(t *testing.T) {
	c := &Config{Monitors: []Monitor{
		{Resource: "c", Group: "g", Index: 2}, {Resource: "x", Group: "h", Index: 0}, {Resource: "a", Group: "g", Index: 0},
	}}
	got := c.GroupMonitors("g")
	if len(got) != 2 || got[0].Resource != "a" || got[1].Resource != "c" {
		t.Errorf("GroupMonitors(g) = %+v, want a then c", got)
	}
	if len(c.GroupMonitors("none")) != 0 {
		t.Errorf("monitors for a group without any")
	}
}

func TestMonitorString(t *testing.T) {
	m := Monitor{Resource: "web", Interval: 10 * time.Second, Timeout: 20 * time.Second, Restarts: 2, Window: 10 * time.Minute, Op: MonitorAuto}
	want := "monitor web interval=10s timeout=20s restarts=2 window=600s failure_timeout=never op=auto"
	if got := m.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	m.FailureTimeout = 90 * time.Second
	if got := m.String(); !strings.Contains(got, "failure_timeout=90s") {
		t.Errorf("String() = %q, want failure_timeout=90s", got)
	}
}

func TestDiffMonitors(t *testing.T) {
	nginx := Monitor{Resource: "nginx", Group: "IPaddr2::10.0.0.100/24/eth0", Index: 1, Interval: 10 * time.Second,
		Timeout: 20 * time.Second, Restarts: 2, Window: 10 * time.Minute, Op: MonitorAuto}
	tests := []struct {
		name     string
		old, new []Monitor
		want     []string
	}{
		{"none", nil, nil, nil},
		{"same", []Monitor{nginx}, []Monitor{nginx}, nil},
		{"added", nil, []Monitor{nginx},
			[]string{"monitor of nginx added: monitor nginx interval=10s timeout=20s restarts=2 window=600s failure_timeout=never op=auto"}},
		{"removed", []Monitor{nginx}, nil, []string{"monitor of nginx removed"}},
		{"changed", []Monitor{nginx}, []Monitor{func() Monitor { m := nginx; m.Restarts = 0; return m }()},
			[]string{"monitor nginx interval=10s timeout=20s restarts=2 window=600s failure_timeout=never op=auto -> monitor nginx interval=10s timeout=20s restarts=0 window=600s failure_timeout=never op=auto"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, cur := baseConfig(), baseConfig()
			old.Monitors, cur.Monitors = tc.old, tc.new
			var got []string
			for _, c := range Diff(old, cur) {
				got = append(got, c.Text)
				if c.Area != "monitors" {
					t.Errorf("change %q in area %q, want monitors", c.Text, c.Area)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Diff:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
