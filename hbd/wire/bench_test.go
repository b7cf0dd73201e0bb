package wire

import (
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// The status message of statusMessage (the fields Heartbeat 3.0.6 sends,
// ~305 bytes on the wire) encoded and signed, then verified and decoded,
// per method. Each benchmark also reports cpu-ns/op, the process's CPU
// time per message: on a loaded machine ns/op, wall time, counts the
// waits for a CPU as well.

// cpuPerOp starts counting the process's CPU time; the function it
// returns, called once b.Loop is done, reports it per op.
func cpuPerOp(b *testing.B) func() {
	start := testenv.CPUTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((testenv.CPUTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, k := range allMethodKeys() {
		b.Run(k.Method, func(b *testing.B) {
			kr := mustKeyring(b, k.Index, k)
			m := statusMessage()
			buf, err := kr.AppendEncode(nil, m)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			done := cpuPerOp(b)
			for b.Loop() {
				if buf, err = kr.AppendEncode(buf[:0], m); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

// BenchmarkEncodeAlloc is Encode with a fresh buffer per message.
func BenchmarkEncodeAlloc(b *testing.B) {
	for _, k := range allMethodKeys() {
		b.Run(k.Method, func(b *testing.B) {
			kr := mustKeyring(b, k.Index, k)
			m := statusMessage()
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				if _, err := kr.Encode(m); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, k := range allMethodKeys() {
		b.Run(k.Method, func(b *testing.B) {
			kr := mustKeyring(b, k.Index, k)
			pkt, err := kr.Encode(statusMessage())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				if _, err := kr.Decode(pkt); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

// BenchmarkDecodeInto is Decode into one message again and again, as the
// daemon's intake decodes (its messages are pooled): once the message's
// storage is large enough, the parsing and verifying alone.
func BenchmarkDecodeInto(b *testing.B) {
	for _, k := range allMethodKeys() {
		b.Run(k.Method, func(b *testing.B) {
			kr := mustKeyring(b, k.Index, k)
			pkt, err := kr.Encode(statusMessage())
			if err != nil {
				b.Fatal(err)
			}
			var m Message
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				if err := kr.DecodeInto(&m, pkt); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

// BenchmarkDecodeBadSignature is the cost of rejecting a forged packet.
func BenchmarkDecodeBadSignature(b *testing.B) {
	kr := mustKeyring(b, 3, Key{Index: 3, Method: MethodSHA1, Secret: "sha1 secret"})
	pkt, err := kr.Encode(statusMessage())
	if err != nil {
		b.Fatal(err)
	}
	pkt[len(pkt)-3] ^= 1
	b.ReportAllocs()
	done := cpuPerOp(b)
	for b.Loop() {
		if _, err := kr.Decode(pkt); Reason(err) != DropBadSignature {
			b.Fatal(err)
		}
	}
	done()
}
