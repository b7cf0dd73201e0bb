package vnet

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestQueueOrder(t *testing.T) {
	var q Queue[string]
	if _, _, ok := q.Pop(); ok {
		t.Fatal("Pop on an empty queue returned a value")
	}
	if _, ok := q.Next(); ok {
		t.Fatal("Next on an empty queue returned a time")
	}
	pushes := []struct {
		ms int
		v  string
	}{{30, "c1"}, {10, "a1"}, {20, "b1"}, {10, "a2"}, {30, "c2"}, {0, "z"}, {10, "a3"}}
	for _, p := range pushes {
		q.Push(t0.Add(time.Duration(p.ms)*time.Millisecond), p.v)
	}
	if q.Len() != len(pushes) {
		t.Fatalf("Len %d, want %d", q.Len(), len(pushes))
	}
	var got []string
	for q.Len() > 0 {
		next, _ := q.Next()
		at, v, ok := q.Pop()
		if !ok || !at.Equal(next) {
			t.Fatalf("Pop returned %v at %v (ok %v), Next said %v", v, at, ok, next)
		}
		got = append(got, fmt.Sprintf("%s@%d", v, at.Sub(t0)/time.Millisecond))
		if v == "a1" {
			// Pushed while popping, at a time already reached: after the
			// others due then.
			q.Push(at, "a4")
		}
	}
	want := "z@0 a1@10 a2@10 a3@10 a4@10 b1@20 c1@30 c2@30"
	if strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}

func TestHears(t *testing.T) {
	type step struct {
		do   func(n *Net)
		want string // for each pair (from, to) in order, 1 when it hears
	}
	// Pairs of 3 nodes: 01 02 10 12 20 21.
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"all", []step{{func(*Net) {}, "111111"}}},
		{"cut", []step{
			{func(n *Net) { n.Cut(0, 2) }, "101101"},
			{func(n *Net) { n.Cut(1, 2) }, "101000"},
			{func(n *Net) { n.Heal() }, "111111"},
		}},
		{"partition", []step{
			{func(n *Net) { n.Partition([]bool{true, false, true}) }, "010010"},
			{func(n *Net) { n.Cut(0, 2) }, "000000"},
			{func(n *Net) { n.Heal() }, "111111"},
		}},
		{"one way", []step{
			{func(n *Net) { n.CutOneWay(0, 2) }, "101111"},
			{func(n *Net) { n.CutOneWay(0, 2) }, "101111"},
			{func(n *Net) { n.Heal() }, "101111"}, // its own end, not Heal's
			{func(n *Net) { n.MendOneWay(0, 2) }, "101111"},
			{func(n *Net) { n.MendOneWay(0, 2) }, "111111"},
		}},
		{"partition copies its argument", []step{
			{func(n *Net) {
				side := []bool{true, true, false}
				n.Partition(side)
				side[2] = true
			}, "101000"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := New(3, "eth0")
			for i, s := range tc.steps {
				s.do(n)
				var got strings.Builder
				for from := 0; from < 3; from++ {
					for to := 0; to < 3; to++ {
						if from == to {
							continue
						}
						if n.Hears(from, to) {
							got.WriteByte('1')
						} else {
							got.WriteByte('0')
						}
					}
				}
				if got.String() != s.want {
					t.Errorf("step %d: hears %s, want %s", i, got.String(), s.want)
				}
			}
		})
	}
}

// script is a Model that logs its calls and answers from lists.
type script struct {
	log     []string
	arrive  map[int][]string // receiver → links it arrives on (all when absent)
	copies  []int
	delays  []time.Duration
	ncopies int
	ndelays int
}

func (s *script) Arrive(from, to int, links []string) []string {
	s.log = append(s.log, fmt.Sprintf("arrive %d>%d %v", from, to, links))
	if a, ok := s.arrive[to]; ok {
		return a
	}
	return links
}

func (s *script) Copies() int {
	c := s.copies[s.ncopies%len(s.copies)]
	s.ncopies++
	s.log = append(s.log, fmt.Sprintf("copies %d", c))
	return c
}

