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
