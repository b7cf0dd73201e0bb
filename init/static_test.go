package initfiles_test

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// staticELF returns an error unless the executable at path is statically
// linked: no program interpreter (the dynamic loader) and no shared
// library it needs.
func staticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it has a program interpreter)", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("%s is dynamically linked: it needs %v", path, libs)
	}
	return nil
}

// TestStaticELF: the check tells a static binary from a dynamic one, so
// that TestMakeInstall's use of it can fail.
func TestStaticELF(t *testing.T) {
	tests := []struct {
		cgo        string
		wantStatic bool
	}{
		{"0", true},
		{"1", false},
	}
	src := filepath.Join(t.TempDir(), "main.go")
	// net with cgo on links the C library's resolver; off, the Go one.
	if err := os.WriteFile(src, []byte("package main\n\nimport \"net\"\n\nfunc main() { net.LookupHost(\"localhost\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run("CGO_ENABLED="+tt.cgo, func(t *testing.T) {
			if tt.cgo == "1" {
				need(t, "gcc")
			}
			out := filepath.Join(t.TempDir(), "prog")
			cmd := exec.Command("go", "build", "-o", out, src)
			cmd.Env = append(os.Environ(), "CGO_ENABLED="+tt.cgo)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, b)
			}
			err := staticELF(out)
			if got := err == nil; got != tt.wantStatic {
				t.Errorf("static %v, want %v (%v)", got, tt.wantStatic, err)
			}
		})
	}
}
