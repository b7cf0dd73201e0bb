package logging

import (
	"log/syslog"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/sirupsen/logrus"
)

func TestSeverityAndSyslogLine(t *testing.T) {
	tests := []struct {
		level  logrus.Level
		data   logrus.Fields
		sev    syslog.Priority
		wantLn string
	}{
		{logrus.TraceLevel, nil, syslog.LOG_DEBUG, "debug: m"},
		{logrus.DebugLevel, nil, syslog.LOG_DEBUG, "debug: m"},
		{logrus.InfoLevel, nil, syslog.LOG_INFO, "info: m"},
		{logrus.WarnLevel, logrus.Fields{"node": "n2"}, syslog.LOG_WARNING, "WARN: m node=n2"},
		{logrus.ErrorLevel, nil, syslog.LOG_ERR, "ERROR: m"},
		{logrus.FatalLevel, nil, syslog.LOG_CRIT, "CRIT: m"},
		{logrus.PanicLevel, nil, syslog.LOG_CRIT, "CRIT: m"},
		{logrus.InfoLevel, logrus.Fields{TagKey: "IPaddr2", TagPIDKey: 77, "rc": 0}, syslog.LOG_INFO, "IPaddr2[77]: info: m rc=0"},
	}
	for _, tc := range tests {
		e := &logrus.Entry{Level: tc.level, Message: "m", Data: tc.data, Time: fixedTime}
		if got := Severity(tc.level); got != tc.sev {
			t.Errorf("Severity(%v) = %v, want %v", tc.level, got, tc.sev)
		}
		if got := SyslogLine(e); got != tc.wantLn {
			t.Errorf("SyslogLine(%v, %v) = %q, want %q", tc.level, tc.data, got, tc.wantLn)
		}
	}
}

// syslogServer is a unixgram socket standing in for /dev/log.
type syslogServer struct {
	t    *testing.T
	conn *net.UnixConn
}

func listenSyslog(t *testing.T, path string) *syslogServer {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", path, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &syslogServer{t: t, conn: conn}
}

// log/syslog writes <PRI>TIMESTAMP [HOSTNAME ]TAG[PID]: MSG (no hostname
// on a unix socket).
var syslogRE = regexp.MustCompile(`^<(\d+)>.*? (\S+)\[\d+\]: (.*?)\n?$`)

// next returns the next datagram's priority, tag and message; ok is false
// when none comes within the wait.
func (s *syslogServer) next(wait time.Duration) (pri int, tag, msg string, ok bool) {
	s.t.Helper()
	buf := make([]byte, 4096)
	_ = s.conn.SetReadDeadline(time.Now().Add(wait))
	n, err := s.conn.Read(buf)
	if err != nil {
		return 0, "", "", false
	}
	m := syslogRE.FindStringSubmatch(string(buf[:n]))
	if m == nil {
		s.t.Fatalf("datagram %q not in syslog format", buf[:n])
	}
	pri, _ = strconv.Atoi(m[1])
	return pri, m[2], m[3], true
}

