package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLists(t *testing.T) {
	tests := []struct {
		split func(string) []string
		in    string
		want  []string
	}{
		{List, "", nil},
		{List, "hbd, keepalived,,", []string{"hbd", "keepalived"}},
		{Lines, "realtime off", []string{"realtime off"}},
		{Lines, "realtime off; rtprio 5;", []string{"realtime off", "rtprio 5"}},
		{Lines, "a,b;c", []string{"a,b", "c"}},
	}
	for _, tt := range tests {
		if got := tt.split(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("split %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseLadder(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in      string
		adverts bool
		want    []Timing
		err     string
	}{
		{"10ms/40ms, 10ms/100ms,1s/3s", false, []Timing{{Keepalive: 10 * ms, Deadtime: 40 * ms}, {Keepalive: 10 * ms, Deadtime: 100 * ms}, {Keepalive: time.Second, Deadtime: 3 * time.Second}}, ""},
		{"10ms,500ms,2s", true, []Timing{{Advert: 10 * ms}, {Advert: 500 * ms}, {Advert: 2 * time.Second}}, ""},
		{"10ms/100ms,10ms/40ms", false, nil, "not from the fastest up"},
		{"1s,10ms", true, nil, "not from the fastest up"},
		{"10ms/20ms", false, nil, "more than twice keepalive"},
		{"10ms", false, nil, "KEEPALIVE/DEADTIME"},
		{"15ms", true, nil, "multiple of 10ms"},
		{"", true, nil, "empty ladder"},
	}
	for _, tt := range tests {
		got, err := ParseLadder(tt.in, tt.adverts)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseLadder(%q) error = %v, want one saying %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseLadder(%q): %v", tt.in, err)
		case tt.err == "" && !slices.Equal(got, tt.want):
			t.Errorf("ParseLadder(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParsePercents(t *testing.T) {
	if got, err := ParsePercents("0, 10,2.5"); err != nil || !slices.Equal(got, []float64{0, 10, 2.5}) {
		t.Errorf("ParsePercents = %v, %v", got, err)
	}
	for _, bad := range []string{"-1", "101", "ten"} {
		if _, err := ParsePercents(bad); err == nil {
			t.Errorf("ParsePercents(%q) accepted", bad)
		}
	}
}

func TestParseLabelled(t *testing.T) {
	tests := []struct {
		in   string
		want []Labelled
		bad  string // part of the error; "" for none
	}{
		{"old=/tmp/a,new=/tmp/b", []Labelled{{"old", "/tmp/a"}, {"new", "/tmp/b"}}, ""},
		{"/tmp/a, /tmp/b", []Labelled{{"hbd1", "/tmp/a"}, {"hbd2", "/tmp/b"}}, ""},
		{"x=/tmp/a,/tmp/b", []Labelled{{"x", "/tmp/a"}, {"hbd2", "/tmp/b"}}, ""},
		{"", nil, ""},
		{"a=/x,a=/y", nil, "used twice"},
		{"keepalived=/x", nil, "used twice (or reserved)"},
		{"a b=/x", nil, "label"},
		{"=/x", nil, "label"},
		{"a=", nil, "no value"},
		{strings.Repeat("l", 33) + "=/x", nil, "label"},
	}
	for _, tt := range tests {
		got, err := ParseLabelled(tt.in, "hbd", "keepalived")
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("ParseLabelled(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.bad)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseLabelled(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
