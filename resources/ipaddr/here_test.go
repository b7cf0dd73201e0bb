package ipaddr

import "testing"

// BenchmarkHere is what a reload pays for each built-in address
// resource: a netlink handle, and a look-up of its interface (lo, which
// every namespace has) or of the routes.
func BenchmarkHere(b *testing.B) {
	for _, args := range []string{"10.98.0.100/24/lo", "10.98.0.100"} {
		b.Run(args, func(b *testing.B) {
			for b.Loop() {
				Here(NameIPaddr2, []string{args})
			}
		})
	}
}
