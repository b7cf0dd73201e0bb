package wire

import "hash"

// Heartbeat's "crc" method is a CRC-32 with the polynomial 0x04C11DB7
// processed most-significant bit first (not reflected), initial value 0
// and a final XOR with 0xffffffff. This is the catalogue's CRC-32/POSIX
// without the length suffix cksum(1) appends; hash/crc32 only implements
// the reflected variants, so it is done here with a byte table.

const crcPoly = 0x04C11DB7

// crcTable is computed once and never written afterwards.
var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc32MSB is a hash.Hash32 for Heartbeat's CRC. The zero value is ready.
type crc32MSB struct{ crc uint32 }

var _ hash.Hash32 = (*crc32MSB)(nil)

func (c *crc32MSB) Write(p []byte) (int, error) {
	crc := c.crc
	for _, b := range p {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^b]
	}
	c.crc = crc
	return len(p), nil
}

func (c *crc32MSB) Sum32() uint32 { return c.crc ^ 0xffffffff }

func (c *crc32MSB) Sum(b []byte) []byte {
	s := c.Sum32()
	return append(b, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}

func (c *crc32MSB) Reset()         { c.crc = 0 }
func (c *crc32MSB) Size() int      { return 4 }
func (c *crc32MSB) BlockSize() int { return 1 }
