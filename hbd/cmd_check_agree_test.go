package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// agreeCase is a node set up one way: its configuration files (soloFiles
// changed by edit) and its run and state directories (changed by dirs).
type agreeCase struct {
	name string
	edit func(files map[string]string)
	dirs func(t *testing.T, run, state string)
	// refused: hbd run refuses to start; want is in what both say (RUN
	// and STATE: the run and state directories).
	refused bool
	want    string
	root    bool // only root sees it (check looks at the directories as root)
	longRun bool // the run directory is 100 bytes deeper
}

func withHacf(line string) func(map[string]string) {
	return func(f map[string]string) { f["ha.cf"] += line + "\n" }
}

func withAuthkeys(text string) func(map[string]string) {
	return func(f map[string]string) { f["authkeys"] = text }
}

func writeIn(name, text string) func(t *testing.T, run, state string) {
	return func(t *testing.T, run, state string) {
		dir := state
		if name == ctl.PidFileName {
			dir = run
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fileInstead puts a file where the run (which "run") or state directory
// should be.
func fileInstead(which string) func(t *testing.T, run, state string) {
	return func(t *testing.T, run, state string) {
		dir := state
		if which == "run" {
			dir = run
		}
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// missingIface is the case of a medium line on the interface nosuchif0.
func missingIface(line string) agreeCase {
	kind := strings.Fields(line)[0]
	return agreeCase{name: kind + " on an interface this machine lacks", edit: withHacf(line), refused: true,
		want: "ha.cf:8: " + kind + ": interface nosuchif0 does not exist on this machine"}
}

var agreeCases = []agreeCase{
	{name: "valid"},
	{name: "a node listed twice", edit: func(f map[string]string) {
		f["ha.cf"] = strings.Replace(f["ha.cf"], "node solo\n", "node solo solo\n", 1)
	}, want: "ha.cf:2: warning: node solo is listed twice on this line; hbd counts it once: remove the repeat"},
	{name: "a short key", edit: withAuthkeys("auth 1\n1 sha1 short\n"), refused: true,
		want: "authkeys:2: key 1: the secret has 5 characters, fewer than"},
	{name: "a crc key", edit: withAuthkeys("auth 1\n1 crc\n"), refused: true,
		want: "authkeys:2: key 1: crc authenticates nothing"},
	missingIface("ucast nosuchif0 10.0.0.2"),
	missingIface("bcast nosuchif0"),
	missingIface("mcast nosuchif0 239.0.0.1 694 1 0"),
	{name: "bcast on an interface without a broadcast address", edit: withHacf("bcast lo"), refused: true,
		want: "ha.cf:8: bcast lo: interface lo has no IPv4 broadcast address"},
	{name: "ucast from an address this machine lacks", edit: withHacf("ucast lo 127.0.0.2 192.0.2.77"), refused: true,
		want: "ha.cf:8: ucast lo: local address 192.0.2.77 is not an address of this machine"},
	{name: "hb_uuid cut short", dirs: writeIn("hb_uuid", "abc"), refused: true, root: true,
		want: "hb_uuid: 3 bytes, want a 16-byte node uuid (remove it to make a new one)"},
	{name: "hb_generation not a number", dirs: writeIn("hb_generation", "twelve\n"), refused: true, root: true,
		want: `hb_generation: generation "twelve" is not a number (remove the file to start over)`},
	{name: "hbd_peer_generations garbled", dirs: writeIn("hbd_peer_generations", "node2\n"), refused: true, root: true,
		want: "hbd_peer_generations:1: want NODE GENERATION (fix or remove the file)"},
	// A garbled settings line is dropped with a warning (the start goes on).
	{name: "hbd_settings garbled", dirs: writeIn("hbd_settings", "no such setting\n"), root: true,
		want: `hbd_settings: 1 setting(s) dropped, malformed or over the caps`},
	{name: "a file instead of the state directory", dirs: fileInstead("state"), refused: true, root: true,
		want: "is not a directory"},
	{name: "a file instead of the run directory", dirs: fileInstead("run"), refused: true, root: true,
		want: "is not a directory"},
	{name: "a run directory too long for a socket", longRun: true, refused: true, root: true,
		want: "a unix socket's path may have; use a shorter run directory"},
	{name: "a directory instead of the pid file", dirs: func(t *testing.T, run, _ string) {
		if err := os.Mkdir(filepath.Join(run, ctl.PidFileName), 0o755); err != nil {
			t.Fatal(err)
		}
	}, refused: true, root: true, want: "pid file RUN/heartbeat.pid is a directory, not a file; remove it"},
	{name: "a directory instead of the state directory's lock file", dirs: func(t *testing.T, _, state string) {
		if err := os.Mkdir(filepath.Join(state, daemon.StateLockName), 0o755); err != nil {
			t.Fatal(err)
		}
	}, refused: true, root: true, want: "state directory's lock file STATE/hbd.lock is a directory, not a file; remove it"},
	{name: "a symbolic link instead of the state directory's lock file", dirs: func(t *testing.T, _, state string) {
		if err := os.Symlink(filepath.Join(state, "elsewhere"), filepath.Join(state, daemon.StateLockName)); err != nil {
			t.Fatal(err)
		}
	}, refused: true, root: true, want: "state directory's lock file STATE/hbd.lock is a symbolic link, not a file; remove it"},
	// Root may open a raw ICMP socket (without CAP_NET_RAW it may not:
	// TestCheckAgreesWithRunWithoutNetRaw).
	{name: "ping nodes root can ping", edit: withHacf("ping 127.0.0.1\nping_group g 127.0.0.2 ::1"), root: true},
}

// TestCheckAgreesWithRun: hbd check fails wherever hbd run refuses to
// start, saying the same thing, and passes where run's preparation
// (the configuration as run loads it, and the run and state
// directories) finds nothing to refuse. Run is started for real only in
// the cases it refuses, which it does before it opens a socket.
func TestCheckAgreesWithRun(t *testing.T) {
	for _, tc := range agreeCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("hbd check looks at the run and state directories as root only")
			}
			files := maps.Clone(soloFiles)
			files["ha.cf"] = fmt.Sprintf("udpport %d\n", testenv.FreeUDPPort(t)) + files["ha.cf"]
			if tc.edit != nil {
				tc.edit(files)
			}
			dir := testenv.WriteConfigDir(t, files)
			run, state := t.TempDir(), t.TempDir()
			if tc.longRun {
				run = filepath.Join(run, strings.Repeat("d", 100))
			}
			if tc.dirs != nil {
				tc.dirs(t, run, state)
			}
			want := strings.NewReplacer("RUN", run, "STATE", state).Replace(tc.want)
			args := []string{"-c", dir, "--node", "solo", "--run-dir", run, "--state-dir", state}

			var out, checkErr bytes.Buffer
			checkRC := runCheck(args, &out, &checkErr)
			if want != "" && !strings.Contains(checkErr.String(), want) {
				t.Errorf("check's stderr lacks %q:\n%s", want, checkErr.String())
			}
			if !tc.refused {
				if checkRC != 0 {
					t.Errorf("check: exit %d, want 0:\n%s", checkRC, checkErr.String())
				}
				cfg, diags := daemon.LoadConfig(dir, loadOptions("solo", true))
				if cfg == nil {
					t.Errorf("run's load refuses: %v", diags)
				} else if errs, _ := daemon.CheckDirs(run, state, cfg); len(errs) > 0 {
					t.Errorf("run's directories refused: %v", errors.Join(errs...))
				}
				return
			}
			if checkRC != 1 {
				t.Errorf("check: exit %d, want 1:\n%s", checkRC, checkErr.String())
			}
			var runOut, runErr bytes.Buffer
			runRC := runRun(args, &runOut, &runErr)
			if runRC == 0 || !strings.Contains(runErr.String(), want) {
				t.Errorf("run: exit %d, want a refusal saying %q:\n%s", runRC, want, runErr.String())
			}
		})
	}
}

// TestCheckFilesOnly: --files-only checks the files for another
// machine: an interface this one lacks is a warning (exit 0) that says
// run refuses to start without it; a weak key is still an error.
func TestCheckFilesOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		rc   int
		want string
	}{
		{"interface missing here", withHacf("ucast nosuchif0 10.0.0.2"), 0,
			"ha.cf:7: warning: ucast: interface nosuchif0 does not exist on this machine (it has: "},
		{"bcast without a broadcast address here", withHacf("bcast lo"), 0, ""},
		{"a weak key", withAuthkeys("auth 1\n1 sha1 short\n"), 1, "authkeys:2: key 1: the secret has 5 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := maps.Clone(soloFiles)
			tc.edit(files)
			dir := testenv.WriteConfigDir(t, files)
			// Directories that run would refuse: not looked at.
			notDir := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(notDir, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			rc := runCheck([]string{"-c", dir, "--node", "solo", "--files-only", "--run-dir", notDir, "--state-dir", notDir}, &out, &errOut)
			if rc != tc.rc || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", rc, tc.rc, tc.want, errOut.String())
			}
			if tc.rc == 0 && strings.Contains(errOut.String(), "directory") {
				t.Errorf("--files-only looked at the directories:\n%s", errOut.String())
			}
		})
	}
}

