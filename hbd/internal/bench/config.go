package bench

import (
	"fmt"
	"strings"
	"time"
)

// Timing is one daemon's failure-detection setting. Heartbeat and hbd use
// Keepalive and Deadtime; keepalived uses Advert (advert_int) and derives
// its own master-down interval (3 × advert + skew).
type Timing struct {
	Keepalive time.Duration
	Deadtime  time.Duration
	Advert    time.Duration
}

func (t Timing) String() string {
	if t.Advert > 0 {
		return "advert_int " + seconds(t.Advert)
	}
	return fmt.Sprintf("keepalive %s / deadtime %s", human(t.Keepalive), human(t.Deadtime))
}

// Detect is about how long the daemon takes to notice a silent peer.
func (t Timing) Detect() time.Duration {
	if t.Advert > 0 {
		// VRRPv3: 3 × advert + skew (skew < advert).
		return 4 * t.Advert
	}
	return t.Deadtime
}

// human renders 1s, 3s, 100ms, 10ms.
func human(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// seconds renders d in seconds as keepalived wants it ("1", "0.01").
func seconds(d time.Duration) string {
	s := fmt.Sprintf("%.3f", d.Seconds())
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// Env is what a node's resource scripts read (bench.env, sourced from
// the directory above resource.d): the same scripts serve every daemon.
type Env struct {
	VIP    string // "10.231.0.100"
	Prefix int    // 24
	Dev    string // "eth0"
	Node   string // the node's name, answered in X-Whom
	Port   int    // the web server's port
	Web    string // the program that serves (hbdbench, run as `PROG web ...`)
	State  string // directory for the web server's pid file and log
	// WebDelay is how long the web server takes to answer (0: at once).
	WebDelay time.Duration
}

// String renders bench.env.
func (e Env) String() string {
	return fmt.Sprintf("# bench.env: read by the bench resource scripts (vip, web)\nVIP=%s\nVIPLEN=%d\nDEV=%s\nNODE=%s\nPORT=%d\nWEB=%s\nWEBDELAY=%s\nSTATE=%s\nmkdir -p \"$STATE\"\n",
		shq(e.VIP), e.Prefix, shq(e.Dev), shq(e.Node), e.Port, shq(e.Web), e.WebDelay, shq(e.State))
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// VIPScript is the floating address as a Heartbeat-style resource script
// (start|stop|status, status printing running/stopped): `ip addr` plus
// gratuitous ARP. arping sends its first packet at once and then one a
// second, so it runs in the background, detached from the caller's
// output. Its pid is kept, and stop ends it before removing the address,
// as resource-agents' IPaddr2 ends its send_arp: an arping left running
// on the old holder announces the address with that node's MAC after the
// address has moved, and points the clients back at a node that no
// longer has it until the new holder's next announcement (the 60 to
// 160 ms of failed requests about a second after a graceful stop,
// docs/benchmarks-history.md). quiet ends that arping alone and keeps
// the address: for a caller whose peer may announce the address before
// this node's stop has run (keepalived's notify script, NotifyScript).
const VIPScript = `#!/bin/sh
# vip: the benchmark's floating address (ip addr + gratuitous ARP).
# Heartbeat-style resource script: vip start|stop|status.
. "$(dirname "$0")/../bench.env"
ARPF="$STATE/arping.pid"
has() { ip -o addr show dev "$DEV" | grep -q " $VIP/"; }
# noarp ends the arping that start left running, if it still runs (the
# pid checked against its command line: a pid may have been reused).
noarp() {
	[ -s "$ARPF" ] || return 0
	pid=$(cat "$ARPF")
	case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
	*arping*) kill "$pid" 2>/dev/null ;;
	esac
	rm -f "$ARPF"
}
case "$1" in
start)
	ip addr add "$VIP/$VIPLEN" dev "$DEV" 2>/dev/null || has || exit 1
	noarp
	setsid arping -q -U -c 3 -I "$DEV" "$VIP" </dev/null >/dev/null 2>&1 &
	echo $! >"$ARPF"
	exit 0 ;;
stop)
	noarp
	ip addr del "$VIP/$VIPLEN" dev "$DEV" 2>/dev/null
	has && exit 1
	exit 0 ;;
status)
	if has; then echo running; else echo stopped; fi
	exit 0 ;;
quiet)
	noarp
	exit 0 ;;
*)
	echo "usage: $0 start|stop|status|quiet" >&2
	exit 2 ;;
esac
`

// WebScript runs the small web server that answers with the node's name
// (X-Whom). It binds the wildcard address; the server runs only while the
// node holds the group, and answers on the VIP only where the VIP is.
const WebScript = `#!/bin/sh
# web: the benchmark's web server (X-Whom: node name).
# Heartbeat-style resource script: web start|stop|status.
. "$(dirname "$0")/../bench.env"
PIDF="$STATE/web.pid"
# alive: not kill -0, which also succeeds on a zombie waiting for a slow
# reaper (this machine's pid 1), and made every stop wait for it.
alive() { [ -n "$(tr -d '\0' <"/proc/$1/cmdline" 2>/dev/null)" ]; }
running() { [ -s "$PIDF" ] && alive "$(cat "$PIDF")"; }
case "$1" in
start)
	running && exit 0
	rm -f "$PIDF"
	setsid "$WEB" web -name "$NODE" -listen ":$PORT" -delay "${WEBDELAY:-0s}" -pidfile "$PIDF" </dev/null >>"$STATE/web.log" 2>&1 &
	i=0
	while [ ! -s "$PIDF" ] && [ $i -lt 500 ]; do sleep 0.005; i=$((i+1)); done
	running || { echo "web: did not start" >&2; exit 1; }
	exit 0 ;;
stop)
	if running; then
		pid=$(cat "$PIDF")
		kill "$pid" 2>/dev/null
		i=0
		while alive "$pid" && [ $i -lt 500 ]; do sleep 0.005; i=$((i+1)); done
		kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$PIDF"
	exit 0 ;;
status)
	if running; then echo running; else echo stopped; fi
	exit 0 ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2 ;;
esac
`

// NotifyScript is keepalived's notify script: the same two resources,
// started in order on MASTER, stopped in reverse on anything else. On
// anything else it first ends the gratuitous ARPs the vip start left
// running (vip quiet), at once, before the web server's stop: the new
// master announces the address without waiting for this node's stop, and
// an announcement of the old master's after it points the clients back
// at a node about to drop the address until the new master's next one,
// a second later.
const NotifyScript = `#!/bin/sh
# notify: keepalived notify_* script running the bench resources.
# keepalived runs notify scripts without waiting for them, and SIGTERMs
# those still running when it stops (notify_stop included). So the
# script records the state it was told at once, then ignores SIGTERM and
# works detached, under a lock (which the web server must not inherit),
# towards the state recorded last. Leaving MASTER, it stops announcing
# the address at once: the new master is already announcing it.
trap '' TERM INT HUP
D="$(dirname "$0")"
. "$D/../bench.env"
if [ -z "${BENCH_DETACHED:-}" ]; then
	echo "$1" >"$STATE/notify.want"
	[ "$1" = master ] || "$D/vip" quiet
	BENCH_DETACHED=1 setsid "$0" "$@" </dev/null >>"$STATE/notify.log" 2>&1 &
	exit 0
fi
trap - TERM INT HUP
exec 9>>"$STATE/notify.lock"
flock 9
want=$(cat "$STATE/notify.want")
echo "$(date +%T.%N) notify $1 (acting on $want)"
case "$want" in
master) "$D/vip" start 9>&- && "$D/web" start 9>&- ;;
*) "$D/web" stop 9>&-; "$D/vip" stop 9>&- ;;
esac
`

// Haresources is the one group every Heartbeat-style node runs: the VIP,
// then the web server, preferring the first node.
func Haresources(preferred string) string {
	return fmt.Sprintf("%s vip web\n", preferred)
}

// PlaceholderVIP is the address keepalived itself adds (on lo, inside the
// lab's namespaces) when its notify scripts move the real VIP: it refuses
// an instance without any address.
const PlaceholderVIP = "192.0.2.100/32"

// KeepalivedConf describes one keepalived node: VRRPv3 over unicast.
type KeepalivedConf struct {
	Node     string
	Dev      string
	Src      string   // unicast_src_ip
	Peers    []string // unicast_peer
	Priority int
	Advert   time.Duration
	// VIP with prefix ("10.231.0.100/24"): when BuiltinVIP, keepalived
	// adds it itself (virtual_ipaddress); otherwise Notify runs the
	// resource scripts.
	VIP        string
	BuiltinVIP bool
	Notify     string // path of the notify script (ignored when BuiltinVIP)
	RouterID   int    // virtual_router_id
	// RTPriority, when above 0, runs the VRRP process SCHED_RR at that
	// priority (vrrp_rt_priority), as hbd and Heartbeat run theirs with
	// `realtime on` (rtprio 1): without it, keepalived's adverts wait
	// behind the limit search's busy loops and hbd's do not.
	RTPriority int
}

// String renders keepalived.conf.
func (c KeepalivedConf) String() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# keepalived.conf written by hbd's bench")
	w("global_defs {")
	w("\trouter_id %s", c.Node)
	w("\tvrrp_version 3")
	w("\tscript_user root")
	if c.RTPriority > 0 {
		w("\tvrrp_rt_priority %d", c.RTPriority)
	}
	w("}")
	w("vrrp_instance bench {")
	w("\tstate BACKUP")
	w("\tinterface %s", c.Dev)
	w("\tvirtual_router_id %d", c.RouterID)
	w("\tpriority %d", c.Priority)
	w("\tadvert_int %s", seconds(c.Advert))
	w("\tunicast_src_ip %s", c.Src)
	w("\tunicast_peer {")
	for _, p := range c.Peers {
		w("\t\t%s", p)
	}
	w("\t}")
	if c.BuiltinVIP {
		w("\tvirtual_ipaddress {")
		w("\t\t%s dev %s", c.VIP, c.Dev)
		w("\t}")
	} else {
		// keepalived wants at least one address of its own: a
		// placeholder on lo, so that the notify scripts move the VIP.
		w("\tvirtual_ipaddress {")
		w("\t\t%s dev lo", PlaceholderVIP)
		w("\t}")
		for _, st := range []string{"master", "backup", "fault", "stop"} {
			w("\tnotify_%s \"%s %s\"", st, c.Notify, st)
		}
	}
	w("}")
	return b.String()
}
