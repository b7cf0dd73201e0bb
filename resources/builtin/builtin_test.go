package builtin

import (
	"slices"
	"testing"
)

// TestAgents: the registry hbd runs with holds every agent, each with the
// parser hbd check uses, and the in-process parts the daemon asks for.
func TestAgents(t *testing.T) {
	r := Agents("")
	if got, want := r.Shown(), []string{"IPaddr", "IPaddr2", "awseip", "service", "ocf:PROVIDER:TYPE"}; !slices.Equal(got, want) {
		t.Errorf("agents %q, want %q", got, want)
	}
	// make install links these into resource.d (init's TestMakeInstall).
	if got, want := r.Programs(), []string{"IPaddr", "IPaddr2", "awseip"}; !slices.Equal(got, want) {
		t.Errorf("programs %q, want %q", got, want)
	}
	for _, name := range []string{"IPaddr", "IPaddr2", "awseip", "service", "ocf:heartbeat:Dummy"} {
		a, ok := r.Lookup(name)
		if !ok || a.Check == nil {
			t.Errorf("%s: registered %v, with a parser %v", name, ok, a.Check != nil)
		}
		if keeps := a.Keep != nil; keeps != (name == "IPaddr" || name == "IPaddr2") {
			t.Errorf("%s: keeper %v", name, keeps)
		}
	}
	if a, ok := r.Fencer("aws"); !ok || a.Name != "awseip" || a.CheckFence == nil {
		t.Errorf("the aws fence is %q (%v), want awseip's with its check", a.Name, ok)
	}
}
