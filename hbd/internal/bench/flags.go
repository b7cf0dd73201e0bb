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
