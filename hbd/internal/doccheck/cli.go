package doccheck

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

var helpLine = regexp.MustCompile(`^\s{2}([a-z][a-z0-9_-]*)(?:\s|$)`)

// HelpCommands returns the command names `hbd help` lists: the first word
// of each indented line after "commands:".
func HelpCommands(help string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(help, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "commands:") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.TrimSpace(l) == "" {
			if len(out) > 0 {
				break
			}
			continue
		}
		if m := helpLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

var (
	// "  -c DIR", "  -json", "  -v\tusage" as flag.PrintDefaults writes them.
	defaultsLine = regexp.MustCompile(`^  -([A-Za-z][\w-]*)(?: ([^\s]+))?(?:\t.*)?$`)
	// "[--run-dir DIR]", "[-c|--config DIR]", "[-v]" in a usage line.
	usageOption = regexp.MustCompile(`\[((?:--?[A-Za-z][\w-]*\|?)+)(?: ([A-Z][A-Z_]*))?\]`)
)

// UsageFlags returns the flags a command's -h output names, each with
// whether it takes a value: from flag.PrintDefaults lines and from the
// [--flag VALUE] options of usage lines.
func UsageFlags(usage string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(usage, "\n") {
		if m := defaultsLine.FindStringSubmatch(l); m != nil {
			out[m[1]] = m[2] != ""
			continue
		}
		for _, m := range usageOption.FindAllStringSubmatch(l, -1) {
			for _, f := range strings.Split(m[1], "|") {
				if f = strings.TrimLeft(f, "-"); f != "" {
					out[f] = m[2] != ""
				}
			}
		}
	}
	return out
}

var (
	synopsisFlag = regexp.MustCompile(`(?:^|[\s\[|])--?([A-Za-z][\w-]*)`)
	commandWord  = regexp.MustCompile(`^[a-z][a-z_]*$`)
)

// SynopsisEntry reads one SYNOPSIS entry of hbd(8), such as
// "hbd standby | takeover [--run-dir DIR] [all|foreign|local|failback]":
// the commands it names and the flags it shows.
func SynopsisEntry(entry string) (cmds, flags []string) {
	f := strings.Fields(entry)
	if len(f) < 2 || f[0] != "hbd" {
		return nil, nil
	}
	cmds = append(cmds, f[1])
	// "| takeover" right after the command (or after its optional
	// arguments, "help [COMMAND] | version") names another command of the
	// same form; the first other word ends the list.
	for i := 2; i < len(f); i++ {
		if strings.HasPrefix(f[i], "[") {
			continue
		}
		if f[i] != "|" || i+1 >= len(f) || !commandWord.MatchString(f[i+1]) {
			break
		}
		cmds = append(cmds, f[i+1])
		i++
	}
	for _, m := range synopsisFlag.FindAllStringSubmatch(entry, -1) {
		flags = append(flags, m[1])
	}
	return cmds, flags
}

// legacy maps the Heartbeat names hbd answers to (hb_standby ...) to its
// commands, as a user types them.
var legacy = map[string]string{
	"hb_standby":  "standby",
	"hb_takeover": "takeover",
	"cl_status":   "cl_status",
	"harc":        "harc",
}

// Invocation is one hbd command line found in a page: the words after
// the program name (hbd's own, or "standby" for hb_standby).
type Invocation struct {
	Args []string
	Line int
	Text string
	// Typed: a line of a shell block or a prompted line, for the reader
	// to type (not a code span of the prose); Root: typed as root (sudo,
	// or a "#" prompt).
	Typed, Root bool
}

// Invocations returns the hbd command lines a Markdown page tells the
// reader to type: every line of sh, bash and shell blocks, prompted lines
// ("$ ", "# ", "node1$ ") of other blocks, and code spans of the prose
// that start with hbd (or sudo hbd, bin/hbd, a legacy name). Shell lines
// are split at ;, &&, || and |, and comments are dropped.
func Invocations(md string) []Invocation {
	md = withoutGenerated(md)
	var out []Invocation
	for _, b := range Blocks(md) {
		shell := b.Info == "sh" || b.Info == "bash" || b.Info == "shell"
		for i, l := range strings.Split(b.Body, "\n") {
			rootPrompt := false
			if !shell {
				var ok bool
				if l, rootPrompt, ok = unprompt(l); !ok {
					continue
				}
			}
			for _, seg := range splitShell(stripComment(l)) {
				if args, sudo, ok := hbdArgs(seg); ok {
					out = append(out, Invocation{Args: args, Line: b.Line + 1 + i, Text: strings.TrimSpace(seg), Typed: true, Root: sudo || rootPrompt})
				}
			}
		}
	}
	for _, c := range InlineCode(md) {
		if args, sudo, ok := hbdArgs(c.Text); ok {
			out = append(out, Invocation{Args: args, Line: c.Line, Text: c.Text, Root: sudo})
		}
	}
	return out
}

// generated is a part of a page a program writes (make bench's results):
// output to read, not commands to type.
var generated = regexp.MustCompile(`(?s)<!-- bench:begin.*?<!-- bench:end -->`)

// withoutGenerated blanks the generated parts of a page, keeping its lines.
func withoutGenerated(md string) string {
	return generated.ReplaceAllStringFunc(md, func(s string) string {
		return strings.Repeat("\n", strings.Count(s, "\n"))
	})
}

var prompt = regexp.MustCompile(`^\s*(?:[\w.-]*\$|#)\s+`)

// unprompt returns a prompted line's command, and whether the prompt is
// root's ("# ").
func unprompt(l string) (cmd string, root, ok bool) {
	loc := prompt.FindStringIndex(l)
	if loc == nil {
		return "", false, false
	}
	return l[loc[1]:], strings.TrimSpace(l[:loc[1]]) == "#", true
}

func stripComment(l string) string {
	inQuote := byte(0)
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '\'' || c == '"':
			inQuote = c
		case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return l[:i]
		}
	}
	return l
}

