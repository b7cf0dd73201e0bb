package hbref

import (
	"strings"
	"testing"
	"time"
)

func TestTime(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "1"},
		{3 * time.Second, "3"},
		{500 * time.Millisecond, "500ms"},
		{1500 * time.Millisecond, "1500ms"},
		{5 * time.Millisecond, "5ms"},
	} {
		if got := Time(tc.d); got != tc.want {
			t.Errorf("Time(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestHaCfString(t *testing.T) {
	c := HaCf{
		Keepalive: time.Second, Deadtime: 3 * time.Second, Warntime: 2 * time.Second, Initdead: 6 * time.Second,
		UDPPort:      694,
		Ucast:        []Ucast{{"eth0", "10.231.0.1"}, {"eth0", "10.231.0.2"}},
		Nodes:        []string{"node1", "node2"},
		AutoFailback: "on",
		Extra:        []string{"realtime off"},
	}
	got := c.String()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	index := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Fatalf("no %q line in:\n%s", prefix, got)
		return -1
	}
	for _, want := range []string{
		"udpport 694", "keepalive 1", "deadtime 3", "warntime 2", "initdead 6",
		"ucast eth0 10.231.0.1", "ucast eth0 10.231.0.2", "node node1", "node node2",
		"auto_failback on", "crm off", "logfile " + DefaultLogfile, "debugfile " + DefaultDebugfile,
		"logfacility none", "realtime off",
	} {
		index(want)
	}
	// udpport and the log settings must precede the media lines.
	for _, before := range []string{"udpport", "logfile", "debugfile", "logfacility"} {
		if index(before) > index("ucast") {
			t.Errorf("%s after ucast:\n%s", before, got)
		}
	}
	if strings.Contains(got, "debug ") {
		t.Errorf("debug line without Debug:\n%s", got)
	}
	if s := (HaCf{}).String(); strings.Contains(s, "keepalive") || strings.Contains(s, "udpport") || strings.Contains(s, "auto_failback") {
		t.Errorf("zero HaCf writes unset directives:\n%s", s)
	}
}

func TestAuthkeys(t *testing.T) {
	if got := Authkeys("sha1", "s3cret"); got != "auth 1\n1 sha1 s3cret\n" {
		t.Errorf("sha1: %q", got)
	}
	if got := Authkeys("crc", "ignored"); got != "auth 1\n1 crc\n" {
		t.Errorf("crc: %q", got)
	}
}
