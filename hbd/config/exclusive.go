package config

import (
	"fmt"
	"strconv"
	"strings"
)

const exclusiveUsage = "exclusive GROUP GROUP [GROUP...] (a haresources group key or 1-based group number; the first listed wins)"

// exclusive reads `exclusive GROUP GROUP...`: the words stay as written
// until Load resolves them against haresources (resolveExclusive).
func (p *hacfParser) exclusive(line int, args []string) {
	p.c.Exclusive = append(p.c.Exclusive, append([]string(nil), args...))
	p.c.ExclusivePos = append(p.c.ExclusivePos, Pos{p.d.file, line})
}

// resolveExclusive maps every word of the exclusive lines to a group key
// (a key as haresources spells it, or a 1-based group number) and checks
// that a group is in at most one set, at most once.
func resolveExclusive(c *Config, groups []Group) []Diag {
	if len(c.Exclusive) == 0 {
		return nil
	}
	var list []Diag
	errorf := func(pos Pos, format string, args ...any) {
		list = append(list, Diag{Pos: pos, Severity: SevError, Msg: fmt.Sprintf(format, args...)})
	}
	inSet := map[string]int{} // group key → line of its set
	for i, words := range c.Exclusive {
		pos := Pos{File: "ha.cf"}
		if i < len(c.ExclusivePos) {
			pos = c.ExclusivePos[i]
		}
		set := make([]string, 0, len(words))
		for _, w := range words {
			gi, err := findGroup(groups, w)
			if err != nil {
				errorf(pos, "exclusive: %v", err)
				continue
			}
			key := groups[gi].Key()
			if prev, dup := inSet[key]; dup {
				if prev == pos.Line {
					errorf(pos, "exclusive: group %s is listed twice", key)
				} else {
					errorf(pos, "exclusive: group %s is already in the exclusive set of line %d; a group may be in one set only", key, prev)
				}
				continue
			}
			inSet[key] = pos.Line
			set = append(set, key)
		}
		c.Exclusive[i] = set
	}
	return list
}

// exclusiveString is the exclusive sets as written after resolution, for
// Diff.
func exclusiveString(sets [][]string) string {
	if len(sets) == 0 {
		return "(none)"
	}
	var s []string
	for _, set := range sets {
		s = append(s, "["+strings.Join(set, " ")+"]")
	}
	return strings.Join(s, " ")
}

// findGroup finds the group a word of ha.cf names: its key as haresources
// spells it (a bare IPv4 address stands for IPaddr::ADDRESS, as in
// haresources), or its 1-based number. The error is worded for a person.
func findGroup(groups []Group, w string) (int, error) {
	if n, err := strconv.Atoi(w); err == nil {
		if n < 1 || n > len(groups) {
			return 0, fmt.Errorf("group number %d is out of range (haresources has %d groups)", n, len(groups))
		}
		return n - 1, nil
	}
	keys := make([]string, len(groups))
	for i, g := range groups {
		keys[i] = g.Key()
		if keys[i] == w || isBareIPv4(w) && keys[i] == "IPaddr::"+w {
			return i, nil
		}
	}
	hint := ""
	if s := closest(w, keys); s != "" {
		hint = fmt.Sprintf("; did you mean %q?", s)
	} else if len(keys) > 0 {
		hint = fmt.Sprintf(" (groups: %s)", strings.Join(keys, " "))
	}
	return 0, fmt.Errorf("%s is not a group of haresources (a group is named by its first resource, or by its number)%s", w, hint)
}
