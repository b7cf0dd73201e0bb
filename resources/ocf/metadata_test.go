package ocf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ipaddrMeta = `<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="IPaddr2">
<version>1.0</version>
<parameters>
<parameter name="ip" unique="1" required="1"><content type="string" default="" /></parameter>
<parameter name="nic" unique="0"><content type="string"/></parameter>
<parameter name="cidr_netmask"><content type="string" default=""/></parameter>
<parameter name="lvs_support"><content type="boolean" default="false"/></parameter>
<parameter name="arp_count"><content type="integer" default="5"/></parameter>
</parameters>
<actions><action name="start" timeout="20s" /></actions>
</resource-agent>
`

func TestValidateParams(t *testing.T) {
	m, err := ParseMetadata([]byte(ipaddrMeta))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"ip=10.0.0.5", "cidr_netmask=24"}, nil},
		{[]string{"ip=10.0.0.5", "lvs_support=true", "arp_count=3"}, nil},
		{[]string{"ip=10.0.0.5", "cidr_netmaks=24"}, []string{`the agent has no parameter "cidr_netmaks" (its parameters: ip, nic, cidr_netmask, lvs_support, arp_count)`}},
		{[]string{"cidr_netmask=24"}, []string{"the required parameter ip is missing (add ::ip=VALUE)"}},
		{[]string{"ip=10.0.0.5", "arp_count=many", "lvs_support=maybe"}, []string{`arp_count="many" is not an integer`, `lvs_support="maybe" is not a boolean`}},
	}
	for _, tc := range tests {
		a, err := Parse("", "ocf:heartbeat:IPaddr2", tc.args)
		if err != nil {
			t.Fatal(err)
		}
		got := m.Validate(a)
		if len(got) != len(tc.want) {
			t.Errorf("%v: %q, want %d like %q", tc.args, got, len(tc.want), tc.want)
			continue
		}
		for i, w := range tc.want {
			if !strings.HasPrefix(got[i], "ocf:heartbeat:IPaddr2: ") || !strings.Contains(got[i], w) {
				t.Errorf("%v: problem %d = %q, want %q", tc.args, i, got[i], w)
			}
		}
	}
	if _, err := ParseMetadata([]byte("usage: IPaddr2 {start|stop}")); err == nil {
		t.Error("a usage line parsed as meta-data")
	}
}

// Metadata runs the agent's meta-data action with the OCF environment.
func TestAgentMetadata(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n[ \"$1\" = meta-data ] && [ -n \"$OCF_ROOT\" ] || exit 3\ncat <<'X'\n" + ipaddrMeta + "X\n"
	if err := os.WriteFile(filepath.Join(dir, "IP"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := Parse(root, "ocf:test:IP", []string{"nic=eth0"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Validate(a); len(got) != 1 || !strings.Contains(got[0], "required parameter ip") {
		t.Errorf("problems %q", got)
	}
	a.Type = "Missing"
	if _, err := a.Metadata(context.Background()); err == nil {
		t.Error("no error for a missing agent")
	}

	// An agent that prints more than maxMetadata fails the check, and
	// what was kept of it stays bounded.
	long := fmt.Sprintf("#!/bin/sh\nhead -c %d /dev/zero\n", maxMetadata+1)
	if err := os.WriteFile(filepath.Join(dir, "Long"), []byte(long), 0o755); err != nil {
		t.Fatal(err)
	}
	a.Type = "Long"
	if _, err := a.Metadata(context.Background()); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("meta-data of %d bytes: error %v, want more than %d bytes", maxMetadata+1, err, maxMetadata)
	}
}

func TestCapped(t *testing.T) {
	c := &capped{max: 5}
	for _, w := range []string{"abc", "defg", "hi"} {
		if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
	}
	if got := c.buf.String(); got != "abcde" || !c.over {
		t.Errorf("kept %q, over %v; want \"abcde\", true", got, c.over)
	}
}
