//go:build linux

package netlab

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// Cut takes the bridge side of every interface of h down: the host loses
// carrier, as when its machine dies or its cable is pulled. Nothing reaches
// it and nothing it sends leaves.
func (l *Lab) Cut(h *Host) error { return l.setPorts(h, "down") }

// Heal brings the bridge side of h's interfaces back up (undoes Cut).
func (l *Lab) Heal(h *Host) error { return l.setPorts(h, "up") }

// CutIface takes only h's interface ifname off its bridge (one of
// several links between two nodes fails).
func (l *Lab) CutIface(h *Host, ifname string) error { return l.setPorts(h, "down", ifname) }

// HealIface undoes CutIface.
func (l *Lab) HealIface(h *Host, ifname string) error { return l.setPorts(h, "up", ifname) }

func (l *Lab) setPorts(h *Host, state string, only ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("lab closed")
	}
	found := false
	for _, i := range h.ifaces {
		if len(only) > 0 && i.Name != only[0] {
			continue
		}
		found = true
		if _, err := l.run(context.Background(), "ip", "-n", l.swNS, "link", "set", i.Port, state); err != nil {
			return fmt.Errorf("%s %s: %w", state, h.Name, err)
		}
	}
	if !found {
		return fmt.Errorf("%s: no interface %v", h.Name, only)
	}
	l.logf("host %s: links %s %v", h.Name, state, only)
	return nil
}

// HasNft reports whether CutBetween and Loss can use nftables (the `nft`
// program); without it CutBetween falls back to routes and Loss fails.
func HasNft() bool {
	_, err := exec.LookPath("nft")
	return err == nil
}

// CutBetween cuts the path between hosts a and b only: each keeps talking
// to every other host. With nftables (the default when `nft` exists) the
// bridge drops every frame forwarded between their ports, in both
// directions — unicast, broadcast, multicast, ARP, and addresses either
// of them adds later (a VIP). Without nft it installs `prohibit` routes for
// each other's interface addresses inside a and b, which stops unicast IP
// between those addresses only.
func (l *Lab) CutBetween(a, b *Host) error { return l.setCut(a, b, true) }

// HealBetween undoes CutBetween.
func (l *Lab) HealBetween(a, b *Host) error { return l.setCut(a, b, false) }

func pairKey(a, b *Host) [2]string {
	if a.Name > b.Name {
		a, b = b, a
	}
	return [2]string{a.Name, b.Name}
}

func (l *Lab) setCut(a, b *Host, cut bool) error {
	if a == b {
		return errors.New("cut between a host and itself")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("lab closed")
	}
	k := pairKey(a, b)
	if l.cuts[k] == cut {
		return nil
	}
	if l.useRoute || !HasNft() {
		if err := l.routeCut(a, b, cut); err != nil {
			return err
		}
		if err := l.routeCut(b, a, cut); err != nil {
			return err
		}
		l.cuts[k] = cut
		l.logf("route cut %s-%s: %v", a.Name, b.Name, cut)
		return nil
	}
	l.cuts[k] = cut
	if err := l.applyNftLocked(); err != nil {
		l.cuts[k] = !cut
		return err
	}
	l.logf("cut %s-%s: %v", a.Name, b.Name, cut)
	return nil
}

// routeCut adds (or removes) prohibit routes in from for to's addresses.
func (l *Lab) routeCut(from, to *Host, cut bool) error {
	op := "add"
	if !cut {
		op = "del"
	}
	for _, i := range to.ifaces {
		for _, a := range i.Addrs {
			ip, err := parseAddr(a)
			if err != nil {
				return err
			}
			bits := "/32"
			if ip.Is6() {
				bits = "/128"
			}
			if _, err := l.run(context.Background(), "ip", "-n", from.NS, "route", op, "prohibit", ip.String()+bits); err != nil {
				return err
			}
		}
	}
	return nil
}

// Loss makes the bridge drop percent (0–100) of the frames entering and,
// independently, of the frames leaving each of h's ports, at random
// (nftables numgen; this kernel may lack netem). 0 removes it.
func (l *Lab) Loss(h *Host, percent float64) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("loss %v%%: want 0..100", percent)
	}
	if !HasNft() {
		return errors.New("loss needs nftables (`nft`); run .ci/test-deps.sh as root")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("lab closed")
	}
	old, had := l.loss[h.Name]
	if percent == 0 {
		delete(l.loss, h.Name)
	} else {
		l.loss[h.Name] = percent
	}
	if err := l.applyNftLocked(); err != nil {
		if had {
			l.loss[h.Name] = old
		} else {
			delete(l.loss, h.Name)
		}
		return err
	}
	l.logf("host %s: loss %v%%", h.Name, percent)
	return nil
}

// nftRuleset renders the lab's whole bridge filter: cut pairs and loss.
func (l *Lab) nftRuleset() string {
	var rules []string
	var pairs [][2]string
	for k, on := range l.cuts {
		if on {
			pairs = append(pairs, k)
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0]+"/"+pairs[i][1] < pairs[j][0]+"/"+pairs[j][1] })
	for _, k := range pairs {
		a, b := l.hosts[k[0]], l.hosts[k[1]]
		for _, pa := range a.ifaces {
			for _, pb := range b.ifaces {
				rules = append(rules,
					fmt.Sprintf("iifname %q oifname %q drop", pa.Port, pb.Port),
					fmt.Sprintf("iifname %q oifname %q drop", pb.Port, pa.Port))
			}
		}
	}
	var lossy []string
	for n := range l.loss {
		lossy = append(lossy, n)
	}
	sort.Strings(lossy)
	for _, n := range lossy {
		per10k := int(l.loss[n]*100 + 0.5)
		for _, p := range l.hosts[n].ifaces {
			rules = append(rules,
				fmt.Sprintf("iifname %q numgen random mod 10000 < %d drop", p.Port, per10k),
				fmt.Sprintf("oifname %q numgen random mod 10000 < %d drop", p.Port, per10k))
		}
	}
	var sb strings.Builder
	// "table …" then "delete table …" makes sure it exists before it is
	// replaced, in one atomic transaction.
	sb.WriteString("table bridge hbdlab\ndelete table bridge hbdlab\n")
	sb.WriteString("table bridge hbdlab {\n\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n")
	for _, r := range rules {
		sb.WriteString("\t\t" + r + "\n")
	}
	sb.WriteString("\t}\n}\n")
	return sb.String()
}

func (l *Lab) applyNftLocked() error {
	rs := l.nftRuleset()
	if _, err := runCmd(context.Background(), []byte(rs), "ip", "netns", "exec", l.swNS, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("nft in %s: %w\nruleset:\n%s", l.swNS, err, rs)
	}
	return nil
}
