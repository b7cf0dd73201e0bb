package ipaddr

import (
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

func TestReleaseAtLeast(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"6.18.44-fc-v1300", true},
		{"6.12.0", true},
		{"6.12", true},
		{"6.11.9-300.fc40.x86_64", false},
		{"5.15.0-119-generic", false},
		{"7.0.1", true},
		{"10.2", true},
		{"4.19.325", false},
		{"6", false},
		{"6.", false},
		{"", false},
		{"linux-6.12", false},
		{"6.x", false},
	} {
		// As uname gives it: NUL-padded.
		rel := append([]byte(tc.rel), make([]byte, 8)...)
		if got := releaseAtLeast(rel, 6, 12); got != tc.want {
			t.Errorf("releaseAtLeast(%q, 6.12) = %v, want %v", tc.rel, got, tc.want)
		}
	}
}

// A look whose answer does not come waits for it until its deadline,
// then fails: it never waits for good, nor spins.
func TestAddrLookReadWaitsUntilItsDeadline(t *testing.T) {
	a := &Agent{ns: netns.None()}
	l := newAddrLook()
	defer l.close()
	if err := l.open(a); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// No request: nothing comes.
	_, err := l.read(start.Add(100 * time.Millisecond))
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("read with nothing to read: %v, want no answer", err)
	}
	if took < 100*time.Millisecond || took > 10*time.Second {
		t.Errorf("read gave up after %s, want its deadline (100 ms) and not much more", took)
	}
}