var shellSep = regexp.MustCompile(`\s*(?:&&|\|\||;|\|)\s*`)

func splitShell(l string) []string {
	return shellSep.Split(l, -1)
}

// hbdArgs returns the words after the program of a command line that runs
// hbd, after sudo and VAR=value prefixes, and whether sudo was one; ok is
// false for any other program.
func hbdArgs(line string) (args []string, sudo, ok bool) {
	f := strings.Fields(line)
	for len(f) > 0 && (f[0] == "sudo" || strings.Contains(f[0], "=") && !strings.HasPrefix(f[0], "-")) {
		sudo = sudo || f[0] == "sudo"
		f = f[1:]
	}
	if len(f) == 0 {
		return nil, false, false
	}
	if len(f) > 1 && strings.HasSuffix(f[1], ":") {
		return nil, false, false // a message quoted ("hbd status: hbd is not running ..."), not a command
	}
	prog := filepath.Base(f[0])
	if prog == "hbd" && (f[0] == "hbd" || strings.Contains(f[0], "/")) {
		return f[1:], sudo, true
	}
	if cmd, ok := legacy[prog]; ok {
		return append([]string{cmd}, f[1:]...), sudo, true
	}
	return nil, false, false
}

// CLI is what the binary says about itself: each command (as `hbd help`
// lists it) with its flags (as its -h shows them), each flag with whether
// it takes a value.
type CLI map[string]map[string]bool

// Check says what is wrong with an invocation for this CLI: an unknown
// command, or a flag the command does not take. Flags are read as Go's
// flag package reads them: up to the first word that is not a flag, "-x"
// and "--x" alike, "-x=v" or "-x v" for a flag with a value. Placeholders
// in the synopsis style of the docs ("[-c DIR]") are read too.
func (c CLI) Check(args []string) error {
	_, _, err := c.split(args)
	return err
}

