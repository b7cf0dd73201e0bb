package sim

import "math/rand/v2"

// RandomQuietPassiveConfig is a calm run (no crash, partition, cut,
// pause, suspend, clock fault or node-set change: CheckCalm applies, and
// no node may ever be declared dead) of two nodes and one group, so that
// the node holding nothing goes quiet (hbd/cluster's quiet passive) and
// its peer waits for its rarer statuses: a false death of a quiet node is
// a violation. The run is one of RandomResourceConfig,
// RandomReloadConfig, RandomSettingsConfig and RandomMonitorConfig (one
// in four each, drawn from a stream of its own), with their commands,
// settings commands, reloads, monitor failures, failing scripts, loss
// (bounded as CheckCalm requires), duplicates and jitter. Routine
// messages are read as the daemon reads them (Config.RoutineReads).
func RandomQuietPassiveConfig(seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, 0x9b1e7))
	gens := []func(uint64) Config{RandomResourceConfig, RandomReloadConfig, RandomSettingsConfig, RandomMonitorConfig}
	c := gens[r.IntN(len(gens))](seed)
	c.Crashes, c.Partitions, c.StopCuts = 0, 0, 0
	c.OneWayCuts, c.LinkCuts, c.Pauses, c.Suspends = 0, 0, 0, 0
	c.ClockJumps, c.WallJumps, c.NodeChanges, c.MarkEpisodes, c.Spare = 0, 0, 0, 0, 0
	c.Nodes, c.Groups = 2, 1
	c.RoutineReads = true // the holder's ticks beside a quiet peer, as the daemon steps them
	return c
}
