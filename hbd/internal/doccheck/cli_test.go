package doccheck

import (
	"reflect"
	"testing"
)

func TestSynopsisEntry(t *testing.T) {
	tests := []struct {
		entry       string
		cmds, flags []string
	}{
		{"hbd check [-c DIR] [--node NAME] [--run-dir DIR]", []string{"check"}, []string{"c", "node", "run-dir"}},
		{"hbd standby | takeover [--run-dir DIR] [all|foreign|local|failback]", []string{"standby", "takeover"}, []string{"run-dir"}},
		{"hbd help [COMMAND] | version", []string{"help", "version"}, nil},
		{"hbd agent NAME ARGS... start | stop | status | monitor", []string{"agent"}, nil},
		{"hbd install [-c|--config DIR] [--node NAME] [--print]", []string{"install"}, []string{"c", "config", "node", "print"}},
		{"cl_status QUERY", nil, nil},
	}
	for _, tt := range tests {
		cmds, flags := SynopsisEntry(tt.entry)
		if !reflect.DeepEqual(cmds, tt.cmds) || !reflect.DeepEqual(flags, tt.flags) {
			t.Errorf("SynopsisEntry(%q) = %q, %q; want %q, %q", tt.entry, cmds, flags, tt.cmds, tt.flags)
		}
	}
}

func TestUsageFlags(t *testing.T) {
	usage := "usage: hbd standby [--run-dir DIR] [-q] [-c|--config DIR] [all|foreign]\n" +
		"options:\n  -json\n    \tprint JSON\n  -node NAME\n    \tthis node\n  -v\talso debug\n  -c string\n    \tshort\n"
	want := map[string]bool{"run-dir": true, "q": false, "c": true, "config": true, "json": false, "node": true, "v": false}
	if got := UsageFlags(usage); !reflect.DeepEqual(got, want) {
		t.Errorf("UsageFlags = %v, want %v", got, want)
	}
}

func TestHelpCommands(t *testing.T) {
	help := "usage: hbd COMMAND [ARGS...]\n\ncommands:\n  run        the daemon\n  cl_status  queries\n  uninstall remove\n\n`hbd COMMAND -h` shows\n"
	if got, want := HelpCommands(help), []string{"run", "cl_status", "uninstall"}; !reflect.DeepEqual(got, want) {
		t.Errorf("HelpCommands = %q, want %q", got, want)
	}
}

func TestAnchors(t *testing.T) {
	md := "# hbd — a daemon\n## IPaddr / IPaddr2\n## Who takes over: the successor rule\n```\n# not a heading\n```\n## Notes\n## Notes\n"
	got := Anchors(md)
	for _, a := range []string{"hbd--a-daemon", "ipaddr--ipaddr2", "who-takes-over-the-successor-rule", "notes", "notes-1"} {
		if !got[a] {
			t.Errorf("no anchor %q in %v", a, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block was taken for a heading")
	}
}

func TestBlocks(t *testing.T) {
	md := "text\n<!-- hbd-check a ha.cf -->\n```\nnode n1\n```\n1. item\n\n   ```sh\n   sudo hbd install\n   ```\n````md\n```\ninner\n```\n````\n"
	got := Blocks(md)
	want := []Block{
		{Info: "", Marker: "hbd-check a ha.cf", Body: "node n1\n", Line: 3},
		{Info: "sh", Body: "sudo hbd install\n", Line: 8},
		{Info: "md", Body: "```\ninner\n```\n", Line: 11},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Blocks =\n%+v\nwant\n%+v", got, want)
	}
}

func TestInvocations(t *testing.T) {
	md := "```sh\nsudo hbd check -c /etc/ha.d && sudo systemctl start heartbeat   # then hbd status\nHBD_RUN_DIR=/tmp/r hb_standby all\n```\n" +
		"```\n$ hbd status --json\nnode1$ sudo cl_status hbstatus\n# hbd mon\nhbd frob\n```\n" +
		"Run `hbd harc status 1`, not `hbd_ping=R/T` or `hbd status: hbd is not running`.\n"
	type typed struct {
		args        []string
		typed, root bool
	}
	var got []typed
	for _, inv := range Invocations(md) {
		got = append(got, typed{inv.Args, inv.Typed, inv.Root})
	}
	want := []typed{
		{[]string{"check", "-c", "/etc/ha.d"}, true, true},
		{[]string{"standby", "all"}, true, false},
		{[]string{"status", "--json"}, true, false},
		{[]string{"cl_status", "hbstatus"}, true, true},
		{[]string{"mon"}, true, true},
		{[]string{"harc", "status", "1"}, false, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Invocations = %+v, want %+v", got, want)
	}
}

func TestUsageWords(t *testing.T) {
	tests := []struct {
		name, cmd, usage string
		words            []string
		ok               bool
	}{
		{"alternatives over several lines", "node", "usage: hbd node [--run-dir DIR] standby|online [NODE]\n       hbd node [--run-dir DIR] fenced NODE\n       hbd node [--run-dir DIR] list\n  standby [NODE]  put NODE\n                  wide: it holds\n\noptions:\n  -run-dir DIR\n",
			[]string{"standby", "online", "fenced", "list"}, true},
		{"optional words", "standby", "usage: hbd standby [--run-dir DIR] [all|foreign|local|failback]\n  all   every group\n", []string{"all", "foreign", "local", "failback"}, true},
		{"a placeholder listed below", "harc", "usage: hbd harc [-c DIR] [-v] [--timeout T] COMMAND [ARG]\nRuns.\n\ncommands:\n  takegroup GROUP   start\n  status GROUP      run\n\noptions:\n  -c DIR\n",
			[]string{"takegroup", "status"}, true},
		{"a placeholder not listed", "agent", "usage: hbd agent NAME ARGS... start|stop\n       hbd agent --list | --programs\nRuns, e.g.\n  hbd agent IPaddr2 10.0.0.5/24/eth0 start\n", nil, false},
		{"no argument, nested options", "status", "usage: hbd status [--run-dir DIR] [--json] [--watch [--interval D]]\nShows.\n", nil, true},
		{"no synopsis", "frob", "frob does things\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words, ok := UsageWords(tt.cmd, tt.usage)
			if !reflect.DeepEqual(words, tt.words) || ok != tt.ok {
				t.Errorf("UsageWords = %q, %v; want %q, %v", words, ok, tt.words, tt.ok)
			}
		})
	}
}
