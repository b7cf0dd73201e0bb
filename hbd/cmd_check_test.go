package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/builtin"
)

// sampleCopy copies etc/ha.d to a temp dir with authkeys at 0600 and
// its placeholder secret replaced, as its comment tells the reader to
// (hbd check and hbd run refuse the placeholder).
func sampleCopy(t *testing.T) string {
	t.Helper()
	dir := rawSampleCopy(t)
	editLine(t, dir, "authkeys", "1 sha1 "+samplePlaceholder, "1 sha1 "+sampleSecret)
	return dir
}

// The sample's placeholder secret, and what sampleCopy puts instead.
const (
	samplePlaceholder = "REPLACE-ME-with-a-long-random-secret-0123456789"
	sampleSecret      = "replaced-with-a-long-random-secret-0123456789"
)

// tempDirs are the --run-dir and --state-dir flags of a command under
// test: directories of its own, not the machine's.
func tempDirs(t *testing.T) []string {
	return []string{"--run-dir", t.TempDir(), "--state-dir", t.TempDir()}
}

// rawSampleCopy copies etc/ha.d to a temp dir with authkeys at 0600, and
// has the checks take this machine to have the sample's interface eth0
// for the rest of the test (sampleMachine).
func rawSampleCopy(t *testing.T) string {
	t.Helper()
	sampleMachine(t)
	dst := t.TempDir()
	src := "../etc/ha.d"
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dst, "authkeys"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// sampleMachine has the checks of ha.cf's media take this machine to have
// lo and eth0, the sample's interface, until the test ends, whatever its
// own are called (ens4, enp0s3, or lo alone in a namespace of its own):
// what they say of the sample is the same on every machine. Not for
// parallel tests: it sets machineInterfaces.
func sampleMachine(t *testing.T) {
	t.Helper()
	machineInterfaces = func() ([]string, error) { return []string{"lo", "eth0"}, nil }
	t.Cleanup(func() { machineInterfaces = nil })
}

func TestCheckSample(t *testing.T) {
	dir := sampleCopy(t)
	for _, node := range []string{"node1", "node2"} {
		var out, errOut bytes.Buffer
		// --node and -node are both accepted by the flag package.
		if rc := runCheck(append([]string{"-c", dir, "--node", node}, tempDirs(t)...), &out, &errOut); rc != 0 {
			t.Fatalf("%s: exit %d, stderr:\n%s", node, rc, errOut.String())
		}
		s := out.String()
		for _, want := range []string{
			node + " (this node)",
			"ucast eth0 to 10.0.0.11:694",
			"keepalive 1s, warntime 2s, deadtime 5s, initdead 20s",
			"auto_failback:    on",
			"signs with key 1 (sha1)",
			"1. IPaddr2::10.0.0.100/24/eth0  preferred node node1",
			filepath.Join(dir, "resource.d/IPaddr2") + " 10.0.0.100/24/eth0",
			filepath.Join(dir, "resource.d/nginx"),
		} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: summary lacks %q:\n%s", node, want, s)
			}
		}
		if strings.Contains(s, sampleSecret) {
			t.Errorf("summary prints the secret:\n%s", s)
		}
	}
}

