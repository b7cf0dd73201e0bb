package harc

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkCommandRun: one run of /bin/true as harc runs a resource
// script, without a record and with one (written as it starts, removed
// once it is reaped), for what the record costs a script.
func BenchmarkCommandRun(b *testing.B) {
	rs, err := OpenRecords(filepath.Join(b.TempDir(), "scripts"), nil)
	if err != nil {
		b.Fatal(err)
	}
	info := ScriptInfo{Group: "IPaddr::10.0.0.1", Resource: "true", Op: "status", Path: "/bin/true"}
	for _, bc := range []struct {
		name  string
		track func(int) func()
	}{
		{"plain", nil},
		{"recorded", func(pid int) func() { return rs.Track(pid, info) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if res := (Command{Path: "/bin/true", Track: bc.track}).Run(context.Background()); !res.OK() {
					b.Fatal(res.Describe())
				}
			}
		})
	}
}
