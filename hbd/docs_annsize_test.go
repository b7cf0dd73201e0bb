package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// annsizeConfig is a two-node configuration (node1, node2) with n groups
// keyed by resource specs of keyLen bytes, one a line of
// /etc/ha.d/haresources from line 1.
func annsizeConfig(n, keyLen int) *config.Config {
	c := &config.Config{ThisNode: "node1", Nodes: []string{"node1", "node2"}, UDPPort: 694}
	c.SetTimingDefaults()
	for i := range n {
		c.Groups = append(c.Groups, config.Group{Preferred: "node1",
			Resources: []config.Resource{{Spec: fmt.Sprintf("rec::%0*d", keyLen-5, i), Name: "rec"}},
			Pos:       config.Pos{File: "/etc/ha.d/haresources", Line: 1 + i}})
	}
	return c
}

// TestConfigDocAnnouncementLimit: what docs/config.md says of the
// groups that fit one announcement is what the load check counts, and
// the error it quotes is the check's, word for word (120 groups of
// 30-byte keys).
func TestConfigDocAnnouncementLimit(t *testing.T) {
	md := strings.Join(strings.Fields(readDoc(t, "docs/config.md")), " ")
	m := regexp.MustCompile("with 30-byte keys and two nodes named `node1` and `node2`, (\\d+) groups fit; with 19-byte keys \\(`IPaddr::10.0.0.1/24`, which a bare `10.0.0.1/24` stands for\\), (\\d+)\\.").FindStringSubmatch(md)
	if m == nil {
		t.Fatal("docs/config.md does not say how many groups of 30-byte and 19-byte keys fit")
	}
	for i, keyLen := range []int{30, 19} {
		fit, _ := cluster.AnnouncementFit(annsizeConfig(400, keyLen))
		if said, _ := strconv.Atoi(m[i+1]); said != fit {
			t.Errorf("docs/config.md: %d groups of %d-byte keys fit; the check counts %d", said, keyLen, fit)
		}
	}
	d := cluster.CheckAnnouncement(annsizeConfig(120, 30))
	if len(d) != 1 {
		t.Fatalf("120 groups of 30-byte keys: %v", d)
	}
	if quoted := strings.Join(strings.Fields(d[0].String()), " "); !strings.Contains(md, quoted) {
		t.Errorf("docs/config.md does not quote the error as the check says it:\n%s", quoted)
	}
}

// TestOperationsDocSettingsRefused: the refusal docs/operations.md quotes
// is the core's, word for word, in the case it describes: two nodes
// (node2 down), as many groups of 30-byte keys as the load check lets
// in, each disabled and enabled again in turn until a command is refused.
func TestOperationsDocSettingsRefused(t *testing.T) {
	md := strings.Join(strings.Fields(readDoc(t, "docs/operations.md")), " ")
	c := annsizeConfig(400, 30)
	fit, _ := cluster.AnnouncementFit(c)
	c.Groups = c.Groups[:fit]
	n := cluster.New(cluster.Options{Config: c, Now: time.Unix(0, 0)})
	var err error
	var sub string
	for i := 0; i < fit && err == nil; i++ {
		for _, k := range []cluster.CommandKind{cluster.CmdGroupDisable, cluster.CmdGroupEnable} {
			cmd := cluster.Command{Kind: k, Which: c.Groups[i].Key()}
			if err = n.CheckSettingsCommand(cmd); err != nil {
				sub = map[cluster.CommandKind]string{cluster.CmdGroupDisable: "disable", cluster.CmdGroupEnable: "enable"}[k]
				break
			}
			n.Step(cmd)
		}
	}
	if err == nil {
		t.Fatal("no command refused")
	}
	if quoted := "hbd group " + sub + ": " + err.Error(); !strings.Contains(md, quoted) {
		t.Errorf("docs/operations.md does not quote the refusal as the core says it:\n%s", quoted)
	}
}
