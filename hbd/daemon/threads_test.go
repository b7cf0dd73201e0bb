package daemon

import (
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"testing"
)

// dirent64 is one linux_dirent64 record named name, padded to 8 bytes
// as the kernel writes it.
func dirent64(name string) []byte {
	reclen := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint64(b[0:8], 42)
	binary.NativeEndian.PutUint16(b[16:18], uint16(reclen))
	b[18] = 4 // DT_DIR
	copy(b[19:], name)
	return b
}

func TestAppendTaskIDs(t *testing.T) {
	recs := func(names ...string) []byte {
		var b []byte
		for _, n := range names {
			b = append(b, dirent64(n)...)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want []int
	}{
		{"empty", nil, nil},
		{"dots only", recs(".", ".."), nil},
		{"threads", recs(".", "..", "4242", "4243", "1234567"), []int{4242, 4243, 1234567}},
		{"not a number", recs("12a", "7"), []int{7}},
		{"cut short", recs("4242", "4243")[:30], []int{4242}},
		{"record length zero", append(recs("5"), make([]byte, 24)...), []int{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := appendTaskIDs(nil, tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTaskDirList: the list matches os.ReadDir's, read after read (the
// directory is read again from its start), and a read allocates nothing.
func TestTaskDirList(t *testing.T) {
	readDir := func() []int {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Skipf("no /proc/self/task: %v", err)
		}
		var ids []int
		for _, e := range ents {
			if id, err := strconv.Atoi(e.Name()); err == nil {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	var td taskDir
	defer td.close()
	var got []int
	for range 3 {
		// The runtime may start a thread between the two listings: try
		// again until two agree.
		want := readDir()
		var err error
		got, err = td.list(got)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if slices.Equal(got, want) && slices.Equal(readDir(), want) {
			allocs := testing.AllocsPerRun(10, func() {
				if got, err = td.list(got); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("a list allocates %v times", allocs)
			}
			return
		}
	}
	t.Fatalf("taskDir lists %v, os.ReadDir %v", got, readDir())
}
