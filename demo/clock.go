package demo

import (
	"sync"
	"time"
)

// Clock is simulated time running Speed times faster than the wall clock from Start.
type Clock struct {
	Start time.Time
	Speed float64
	// wall is the real clock; tests replace it.
	wall func() time.Time

	once      sync.Once
	wallStart time.Time
}

// NewClock returns a clock at start that runs speed simulated seconds per real second.
func NewClock(start time.Time, speed float64) *Clock {
	return &Clock{Start: start, Speed: speed, wall: time.Now}
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.once.Do(func() { c.wallStart = c.wall() })
	elapsed := c.wall().Sub(c.wallStart)
	return c.Start.Add(time.Duration(float64(elapsed) * c.Speed))
}

// Real converts a simulated duration into the wall-clock duration it takes.
func (c *Clock) Real(d time.Duration) time.Duration {
	r := time.Duration(float64(d) / c.Speed)
	if r < time.Millisecond {
		r = time.Millisecond
	}
	return r
}

// After waits the simulated duration d (time.After of its wall-clock duration).
func (c *Clock) After(d time.Duration) <-chan time.Time { return time.After(c.Real(d)) }
