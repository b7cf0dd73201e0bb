package main

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// soloFiles is a one-node cluster on loopback with no resource groups,
// which draws a warning.
var soloFiles = map[string]string{
	"ha.cf":       "node solo\nkeepalive 1\ndeadtime 10\nucast lo 127.0.0.1\nauto_failback on\nlogfacility none\n",
	"authkeys":    "auth 1\n1 sha1 a-secret-long-enough-0123\n",
	"haresources": "",
}

// TestRunSaysEachWarningOnce: a start refused for an error in the
// configuration lists each warning with the errors, once; hbd check
// says the same warning, once, and finds the configuration usable
// without the error.
func TestRunSaysEachWarningOnce(t *testing.T) {
	const warning = "no resource groups"
	files := maps.Clone(soloFiles)
	dir := testenv.WriteConfigDir(t, files)
	var out, errOut bytes.Buffer
	if rc := runCheck([]string{"-c", dir, "--node", "solo"}, &out, &errOut); rc != 0 || strings.Count(errOut.String(), warning) != 1 {
		t.Errorf("check: exit %d, want 0 and %q once on stderr:\n%s", rc, warning, errOut.String())
	}

	files["ha.cf"] += "no_such_directive 1\n"
	dir = testenv.WriteConfigDir(t, files)
	out.Reset()
	errOut.Reset()
	rc := runRun([]string{"-c", dir, "--node", "solo", "--run-dir", t.TempDir(), "--state-dir", t.TempDir()}, &out, &errOut)
	e := errOut.String()
	if rc != exitNotConfigured || !strings.Contains(e, `unknown directive "no_such_directive"`) {
		t.Fatalf("run: exit %d, want %d naming the unknown directive; stderr:\n%s", rc, exitNotConfigured, e)
	}
	if n := strings.Count(e, warning); n != 1 {
		t.Errorf("run: stderr says %q %d times, want once:\n%s", warning, n, e)
	}
}
