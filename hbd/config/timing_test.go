package config

import (
	"strings"
	"testing"
	"time"
)

func TestSetTimingDefaults(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		in   Config
		want [5]time.Duration // keepalive, warntime, deadtime, initdead, deadping
	}{
		{"empty", Config{}, [5]time.Duration{DefaultKeepalive, DefaultDeadtime / 2, DefaultDeadtime, 2 * DefaultDeadtime, DefaultDeadtime}},
		{"deadtime", Config{Deadtime: 10 * s}, [5]time.Duration{DefaultKeepalive, 5 * s, 10 * s, 20 * s, 10 * s}},
		{"initdead floor", Config{Keepalive: s, Deadtime: 4 * s}, [5]time.Duration{s, 2 * s, 4 * s, MinInitdead, 4 * s}},
		{"all set", Config{Keepalive: s, Warntime: 3 * s, Deadtime: 5 * s, Initdead: 7 * s, Deadping: 9 * s}, [5]time.Duration{s, 3 * s, 5 * s, 7 * s, 9 * s}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in
			c.SetTimingDefaults()
			got := [5]time.Duration{c.Keepalive, c.Warntime, c.Deadtime, c.Initdead, c.Deadping}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if err := c.CheckTimings(); err != nil {
				t.Errorf("defaults rejected: %v", err)
			}
		})
	}
}

func TestCheckTimings(t *testing.T) {
	s := time.Second
	ok := Config{Keepalive: s, Warntime: 2 * s, Deadtime: 3 * s, Initdead: 3 * s}
	tests := []struct {
		name string
		edit func(c *Config)
		want string // "" valid, else a part of the error
	}{
		{"valid (initdead = deadtime)", func(*Config) {}, ""},
		{"no keepalive", func(c *Config) { c.Keepalive = 0 }, "keepalive 0s is not positive"},
		{"deadtime twice keepalive", func(c *Config) { c.Deadtime, c.Initdead = 2*s, 2*s }, "deadtime 2s is not more than twice keepalive 1s"},
		{"no warntime", func(c *Config) { c.Warntime = 0 }, "warntime 0s is not positive"},
		{"initdead below deadtime", func(c *Config) { c.Initdead = 2 * s }, "initdead 2s is less than deadtime 3s"},
		{"nothing set", func(c *Config) { *c = Config{} }, "keepalive 0s is not positive; deadtime 0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.CheckTimings()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