func TestSyslogThroughLogger(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	srv := listenSyslog(t, sock)
	stderr := &testenv.LockedBuffer{}
	logPath := filepath.Join(t.TempDir(), "ha-log")
	l, err := New(Options{
		Outputs: Outputs{Logfile: logPath, Facility: "local0"},
		PID:     4242, Stderr: stderr, Now: fixedClock,
		SyslogNetwork: "unixgram", SyslogAddr: sock,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	l.Debug("not at debug 0")
	l.Info("Link node2:eth0 up.")
	l.WithField("node", "node2").Warn("Late heartbeat")
	l.Error("e")
	l.Crit("c")
	l.WithTag("ResourceManager", 178).Info("Running start")

	local0 := int(syslog.LOG_LOCAL0)
	want := []struct {
		pri int
		msg string
	}{
		{local0 | int(syslog.LOG_INFO), "info: Link node2:eth0 up."},
		{local0 | int(syslog.LOG_WARNING), "WARN: Late heartbeat node=node2"},
		{local0 | int(syslog.LOG_ERR), "ERROR: e"},
		{local0 | int(syslog.LOG_CRIT), "CRIT: c"},
		{local0 | int(syslog.LOG_INFO), "ResourceManager[178]: info: Running start"},
	}
	for _, w := range want {
		pri, tag, msg, ok := srv.next(5 * time.Second)
		if !ok {
			t.Fatalf("no datagram; want %q", w.msg)
		}
		if pri != w.pri || tag != "heartbeat" || msg != w.msg {
			t.Errorf("got <%d> %s: %q, want <%d> heartbeat: %q", pri, tag, msg, w.pri, w.msg)
		}
	}
	if _, _, msg, ok := srv.next(100 * time.Millisecond); ok {
		t.Errorf("unexpected datagram %q", msg)
	}
	// The file got the same lines in the file format; stderr nothing.
	if n := len(lines(readFile(t, logPath))); n != len(want) {
		t.Errorf("logfile has %d lines, want %d", n, len(want))
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr %q", s)
	}

	// debug > 0: debug lines go to syslog at debug severity.
	if err := l.Apply(Outputs{Logfile: logPath, Facility: "local0", Debug: 1}); err != nil {
		t.Fatal(err)
	}
	l.Debug("now shown")
	if pri, _, msg, ok := srv.next(5 * time.Second); !ok || pri != local0|int(syslog.LOG_DEBUG) || msg != "debug: now shown" {
		t.Errorf("got <%d> %q %v, want debug line", pri, msg, ok)
	}

	// Another facility reconnects with it.
	if err := l.Apply(Outputs{Facility: "daemon"}); err != nil {
		t.Fatal(err)
	}
	l.Info("on daemon")
	if pri, _, msg, ok := srv.next(5 * time.Second); !ok || pri != int(syslog.LOG_DAEMON|syslog.LOG_INFO) || msg != "info: on daemon" {
		t.Errorf("got <%d> %q %v, want daemon.info", pri, msg, ok)
	}
}

func TestSyslogUnavailableFallsBackThenRecovers(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	stderr := &testenv.LockedBuffer{}
	l, err := New(Options{
		Outputs: Outputs{Facility: "local1"},
		PID:     4242, Stderr: stderr, Now: fixedClock,
		SyslogNetwork: "unixgram", SyslogAddr: sock,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Info("one")
	l.Info("two")
	s := stderr.String()
	if n := strings.Count(s, " WARN: "); n != 1 || !strings.Contains(s, "cannot write syslog: connect to syslog:") {
		t.Errorf("want exactly one WARN about syslog, got:\n%s", s)
	}
	if !strings.Contains(s, "info: one\n") || !strings.Contains(s, "info: two\n") {
		t.Errorf("lines not on stderr:\n%s", s)
	}

	srv := listenSyslog(t, sock)
	if err := l.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	l.Info("three")
	if pri, _, msg, ok := srv.next(5 * time.Second); !ok || pri != int(syslog.LOG_LOCAL1|syslog.LOG_INFO) || msg != "info: three" {
		t.Errorf("got <%d> %q %v, want local1.info three", pri, msg, ok)
	}
	if strings.Contains(stderr.String(), "info: three\n") {
		t.Error("line went to stderr after syslog recovered")
	}
}

func TestSyslogHookAlone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	srv := listenSyslog(t, sock)
	h, err := NewSyslogHook("unixgram", sock, syslog.LOG_LOCAL7, "hbd-test")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lg := logrus.New()
	lg.Out = &testenv.LockedBuffer{}
	lg.AddHook(h)
	lg.Error("alone")
	if pri, tag, msg, ok := srv.next(5 * time.Second); !ok || pri != int(syslog.LOG_LOCAL7|syslog.LOG_ERR) || tag != "hbd-test" || msg != "ERROR: alone" {
		t.Errorf("got <%d> %s %q %v", pri, tag, msg, ok)
	}
}
