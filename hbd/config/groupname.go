package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A group's names, the same wherever a group is named: ha.cf's
// `exclusive` lines and `monitor ... group=`, and the operator's commands
// (hbd group, hbd cleanup, hbd harc). FindGroupIn is the one resolver; in
// order of precedence a group is named by
//
//   - its key as Heartbeat prints it (its first resource as haresources
//     spells it; a bare IPv4 address stands for IPaddr::ADDRESS, as in
//     haresources);
//   - its explicit name (a `#hbd name NAME` comment line before its
//     haresources line);
//   - its number: its 1-based position among the groups of haresources,
//     in file order;
//   - any of its resources as written, or a resource's script name
//     (httpd, IPaddr), when no other group has it.
//
// A number is a position, not a line number: a comment, a blank line, a
// `#hbd name` line or a `\` continuation added above a group moves its
// line, so a line number kept in ha.cf (`exclusive 3 5`) or in a runbook
// would silently name another group, or none; a position changes only when
// the groups themselves are added, removed or reordered. ha.cf should use
// names all the same, and check warns when it does not (numberWarning).

// FindGroupIn returns the index in groups of the group name designates
// (see above). An unknown or ambiguous name is an error that lists the
// groups and their names.
func FindGroupIn(groups []Group, name string) (int, error) {
	name = strings.TrimSpace(name)
	for i, g := range groups {
		if g.Key() == name || isBareIPv4(name) && g.Key() == "IPaddr::"+name {
			return i, nil // the key wins over every other name
		}
	}
	for i, g := range groups {
		if g.Name != "" && g.Name == name {
			return i, nil // then an explicit name
		}
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > len(groups) {
			return 0, groupErrorf(groups, "there is no group %d: haresources has %d groups (a number is a group's position among them)", n, len(groups))
		}
		return n - 1, nil
	}
	var found []int
	for i := range groups {
		if slices.Contains(groupNames(groups, i)[1:], name) {
			found = append(found, i)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(groups) == 0:
		return 0, &GroupError{Msg: fmt.Sprintf("unknown resource group %q: haresources has no group", name)}
	case groupsNamed(groups, name) > 1:
		return 0, groupErrorf(groups, "%q is in more than one resource group: name the group by its key or name", name)
	}
	hint := ""
	var all []string
	for i := range groups {
		for _, n := range groupNames(groups, i) {
			if _, err := strconv.Atoi(n); err != nil {
				all = append(all, n) // a number is never what a typo meant
			}
		}
	}
	if s := closest(name, all); s != "" {
		hint = fmt.Sprintf("; did you mean %q?", s)
	}
	return 0, groupErrorf(groups, "unknown resource group %q%s", name, hint)
}

// GroupError is FindGroupIn's error: what is wrong, in one line, and the
// list of the groups with their names.
type GroupError struct {
	Msg  string
	List string // GroupListOf the groups; "" when there is none
}

func (e *GroupError) Error() string {
	if e.List == "" {
		return e.Msg
	}
	return e.Msg + "\n" + e.List
}

func groupErrorf(groups []Group, format string, args ...any) *GroupError {
	return &GroupError{Msg: fmt.Sprintf(format, args...), List: GroupListOf(groups)}
}

// FindGroup is FindGroupIn over c's groups.
func (c *Config) FindGroup(name string) (Group, error) {
	i, err := FindGroupIn(c.Groups, name)
	if err != nil {
		return Group{}, err
	}
	return c.Groups[i], nil
}

// GroupNames lists the names group g answers to in c, its key first.
func (c *Config) GroupNames(g Group) []string {
	for i := range c.Groups {
		if c.Groups[i].Key() == g.Key() {
			return groupNames(c.Groups, i)
		}
	}
	return []string{g.Key()}
}

// groupNames lists the names groups[i] answers to: its key, its explicit
// name, its number, then its resources and their script names that no
// other group has.
func groupNames(groups []Group, i int) []string {
	g := groups[i]
	names := []string{g.Key()}
	if g.Name != "" {
		names = append(names, g.Name)
	}
	names = append(names, strconv.Itoa(i+1))
	for _, r := range g.Resources {
		for _, name := range []string{r.Spec, r.Name} {
			if name != "" && !slices.Contains(names, name) && groupsNamed(groups, name) == 1 {
				names = append(names, name)
			}
		}
	}
	return names
}

// groupsNamed counts the groups with a resource written, or a script
// named, name.
func groupsNamed(groups []Group, name string) int {
	count := 0
	for _, g := range groups {
		for _, r := range g.Resources {
			if r.Spec == name || r.Name == name {
				count++
				break
			}
		}
	}
	return count
}

// GroupList describes every group of c and its names (for error
// messages).
func (c *Config) GroupList() string { return GroupListOf(c.Groups) }

// GroupListOf describes every group, one a line: its number, its other
// names and its haresources line.
func GroupListOf(groups []Group) string {
	var b strings.Builder
	b.WriteString("resource groups (number: names, haresources line):")
	for i, g := range groups {
		names := slices.DeleteFunc(groupNames(groups, i), func(n string) bool { return n == strconv.Itoa(i+1) })
		fmt.Fprintf(&b, "\n  %d: %s (line %d)", i+1, strings.Join(names, ", "), g.Pos.Line)
	}
	return b.String()
}

// numberWarning is the warning for a group named by its number in ha.cf,
// or "" when word is not a number: ctx is the line's directive (and
// resource), prefix what precedes the word there ("group=" on a monitor
// line). The number stays right only while no group is added, removed or
// moved above it, and a name tells a reader which group is meant.
func numberWarning(groups []Group, i int, ctx, prefix, word string) string {
	if _, err := strconv.Atoi(strings.TrimSpace(word)); err != nil {
		return ""
	}
	names := groupNames(groups, i)
	better := names[0] // the key: always unique
	if g := groups[i]; g.Name != "" {
		better = g.Name
	} else if len(names) > 2 {
		better = names[2] // its first resource or script name no other group has
	}
	return fmt.Sprintf("%s: %s%s names a group by its number (its position in haresources), which names another group once a group is added or removed before it; write %s%s",
		ctx, prefix, word, prefix, better)
}

// groupNamer reads `#hbd name NAME` comment lines of haresources for the
// group that follows.
type groupNamer struct {
	name string
	line int
}

// comment reads a comment line (text starts at its '#').
func (gn *groupNamer) comment(d *diags, line int, text string) {
	f := strings.Fields(text)
	if len(f) == 0 || f[0] != "#hbd" {
		return // an ordinary comment
	}
	if len(f) != 3 || f[1] != "name" {
		d.warnf(line, "unknown hbd comment %q: `#hbd name NAME` names the group on the next line; other comments should not start with `#hbd`", strings.TrimSpace(text))
		return
	}
	if why := badGroupName(f[2]); why != "" {
		d.errorf(line, "group name %q %s", f[2], why)
		return
	}
	if gn.name != "" {
		d.warnf(gn.line, "`#hbd name %s` names no group: another `#hbd name` follows on line %d", gn.name, line)
	}
	gn.name, gn.line = f[2], line
}

// take returns the name for the group starting now, and forgets it.
func (gn *groupNamer) take() string {
	name := gn.name
	gn.name, gn.line = "", 0
	return name
}

// end: the file is over.
func (gn *groupNamer) end(d *diags) {
	if gn.name != "" {
		d.warnf(gn.line, "`#hbd name %s` names no group: no group line follows", gn.name)
	}
}

// badGroupName says why name cannot be a group's explicit name ("" if it
// can): a number would be read as a line number, `|` and `>` separate
// group keys in announcements.
func badGroupName(name string) string {
	if _, err := strconv.Atoi(name); err == nil {
		return "is a number, which names a group by its position in haresources"
	}
	if strings.ContainsAny(name, "|>") {
		return "contains `|` or `>`"
	}
	if !utf8.ValidString(name) {
		return "is not UTF-8 text: " + notUTF8
	}
	return ""
}

// checkGroupNames: explicit names are unique, and none is another group's
// key.
func checkGroupNames(d *diags, groups []Group) {
	for i, g := range groups {
		if g.Name == "" {
			continue
		}
		for _, o := range groups[:i] {
			switch {
			case o.Name == g.Name:
				d.errorf(g.Pos.Line, "group name %s is given twice (also to the group on line %d)", g.Name, o.Pos.Line)
			case o.Key() == g.Name:
				d.errorf(g.Pos.Line, "group name %s is the key of the group on line %d", g.Name, o.Pos.Line)
			}
		}
		for _, o := range groups[i+1:] {
			if o.Key() == g.Name {
				d.errorf(g.Pos.Line, "group name %s is the key of the group on line %d", g.Name, o.Pos.Line)
			}
		}
	}
}
