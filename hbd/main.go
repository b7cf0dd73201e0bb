// Command hbd is a Heartbeat-v1 style failover daemon.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "hbd: not yet")
	os.Exit(2)
}
