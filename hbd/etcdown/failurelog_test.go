package etcdown

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// TestFailureLog: a failure of a kind is logged at once, then at most
// once per failureLogEvery with how many were left out; its end is
// logged once, with the failures left out since the last line; kinds are
// apart.
func TestFailureLog(t *testing.T) {
	type step struct {
		at   time.Duration // since the start
		kind string
		ok   bool // the kind works (else: fails)
	}
	tests := []struct {
		name  string
		steps []step
		want  []string // what each logged line holds, in order
	}{
		{"one failure, then ok", []step{{0, "grant", false}, {time.Second, "grant", true}},
			[]string{"level=warning msg=\"etcd: down\"", "grant works again"}},
		{"repeats within the minute: one line", []step{{0, "grant", false}, {time.Second, "grant", false}, {59 * time.Second, "grant", false}},
			[]string{"etcd: down\""}},
		{"repeats past the minute: counted", []step{{0, "grant", false}, {time.Second, "grant", false}, {2 * time.Second, "grant", false}, {61 * time.Second, "grant", false}},
			[]string{"etcd: down\"", "2 more failures not logged"}},
		{"repeats, then ok: the end counts them", []step{{0, "grant", false}, {time.Second, "grant", false}, {2 * time.Second, "grant", false}, {3 * time.Second, "grant", true}},
			[]string{"etcd: down\"", "grant works again (it failed from 2026-12-06T09:00:00Z to 2026-12-06T09:00:03Z; 2 more failures not logged)"}},
		{"ok without a failure: nothing", []step{{0, "grant", true}}, nil},
		{"kinds apart", []step{{0, "grant", false}, {time.Second, "read", false}, {2 * time.Second, "read", true}, {3 * time.Second, "grant", false}},
			[]string{"etcd: down\"", "etcd: down\"", "read works again"}},
		{"a failure after an end is logged again", []step{{0, "grant", false}, {time.Second, "grant", true}, {2 * time.Second, "grant", false}},
			[]string{"etcd: down\"", "grant works again", "etcd: down\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := logrus.New()
			log.SetOutput(&buf)
			log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
			f := newFailureLog(log)
			t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
			for _, s := range tt.steps {
				f.now = func() time.Time { return t0.Add(s.at) }
				if s.ok {
					f.ok(s.kind)
				} else {
					f.failed(s.kind, errors.New("down"))
				}
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if buf.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(tt.want), buf.String())
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d: %q, want it to hold %q", i, lines[i], w)
				}
			}
		})
	}
}
