package config

import (
	"errors"
	"fmt"
	"strings"
)

const exclusiveUsage = "exclusive GROUP GROUP [GROUP...] (a group of haresources by its key, name or number; the first listed wins)"

// exclusive reads `exclusive GROUP GROUP...`: the words stay as written
// until Load resolves them against haresources (resolveExclusive).
func (p *hacfParser) exclusive(line int, args []string) {
	p.c.Exclusive = append(p.c.Exclusive, append([]string(nil), args...))
	p.c.ExclusivePos = append(p.c.ExclusivePos, Pos{p.d.file, line})
}

// resolveExclusive maps every word of the exclusive lines to a group key
// (any of a group's names: FindGroupIn) and checks
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
			gi, warning, err := findGroup(groups, "exclusive", "", w)
			if err != nil {
				errorf(pos, "exclusive: %v", err)
				continue
			}
			if warning != "" {
				list = append(list, Diag{Pos: pos, Severity: SevWarning, Msg: warning})
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

// findGroup is FindGroupIn for a word of ha.cf: the error is one line,
// with the groups' keys rather than the list of every name, and a group
// named by its number gets a warning.
func findGroup(groups []Group, ctx, prefix, w string) (gi int, warning string, err error) {
	gi, err = FindGroupIn(groups, w)
	var ge *GroupError
	if errors.As(err, &ge) {
		keys := make([]string, len(groups))
		for i, g := range groups {
			keys[i] = g.Key()
		}
		msg := ge.Msg
		if len(keys) > 0 && !strings.Contains(msg, "did you mean") {
			msg += " (groups: " + strings.Join(keys, " ") + ")"
		}
		return 0, "", errors.New(msg)
	}
	if err != nil {
		return 0, "", err
	}
	return gi, numberWarning(groups, gi, ctx, prefix, w), nil
}
