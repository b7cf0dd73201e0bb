package daemon

import (
	"fmt"
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

// LoadSettings reads the settings kept in dir (none when the file does
// not exist).
func LoadSettings(dir string) ([]cluster.Setting, error) {
	path, b, ok, err := readStateFile(dir, settingsFile)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	if !ok {
		return nil, nil
	}
	list, err := cluster.ParseSettings(strings.Join(strings.Fields(string(b)), "|"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (fix or remove the file)", path, err)
	}
	return list, nil
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

// settingsCommand turns `hbd node ...` and `hbd group ...` into a core
// command, resolving the operator's names against the configuration in
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
