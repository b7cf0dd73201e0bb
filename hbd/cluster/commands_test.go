package cluster

import "testing"

func TestParseWhich(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", HoldAll, true},
		{"all", HoldAll, true},
		{"foreign", HoldForeign, true},
		{"failback", HoldForeign, true},
		{"local", HoldLocal, true},
		{" Local ", HoldLocal, true},
		{"FAILBACK", HoldForeign, true},
		{"none", "", false},
		{"everything", "", false},
	}
	for _, tc := range tests {
		got, err := ParseWhich(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseWhich(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