// TestCheckDirsAsAnotherUser: as a user other than root, check does not
// judge the directories (hbd run, as root, may well write where this
// user cannot) and says so; as root it does.
func TestCheckDirsAsAnotherUser(t *testing.T) {
	cfg, diags := config.Load(testenv.WriteConfigDir(t, soloFiles), loadOptions("solo", true))
	if cfg == nil {
		t.Fatal(diags)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		euid       int
		errs       int
		want, lack string
	}{
		{1000, 0, "hbd check: note: run as uid 1000, not root: the run and state directories (" + notDir, "is not a directory"},
		{0, 2, "is not a directory", "note:"},
	} {
		var errOut bytes.Buffer
		errs, _ := startRefusals(&errOut, cfg, notDir, notDir, false, tc.euid)
		if errs != tc.errs || !strings.Contains(errOut.String(), tc.want) || strings.Contains(errOut.String(), tc.lack) {
			t.Errorf("euid %d: %d errors, want %d, saying %q and not %q:\n%s", tc.euid, errs, tc.errs, tc.want, tc.lack, errOut.String())
		}
		if strings.Contains(errOut.String(), "ICMP") {
			t.Errorf("euid %d: a note on ping nodes without any:\n%s", tc.euid, errOut.String())
		}
	}
	// With ping nodes, what was not judged includes their ICMP socket.
	cfg.Ping = []config.PingGroup{{Name: "10.0.0.1", Pos: config.Pos{File: "/etc/ha.d/ha.cf", Line: 9}}}
	var errOut bytes.Buffer
	startRefusals(&errOut, cfg, notDir, notDir, false, 1000)
	if want := "nor whether hbd run may open the ICMP socket its ping nodes need (/etc/ha.d/ha.cf:9): check as root"; !strings.Contains(errOut.String(), want) {
		t.Errorf("as uid 1000 with ping nodes, the note lacks %q:\n%s", want, errOut.String())
	}
}
