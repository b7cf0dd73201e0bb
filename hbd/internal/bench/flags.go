package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// List splits a comma-separated flag value, dropping empty items.
func List(s string) []string { return split(s, ",") }

// Lines splits a flag value of ha.cf lines, ';' between them, dropping
// empty ones.
func Lines(s string) []string { return split(s, ";") }

func split(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ParseTiming reads KEEPALIVE/DEADTIME ("10ms/40ms").
func ParseTiming(s string) (Timing, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Timing{}, fmt.Errorf("timing %q: want KEEPALIVE/DEADTIME, e.g. 10ms/40ms", s)
	}
	k, err := time.ParseDuration(a)
	if err != nil {
		return Timing{}, fmt.Errorf("timing %q: %w", s, err)
	}
	d, err := time.ParseDuration(b)
	if err != nil {
		return Timing{}, fmt.Errorf("timing %q: %w", s, err)
	}
	if k <= 0 || d <= 2*k {
		return Timing{}, fmt.Errorf("timing %q: want keepalive above zero and deadtime more than twice keepalive", s)
	}
	return Timing{Keepalive: k, Deadtime: d}, nil
}

// ParseLadder reads a comma-separated ladder, fastest first: of
// KEEPALIVE/DEADTIME timings, or, with adverts, of advert_int durations
// ("10ms,1s"; keepalived counts them in hundredths of a second).
func ParseLadder(s string, adverts bool) ([]Timing, error) {
	var out []Timing
	for _, f := range List(s) {
		if !adverts {
			t, err := ParseTiming(f)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil {
			return nil, fmt.Errorf("advert_int %q: %w", f, err)
		}
		if d < 10*time.Millisecond || d%(10*time.Millisecond) != 0 {
			return nil, fmt.Errorf("advert_int %q: want a multiple of 10ms", f)
		}
		out = append(out, Timing{Advert: d})
	}
	if err := CheckLadder(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParsePercents reads comma-separated loss rates in percent (0 to 100).
func ParsePercents(s string) ([]float64, error) {
	var out []float64
	for _, f := range List(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("loss %q: %w", f, err)
		}
		if v < 0 || v > 100 {
			return nil, fmt.Errorf("loss %q: want 0 to 100 (percent)", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// CheckLadder reports an error unless ladder is not empty and goes from
// the fastest detection up.
func CheckLadder(ladder []Timing) error {
	if len(ladder) == 0 {
		return fmt.Errorf("empty ladder")
	}
	for i := 1; i < len(ladder); i++ {
		if ladder[i].Detect() < ladder[i-1].Detect() {
			return fmt.Errorf("ladder not from the fastest up: %s before %s", ladder[i-1], ladder[i])
		}
	}
	return nil
}

// Labelled is one item of a flag of labelled values (LABEL=VALUE).
type Labelled struct{ Label, Value string }

// ParseLabelled reads comma-separated LABEL=VALUE items; an item without
// a label is labelled prefix and its position (hbd1, hbd2…). Labels are
// 1 to 32 letters, digits, '.', '_' or '-', each used once and none of
// reserved.
func ParseLabelled(s, prefix string, reserved ...string) ([]Labelled, error) {
	var out []Labelled
	seen := map[string]bool{}
	for _, r := range reserved {
		seen[r] = true
	}
	for i, f := range List(s) {
		l, v, ok := strings.Cut(f, "=")
		if !ok {
			l, v = fmt.Sprintf("%s%d", prefix, i+1), f
		}
		l, v = strings.TrimSpace(l), strings.TrimSpace(v)
		if !labelOK(l) {
			return nil, fmt.Errorf("label %q: want 1 to 32 letters, digits, '.', '_' or '-'", l)
		}
		if v == "" {
			return nil, fmt.Errorf("%s: no value", l)
		}
		if seen[l] {
			return nil, fmt.Errorf("label %q used twice (or reserved)", l)
		}
		seen[l] = true
		out = append(out, Labelled{Label: l, Value: v})
	}
	return out, nil
}

func labelOK(l string) bool {
	if l == "" || len(l) > 32 {
		return false
	}
	for _, c := range l {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
