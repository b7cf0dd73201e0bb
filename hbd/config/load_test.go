package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/paths"
)

// sampleDir is the sample configuration shipped in etc/ha.d.
const sampleDir = "../../etc/ha.d"

// copyDir copies a configuration directory (files and resource.d) into a
// temp dir, keeping the executable bits, and makes authkeys 0600 (git does
// not keep that mode).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dst, AuthkeysFile), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeConfig makes a configuration directory from file contents. Names
// under resource.d/ (and anything ending in "*") become executable scripts.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, paths.ResourceDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		mode := os.FileMode(0o644)
		switch {
		case name == AuthkeysFile:
			mode = 0o600
		case strings.HasPrefix(name, paths.ResourceDir+"/"):
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadSample(t *testing.T) {
	dir := copyDir(t, sampleDir)
	for _, node := range []string{"node1", "node2", "NODE2"} {
		t.Run(node, func(t *testing.T) {
			cfg, diags := Load(dir, LoadOptions{Node: node})
			placeholder := 0
			for _, d := range diags {
				switch {
				case d.Severity == SevError:
					t.Errorf("error: %v", d)
				case strings.Contains(d.Msg, "the secret is the sample's placeholder"):
					placeholder++
				case !strings.Contains(d.Msg, "does not exist on this machine"):
					// Only a missing eth0 may be warned about here.
					t.Errorf("unexpected warning: %v", d)
				}
			}
			if placeholder != 1 {
				t.Errorf("%d warnings about the sample's placeholder secret, want 1", placeholder)
			}
			if cfg == nil {
				t.Fatal("no config")
			}
			if cfg.ThisNode != strings.ToLower(node) || cfg.Dir != dir {
				t.Errorf("ThisNode %q Dir %q", cfg.ThisNode, cfg.Dir)
			}
			if len(cfg.Groups) != 1 || len(cfg.Groups[0].Resources) != 2 {
				t.Fatalf("groups = %+v", cfg.Groups)
			}
			for _, r := range cfg.Groups[0].Resources {
				if r.Script != (Script{Kind: ScriptFile, Path: filepath.Join(dir, paths.ResourceDir, r.Name)}) {
					t.Errorf("resource %s resolved to %q", r.Name, r.Script)
				}
			}
			if k, ok := cfg.Auth.ActiveKey(); !ok || k.Method != "sha1" {
				t.Errorf("active key %+v %v", k, ok)
			}
			if cfg.AutoFailback != FailbackOn || len(cfg.Media) != 2 || cfg.Deadtime <= 2*cfg.Keepalive {
				t.Errorf("unexpected sample: %+v", cfg)
			}
		})
	}
}

func TestLoadAuthkeysMode(t *testing.T) {
	dir := copyDir(t, sampleDir)
	path := filepath.Join(dir, AuthkeysFile)
	if err := os.WriteFile(path, []byte("auth 1\n1 sha1 test-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(dir, LoadOptions{Node: "node1", Interfaces: func() ([]string, error) { return []string{"eth0"}, nil }})
		if cfg != nil {
			t.Errorf("mode %04o: config accepted", mode)
		}
		checkDiags(t, diags, []want{e(0, "mode "+"0"+strings.TrimPrefix(modeString(mode), "0")+" allows group/others access; must be 0600 (chmod 600 "+path+")")})
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if cfg, diags := Load(dir, LoadOptions{Node: "node1", Interfaces: func() ([]string, error) { return []string{"eth0"}, nil }}); cfg == nil {
			t.Errorf("mode %04o refused: %v", mode, diags)
		}
	}
}

func modeString(m os.FileMode) string {
	const digits = "01234567"
	return string([]byte{'0', digits[m>>6&7], digits[m>>3&7], digits[m&7]})
}

func TestLoadErrors(t *testing.T) {
	hacf := "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n"
	auth := "auth 1\n1 sha1 test-secret-0123456789\n"
	initDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(initDir, "initsvc"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(initDir, "noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// logDir holds a directory (as a log path, wrong) and a file (as a
	// log directory, wrong); logDir/missing does not exist.
	logDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(logDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := func(lines ...string) string { return hacf + strings.Join(lines, "\n") + "\n" }
	tests := []struct {
		name    string
		files   map[string]string
		opts    LoadOptions
		want    []want // diags in haresources unless file says otherwise
		scripts map[string]string
	}{
		{
			name:  "ok",
			files: map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "node1 web\n", "resource.d/web": "#!/bin/sh\n"},
		},
		{
			name:  "preferred node unknown",
			files: map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "\nnode3 web\n", "resource.d/web": "#!/bin/sh\n"},
			want:  []want{e(2, "preferred node node3 is not a node of")},
		},
		{
			name:  "script missing",
			files: map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "node1 \\\n web \\\n db\n", "resource.d/web": "#!/bin/sh\n"},
			want:  []want{e(1, "cannot locate resource script db (looked in ")},
		},
		{
			name:  "script not executable",
			files: map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "node1 noexec\n"},
			want:  []want{e(1, "noexec is not an executable file (chmod 755 ")},
		},
		{
			name:    "init dir fallback",
			files:   map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "node1 initsvc\n"},
			scripts: map[string]string{"initsvc": filepath.Join(initDir, "initsvc")},
		},
		{
			name:    "builtin",
			files:   map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "node1 IPaddr2::10.0.0.1/24\n"},
			opts:    LoadOptions{Lookup: Lookup{Agents: hbdAgents}},
			scripts: map[string]string{"IPaddr2": "builtin:IPaddr2"},
		},
		{
			name:    "resource.d wins over builtin",
			files:   map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "node1 IPaddr2::10.0.0.1/24\n", "resource.d/IPaddr2": "#!/bin/sh\n"},
			opts:    LoadOptions{Lookup: Lookup{Agents: hbdAgents}},
			scripts: map[string]string{"IPaddr2": "RESOURCE.D"},
		},
		{
			name:  "this node not listed",
			files: map[string]string{HaCfFile: "# c\nnode node2\nnode node3\nucast lo 127.0.0.1\nauto_failback on\n", AuthkeysFile: auth, HaresourcesFile: ""},
			want:  []want{e(2, `this node "node1" is not listed in a `+"`node`"+` line (nodes: node2, node3)`), w(0, "no resource groups")},
		},
		{
			name:  "no node name",
			files: map[string]string{HaCfFile: hacf, AuthkeysFile: auth, HaresourcesFile: "node1 web\n", "resource.d/web": "#!/bin/sh\n"},
			opts:  LoadOptions{Node: "-"},
			want:  []want{e(0, "no node name to check against")},
		},
		{
			name:  "missing files",
			files: map[string]string{},
			want:  []want{e(0, "ha.cf is missing"), e(0, "authkeys is missing"), e(0, "haresources is missing")},
		},
		{
			name:  "interface missing warns",
			files: map[string]string{HaCfFile: "node node1\nucast nosuchif0 10.0.0.2\nauto_failback on\n", AuthkeysFile: auth, HaresourcesFile: ""},
			want:  []want{w(2, "ucast: interface nosuchif0 does not exist on this machine"), w(0, "no resource groups")},
		},
		{
			name:  "interface missing strict",
			files: map[string]string{HaCfFile: "node node1\nucast nosuchif0 10.0.0.2\nucast nosuchif0 10.0.0.3\nauto_failback on\n", AuthkeysFile: auth, HaresourcesFile: ""},
			opts:  LoadOptions{Strict: true},
			want:  []want{e(2, "interface nosuchif0 does not exist on this machine"), w(0, "no resource groups")},
		},
		{
			name:  "interface missing strict for another machine",
			files: map[string]string{HaCfFile: "node node1\nucast nosuchif0 10.0.0.2\nauto_failback on\n", AuthkeysFile: auth, HaresourcesFile: ""},
			opts:  LoadOptions{Strict: true, AnyMachine: true},
			want:  []want{w(2, "`hbd run` refuses to start on a machine without it"), w(0, "no resource groups")},
		},
		{
			name:  "log files where they can be written",
			files: map[string]string{HaCfFile: logs("logfile "+logDir+"/ha-log", "debugfile "+logDir+"/sub/ha-debug"), AuthkeysFile: auth, HaresourcesFile: "node1 web\n", "resource.d/web": "#!/bin/sh\n"},
		},
		{
			name: "log directory missing",
			files: map[string]string{HaCfFile: logs("logfile "+logDir+"/missing/ha-log", "debugfile "+logDir+"/missing/ha-debug"),
				AuthkeysFile: auth, HaresourcesFile: "node1 web\n", "resource.d/web": "#!/bin/sh\n"},
			want: []want{
				w(4, "logfile "+logDir+"/missing/ha-log: directory "+logDir+"/missing does not exist; hbd logs to stderr instead until it does: create it (mkdir -p "+logDir+"/missing) or fix the path"),
				w(5, "debugfile "+logDir+"/missing/ha-debug: directory "+logDir+"/missing does not exist"),
			},
		},
		{
			name:  "log directory missing strict",
			files: map[string]string{HaCfFile: logs("logfile " + logDir + "/missing/ha-log"), AuthkeysFile: auth, HaresourcesFile: "node1 web\n", "resource.d/web": "#!/bin/sh\n"},
			opts:  LoadOptions{Strict: true},
			want:  []want{w(4, "directory "+logDir+"/missing does not exist")},
		},
		{
			name:  "log directory a file",
			files: map[string]string{HaCfFile: logs("debugfile " + logDir + "/file/ha-debug"), AuthkeysFile: auth, HaresourcesFile: "node1 web\n", "resource.d/web": "#!/bin/sh\n"},
			want:  []want{w(4, "debugfile "+logDir+"/file/ha-debug: "+logDir+"/file is not a directory; hbd logs to stderr instead: fix the path")},
		},
		{
			name:  "log file a directory",
			files: map[string]string{HaCfFile: logs("logfile " + logDir + "/sub"), AuthkeysFile: auth, HaresourcesFile: "node1 web\n", "resource.d/web": "#!/bin/sh\n"},
			want:  []want{w(4, "logfile "+logDir+"/sub is a directory; hbd logs to stderr instead: name a file in it")},
		},
		{
			name:  "errors in every file",
			files: map[string]string{HaCfFile: hacf + "crm on\n", AuthkeysFile: "auth 1\n", HaresourcesFile: "node1\n"},
			want:  []want{e(4, "crm on"), e(1, "key 1 is not defined"), e(1, "lists no resources")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, tt.files)
			opts := tt.opts
			if opts.Node == "" {
				opts.Node = "node1"
			} else if opts.Node == "-" {
				opts.Node = ""
			}
			opts.Lookup.InitDir = initDir
			cfg, diags := Load(dir, opts)
			checkDiags(t, diags, tt.want)
			if HasErrors(diags) != (cfg == nil) {
				t.Errorf("config %v returned with diags %v", cfg != nil, diags)
			}
			if cfg == nil {
				return
			}
			for _, g := range cfg.Groups {
				for _, r := range g.Resources {
					want := tt.scripts[r.Name]
					if want == "" || want == "RESOURCE.D" {
						want = filepath.Join(dir, paths.ResourceDir, r.Name)
					}
					if r.Script.String() != want {
						t.Errorf("%s resolved to %q, want %q", r.Name, r.Script, want)
					}
				}
			}
		})
	}
}

func TestLoadDiagOrderAndFormat(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		HaCfFile:        "node node1\nucast lo 127.0.0.1\n",
		AuthkeysFile:    "auth 1\n1 md5 test-secret-0123456789\n",
		HaresourcesFile: "node1 nothere\n",
	})
	_, diags := Load(dir, LoadOptions{Node: "node1", Lookup: Lookup{InitDir: t.TempDir()}})
	var got []string
	for _, d := range diags {
		got = append(got, strings.TrimPrefix(d.String(), dir+"/"))
	}
	want := []string{
		"ha.cf: warning: auto_failback is not set",
		"authkeys:2: warning: key 1: md5 is weak",
		"haresources:1: cannot locate resource script nothere (looked in " + dir + "/resource.d, ",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d diags, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("diag %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}
