package daemon

import (
	"encoding/json"
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
		var others []cluster.Setting
		for _, s := range d.core.Settings() {
			if s.Value != "" && !configured(s) {
				others = append(others, s)
			}
		}
		rows = settingRows(others, configured)
		if len(others) > 0 {
			d.step(cluster.Command{Now: time.Now(), Kind: cluster.CmdSettingsClearOthers})
		}
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
