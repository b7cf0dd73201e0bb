package ocf

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeAgent is a shell OCF agent: it records its action and OCF
// environment in $OCF_RESKEY_log, prints chatter that harc's status rule
// would read as "running" on stdout, and exits with $OCF_RESKEY_rc.
const fakeAgent = `#!/bin/sh
{ echo "action=$1"; env | grep '^OCF_' | sort; } >"$OCF_RESKEY_log"
echo "agent chatter on stdout: resource is running OK"
echo "agent chatter on stderr" >&2
[ "$1" = meta-data ] && echo "<resource-agent name=\"Fake\"/>"
exit "${OCF_RESKEY_rc:-0}"
`

// fakeRoot makes an OCF root with resource.d/test/Fake.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Fake"), []byte(fakeAgent), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestMainExitCodes(t *testing.T) {
	root := fakeRoot(t)
	logf := filepath.Join(t.TempDir(), "calls")
	name := "ocf:" + filepath.Join(root, "resource.d", "test", "Fake")
	for _, tc := range []struct {
		op, rc     string
		wantAction string // what the agent was asked; "" if it must not run
		wantOut    string // stdout
		wantCode   int
		wantErr    string // in stderr
	}{
		{"status", "0", "monitor", "running\n", 0, ""},
		{"monitor", "0", "monitor", "running\n", 0, ""},
		{"status", "7", "monitor", "stopped\n", 3, ""},
		{"status", "8", "monitor", "running\n", 0, ""},
		{"status", "9", "monitor", "running\n", 0, "OCF_FAILED_MASTER"},
		{"status", "5", "monitor", "stopped\n", 3, "OCF_ERR_INSTALLED"},
		{"status", "1", "monitor", "", 4, "exit 1, OCF_ERR_GENERIC (generic error); status unknown"},
		{"status", "6", "monitor", "", 4, "OCF_ERR_CONFIGURED"},
		{"status", "2", "monitor", "", 4, "OCF_ERR_ARGS"},
		{"status", "3", "monitor", "", 4, "OCF_ERR_UNIMPLEMENTED"},
		{"start", "0", "start", "", 0, ""},
		{"start", "1", "start", "", 1, "ocf:test:Fake (" + name[4:] + ", instance Fake_" + "$LOG) start: exit 1, OCF_ERR_GENERIC"},
		{"start", "5", "start", "", 5, "OCF_ERR_INSTALLED"},
		{"stop", "0", "stop", "", 0, ""},
		{"stop", "6", "stop", "", 6, "OCF_ERR_CONFIGURED"},
		{"meta-data", "0", "meta-data", "agent chatter on stdout: resource is running OK\n<resource-agent name=\"Fake\"/>\n", 0, ""},
		{"validate-all", "0", "validate-all", "", 0, ""},
		{"restart", "0", "", "", 3, `unknown operation "restart"`},
	} {
		os.Remove(logf)
		var out, errb bytes.Buffer
		code := Main(name, []string{"log=" + logf, "rc=" + tc.rc, tc.op}, &out, &errb)
		label := tc.op + " rc " + tc.rc
		if code != tc.wantCode || out.String() != tc.wantOut {
			t.Errorf("%s: exit %d stdout %q; want %d %q (stderr %q)", label, code, out.String(), tc.wantCode, tc.wantOut, errb.String())
		}
		wantErr := strings.ReplaceAll(tc.wantErr, "$LOG", strings.NewReplacer("/", "_").Replace(logf))
		if !strings.Contains(errb.String(), wantErr) {
			t.Errorf("%s: stderr %q lacks %q", label, errb.String(), wantErr)
		}
		rec, err := os.ReadFile(logf)
		if tc.wantAction == "" {
			if err == nil {
				t.Errorf("%s: the agent ran: %s", label, rec)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: the agent did not run: %v", label, err)
			continue
		}
		if first, _, _ := strings.Cut(string(rec), "\n"); first != "action="+tc.wantAction {
			t.Errorf("%s: agent got %q, want action=%s", label, first, tc.wantAction)
		}
		// The agent's chatter went to stderr, where harc logs it.
		if tc.op != "meta-data" && !strings.Contains(errb.String(), "agent chatter on stdout") {
			t.Errorf("%s: the agent's stdout is not on stderr: %q", label, errb.String())
		}
	}
}

func TestMainEnvironment(t *testing.T) {
	root := fakeRoot(t)
	logf := filepath.Join(t.TempDir(), "calls")
	// Stale OCF variables in hbd's own environment must not leak in.
	t.Setenv("OCF_RESKEY_stale", "1")
	t.Setenv("OCF_ROOT", root) // the ocf:PROVIDER:TYPE form finds the agent here
	var out, errb bytes.Buffer
	args := []string{"log=" + logf, "ip=fd00", "5", "note=a b=c", "start"}
	if code := Main("ocf:test:Fake", args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	rec, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(rec)), "\n")
	want := []string{
		"action=start",
		"OCF_RA_VERSION_MAJOR=1",
		"OCF_RA_VERSION_MINOR=0",
		"OCF_RESKEY_ip=fd00::5",
		"OCF_RESKEY_log=" + logf,
		"OCF_RESKEY_note=a b=c",
		"OCF_RESOURCE_INSTANCE=Fake_" + strings.ReplaceAll(logf, "/", "_"),
		"OCF_RESOURCE_PROVIDER=test",
		"OCF_RESOURCE_TYPE=Fake",
		"OCF_ROOT=" + root,
	}
	if !slices.Equal(got, want) {
		t.Errorf("agent saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMainBadArguments(t *testing.T) {
	root := fakeRoot(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ocf:test:Fake", nil, "usage"},
		{"ocf:test", []string{"start"}, "needs a provider and a type"},
		{"ocf:test:Fake", []string{"10.0.0.5", "start"}, "is not NAME=VALUE"},
	} {
		t.Setenv("OCF_ROOT", root)
		var out, errb bytes.Buffer
		if code := Main(tc.name, tc.args, &out, &errb); code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("Main(%q, %q) = %d, stdout %q, stderr %q; want 2, nothing, %q", tc.name, tc.args, code, out.String(), errb.String(), tc.want)
		}
	}
	// A missing agent: status says stopped, start fails with OCF_ERR_INSTALLED.
	var out, errb bytes.Buffer
	if code := Main("ocf:test:Missing", []string{"status"}, &out, &errb); code != 3 || out.String() != "stopped\n" {
		t.Errorf("status of a missing agent: %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := Main("ocf:test:Missing", []string{"start"}, &out, &errb); code != ErrInstalled || !strings.Contains(errb.String(), "does not exist") {
		t.Errorf("start of a missing agent: %d %q %q", code, out.String(), errb.String())
	}
}