func (s *script) Delay() time.Duration {
	d := s.delays[s.ndelays%len(s.delays)]
	s.ndelays++
	s.log = append(s.log, fmt.Sprintf("delay %v", d))
	return d
}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(n *Net)
		link    string
		model   *script
		want    []string // deliveries
		wantLog []string // the model's calls, in order
	}{
		{
			name:  "every link to every other node",
			model: &script{copies: []int{1}, delays: []time.Duration{time.Millisecond}},
			want:  []string{"1 eth0 1ms", "1 eth1 1ms", "2 eth0 1ms", "2 eth1 1ms"},
			wantLog: []string{
				"arrive 0>1 [eth0 eth1]", "copies 1", "delay 1ms", "copies 1", "delay 1ms",
				"arrive 0>2 [eth0 eth1]", "copies 1", "delay 1ms", "copies 1", "delay 1ms",
			},
		},
		{
			name:  "one link, losses and duplicates",
			link:  "eth1",
			model: &script{arrive: map[int][]string{1: nil}, copies: []int{2}, delays: []time.Duration{time.Millisecond, 3 * time.Millisecond}},
			want:  []string{"2 eth1 1ms", "2 eth1 3ms"},
			wantLog: []string{
				"arrive 0>1 [eth1]",
				"arrive 0>2 [eth1]", "copies 2", "delay 1ms", "delay 3ms",
			},
		},
		{
			name:    "cut and partition",
			setup:   func(n *Net) { n.Cut(0, 1); n.Partition([]bool{false, false, true, false}) },
			link:    "eth0",
			model:   &script{copies: []int{1}, delays: []time.Duration{0}},
			want:    []string{"3 eth0 0s"},
			wantLog: []string{"arrive 0>3 [eth0]", "copies 1", "delay 0s"},
		},
		{
			name:    "a cut link, a one-way cut",
			setup:   func(n *Net) { n.CutLink(0, 1, "eth0"); n.CutOneWay(0, 2); n.CutLink(3, 0, "eth1") },
			model:   &script{copies: []int{1}, delays: []time.Duration{0}},
			want:    []string{"1 eth1 0s", "3 eth0 0s"},
			wantLog: []string{"arrive 0>1 [eth1]", "copies 1", "delay 0s", "arrive 0>3 [eth0]", "copies 1", "delay 0s"},
		},
		{
			name:    "every link cut",
			setup:   func(n *Net) { n.CutLink(0, 1, "eth0"); n.CutLink(1, 0, "eth1"); n.MendLink(2, 0, "eth0") },
			link:    "",
			model:   &script{copies: []int{1}, delays: []time.Duration{0}},
			want:    []string{"2 eth0 0s", "2 eth1 0s", "3 eth0 0s", "3 eth1 0s"},
			wantLog: []string{"arrive 0>2 [eth0 eth1]", "copies 1", "delay 0s", "copies 1", "delay 0s", "arrive 0>3 [eth0 eth1]", "copies 1", "delay 0s", "copies 1", "delay 0s"},
		},
		{
			name:  "a link the network does not have",
			link:  "eth7",
			model: &script{copies: []int{1}, delays: []time.Duration{0}},
			want:  nil,
			wantLog: []string{
				"arrive 0>1 []", "arrive 0>2 []",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := 3
			if tc.setup != nil {
				nodes = 4
			}
			n := New(nodes, "eth0", "eth1")
			if tc.setup != nil {
				tc.setup(n)
			}
			var got []string
			n.Send(0, tc.link, tc.model, func(to int, link string, after time.Duration) {
				got = append(got, fmt.Sprintf("%d %s %v", to, link, after))
			})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("deliveries %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(tc.model.log, tc.wantLog) {
				t.Errorf("model calls %q, want %q", tc.model.log, tc.wantLog)
			}
		})
	}
}

func TestFixed(t *testing.T) {
	n := New(2, "eth0")
	var got []string
	n.Send(1, "", Fixed(5*time.Millisecond), func(to int, link string, after time.Duration) {
		got = append(got, fmt.Sprintf("%d %s %v", to, link, after))
	})
	if want := []string{"0 eth0 5ms"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deliveries %q, want %q", got, want)
	}
}

func TestReaches(t *testing.T) {
	n := New(3, "eth0", "eth1")
	n.CutLink(0, 1, "eth0")
	if !n.Reaches(0, 1) || !n.Reaches(1, 0) || !n.Hears(0, 1) {
		t.Error("one cut link of two: the other still carries packets")
	}
	n.CutLink(1, 0, "eth1")
	if n.Reaches(0, 1) || n.Reaches(1, 0) || !n.Reaches(0, 2) {
		t.Error("both links cut between 0 and 1: neither reaches the other, 2 is untouched")
	}
	n.MendLink(0, 1, "eth1")
	if !n.Reaches(0, 1) || !n.Reaches(1, 0) {
		t.Error("eth1 mended: 0 and 1 reach each other")
	}
	n.CutOneWay(2, 0)
	if n.Reaches(2, 0) || !n.Reaches(0, 2) {
		t.Error("one way: 0 no longer hears 2, 2 still hears 0")
	}
}
