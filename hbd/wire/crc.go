package wire

import (
	"encoding/binary"
	"hash"
)

// Heartbeat's "crc" method is a CRC-32 with the polynomial 0x04C11DB7
// processed most-significant bit first (not reflected), initial value 0
// and a final XOR with 0xffffffff. This is the catalogue's CRC-32/POSIX
// without the length suffix cksum(1) appends; hash/crc32 only implements
// the reflected variants, so it is done here with tables.

const crcPoly = 0x04C11DB7

// crcTables are computed once and never written afterwards. crcTables[0]
// is the byte table: the CRC register after shifting one byte through a
// register holding that byte in its top bits. crcTables[k] is the same
// followed by k zero bytes, which lets Write fold eight bytes per step
// ("slicing by 8") instead of one: a heartbeat's two CRCs cover about
// 450 bytes.
var crcTables = func() (t [8][256]uint32) {
	for i := range t[0] {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for k := 1; k < len(t); k++ {
		for i := range t[k] {
			c := t[k-1][i]
			t[k][i] = c<<8 ^ t[0][c>>24]
		}
	}
	return t
}()

// crc32MSB is a hash.Hash32 for Heartbeat's CRC. The zero value is ready.
type crc32MSB struct{ crc uint32 }

var _ hash.Hash32 = (*crc32MSB)(nil)

func (c *crc32MSB) Write(p []byte) (int, error) {
	n := len(p)
	crc := c.crc
	t := &crcTables
	for ; len(p) >= 8; p = p[8:] {
		// The first four bytes meet the register; the last four enter
		// it as it is shifted out, so each takes its own table.
		hi := crc ^ binary.BigEndian.Uint32(p)
		crc = t[7][hi>>24] ^ t[6][byte(hi>>16)] ^ t[5][byte(hi>>8)] ^ t[4][byte(hi)] ^
			t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]
	}
	for _, b := range p {
		crc = crc<<8 ^ t[0][byte(crc>>24)^b]
	}
	c.crc = crc
	return n, nil
}

func (c *crc32MSB) Sum32() uint32 { return c.crc ^ 0xffffffff }

func (c *crc32MSB) Sum(b []byte) []byte {
	s := c.Sum32()
	return append(b, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}

func (c *crc32MSB) Reset()         { c.crc = 0 }
func (c *crc32MSB) Size() int      { return 4 }
func (c *crc32MSB) BlockSize() int { return 1 }
