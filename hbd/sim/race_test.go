//go:build race

package sim

// raceEnabled: the race detector makes a seed about five times slower;
// TestResources runs fewer seeds by default then (see -rseeds).
const raceEnabled = true
