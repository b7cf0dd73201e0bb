//go:build linux

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

func TestTimingString(t *testing.T) {
	tests := []struct {
		t    Timing
		want string
	}{
		{Timing{Keepalive: time.Second, Deadtime: 3 * time.Second}, "keepalive 1 s / deadtime 3 s"},
		{Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}, "keepalive 10 ms / deadtime 40 ms"},
		{Timing{Advert: time.Second}, "advert_int 1"},
		{Timing{Advert: 10 * time.Millisecond}, "advert_int 0.01"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestHaCf(t *testing.T) {
	tests := []struct {
		t    Timing
		want []string
	}{
		{Timing{Keepalive: time.Second, Deadtime: 3 * time.Second}, []string{"keepalive 1\n", "deadtime 3\n", "initdead 10\n"}},
		{Timing{Keepalive: 100 * time.Millisecond, Deadtime: 500 * time.Millisecond}, []string{"keepalive 100ms\n", "deadtime 500ms\n", "initdead 1\n"}},
	}
	for _, tt := range tests {
		cf := HaCf([2]string{"node1", "node2"}, [2]string{"10.231.0.1", "10.231.0.2"}, tt.t).String()
		for _, w := range append(tt.want, "udpport 694\n", "ucast eth0 10.231.0.1\n", "ucast eth0 10.231.0.2\n",
			"auto_failback on\n", "node node1\n", "node node2\n", "crm off\n") {
			if !strings.Contains(cf, w) {
				t.Errorf("ha.cf for %v lacks %q:\n%s", tt.t, w, cf)
			}
		}
		if strings.Index(cf, "udpport") > strings.Index(cf, "ucast") {
			t.Errorf("udpport must come before the media lines:\n%s", cf)
		}
	}
	if got := Haresources("node1"); got != "node1 vip web\n" {
		t.Errorf("Haresources = %q", got)
	}
}

func TestKeepalivedConf(t *testing.T) {
	base := KeepalivedConf{Node: "node1", Dev: "eth0", Src: "10.231.0.1", Peers: []string{"10.231.0.2"},
		Priority: 150, Advert: 10 * time.Millisecond, VIP: "10.231.0.100/24", RouterID: 51, Notify: "/x/notify", RTPriority: 1}
	scripts := base.String()
	for _, w := range []string{"vrrp_version 3", "unicast_src_ip 10.231.0.1", "\t\t10.231.0.2\n", "advert_int 0.01",
		"priority 150", "state BACKUP", "vrrp_rt_priority 1", `notify_master "/x/notify master"`, `notify_stop "/x/notify stop"`, PlaceholderVIP + " dev lo"} {
		if !strings.Contains(scripts, w) {
			t.Errorf("keepalived.conf (scripts) lacks %q:\n%s", w, scripts)
		}
	}
	if strings.Contains(scripts, "10.231.0.100/24") {
		t.Errorf("keepalived.conf (scripts) must not hold the VIP itself:\n%s", scripts)
	}
	b := base
	b.BuiltinVIP = true
	builtin := b.String()
	if !strings.Contains(builtin, "10.231.0.100/24 dev eth0") || strings.Contains(builtin, "notify_") {
		t.Errorf("keepalived.conf (built-in VIP) wrong:\n%s", builtin)
	}
	// keepalived itself accepts both, when it is installed.
	if _, err := os.Stat(KeepalivedBin); err != nil {
		testenv.Skip(t, "keepalived not installed: not checking with keepalived -t")
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"scripts.conf": scripts, "builtin.conf": builtin} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := keepalivedOK(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestWebScript runs the web resource script with a stand-in server
// (sleep with a pid file): start is idempotent, status reads
// running/stopped the way Heartbeat does, stop ends the process.
// benchScript writes the bench's resource scripts for env under ha and
// returns a function that runs resource.d/NAME with an operation (with
// vars added to the environment) and returns its output, failing the test
// if it fails.
func benchScript(t *testing.T, ha string, env Env, name string, vars ...string) func(op string) string {
	t.Helper()
	if err := writeResources(ha, env); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(ha, "resource.d", name)
	return func(op string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, op)
		cmd.Env = append(os.Environ(), vars...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s", name, op, err, out)
		}
		return strings.TrimSpace(string(out))
	}
}

func TestWebScript(t *testing.T) {
	dir := t.TempDir()
	ha := filepath.Join(dir, "ha.d")
	server := filepath.Join(dir, "fake-web")
	// The stand-in writes its pid where -pidfile says, then sleeps.
	fake := "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in -pidfile) P=$2; shift;; esac; shift; done\necho $$ >\"$P\"\nexec sleep 30\n"
	if err := os.WriteFile(server, []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	env := Env{VIP: "10.231.0.100", Prefix: 24, Dev: "eth0", Node: "node1", Port: 8080, Web: server, State: filepath.Join(dir, "state")}
	run := benchScript(t, ha, env, "web")
	if got := run("status"); got != "stopped" {
		t.Fatalf("status before start = %q, want stopped", got)
	}
	run("start")
	pid, err := os.ReadFile(filepath.Join(env.State, "web.pid"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("kill", "-9", strings.TrimSpace(string(pid))).Run() })
	if got := run("status"); got != "running" {
		t.Fatalf("status after start = %q, want running", got)
	}
	run("start") // idempotent: same process
	if again, _ := os.ReadFile(filepath.Join(env.State, "web.pid")); string(again) != string(pid) {
		t.Errorf("second start replaced the server: pid %s then %s", pid, again)
	}
	run("stop")
	if got := run("status"); got != "stopped" {
		t.Errorf("status after stop = %q, want stopped", got)
	}
	// Gone, or a zombie waiting for its reaper (no command line any more).
	if cmdline, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/cmdline"); err == nil && len(cmdline) > 0 {
		t.Errorf("server pid %s still runs after stop", pid)
	}
	run("stop") // stopping a stopped server is fine
}

// TestVIPScript runs the vip script against stand-ins for ip and arping
// (a file for the interface's addresses; an arping that records its pid
// and stays up as the real one does for its 3 packets): a stop ends the
// arping its start left running, and nothing else.
func TestVIPScript(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fakes := map[string]string{
		// ip addr add|del ADDR dev DEV, ip -o addr show dev DEV.
		"ip": `#!/bin/sh
A="$FAKE/addrs"; touch "$A"
case "$*" in
"addr add "*) grep -qx "$3" "$A" && exit 2; echo "$3" >>"$A" ;;
"addr del "*) grep -qx "$3" "$A" || exit 2; grep -vx "$3" "$A" >"$A.new"; mv "$A.new" "$A" ;;
"-o addr show "*) while read -r a; do echo "2: eth0    inet $a scope global eth0"; done <"$A" ;;
*) exit 1 ;;
esac
`,
		// Up for at most 30 s, as the real one is for its 3 packets.
		"arping": `#!/bin/sh
echo $$ >>"$FAKE/arpings"
i=0
while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
`,
	}
	for name, text := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := Env{VIP: "10.231.0.100", Prefix: 24, Dev: "eth0", Node: "node1", Port: 8080, Web: "/bin/true", State: filepath.Join(dir, "state")}
	run := benchScript(t, filepath.Join(dir, "ha.d"), env, "vip", "PATH="+bin+":"+os.Getenv("PATH"), "FAKE="+dir)
	// arpings is the pids the stand-in recorded, once it has started.
	arpings := func(n int) []string {
		t.Helper()
		for range 400 {
			b, _ := os.ReadFile(filepath.Join(dir, "arpings"))
			if f := strings.Fields(string(b)); len(f) >= n {
				return f
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("arping did not start %d times", n)
		return nil
	}
	alive := func(pid string) bool {
		b, err := os.ReadFile("/proc/" + pid + "/cmdline")
		return err == nil && len(b) > 0 // a zombie has no command line
	}
	gone := func(pid string) bool {
		for range 400 {
			if !alive(pid) {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	t.Cleanup(func() {
		b, _ := os.ReadFile(filepath.Join(dir, "arpings"))
		for _, pid := range strings.Fields(string(b)) {
			_ = exec.Command("kill", "-9", pid).Run()
		}
	})

	// A process that is not arping, under a stale pid file: left alone.
	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	if err := os.MkdirAll(env.State, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.State, "arping.pid"), []byte(fmt.Sprint(other.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	run("stop") // nothing held: fine
	if !alive(fmt.Sprint(other.Process.Pid)) {
		t.Fatal("stop killed a process that is not its arping")
	}

	run("start")
	if got := run("status"); got != "running" {
		t.Fatalf("status after start = %q, want running", got)
	}
	first := arpings(1)[0]
	run("stop")
	if got := run("status"); got != "stopped" {
		t.Errorf("status after stop = %q, want stopped", got)
	}
	if !gone(first) {
		t.Errorf("arping %s still runs after stop: it would announce the address from a node that no longer has it", first)
	}

	// quiet ends the arping and keeps the address.
	run("start")
	quieted := arpings(2)[1]
	run("quiet")
	if !gone(quieted) {
		t.Errorf("arping %s still runs after quiet", quieted)
	}
	if got := run("status"); got != "running" {
		t.Errorf("status after quiet = %q, want running: quiet keeps the address", got)
	}
	run("stop")

	// A second start while the first arping runs ends it: one announcer.
	run("start")
	second := arpings(3)[2]
	run("start")
	third := arpings(4)[3]
	if !gone(second) {
		t.Errorf("arping %s of the first start still runs after the second", second)
	}
	run("stop")
	if !gone(third) {
		t.Errorf("arping %s still runs after stop", third)
	}
}

// TestNotifyScript runs keepalived's notify script against stand-ins
// for the vip and web scripts that record their calls: MASTER starts
// vip then web; anything else ends the announcements before the notify
// script returns to keepalived, then stops web then vip.
func TestNotifyScript(t *testing.T) {
	dir := t.TempDir()
	ha := filepath.Join(dir, "ha.d")
	env := Env{VIP: "10.231.0.100", Prefix: 24, Dev: "eth0", Node: "node1", Port: 8080, Web: "/bin/true", State: filepath.Join(dir, "state")}
	notify := benchScript(t, ha, env, "notify")
	calls := filepath.Join(dir, "calls")
	for _, name := range []string{"vip", "web"} {
		// Each call is recorded; a stop takes a while, as the web
		// server's does.
		rec := fmt.Sprintf("#!/bin/sh\necho \"%s $1\" >>%s\n[ \"$1\" = stop ] && sleep 0.1\nexit 0\n", name, shq(calls))
		if err := os.WriteFile(filepath.Join(ha, "resource.d", name), []byte(rec), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []string {
		b, _ := os.ReadFile(calls)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	// wait returns the calls once there are n (the script works detached).
	wait := func(n int) []string {
		t.Helper()
		for range 1000 {
			if got := read(); len(got) >= n && got[0] != "" {
				return got
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("calls = %q, want %d of them", read(), n)
		return nil
	}
	tests := []struct {
		state string
		now   []string // done before notify returns
		want  []string
	}{
		{"master", nil, []string{"vip start", "web start"}},
		{"backup", []string{"vip quiet"}, []string{"vip quiet", "web stop", "vip stop"}},
		{"fault", []string{"vip quiet"}, []string{"vip quiet", "web stop", "vip stop"}},
		{"stop", []string{"vip quiet"}, []string{"vip quiet", "web stop", "vip stop"}},
	}
	for _, tt := range tests {
		_ = os.Remove(calls)
		notify(tt.state)
		if got := read(); tt.now != nil && !slices.Equal(got[:min(len(got), len(tt.now))], tt.now) {
			t.Errorf("notify %s: calls when it returned = %q, want %q first", tt.state, got, tt.now)
		}
		if got := wait(len(tt.want)); !slices.Equal(got, tt.want) {
			t.Errorf("notify %s: calls = %q, want %q", tt.state, got, tt.want)
		}
	}
}

func TestBenchEnv(t *testing.T) {
	e := Env{VIP: "10.231.0.100", Prefix: 24, Dev: "eth0", Node: "node1", Port: 8080, Web: "/a b/it's", State: "/run/bench"}
	// The shell reads back what was written, quotes and all.
	f := filepath.Join(t.TempDir(), "bench.env")
	if err := os.WriteFile(f, []byte(e.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", `STATE=x; . "$1" 2>/dev/null; printf '%s|%s|%s|%s' "$VIP/$VIPLEN" "$NODE" "$WEB" "$PORT"`, "sh", f).Output()
	if err != nil && len(out) == 0 {
		t.Fatal(err)
	}
	if got, want := string(out), "10.231.0.100/24|node1|/a b/it's|8080"; got != want {
		t.Errorf("bench.env read back %q, want %q", got, want)
	}
}

func TestWriteDoc(t *testing.T) {
	p := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := WriteDoc(p, "# Intro\n", "first\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	// Hand edits outside the markers survive a second write.
	edited := strings.Replace(string(b), "# Intro", "# Intro, edited by hand", 1) + "\nafter\n"
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDoc(p, "# Intro\n", "second\n"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p)
	s := string(b)
	if !strings.Contains(s, "edited by hand") || !strings.Contains(s, "second") || strings.Contains(s, "first") || !strings.Contains(s, "after") {
		t.Errorf("WriteDoc result:\n%s", s)
	}
	// The same section written again leaves the file as it was.
	if err := WriteDoc(p, "# Intro\n", "second\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ = os.ReadFile(p); string(b) != s {
		t.Errorf("WriteDoc of the same section changed the file:\n%q\nthen\n%q", s, b)
	}
}

// TestHbdRows: the three hbd rows differ in their key, label and group.
func TestHbdRows(t *testing.T) {
	r := &Rig{Names: [2]string{"node1", "node2"}, VIP: "10.231.0.100", Prefix: 24}
	tests := []struct {
		res         HbdResources
		key, label  string
		haresources string
		web         bool
	}{
		{HbdScripts, "hbd", "hbd", "node1 vip web\n", false},
		{HbdBuiltin, "hbd-builtin", "hbd (built-in IPaddr2)", "node1 IPaddr2::10.231.0.100/24/eth0\n", true},
		{HbdResourceD, "hbd-resourced", "hbd (resource.d IPaddr2)", "node1 IPaddr2::10.231.0.100/24/eth0\n", true},
	}
	keys := map[string]bool{}
	for _, tt := range tests {
		d := &Hbd{Resources: tt.res}
		if got := d.Key(); got != tt.key {
			t.Errorf("Key() = %q, want %q", got, tt.key)
		}
		if got := d.Label(); got != tt.label {
			t.Errorf("%s: Label() = %q, want %q", tt.key, got, tt.label)
		}
		if got := d.haresources(r); got != tt.haresources {
			t.Errorf("%s: haresources = %q, want %q", tt.key, got, tt.haresources)
		}
		if got := d.webEverywhere(); got != tt.web {
			t.Errorf("%s: webEverywhere = %v, want %v", tt.key, got, tt.web)
		}
		keys[d.Key()] = true
	}
	// Every hbd row has a timing in every settings set.
	fast := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}
	for _, s := range append(DefaultSettings(fast), EqualDetection(fast)) {
		for k := range keys {
			if _, ok := s.Timing[k]; !ok {
				t.Errorf("settings %s: no timing for %s", s.Name, k)
			}
		}
	}
}

// TestDescendants: a child of this process, and its own child, are the
// process's; this process is not its child's.
func TestDescendants(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// sh starts a sleep below itself and waits for it.
	cmd := exec.CommandContext(ctx, "sh", "-c", "sleep 30 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	line := make([]byte, 32)
	n, err := out.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	grandchild := strings.TrimSpace(string(line[:n]))
	pids, err := descendants(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	has := func(pids []int, pid string) bool {
		for _, p := range pids {
			if fmt.Sprint(p) == pid {
				return true
			}
		}
		return false
	}
	for _, want := range []string{fmt.Sprint(os.Getpid()), fmt.Sprint(cmd.Process.Pid), grandchild} {
		if !has(pids, want) {
			t.Errorf("descendants of this process %v lack %s", pids, want)
		}
	}
	below, err := descendants(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if has(below, fmt.Sprint(os.Getpid())) || !has(below, grandchild) {
		t.Errorf("descendants of the child = %v, want it and %s only", below, grandchild)
	}
	_ = exec.Command("kill", grandchild).Run()
}
