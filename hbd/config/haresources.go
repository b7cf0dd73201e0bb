package config

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hbdproject/hbd/resources/agents"
)

// ParseHaresources reads a haresources file. name is used in diagnostics.
// It checks the syntax, and the arguments of every resource named after
// an agent of reg with that agent's own parser (reg may be nil); Load
// checks the preferred nodes against ha.cf and resolves the scripts.
//
// One logical line is one group: `NODE RES[::ARG...]...`. A line ending in
// `\` continues on the next; `#` starts a comment, also after a resource.
// Diagnostics about a group point at the line where the group starts.
//
// hbd reads one comment of its own (Heartbeat skips it as any comment):
// `#hbd name NAME` on a line of its own names the group that starts on
// the next line that is not blank or a comment (Group.Name).
func ParseHaresources(name string, r io.Reader, reg *agents.Registry) ([]Group, []Diag) {
	d := diags{file: name}
	text, err := readAll(r)
	if err != nil {
		d.errorf(0, "cannot read haresources: %v", err)
		return nil, d.list
	}
	var (
		groups    []Group
		keyLine   = map[string]int{}
		buf       []string
		startLine int
		names     groupNamer
	)
	flush := func() {
		if len(buf) > 0 {
			name := names.take()
			if g, ok := parseGroup(&d, startLine, buf, reg); ok {
				g.Name = name
				if prev, dup := keyLine[g.Key()]; dup {
					d.errorf(startLine, "group %s is defined twice (also on line %d); a resource group's first resource names it and must be unique", g.Key(), prev)
				} else {
					keyLine[g.Key()] = startLine
					groups = append(groups, g)
				}
			}
		}
		buf, startLine = nil, 0
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	continued := false
	for i, raw := range lines {
		line := i + 1
		if j := strings.IndexByte(raw, '#'); j >= 0 {
			if strings.TrimSpace(raw[:j]) == "" && !continued {
				names.comment(&d, line, raw[j:])
			}
			raw = raw[:j]
		}
		raw = strings.TrimRight(raw, " \t\r\f\v")
		continued = strings.HasSuffix(raw, "\\")
		raw = strings.TrimSuffix(raw, "\\")
		if fields := strings.Fields(raw); len(fields) > 0 {
			if startLine == 0 {
				startLine = line
			}
			buf = append(buf, fields...)
		}
		if !continued {
			flush()
		}
	}
	if continued && len(buf) > 0 {
		d.warnf(startLine, "the file ends inside a `\\` continuation; the group is read as it stands")
	}
	flush()
	names.end(&d)
	checkGroupNames(&d, groups)
	if len(groups) == 0 && !HasErrors(d.list) {
		d.warnf(0, "no resource groups: hbd will exchange heartbeats but manage no resources")
	}
	return groups, d.list
}

// parseGroup reads one logical line split in words.
func parseGroup(d *diags, line int, words []string, reg *agents.Registry) (Group, bool) {
	g := Group{Pos: Pos{d.file, line}}
	node := words[0]
	if strings.Contains(node, "::") || isBareIPv4(node) {
		d.errorf(line, "a group starts with its preferred node's name, not a resource (%q); write `NODE %s ...`", node, node)
		return g, false
	}
	if why := validNodeName(node); why != "" {
		d.errorf(line, "preferred node %q %s", node, why)
		return g, false
	}
	g.Preferred = strings.ToLower(node)
	if len(words) == 1 {
		d.errorf(line, "group for node %s lists no resources; write `%s RESOURCE...` or remove the line", g.Preferred, g.Preferred)
		return g, false
	}
	ok := true
	// The first resource is the group's key, which names the group in
	// the lists of the messages between nodes (hbd_held, hbd_want ...),
	// `|`-separated: a key with a `|` would read there as two groups,
	// and no peer would see the group held or consented to.
	if strings.Contains(words[1], "|") {
		d.errorf(line, "group key %q (the group's first resource) contains \"|\", which separates group keys in the messages between nodes; put a resource without \"|\" first", words[1])
		ok = false
	}
	for _, w := range words[1:] {
		res, err := parseResource(w, reg)
		if err != nil {
			d.errorf(line, "%v", err)
			ok = false
			continue
		}
		res.Pos = g.Pos
		g.Resources = append(g.Resources, res)
	}
	return g, ok
}

// notUTF8 says why a group's names must be UTF-8 text: the control
// socket's JSON (hbd status, the commands that name a group) carries
// only that, and would show a group under a name with its other bytes
// replaced, which no command finds.
const notUTF8 = "hbd shows groups and takes their names as UTF-8 (hbd status, hbd group, the log), and would show this one under a name no command finds; write it in UTF-8 (iconv -f LATIN1 -t UTF-8)"

// isBareIPv4 reports whether a haresources word is Heartbeat's shorthand for
// IPaddr::WORD: it starts like a dotted quad.
func isBareIPv4(w string) bool {
	if strings.Contains(w, "::") {
		return false
	}
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	return i > 0 && i < len(w) && w[i] == '.'
}

// parseResource reads one `NAME[::ARG...]` word. A resource that an
// agent of reg runs has its arguments checked by that agent's parser.
func parseResource(w string, reg *agents.Registry) (Resource, error) {
	spec := w
	if isBareIPv4(w) {
		spec = "IPaddr::" + w
	}
	parts := strings.Split(spec, "::")
	r := Resource{Spec: spec, Name: parts[0], Args: parts[1:]}
	switch {
	case !utf8.ValidString(w):
		return r, fmt.Errorf("resource %q is not UTF-8 text: %s", w, notUTF8)
	case r.Name == "":
		return r, fmt.Errorf("resource %q has no script name before `::`", w)
	case strings.ContainsAny(r.Name, "/\\") || r.Name == "." || r.Name == "..":
		return r, fmt.Errorf("resource %q: %q is not a script name (no paths; put the script in resource.d/)", w, r.Name)
	}
	for i, a := range r.Args {
		if a == "" {
			return r, fmt.Errorf("resource %q: argument %d is empty (check the `::` separators)", w, i+1)
		}
	}
	if a, ok := reg.Lookup(r.Name); ok && a.Check != nil {
		if err := a.Check(r.Name, r.Args); err != nil {
			return r, fmt.Errorf("resource %q: %v", w, err)
		}
	}
	return r, nil
}
