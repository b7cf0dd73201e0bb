package cluster

import (
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// Event is something that happened to the node: fed to Node.Step.
type Event interface {
	at() time.Time // when it happened: every event carries its time
}

// Tick tells the core the time. The daemon sends one at (or after)
// Node.NextTick. Load is /proc/loadavg's text, sent as the `ld` field.
type Tick struct {
	Now  time.Time
	Load string
}

// Receive is a message from a peer. Now is its arrival time, taken by the
// reader goroutine; Msg has been signature-verified; Link is the medium's
// name (its interface, e.g. "eth0").
type Receive struct {
	Now  time.Time
	Link string
	Msg  *wire.Message
}

// Stop is a graceful stop (SIGTERM, hbd stop): the node releases every
// group it holds (StopGroup, one at a time, last group first), announces
// it (resource info=shutdown), sends `shutdone` st=dead so its peers see
// it dead at once and take over, emits Exit, and from then on does
// nothing. A second Stop while stopping changes nothing. A group whose stop failed holds the
// stop back until CmdCleanup stops it.
type Stop struct {
	Now time.Time
}

func (e Tick) at() time.Time    { return e.Now }
func (e Receive) at() time.Time { return e.Now }
func (e Stop) at() time.Time    { return e.Now }

// Action is something the daemon must do: returned by Node.Step.
type Action interface{ isAction() }

// Send asks the daemon to sign and send a message. Link "" means every
// link; otherwise only that one. Msg is complete except the auth field.
type Send struct {
	Msg  *wire.Message
	Link string
}

// Log is one log line, in Heartbeat's words.
type Log struct {
	Level Level
	Msg   string
}

func (Send) isAction() {}
func (Log) isAction()  {}

// Level is a log line's severity.
type Level int

// Log levels, as Heartbeat names them (debug, info, WARN, ERROR, CRIT).
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
	LevelCrit
)

// String returns the level as Heartbeat writes it in its log lines.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	case LevelCrit:
		return "CRIT"
	}
	return "level?"
}
