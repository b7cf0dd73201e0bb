package daemon

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// ShownText is a setting's name, value or origin as hbd settings shows
// it: as it is when it is printable UTF-8 and does not start with a
// quote, Go-quoted in ASCII otherwise (ctl.SettingRow).
func ShownText(s string) string {
	if utf8.ValidString(s) && !strings.HasPrefix(s, `"`) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	return strconv.QuoteToASCII(s)
}

// settingRows is the settings table as hbd settings list shows it.
func settingRows(list []cluster.Setting, configured func(cluster.Setting) bool) []ctl.SettingRow {
	rows := make([]ctl.SettingRow, len(list))
	for i, s := range list {
		rows[i] = ctl.SettingRow{Kind: s.Kind, Name: ShownText(s.Name), Value: ShownText(s.Value), Version: s.Version,
			Origin: ShownText(s.Origin), Configured: configured(s)}
	}
	return rows
}

// answerSettings is the control request "settings": list (the table, a
// ctl.SettingRow each), clear KIND NAME (settingsCommand), and
// clear-unconfigured (CmdSettingsClearOthers; the answer lists the
// settings it clears).
func (d *Daemon) answerSettings(req ctl.Request) ctl.Response {
	if len(req.Args) == 0 {
		return ctl.Response{Error: "settings: no subcommand"}
	}
	configured := cluster.ConfiguredIn(d.cfg)
	var rows []ctl.SettingRow
	switch req.Args[0] {
	case "list":
		rows = settingRows(d.core.Settings(), configured)
	case "clear-unconfigured":
		// The answer is what the core cleared: all of them, or none and
		// why (checkClearOthers).
		inForce := func() map[string]cluster.Setting {
			m := map[string]cluster.Setting{}
			for _, s := range d.core.OthersInForce() {
				m[s.Kind+" "+s.Name] = s
			}
			return m
		}
		before := inForce()
		if len(before) == 0 {
			break
		}
		c := cluster.Command{Now: time.Now(), Kind: cluster.CmdSettingsClearOthers}
		if err := d.core.CheckSettingsCommand(c); err != nil {
			return ctl.Response{Error: err.Error()}
		}
		d.step(c)
		after := inForce()
		var cleared []cluster.Setting
		for k, s := range before {
			if _, still := after[k]; !still {
				cleared = append(cleared, s)
			}
		}
		if len(after) > 0 {
			return ctl.Response{Error: fmt.Sprintf("settings clear --unconfigured: %d of %d setting(s) still in force (the log says why)", len(after), len(before))}
		}
		slices.SortFunc(cleared, func(a, b cluster.Setting) int { return strings.Compare(a.Kind+" "+a.Name, b.Kind+" "+b.Name) })
		rows = settingRows(cleared, configured)
	default:
		return d.stepSettingsCommand(req)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return ctl.Response{Error: err.Error()}
	}
	return ctl.Response{OK: true, Data: b}
}

// stepSettingsCommand steps the core with the command settingsCommand
// makes of req, or answers why there is none.
func (d *Daemon) stepSettingsCommand(req ctl.Request) ctl.Response {
	c, err := settingsCommand(d.cfg, d.core, req)
	if err != nil {
		return ctl.Response{Error: err.Error()}
	}
	c.Now = time.Now()
	d.step(c)
	return ctl.Response{OK: true}
}
