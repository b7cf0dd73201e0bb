package testenv

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteConfigFile writes the file name (a path relative to dir) of a
// configuration directory, with the mode hbd run asks of it: authkeys
// 0600, resource.d's scripts executable (WriteExecutable), others 0644.
func WriteConfigFile(t testing.TB, dir, name, text string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	switch {
	case name == "authkeys":
		err = os.WriteFile(path, []byte(text), 0o600)
	case strings.HasPrefix(name, "resource.d/"):
		err = WriteExecutable(path, []byte(text), 0o755)
	default:
		err = os.WriteFile(path, []byte(text), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// WriteConfigDir is a new configuration directory (a temporary one of
// the test's) of files, each name to its text (WriteConfigFile).
func WriteConfigDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		WriteConfigFile(t, dir, name, text)
	}
	return dir
}

// FreeUDPPort is a loopback UDP port free right now.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
