package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The names an operator gives a group (hbd group, hbd cleanup): its key as
// Heartbeat prints it (the first resource), its explicit name (a
// `#hbd name NAME` comment line before its haresources line), its
// haresources line number, any of its resources as written, and any
// resource's script name (httpd, IPaddr) — each of the last two only when
// no other group has it.

// GroupNames lists the names group g answers to in c, its key first.
func (c *Config) GroupNames(g Group) []string {
	names := []string{g.Key()}
	if g.Name != "" {
		names = append(names, g.Name)
	}
	if g.Pos.Line > 0 {
		names = append(names, strconv.Itoa(g.Pos.Line))
	}
	for _, r := range g.Resources {
		for _, name := range []string{r.Spec, r.Name} {
			if name != "" && !slices.Contains(names, name) && c.groupsNamed(name) == 1 {
				names = append(names, name)
			}
		}
	}
	return names
}

// groupsNamed counts the groups with a resource written, or a script
// named, name.
func (c *Config) groupsNamed(name string) int {
	count := 0
	for _, g := range c.Groups {
		for _, r := range g.Resources {
			if r.Spec == name || r.Name == name {
				count++
				break
			}
		}
	}
	return count
}

// FindGroup returns the group an operator's name designates: its key,
// its haresources line number, or a resource (as written, or its script
// name) that no other group has. An unknown or ambiguous name is an error
// that lists the groups and their names.
func (c *Config) FindGroup(name string) (Group, error) {
	name = strings.TrimSpace(name)
	if g, ok := c.Group(name); ok {
		return g, nil // the key wins over every other name
	}
	for _, g := range c.Groups {
		if g.Name != "" && g.Name == name {
			return g, nil // then an explicit name
		}
	}
	var found []Group
	for _, g := range c.Groups {
		if slices.Contains(c.GroupNames(g)[1:], name) {
			found = append(found, g)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(c.Groups) == 0:
		return Group{}, fmt.Errorf("unknown resource group %q: haresources has no group", name)
	case c.groupsNamed(name) > 1:
		return Group{}, fmt.Errorf("%q is in more than one resource group: name the group by its key or line\n%s", name, c.GroupList())
	}
	return Group{}, fmt.Errorf("unknown resource group %q\n%s", name, c.GroupList())
}

// GroupList describes every group and its names, one a line (for error
// messages).
func (c *Config) GroupList() string {
	var b strings.Builder
	b.WriteString("resource groups (haresources line: names):")
	for _, g := range c.Groups {
		fmt.Fprintf(&b, "\n  %d: %s", g.Pos.Line, strings.Join(c.GroupNames(g), ", "))
	}
	return b.String()
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
		return "is a number, which names a group by its haresources line"
	}
	if strings.ContainsAny(name, "|>") {
		return "contains `|` or `>`"
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