// TestCheckAndRunRefuseThePlaceholder: the sample's placeholder secret,
// left as shipped, fails check and stops run, each naming the line and
// the insecure_auth way out.
func TestCheckAndRunRefuseThePlaceholder(t *testing.T) {
	dir := rawSampleCopy(t)
	want := filepath.Join(dir, "authkeys") + ":19: key 1: the secret is the sample's placeholder"
	var out, errOut bytes.Buffer
	if rc := runCheck(append([]string{"-c", dir, "--node", "node1"}, tempDirs(t)...), &out, &errOut); rc != 1 {
		t.Errorf("check: exit %d, want 1; stderr:\n%s", rc, errOut.String())
	}
	if e := errOut.String(); !strings.Contains(e, want) || !strings.Contains(e, "insecure_auth yes") {
		t.Errorf("check's stderr lacks %q and the insecure_auth way out:\n%s", want, e)
	}
	if strings.Contains(out.String()+errOut.String(), samplePlaceholder) {
		t.Errorf("check prints the secret:\n%s%s", out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	rc := runRun(append([]string{"-c", dir, "--node", "node1"}, tempDirs(t)...), &out, &errOut)
	if rc != exitNotConfigured {
		t.Fatalf("run: exit %d, want %d; stderr:\n%s", rc, exitNotConfigured, errOut.String())
	}
	if e := errOut.String(); !strings.Contains(e, want) || !strings.Contains(e, "insecure_auth yes") {
		t.Errorf("run's stderr lacks %q and the insecure_auth way out:\n%s", want, e)
	}
}

func TestCheckErrors(t *testing.T) {
	dir := sampleCopy(t)
	hacf := filepath.Join(dir, "ha.cf")
	b, _ := os.ReadFile(hacf)
	if err := os.WriteFile(hacf, append(b, "crm on\nkeepalive 0\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "authkeys"), 0o644); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(b, []byte("\n"))
	var out, errOut bytes.Buffer
	rc := runCheck(append([]string{"-c", dir, "-node", "node1"}, tempDirs(t)...), &out, &errOut)
	if rc != 1 {
		t.Fatalf("exit %d, want 1", rc)
	}
	e := errOut.String()
	for _, want := range []string{
		hacf + ":" + strconv.Itoa(lines+1) + ": crm on: hbd runs haresources (v1) mode only",
		hacf + ":" + strconv.Itoa(lines+2) + ": keepalive 0: must be more than zero",
		filepath.Join(dir, "authkeys") + ": mode 0644 allows group/others access",
		"3 errors",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	if out.Len() != 0 {
		t.Errorf("summary printed despite errors:\n%s", out.String())
	}
}

// TestCheckMissingDir checks that a directory without ha.cf is an error
// (exit 1) that names the missing file.
func TestCheckMissingDir(t *testing.T) {
	var out, errOut bytes.Buffer
	rc := dispatch([]string{"check", "-c", "/nonexistent-hbd-dir", "--node", "x"}, &out, &errOut)
	if rc != 1 || !strings.Contains(errOut.String(), "ha.cf is missing") {
		t.Errorf("exit %d, stderr %q; want exit 1 saying ha.cf is missing", rc, errOut.String())
	}
}

// TestCheckWarnsAboutScripts: a resource.d script as the Heartbeat v1
// nginx setup wrote it (no #! line) is a warning naming the file and the
// fix, and the configuration stays usable (exit 0).
func TestCheckWarnsAboutScripts(t *testing.T) {
	dir := sampleCopy(t)
	nginx := filepath.Join(dir, "resource.d", "nginx")
	if err := os.WriteFile(nginx, []byte("#/bin/bash\ncase \"$1\" in start|stop|status) ;; esac\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if rc := runCheck(append([]string{"-c", dir, "--node", "node1"}, tempDirs(t)...), &out, &errOut); rc != 0 {
		t.Fatalf("exit %d, stderr:\n%s", rc, errOut.String())
	}
	want := "warning: resource nginx: " + nginx + " has no #! line"
	if e := errOut.String(); !strings.Contains(e, want) || !strings.Contains(e, "make its first line #!/bin/sh") {
		t.Errorf("stderr lacks %q and the fix:\n%s", want, e)
	}
}

// TestCheckValidatesOCFParameters: an OCF resource's parameters are
// checked against the installed agent's meta-data, as warnings at its
// haresources line.
func TestCheckValidatesOCFParameters(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := `<?xml version="1.0"?><resource-agent name="IP"><parameters>` +
		`<parameter name="ip" required="1"><content type="string"/></parameter>` +
		`<parameter name="cidr_netmask"><content type="string"/></parameter></parameters></resource-agent>`
	if err := os.WriteFile(filepath.Join(dir, "IP"), []byte("#!/bin/sh\necho '"+meta+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pos := config.Pos{File: "haresources", Line: 3}
	res := func(args ...string) config.Resource {
		return config.Resource{Name: "ocf:test:IP", Args: args, Script: config.Script{Kind: config.ScriptOCF, Name: "ocf", Path: filepath.Join(dir, "IP")}}
	}
	cfg := &config.Config{Groups: []config.Group{{Pos: pos, Resources: []config.Resource{
		res("ip=10.0.0.5", "cidr_netmask=24"),
		res("cidr_netmask=24", "nic=eth0"),
		{Name: "service", Args: []string{"peer"}, Script: config.Script{Kind: config.ScriptBuiltin, Name: "service"}},
	}}}}
	ds := validateAgents(context.Background(), cfg, builtin.Agents(root))
	want := []string{`the agent has no parameter "nic"`, "the required parameter ip is missing"}
	if len(ds) != len(want) {
		t.Fatalf("diags %v, want %d", ds, len(want))
	}
	for i, w := range want {
		if ds[i].Pos != pos || ds[i].Severity != config.SevWarning || !strings.Contains(ds[i].Msg, w) {
			t.Errorf("diag %d = %v, want a warning at %v saying %q", i, ds[i], pos, w)
		}
	}
}
