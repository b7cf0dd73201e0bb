package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// settingsFile keeps the cluster-wide operator settings (node standby,
// group disabled or moved) in the state directory, one setting a line as
// cluster.Setting.String writes it, so that they hold across this node's
// restarts even when no peer is up to tell it.
const settingsFile = "hbd_settings"

// maxSettingsLine bounds a line of the settings file kept in memory: the
// longest setting the caps take, with room. A longer line is over a cap
// (an older version's file, a corruption, a hand edit): it is read past
// and dropped, not kept whole.
const maxSettingsLine = cluster.MaxSettingName + cluster.MaxSettingValue + cluster.MaxSettingOrigin + 64

// LoadSettings reads the settings kept in dir (none when the file does
// not exist) for a node of cfg: a setting a line (or `|`-separated, as
// hbd_settings carries them). What is malformed, and what the caps
// refuse (cluster.SettingsCapper: an over-long line or setting, more
// than the table keeps), is dropped and said in warning, which names the
// file and the lines; the rest is kept. The file is never refused whole:
// a node that cannot start keeps nobody's settings.
func LoadSettings(dir string, cfg *config.Config) (list []cluster.Setting, warning string, err error) {
	path := filepath.Join(dir, settingsFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read settings: %w", err)
	}
	defer f.Close()
	sc := cluster.NewSettingsCapper(cfg)
	r := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, long, err := readCappedLine(r, maxSettingsLine)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, "", fmt.Errorf("read settings: %s: %w", path, err)
		}
		if long > 0 {
			sc.Refuse(fmt.Sprintf("line %d", lineNo), fmt.Sprintf("%d bytes, more than the %d of the longest setting", long, maxSettingsLine))
		} else {
			for _, text := range strings.Split(line, "|") {
				if text = strings.TrimSpace(text); text == "" {
					continue
				}
				s, perr := cluster.ParseSetting(text)
				if perr != nil {
					sc.Refuse(fmt.Sprintf("line %d", lineNo), perr.Error())
					continue
				}
				sc.Add(s)
			}
		}
		if err != nil { // io.EOF
			break
		}
	}
	if sc.Refused > 0 {
		warning = fmt.Sprintf("%s: %d setting(s) dropped, malformed or over the caps of the settings table (a name of at most %d bytes, a value of %d, an origin of %d, none holding white space; at most %d settings and %d bytes in all): %s; the rest is kept",
			path, sc.Refused, cluster.MaxSettingName, cluster.MaxSettingValue, cluster.MaxSettingOrigin, cluster.MaxSettings, cluster.MaxSettingsBytes, strings.Join(sc.Examples, "; "))
	}
	return sc.Settings(), warning, nil
}

// readCappedLine reads one line of r without its newline: the line, or
// when it is longer than limit nothing of it but its length (long), read
// past. The error is r's, io.EOF at the end.
func readCappedLine(r *bufio.Reader, limit int) (line string, long int, err error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		n := len(chunk)
		if err == nil {
			n-- // the newline
		}
		switch {
		case long > 0:
			long += n
		case len(b)+n > limit:
			long = len(b) + n
			b = nil
		default:
			b = append(b, chunk[:n]...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return string(b), long, err
		}
	}
}

// saveSettings replaces the settings kept in dir atomically.
func saveSettings(dir string, list []cluster.Setting) error {
	var b strings.Builder
	for _, s := range list {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(filepath.Join(dir, settingsFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// settingsCommand turns `hbd node ...`, `hbd group ...` and `hbd
// settings clear` into a core command, resolving the operator's names against the configuration in
// force; a name it does not know is the caller's error, and so is a
// setting the settings have no room for (cluster.CheckSettingsCommand).
func settingsCommand(cfg *config.Config, core *cluster.Node, req ctl.Request) (cluster.Command, error) {
	if len(req.Args) == 0 {
		return cluster.Command{}, fmt.Errorf("%s: no subcommand", req.Cmd)
	}
	sub, args := req.Args[0], req.Args[1:]
	node := func(i int) (string, error) {
		if len(args) <= i || args[i] == "" {
			return "", nil
		}
		if !slices.Contains(cfg.Nodes, args[i]) {
			return "", fmt.Errorf("unknown node %q (the nodes: %s)", args[i], strings.Join(cfg.Nodes, " "))
		}
		return args[i], nil
	}
	var c cluster.Command
	switch req.Cmd + " " + sub {
	case "node standby", "node online":
		c.Kind = map[string]cluster.CommandKind{"standby": cluster.CmdNodeStandby, "online": cluster.CmdNodeOnline}[sub]
		n, err := node(0)
		if err != nil {
			return c, err
		}
		c.Node = n
		return c, checkRoom(core, c)
	case "node fenced":
		c.Kind = cluster.CmdNodeFenced
		n, err := node(0)
		switch {
		case err != nil:
			return c, err
		case n == "":
			return c, fmt.Errorf("node fenced: name the node that is off")
		case !slices.Contains(core.AwaitingFence(), n):
			return c, fmt.Errorf("node fenced %s: no takeover here waits for a fence of it (waiting for: %s)", n, orNone(core.AwaitingFence()))
		}
		c.Node = n
		return c, nil
	case "settings clear":
		// Any setting held, by its kind and name as hbd settings lists
		// them: also one of a name this configuration lacks.
		if len(args) != 2 {
			return c, fmt.Errorf("settings clear: want KIND NAME (KIND: %s, %s or %s)", cluster.SettingStandby, cluster.SettingDisabled, cluster.SettingMove)
		}
		switch args[0] {
		case cluster.SettingStandby, cluster.SettingDisabled, cluster.SettingMove:
		default:
			return c, fmt.Errorf("settings clear: unknown kind %q (want %s, %s or %s)", args[0], cluster.SettingStandby, cluster.SettingDisabled, cluster.SettingMove)
		}
		c.Kind, c.Setting, c.Which = cluster.CmdSettingClear, args[0], args[1]
		if core != nil {
			// The name as hbd settings list shows it, or as it is.
			for _, s := range core.Settings() {
				if s.Kind == c.Setting && ShownText(s.Name) == c.Which {
					c.Which = s.Name
					break
				}
			}
		}
		return c, checkRoom(core, c)
	case "group disable", "group enable", "group move", "group clear":
		c.Kind = map[string]cluster.CommandKind{"disable": cluster.CmdGroupDisable, "enable": cluster.CmdGroupEnable,
			"move": cluster.CmdGroupMove, "clear": cluster.CmdGroupClear}[sub]
	default:
		return c, fmt.Errorf("unknown command %s %s", req.Cmd, sub)
	}
	if len(args) == 0 {
		return c, fmt.Errorf("group %s: no GROUP given\n%s", sub, cfg.GroupList())
	}
	g, err := cfg.FindGroup(args[0])
	if err != nil {
		return c, err
	}
	c.Which = g.Key()
	if c.Kind != cluster.CmdGroupMove {
		return c, checkRoom(core, c)
	}
	if c.Node, err = node(1); err != nil {
		return c, err
	}
	if c.Node == "" {
		if gs, _ := core.Group(c.Which); gs.Holder == "" {
			return c, fmt.Errorf("group move %s: no node holds it; name the node to move it to", args[0])
		}
	}
	return c, checkRoom(core, c)
}

// checkRoom is core.CheckSettingsCommand; nil without a core (etcd keeps
// the settings there, not in announcements).
func checkRoom(core *cluster.Node, c cluster.Command) error {
	if core == nil {
		return nil
	}
	return core.CheckSettingsCommand(c)
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, " ")
}
