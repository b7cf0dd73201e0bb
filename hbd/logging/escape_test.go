package logging

import (
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestEscape(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Link node2:eth0 up.", "Link node2:eth0 up."},
		{"empty", "", ""},
		{"newline forges a second line", "node2\nheartbeat[1]: 2012/11/21_15:12:44 CRIT: forged", `node2\nheartbeat[1]: 2012/11/21_15:12:44 CRIT: forged`},
		{"carriage return", "a\rb", `a\rb`},
		{"tab", "a\tb", `a\tb`},
		{"terminal escape", "\x1b]0;pwned\x07\x1b[2J", `\x1b]0;pwned\a\x1b[2J`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"C1 control", "a\u0085b\u009bc", `a\u0085b\u009bc`},
		{"8-bit CSI byte, not UTF-8", "a\x9b2J", `a\x9b2J`},
		{"invalid UTF-8", "\xff\xfe", `\xff\xfe`},
		{"bidi override", "user\u202egnp.exe", `user\u202egnp.exe`},
		{"letters and symbols kept", "nœud-é 東京 ✓", "nœud-é 東京 ✓"},
		{"backslash kept", `C:\path`, `C:\path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestFormatterEscapesUntrustedText: a message or a tag carrying control
// characters stays one inert line, in the file and in syslog's body.
func TestFormatterEscapesUntrustedText(t *testing.T) {
	logfile := filepath.Join(t.TempDir(), "ha-log")
	l, _ := newTestLogger(t, Outputs{Logfile: logfile})
	l.Warnf("Message from unknown node %s", "evil\n\x1b[31mheartbeat[1]: CRIT: forged")
	l.WithTag("web\x1b[0m", 7).Info("out\r\nput")
	want := "heartbeat[4242]: 2012/11/21_15:12:44 WARN: Message from unknown node evil\\n\\x1b[31mheartbeat[1]: CRIT: forged\n" +
		"web\\x1b[0m[7]: 2012/11/21_15:12:44 info: out\\r\\nput\n"
	if got := readFile(t, logfile); got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	e := l.WithField("x", 1)
	e.Message, e.Level = "a\nb", logrus.InfoLevel
	if got := SyslogLine(e); got != `info: a\nb x=1` {
		t.Errorf("SyslogLine = %q", got)
	}
}
