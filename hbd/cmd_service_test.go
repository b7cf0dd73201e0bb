package main

import (
	"strings"
	"testing"

	initfiles "github.com/hbdproject/hbd/init"
)

func TestServiceFilesForSetup(t *testing.T) {
	setup := serviceSetup{binary: "/opt/hbd/bin/hbd", configDir: "/srv/ha.d", node: "alpha"}
	unit, err := setup.systemdUnit()
	if err != nil {
		t.Fatal(err)
	}
	script, err := setup.sysvScript()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text string
		want       []string
	}{
		{"unit", unit, []string{
			installedMarker + "\n",
			"\nExecStart=/opt/hbd/bin/hbd run -c ${HBD_CONFIG_DIR} --node=${HBD_NODE} $HBD_OPTS\n",
			"\nType=notify\n",
			"\nEnvironment=HBD_CONFIG_DIR=/srv/ha.d HBD_NODE=alpha\n",
		}},
		{"script", script, []string{
			"#!/bin/sh\n" + installedMarker + "\n",
			"\nHBD_BIN=/opt/hbd/bin/hbd\n",
			"\nHBD_CONFIG_DIR=/srv/ha.d\n",
			"\nHBD_NODE=alpha\n",
		}},
	}
	for _, tt := range tests {
		for _, w := range tt.want {
			if !strings.Contains(tt.text, w) {
				t.Errorf("%s lacks %q", tt.name, w)
			}
		}
		if strings.Contains(tt.text, initfiles.DefaultBinary) {
			t.Errorf("%s still names %s", tt.name, initfiles.DefaultBinary)
		}
		if strings.Contains(tt.text, "/etc/ha.d\n") {
			t.Errorf("%s still defaults to /etc/ha.d", tt.name)
		}
	}
	// The files differ from the originals only where the setup says.
	if got, want := strings.Count(unit, "\n"), strings.Count(initfiles.SystemdUnit, "\n")+1; got != want {
		t.Errorf("unit has %d lines, want %d", got, want)
	}
}

func TestServiceSetupValidate(t *testing.T) {
	tests := []struct {
		setup serviceSetup
		ok    bool
	}{
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "/etc/ha.d"}, true},
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "/etc/ha.d", node: "node-1.example"}, true},
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "/etc/my ha.d"}, false},
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "/etc/$HOME"}, false},
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "/etc/ha.d", node: "a\"b"}, false},
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "/etc/{{x}}"}, false},
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "/etc/%n"}, false},
		{serviceSetup{binary: "hbd", configDir: "/etc/ha.d"}, false},
		{serviceSetup{binary: "/usr/sbin/hbd", configDir: "ha.d"}, false},
	}
	for _, tt := range tests {
		err := tt.setup.validate()
		if (err == nil) != tt.ok {
			t.Errorf("validate(%+v) = %v, want ok=%v", tt.setup, err, tt.ok)
		}
	}
}

func TestReplaceLine(t *testing.T) {
	tests := []struct {
		text, old string
		want      string
		ok        bool
	}{
		{"a\nX=1\nb\n", "X=1", "a\nX=2\nb\n", true},
		{"a\nX=1\nX=1\n", "X=1", "", false}, // twice
		{"a\nX=10\n", "X=1", "", false},     // only whole lines
		{"", "X=1", "", false},
	}
	for _, tt := range tests {
		got, err := replaceLine(tt.text, "f", tt.old, "X=2")
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("replaceLine(%q) = %q, %v; want %q, ok=%v", tt.text, got, err, tt.want, tt.ok)
		}
	}
}

func TestTemplateSafe(t *testing.T) {
	if _, err := templateSafe("ExecStart=/x {{.Path}}"); err == nil {
		t.Error("templateSafe accepted {{")
	}
	if _, err := templateSafe(initfiles.SystemdUnit + initfiles.SysVScript); err != nil {
		t.Errorf("the init files would be changed by kardianos/service's templates: %v", err)
	}
}
