//go:build !race

package testenv

// RaceDetector says whether this test binary runs with the race detector
// (go test -race). testing.AllocsPerRun counts the detector's own
// allocations too, so a test asserting none skips that check under it.
const RaceDetector = false
