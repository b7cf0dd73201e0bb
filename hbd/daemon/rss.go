package daemon

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// releaseFilePages drops this process's mappings of the pages of its
// read-only file mappings (the program's code and constant data, the C
// library's), once the start is done. They stay in the page cache, and
// what the daemon runs from then on is mapped again as it runs. At start
// the kernel maps code 64 KB around each page first run (fault-around)
// and the start runs code from most of the program (every package's
// init, the configuration parser, the agents' registry), so about 9 MB
// of the program's 10 MB of code and tables were resident in a node that
// runs a few hundred kilobytes of it; they count in its resident size.
// A mapping with a page of its own (Anonymous in smaps: written, as the
// dynamic loader writes relocations before it makes them read-only) is
// left alone, as are writable ones: dropping such a page would lose what
// was written.
func releaseFilePages() error {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return fmt.Errorf("release file pages: %w", err)
	}
	type mapping struct {
		lo, hi uint64
		name   string
	}
	var cur *mapping
	var drop []mapping
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if bytes.IndexByte(f[0], '-') > 0 && !bytes.HasSuffix(f[0], []byte(":")) {
			// start-end perms offset dev inode [path]: a new mapping
			cur = nil
			if len(f) < 6 || len(f[1]) != 4 || f[1][1] != '-' || f[1][3] != 'p' || string(f[4]) == "0" || f[5][0] != '/' {
				continue
			}
			start, end, _ := bytes.Cut(f[0], []byte("-"))
			lo, err1 := strconv.ParseUint(string(start), 16, 64)
			hi, err2 := strconv.ParseUint(string(end), 16, 64)
			if err1 != nil || err2 != nil || hi <= lo {
				continue
			}
			drop = append(drop, mapping{lo, hi, string(f[5])})
			cur = &drop[len(drop)-1]
			continue
		}
		if cur != nil && string(f[0]) == "Anonymous:" && len(f) > 1 && string(f[1]) != "0" {
			drop = drop[:len(drop)-1] // it has pages of its own
			cur = nil
		}
	}
	for _, m := range drop {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.lo), uintptr(m.hi-m.lo), syscall.MADV_DONTNEED); e != 0 {
			return fmt.Errorf("release file pages: madvise %x-%x %s: %w", m.lo, m.hi, m.name, e)
		}
	}
	return nil
}
