package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The names an operator gives a group (hbd group, hbd cleanup): its key as
// Heartbeat prints it (the first resource), its haresources line number,
// any of its resources as written, and any resource's script name (httpd,
// IPaddr) — each of the last two only when no other group has it.

// GroupNames lists the names group g answers to in c, its key first.
func (c *Config) GroupNames(g Group) []string {
	names := []string{g.Key()}
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
