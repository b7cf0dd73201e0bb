package hbref

import (
	"fmt"
	"strings"
	"time"
)

// HaCf describes an ha.cf; String renders it in the order Heartbeat needs
// (udpport and logging before the media lines). The same text configures
// hbd, so a test can run both with one config.
type HaCf struct {
	Keepalive time.Duration // keepalive; rendered as whole seconds or "NNNms"
	Deadtime  time.Duration
	Warntime  time.Duration // 0: not written
	Initdead  time.Duration // 0: not written
	UDPPort   int           // 0: not written (Heartbeat's default 694)

	Ucast []Ucast  // one `ucast IFACE ADDR` line each; list every node, itself included
	Bcast []string // interfaces of one `bcast` line; none: no line

	Nodes        []string // one `node` line each
	AutoFailback string   // "on", "off", "legacy"; "": not written

	// Logfile and Debugfile default to /var/log/ha/ha-log and
	// /var/log/ha/ha-debug (Node.Log reads them); LogFacility defaults to
	// "none" (no syslog). Crm defaults to "off" (v1 haresources mode).
	Logfile     string
	Debugfile   string
	LogFacility string
	Crm         string
	Debug       int // `debug N` when > 0

	// Extra lines, written after everything else (e.g. "realtime off").
	Extra []string
}

// Ucast is one `ucast IFACE ADDR` line.
type Ucast struct {
	Iface string
	Addr  string
}

// Default paths of the node logs, inside the node.
const (
	DefaultLogfile   = "/var/log/ha/ha-log"
	DefaultDebugfile = "/var/log/ha/ha-debug"
)

// Time renders d as ha.cf wants it: whole seconds as a bare number ("3"),
// anything else in milliseconds ("500ms"). Heartbeat refuses "3s".
func Time(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d", d/time.Second)
	}
	return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// String renders the ha.cf text.
func (c HaCf) String() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# ha.cf written by hbref")
	if c.UDPPort != 0 {
		line("udpport %d", c.UDPPort)
	}
	line("logfile %s", or(c.Logfile, DefaultLogfile))
	line("debugfile %s", or(c.Debugfile, DefaultDebugfile))
	line("logfacility %s", or(c.LogFacility, "none"))
	if c.Debug > 0 {
		line("debug %d", c.Debug)
	}
	if c.Keepalive > 0 {
		line("keepalive %s", Time(c.Keepalive))
	}
	if c.Warntime > 0 {
		line("warntime %s", Time(c.Warntime))
	}
	if c.Deadtime > 0 {
		line("deadtime %s", Time(c.Deadtime))
	}
	if c.Initdead > 0 {
		line("initdead %s", Time(c.Initdead))
	}
	for _, u := range c.Ucast {
		line("ucast %s %s", u.Iface, u.Addr)
	}
	if len(c.Bcast) > 0 {
		line("bcast %s", strings.Join(c.Bcast, " "))
	}
	if c.AutoFailback != "" {
		line("auto_failback %s", c.AutoFailback)
	}
	for _, n := range c.Nodes {
		line("node %s", n)
	}
	line("crm %s", or(c.Crm, "off"))
	for _, e := range c.Extra {
		line("%s", e)
	}
	return b.String()
}

// Authkeys renders an authkeys file that signs with key index 1, method
// ("sha1", "md5", "crc") and secret.
func Authkeys(method, secret string) string {
	if method == "crc" {
		return "auth 1\n1 crc\n"
	}
	return fmt.Sprintf("auth 1\n1 %s %s\n", method, secret)
}
