package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadavgEvery: the ld field is read again only loadEvery after the
// last read, and a changed file is seen then.
func TestLoadavgEvery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loadavg")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0.10 0.20 0.30 1/100 4242\n")
	l := &loadavg{file: newProcFile(path, 128)}
	defer l.close()
	t0 := time.Unix(1000, 0)
	steps := []struct {
		after time.Duration
		write string
		want  string
	}{
		{0, "", "0.10 0.20 0.30 1/100 4242"},
		{500 * time.Millisecond, "0.50 0.20 0.30 2/100 4243\n", "0.10 0.20 0.30 1/100 4242"},
		{loadEvery - time.Nanosecond, "", "0.10 0.20 0.30 1/100 4242"},
		{loadEvery, "", "0.50 0.20 0.30 2/100 4243"},
		{loadEvery + loadEvery/2, "1.00 1.00 1.00 3/100 5000\n", "0.50 0.20 0.30 2/100 4243"},
		{2 * loadEvery, "", "1.00 1.00 1.00 3/100 5000"},
	}
	for _, s := range steps {
		if s.write != "" {
			write(s.write)
		}
		if got := l.at(t0.Add(s.after)); got != s.want {
			t.Errorf("at +%v: %q, want %q", s.after, got, s.want)
		}
	}
}

// TestLoadavgProc reads the real file: its five fields without the
// newline, and no allocation between two reads.
func TestLoadavgProc(t *testing.T) {
	if _, err := os.Stat(loadavgPath); err != nil {
		t.Skipf("no %s: %v", loadavgPath, err)
	}
	var l loadavg
	defer l.close()
	now := time.Now()
	got := l.at(now)
	if f := strings.Fields(got); len(f) != 5 || strings.TrimSpace(got) != got {
		t.Fatalf("ld %q: want the five fields of %s", got, loadavgPath)
	}
	allocs := testing.AllocsPerRun(100, func() { l.at(now) })
	if allocs != 0 {
		t.Errorf("reading the ld field within loadEvery allocates %v times", allocs)
	}
}
