package logging

import (
	"fmt"
	"log/syslog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// facilities are the names ha.cf's logfacility accepts (syslog's own).
var facilities = map[string]syslog.Priority{
	"kern":     syslog.LOG_KERN,
	"user":     syslog.LOG_USER,
	"mail":     syslog.LOG_MAIL,
	"daemon":   syslog.LOG_DAEMON,
	"auth":     syslog.LOG_AUTH,
	"syslog":   syslog.LOG_SYSLOG,
	"lpr":      syslog.LOG_LPR,
	"news":     syslog.LOG_NEWS,
	"uucp":     syslog.LOG_UUCP,
	"cron":     syslog.LOG_CRON,
	"authpriv": syslog.LOG_AUTHPRIV,
	"ftp":      syslog.LOG_FTP,
	"local0":   syslog.LOG_LOCAL0,
	"local1":   syslog.LOG_LOCAL1,
	"local2":   syslog.LOG_LOCAL2,
	"local3":   syslog.LOG_LOCAL3,
	"local4":   syslog.LOG_LOCAL4,
	"local5":   syslog.LOG_LOCAL5,
	"local6":   syslog.LOG_LOCAL6,
	"local7":   syslog.LOG_LOCAL7,
}

// FacilityNames lists the facility names ParseFacility accepts, sorted,
// "none" included.
func FacilityNames() []string {
	names := make([]string, 0, len(facilities)+1)
	for n := range facilities {
		names = append(names, n)
	}
	names = append(names, "none")
	sort.Strings(names)
	return names
}

// ParseFacility maps a logfacility name (case-insensitive) to its syslog
// facility. ok is false for "none" and "", which disable syslog.
func ParseFacility(name string) (fac syslog.Priority, ok bool, err error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || n == "none" {
		return 0, false, nil
	}
	fac, found := facilities[n]
	if !found {
		return 0, false, fmt.Errorf("unknown syslog facility %q (want one of %s)", name, strings.Join(FacilityNames(), ", "))
	}
	return fac, true, nil
}

// SyslogHook sends entries to syslog as "LEVEL: message" (SyslogLine):
// syslog adds the time, host and "heartbeat[PID]" itself, so the file
// prefix is not repeated. Levels map to severities: CRIT → crit, ERROR →
// err, WARN → warning, info → info, debug → debug.
//
// The connection is made lazily and again after a failure (at most every
// RetryInterval); Fire returns the error when the line could not be sent.
// The Logger routes lines to it itself (debug lines only at debug > 0); used
// alone with logrus.AddHook it fires for every level the logger emits.
type SyslogHook struct {
	network, addr, tag string
	facility           syslog.Priority

	mu sync.Mutex
	w  *syslog.Writer
	failure
}

// NewSyslogHook returns a hook for the facility, tagged tag. network and
// addr are as for syslog.Dial: both empty means the local syslog daemon
// (/dev/log); tests pass "unixgram" and a socket of their own. It tries to
// connect at once and returns the hook even when that fails (the error is
// returned alongside; lines then fail until a retry succeeds).
func NewSyslogHook(network, addr string, facility syslog.Priority, tag string) (*SyslogHook, error) {
	h := &SyslogHook{network: network, addr: addr, tag: tag, facility: facility}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h, h.dial(time.Now())
}

func (h *SyslogHook) dial(now time.Time) error {
	if h.w != nil {
		_ = h.w.Close()
		h.w = nil
	}
	w, err := syslog.Dial(h.network, h.addr, h.facility|syslog.LOG_INFO, h.tag)
	if err != nil {
		return h.fail(fmt.Errorf("connect to syslog: %w", err), now)
	}
	h.w = w
	return nil
}

// Levels implements logrus.Hook.
func (h *SyslogHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire implements logrus.Hook.
func (h *SyslogHook) Fire(e *logrus.Entry) error { return h.send(e, time.Now()) }

func (h *SyslogHook) send(e *logrus.Entry, now time.Time) error {
	return h.sendText(e.Level, SyslogLine(e), now)
}

// sendText sends one line (SyslogLine's text) at level's severity.
func (h *SyslogHook) sendText(level logrus.Level, line string, now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil {
		if !h.due(now) {
			return h.err
		}
		if err := h.dial(now); err != nil {
			return err
		}
	}
	var err error
	switch Severity(level) {
	case syslog.LOG_CRIT:
		err = h.w.Crit(line)
	case syslog.LOG_ERR:
		err = h.w.Err(line)
	case syslog.LOG_WARNING:
		err = h.w.Warning(line)
	case syslog.LOG_INFO:
		err = h.w.Info(line)
	default:
		err = h.w.Debug(line)
	}
	if err != nil {
		_ = h.w.Close()
		h.w = nil
		return h.fail(fmt.Errorf("write to syslog: %w", err), now)
	}
	return nil
}

// reconnect dials again if the connection is down (Reopen).
func (h *SyslogHook) reconnect(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w != nil {
		return nil
	}
	return h.dial(now)
}

// Close closes the connection.
func (h *SyslogHook) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil {
		return nil
	}
	err := h.w.Close()
	h.w = nil
	return err
}

// Severity maps a logrus level to the syslog severity Heartbeat uses for it.
func Severity(l logrus.Level) syslog.Priority {
	switch l {
	case logrus.PanicLevel, logrus.FatalLevel:
		return syslog.LOG_CRIT
	case logrus.ErrorLevel:
		return syslog.LOG_ERR
	case logrus.WarnLevel:
		return syslog.LOG_WARNING
	case logrus.InfoLevel:
		return syslog.LOG_INFO
	default:
		return syslog.LOG_DEBUG
	}
}
