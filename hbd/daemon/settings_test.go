package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
)

func TestSettingsFile(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadSettings(dir); err != nil || got != nil {
		t.Fatalf("LoadSettings of an empty dir = %v, %v; want none", got, err)
	}
	want := []cluster.Setting{
		{Kind: cluster.SettingDisabled, Name: "IPaddr2::10.0.0.5/24/eth0", Value: "1", Version: 3, Origin: "node2"},
		{Kind: cluster.SettingMove, Name: "ocf:heartbeat:IPaddr2::ip=10.0.0.6::cidr_netmask=24", Value: ">node1", Version: 0x1a, Origin: "node1"},
		{Kind: cluster.SettingStandby, Name: "node2", Version: 4, Origin: "node1"},
	}
	if err := saveSettings(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSettings(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadSettings after saveSettings = %+v, %v; want %+v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, settingsFile), []byte("standby:2:1:node1:node2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSettings(dir); err == nil || !strings.Contains(err.Error(), "fix or remove the file") {
		t.Errorf("LoadSettings of a bad file: %v; want an error naming the file", err)
	}
}
