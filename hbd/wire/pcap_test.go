package wire

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// captureDir holds the test vectors: tcpdump captures of two Heartbeat
// 3.0.6 nodes talking over ucast, with the keys of their authkeys.
const captureDir = "testdata/captures"

// capture is one pcap with the key that signed its packets.
type capture struct {
	file    string
	key     Key
	packets int // heartbeat datagrams in it
}

var captures = []capture{
	{"session-2node-sha1.pcap", Key{Index: 1, Method: MethodSHA1, Secret: "harnessSecret42"}, 329},
	{"session2-2node-sha1.pcap", Key{Index: 1, Method: MethodSHA1, Secret: "harnessSecret42"}, 313},
	{"startup-2node-md5.pcap", Key{Index: 1, Method: MethodMD5, Secret: "md5Secret99"}, 81},
	{"startup-2node-crc.pcap", Key{Index: 1, Method: MethodCRC}, 23},
}

// loadCapture returns the UDP payloads of a capture.
func loadCapture(t testing.TB, name string) [][]byte {
	t.Helper()
	path := filepath.Join(captureDir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	payloads, err := udpPayloads(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return payloads
}

// udpPayloads reads a libpcap file (either byte order, µs or ns stamps;
// Ethernet, Linux cooked or raw IP link types) and returns the payload of
// every IPv4 UDP datagram in it.
func udpPayloads(data []byte) ([][]byte, error) {
	if len(data) < 24 {
		return nil, fmt.Errorf("pcap: %d bytes, no global header", len(data))
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("pcap: bad magic % x", data[:4])
	}
	link := bo.Uint32(data[20:])
	var out [][]byte
	for off := 24; off < len(data); {
		if len(data)-off < 16 {
			return nil, fmt.Errorf("pcap: truncated record header at %d", off)
		}
		incl := int(bo.Uint32(data[off+8:]))
		off += 16
		if incl > len(data)-off {
			return nil, fmt.Errorf("pcap: record at %d runs past the end", off)
		}
		pkt := data[off : off+incl]
		off += incl
		var ip []byte
		switch link {
		case 1: // Ethernet
			if len(pkt) < 14 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
				continue
			}
			ip = pkt[14:]
		case 113: // Linux cooked
			if len(pkt) < 16 || binary.BigEndian.Uint16(pkt[14:]) != 0x0800 {
				continue
			}
			ip = pkt[16:]
		case 101, 228: // raw IP, raw IPv4
			ip = pkt
		default:
			return nil, fmt.Errorf("pcap: link type %d not handled", link)
		}
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < ihl+8 {
			return nil, fmt.Errorf("pcap: short UDP header")
		}
		udpLen := int(binary.BigEndian.Uint16(ip[ihl+4:]))
		if udpLen < 8 || ihl+udpLen > len(ip) {
			return nil, fmt.Errorf("pcap: UDP length %d does not fit the capture", udpLen)
		}
		out = append(out, ip[ihl+8:ihl+udpLen])
	}
	return out, nil
}
