package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeInfo is a FileInfo with a chosen owner and mode.
type fakeInfo struct {
	mode fs.FileMode
	uid  uint32
}

func (f fakeInfo) Name() string       { return "x" }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return &syscall.Stat_t{Uid: f.uid} }

func TestCheckOwnerMode(t *testing.T) {
	const self = 1000
	tests := []struct {
		name string
		fi   fakeInfo
		want []string // pieces of the error; none: no error
	}{
		{"root 0755", fakeInfo{0o755, 0}, nil},
		{"root 0600", fakeInfo{0o600, 0}, nil},
		{"root 0644", fakeInfo{0o644, 0}, nil},
		{"hbd's own user", fakeInfo{0o700, self}, nil},
		{"other owner", fakeInfo{0o755, 65534}, []string{"file /p is owned by uid 65534, not root", "fix: chown root /p"}},
		{"group-writable", fakeInfo{0o775, 0}, []string{"writable by group or others (mode 0775)", "fix: chmod go-w /p"}},
		{"world-writable", fakeInfo{0o757, 0}, []string{"(mode 0757)", "chmod go-w /p"}},
		{"both", fakeInfo{0o777, 65534}, []string{"owned by uid 65534, not root and writable by group or others", "fix: chown root /p && chmod go-w /p"}},
		{"directory 0777", fakeInfo{fs.ModeDir | 0o777, 0}, []string{"directory /p is writable by group or others"}},
		{"sticky directory like /tmp", fakeInfo{fs.ModeDir | fs.ModeSticky | 0o777, 0}, nil},
		{"sticky bit does not save a file", fakeInfo{fs.ModeSticky | 0o777, 0}, []string{"file /p is writable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOwnerMode("/p", tt.fi, self)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestLoadRefusesUntrustedFiles: every file hbd reads or runs as root
// must be root's and not writable by group or others; check and run both
// refuse, naming the file and the fix.
func TestLoadRefusesUntrustedFiles(t *testing.T) {
	const hacf = "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n"
	base := func(t *testing.T) string {
		dir := writeConfig(t, map[string]string{
			HaCfFile:         hacf,
			AuthkeysFile:     "auth 1\n1 sha1 test-secret-0123456789\n",
			HaresourcesFile:  "node1 web\n",
			"resource.d/web": "#!/bin/sh\nexit 0\n",
		})
		if err := os.MkdirAll(filepath.Join(dir, "rc.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "rc.d", "hb_takeover"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	chmod := func(rel string, mode os.FileMode) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, rel), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	chownNobody := func(rel string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a file away")
			}
			if err := os.Chown(filepath.Join(dir, rel), 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		change func(*testing.T, string)
		file   string // the diagnostic's file, relative to the directory
		line   int
		want   string
	}{
		{"as written", func(*testing.T, string) {}, "", 0, ""},
		{"ha.cf group-writable", chmod(HaCfFile, 0o664), HaCfFile, 0, "writable by group or others (mode 0664)"},
		{"haresources world-writable", chmod(HaresourcesFile, 0o646), HaresourcesFile, 0, "chmod go-w "},
		{"authkeys of another user", chownNobody(AuthkeysFile), AuthkeysFile, 0, "owned by uid 65534, not root"},
		{"script 0777", chmod("resource.d/web", 0o777), HaresourcesFile, 1, "resource web: file "},
		{"script of another user", chownNobody("resource.d/web"), HaresourcesFile, 1, "fix: chown root "},
		{"resource.d writable", chmod("resource.d", 0o777), HaresourcesFile, 1, "resource web: directory "},
		{"rc.d hook writable", chmod("rc.d/hb_takeover", 0o757), "rc.d/hb_takeover", 0, "rc.d hook: file "},
		{"configuration directory writable", chmod(".", 0o777), HaCfFile, 0, "directory "},
		{"sticky configuration directory", chmod(".", 0o777|os.ModeSticky), "", 0, ""},
	}
	for _, tt := range tests {
		for _, strict := range []bool{false, true} {
			name := tt.name + map[bool]string{false: "/check", true: "/run"}[strict]
			t.Run(name, func(t *testing.T) {
				dir := base(t)
				tt.change(t, dir)
				cfg, diags := Load(dir, LoadOptions{Node: "node1", Strict: strict})
				if tt.want == "" {
					if cfg == nil {
						t.Fatalf("refused: %v", diags)
					}
					return
				}
				if cfg != nil {
					t.Errorf("config accepted")
				}
				found := false
				for _, d := range diags {
					if d.Severity == SevError && d.Pos.File == filepath.Join(dir, tt.file) && d.Pos.Line == tt.line &&
						strings.Contains(d.Msg, tt.want) && strings.Contains(d.Msg, "fix: ") {
						found = true
					}
				}
				if !found {
					t.Errorf("no error at %s:%d containing %q and the fix; got %v", tt.file, tt.line, tt.want, diags)
				}
			})
		}
	}
}
