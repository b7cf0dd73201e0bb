package main

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestCheckAddressInterface: hbd check warns of a built-in address
// resource whose interface this machine lacks, at its haresources line,
// in the agent's words, and still exits 0 (the interface may be made
// later); not when the interface is there, nor with --files-only (the
// files are for another machine).
func TestCheckAddressInterface(t *testing.T) {
	const missing = "haresources:1: warning: IPaddr2 10.98.0.100/24/nosuchif0: interface nosuchif0 does not exist on this machine (it has: "
	for _, tc := range []struct {
		name, haresources string
		filesOnly         bool
		want              string // in stderr; "" for no warning of IPaddr2
	}{
		{"interface missing", "solo IPaddr2::10.98.0.100/24/nosuchif0\n", false, missing},
		{"nic= missing", "solo IPaddr2::ip=10.98.0.100::cidr_netmask=24::nic=nosuchif0\n", false, "interface nosuchif0 does not exist on this machine"},
		{"interface there", "solo IPaddr2::10.98.0.100/24/lo\n", false, ""},
		{"for another machine", "solo IPaddr2::10.98.0.100/24/nosuchif0\n", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := maps.Clone(soloFiles)
			files["haresources"] = tc.haresources
			args := append([]string{"-c", testenv.WriteConfigDir(t, files), "--node", "solo"}, tempDirs(t)...)
			if tc.filesOnly {
				args = append(args, "--files-only")
			}
			var out, errOut bytes.Buffer
			rc := runCheck(args, &out, &errOut)
			if rc != 0 {
				t.Fatalf("exit %d, want 0:\n%s", rc, errOut.String())
			}
			got := errOut.String()
			if tc.want == "" {
				if strings.Contains(got, "warning: IPaddr2") {
					t.Errorf("warns of the address:\n%s", got)
				}
				return
			}
			if strings.Count(got, tc.want) != 1 {
				t.Errorf("stderr does not say %q once:\n%s", tc.want, got)
			}
		})
	}
}