// split reads an invocation as Check does and returns its command and
// the first word after the command's flags ("" when none, or when the
// command is a placeholder).
func (c CLI) split(args []string) (cmd, first string, err error) {
	var words []string
	for _, a := range args {
		if a = strings.Trim(a, "[]"); a != "" && a != "|" && a != "…" && a != "..." {
			words = append(words, a)
		}
	}
	cmd = "run" // hbd alone, or with run's flags, is the daemon
	if len(words) > 0 && !strings.HasPrefix(words[0], "-") {
		cmd, words = words[0], words[1:]
	}
	if strings.ToUpper(cmd) == cmd {
		return cmd, "", nil // a placeholder: hbd COMMAND -h
	}
	flags, ok := c[cmd]
	if !ok {
		return cmd, "", fmt.Errorf("hbd has no command %q", cmd)
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" || w == "-" {
			return cmd, "", nil
		}
		if !strings.HasPrefix(w, "-") {
			return cmd, w, nil
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		takes, known := flags[name]
		if !known {
			return cmd, "", fmt.Errorf("hbd %s has no flag %q", cmd, w)
		}
		if takes && !hasValue {
			i++ // its value
		}
	}
	return cmd, "", nil
}

// Subcommands are the words each command takes first after its flags
// (UsageWords); a command that is not in it takes any.
type Subcommands map[string][]string

// CheckWord says what is wrong with the first word after an
// invocation's flags: one that its command does not take (hbd node
// frob). The docs' synopsis style is read too: "[all|local]" and
// "standby|online" name several words, and upper-case placeholders
// (NODE, …) stand for any.
func (c CLI) CheckWord(args []string, subs Subcommands) error {
	cmd, first, err := c.split(args)
	if err != nil || first == "" {
		return err
	}
	allowed, ok := subs[cmd]
	if !ok {
		return nil
	}
	for _, w := range strings.Split(first, "|") {
		w = strings.Trim(w, `\[]`)
		if w == "" || strings.ToUpper(w) == w || slices.Contains(allowed, w) {
			continue
		}
		if len(allowed) == 0 {
			return fmt.Errorf("hbd %s takes no argument, not %q", cmd, w)
		}
		return fmt.Errorf("hbd %s takes %s, not %q", cmd, strings.Join(allowed, ", "), w)
	}
	return nil
}

var (
	// usageLine is a synopsis line of a usage text: "usage: hbd node
	// [--run-dir DIR] standby|online [NODE]" or its continuation
	// "       hbd node ... list".
	usageLine = regexp.MustCompile(`^(?:usage:)?\s*hbd ([a-z][a-z_]*)\b(.*)$`)
	// listLine is an indented line of a usage text that starts with a
	// word it explains ("  takegroup GROUP   start the group here").
	listLine = regexp.MustCompile(`^  ([a-z][a-z0-9_-]*)\b`)
)

// UsageWords reads a command's usage text (its -h output) for the words
// it takes first after its flags, and ok false when it takes any (its
// first argument is a placeholder such as GROUP or NAME, or the text
// says nothing). A placeholder that the text lists in indented lines
// ("COMMAND [ARG]", then "  takegroup GROUP ...") stands for their
// first words; the text's example lines ("  hbd agent ...") are no
// such list. A command whose synopsis has no argument takes none.
func UsageWords(cmd, usage string) (words []string, ok bool) {
	var list []string
	for _, l := range strings.Split(usage, "\n") {
		if strings.HasPrefix(l, "options:") {
			break
		}
		if m := listLine.FindStringSubmatch(l); m != nil && m[1] != "hbd" {
			list = append(list, m[1])
		}
	}
	synopses := 0
	for _, l := range strings.Split(usage, "\n") {
		m := usageLine.FindStringSubmatch(l)
		if m == nil || m[1] != cmd || strings.HasPrefix(l, "  hbd") {
			continue
		}
		synopses++
		rest := m[2]
		for prev := ""; prev != rest; {
			prev, rest = rest, usageOption.ReplaceAllString(rest, "")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue // no argument
		}
		first := strings.Trim(f[0], "[]")
		if first == "" || strings.HasPrefix(first, "-") || strings.HasPrefix(first, "(") {
			continue // a form of flags only (agent --list), or a note
		}
		if strings.ToUpper(first) == first {
			if len(list) == 0 {
				return nil, false
			}
			words = append(words, list...)
			continue
		}
		words = append(words, strings.Split(first, "|")...)
	}
	if synopses == 0 {
		return nil, false
	}
	return words, true
}
