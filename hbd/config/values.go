package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxTime bounds every time value: nothing in ha.cf means anything beyond a
// day, and the bound keeps the arithmetic far from overflow.
const maxTime = 24 * time.Hour

// parseTime reads a time as Heartbeat writes it: a bare number is seconds
// (decimals allowed: "2", "1.5", ".5"), "NNNms" is milliseconds, "NNNus"
// microseconds. hbd also accepts "NNNs" (seconds), which Heartbeat refuses.
// The result is rounded to the millisecond, as Heartbeat does.
func parseTime(s string) (time.Duration, error) {
	num, unit := splitNumber(s)
	if num == "" {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("%q is negative; times are positive", s)
		}
		return 0, fmt.Errorf("%q is not a time; write seconds (\"2\", \"1.5\") or milliseconds (\"500ms\")", s)
	}
	var scale float64
	switch strings.ToLower(unit) {
	case "", "s":
		scale = float64(time.Second)
	case "ms":
		scale = float64(time.Millisecond)
	case "us":
		scale = float64(time.Microsecond)
	default:
		return 0, fmt.Errorf("%q has an unknown unit %q; write seconds (\"2\", \"1.5\", \"2s\") or milliseconds (\"500ms\")", s, unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time; write seconds (\"2\", \"1.5\") or milliseconds (\"500ms\")", s)
	}
	ns := v * scale
	if ns > float64(maxTime) {
		return 0, fmt.Errorf("%q is more than 24 hours; that cannot be what you mean", s)
	}
	return time.Duration(ns/float64(time.Millisecond)+0.5) * time.Millisecond, nil
}

// splitNumber splits "1.5ms" into "1.5" and "ms". num is empty when s does
// not start with a plain decimal number (digits with at most one dot and at
// least one digit).
func splitNumber(s string) (num, unit string) {
	i, digits, dots := 0, 0, 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digits++
		} else if c == '.' {
			dots++
		} else {
			break
		}
	}
	if digits == 0 || dots > 1 {
		return "", ""
	}
	return s[:i], s[i:]
}

// fmtDuration prints a duration as an ha.cf user writes it: "500ms", "2s",
// "1.5s", "120s".
func fmtDuration(d time.Duration) string {
	if d < time.Second || d%time.Millisecond != 0 && d < 10*time.Second {
		if d%time.Millisecond == 0 {
			return fmt.Sprintf("%dms", d/time.Millisecond)
		}
		return d.String()
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// parseBool reads a boolean as Heartbeat does (case-insensitive).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true, nil
	case "false", "off", "no", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean; write on/off (also yes/no, true/false, y/n, 1/0)", s)
}

// parseInt reads a decimal integer in [lo, hi]; what names the value in the
// message.
func parseInt(s, what string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a number; expected an integer from %d to %d", what, s, lo, hi)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%s %d is out of range; expected %d to %d", what, n, lo, hi)
	}
	return n, nil
}

// closest returns the candidate nearest to word (edit distance at most 2,
// or a case-insensitive match), or "".
func closest(word string, candidates []string) string {
	best, bestDist := "", 3
	lw := strings.ToLower(word)
	for _, c := range candidates {
		if strings.ToLower(c) == lw {
			return c
		}
		if d := editDistance(lw, c, bestDist); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit (long inputs stay cheap).
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diags collects findings for one file.
type diags struct {
	file string
	list []Diag
}

func (d *diags) errorf(line int, format string, args ...any) {
	d.list = append(d.list, Diag{Pos: Pos{File: d.file, Line: line}, Severity: SevError, Msg: fmt.Sprintf(format, args...)})
}

// machinef adds an error about this machine's state (Diag.Machine).
func (d *diags) machinef(line int, format string, args ...any) {
	d.errorf(line, format, args...)
	d.list[len(d.list)-1].Machine = true
}

func (d *diags) warnf(line int, format string, args ...any) {
	d.list = append(d.list, Diag{Pos: Pos{File: d.file, Line: line}, Severity: SevWarning, Msg: fmt.Sprintf(format, args...)})
}

// OnlyMachine reports whether ds has errors and every one of them is
// about this machine's state (Diag.Machine), none about the files.
func OnlyMachine(ds []Diag) bool {
	errs := false
	for _, d := range ds {
		if d.Severity != SevError {
			continue
		}
		if !d.Machine {
			return false
		}
		errs = true
	}
	return errs
}

// HasErrors reports whether any of ds is an error (not a warning).
func HasErrors(ds []Diag) bool {
	for _, d := range ds {
		if d.Severity == SevError {
			return true
		}
	}
	return false
}
