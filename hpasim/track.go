package hpasim

import "time"

// reactiveTrack is the reactive replay's course, kept so that a candidate's replay need not
// sync its HPA where the floor does not bind. A floor binds at a sync only where minReplicas
// is above the replicas before the sync or the ones decided (the controller's only uses of
// minReplicas: TooFewReplicas, and the scale-down's and the unchanged count's lower bound);
// below both, the HPA decides as the reactive one did in the same state. Calibration's
// candidates mostly ask for floors under what the HPA holds anyway (a noise margin under the
// peak, a surge floor only on a rise): on office ramps 60 % of their syncs follow the track,
// and a calibration runs 7 % fewer instructions at the forecaster's 5 min step, 14 % fewer on
// per-minute history replayed at 15 s (on a steady noisy load, where floors bind and let go
// every few minutes and a fifth of the syncs follow it, 5 % more; waiting longer before
// following again after a short stretch was dearer still). A run following the track is the
// same run, to the bit: it reads the reactive run's decisions only where its own HPA would
// have made them (TestReplayFollowsTheReactiveTrack).
type reactiveTrack struct {
	// first is the replicas before the first sync; desired, readyBefore and readyAfter are each
	// step's decision and its ready replicas before and after it.
	first                            int32
	desired, readyBefore, readyAfter []int32
	// checkpoints are the reactive HPA's state before the sync at every checkpointEvery-th
	// step, from which a run whose floor comes to bind catches up (restore); their pods still
	// starting, recommendations and scale events are kept end to end in pods, recs and events.
	checkpoints []checkpoint
	pods        []int64
	recs        []recommendation
	events      []scaleEvent
	// converged is how many steps in a row a run's HPA must decide as the reactive one did, from
	// the same replicas with as many ready, to be in the same state: long enough for every
	// recommendation in its stabilization windows, every scale event its policies count and
	// every pod still starting to be the reactive HPA's (the older ones are ready in both).
	converged int
	recorded  bool
	// tallies are the reactive run's running tallies over its scored steps (tallies[k]: the
	// first k), and loadDays what its days depend on of the load alone: a stretch followed is
	// metered from them (meterFollowed).
	scored   int
	capacity float64
	tallies  []tally
	loadDays []loadDay
	blocks   []blockPeak // the peaks of each peakBlock steps
}

// checkpointEvery is how many steps apart the reactive HPA's state is kept: a run whose floor
// comes to bind syncs fewer than that many steps to catch up. On a steady noisy load, where
// floors bind and let go every few minutes, a run caught up 32 steps on average at 64 apart,
// more than following the track saved; at 8 apart a week at 15 s keeps 5,040, a few entries
// each (only pods still starting).
const checkpointEvery = 8

// checkpoint is an HPA's state: its replicas and minReplicas, and where its pods still
// starting, its recommendations (highs, then lows) and its scale events end in the track's
// pods, recs and events (each starts where the checkpoint before ends).
type checkpoint struct {
	replicas, min             int32
	pods, highs, lows, events int
}

// start readies t to record a replay of n steps, step apart, of the reactive HPA h, scored
// from step scored on.
func (t *reactiveTrack) start(h *HPA, n int, step time.Duration, scored int) {
	span := max(h.up.StabilizationWindow, h.down.StabilizationWindow, time.Duration(h.eventSpan), h.cfg.PodStartup)
	*t = reactiveTrack{
		first:   h.Replicas(),
		desired: make([]int32, 0, n), readyBefore: make([]int32, 0, n), readyAfter: make([]int32, 0, n),
		checkpoints: make([]checkpoint, 0, n/checkpointEvery+1),
		converged:   int(span/step) + 2,
		scored:      scored,
		capacity:    h.cfg.CapacityPerReplica,
		tallies:     make([]tally, 1, max(n-scored, 0)+1),
	}
}

// current is the reactive HPA's replicas before the sync at step i.
func (t *reactiveTrack) current(i int) int32 {
	if i == 0 {
		return t.first
	}
	return t.desired[i-1]
}

// binds reports whether minReplicas m changes the reactive HPA's decision at step i.
func (t *reactiveTrack) binds(i int, m int32) bool {
	return m > t.current(i) || m > t.desired[i]
}

// nextBinding is the first step of [i, end) at which minReplicas m binds, end if none.
func (t *reactiveTrack) nextBinding(i, end int, m int32) int {
	for i < end && !t.binds(i, m) {
		i++
	}
	return i
}

// record appends the decision of the reactive HPA h at step i, whose state before it was
// saved by checkpoint.
func (t *reactiveTrack) record(h *HPA, d decision, now int64) {
	t.desired = append(t.desired, d.desired)
	t.readyBefore = append(t.readyBefore, d.ready)
	t.readyAfter = append(t.readyAfter, h.readyAt(now))
}

// checkpoint keeps h's state before the sync at step i, now, where one is due. The pods ready by
// then are kept as ready since the epoch: a ready pod's ready-at time is only ever compared with
// a later time.
func (t *reactiveTrack) checkpoint(h *HPA, i int, now int64) {
	if i%checkpointEvery != 0 {
		return
	}
	ready := h.readyAt(now)
	t.pods = append(t.pods, h.pods[ready:]...)
	t.recs = append(t.recs, h.highs...)
	highs := len(t.recs)
	t.recs = append(t.recs, h.lows...)
	t.events = append(t.events, h.events...)
	t.checkpoints = append(t.checkpoints, checkpoint{replicas: h.Replicas(), min: h.min, pods: len(t.pods), highs: highs, lows: len(t.recs), events: len(t.events)})
}

// follows reports whether a run's sync at step i decided d as the reactive HPA did there.
func (t *reactiveTrack) follows(i int, d decision) bool {
	return d.current == t.current(i) && d.desired == t.desired[i] && d.ready == t.readyBefore[i]
}

// restore puts h in the reactive HPA's state before the sync at step i, keeping its
// minReplicas: from the checkpoint before it, synced on to i with the reactive HPA's.
func (t *reactiveTrack) restore(h *HPA, i int, loads []float64, step time.Duration) {
	k := i / checkpointEvery
	var from checkpoint // where checkpoint k's entries start: where the one before ends
	if k > 0 {
		from = t.checkpoints[k-1]
		from.highs = from.lows
	}
	c := t.checkpoints[k]
	starting := t.pods[from.pods:c.pods]
	h.pods = h.pods[:0]
	for range int(c.replicas) - len(starting) {
		h.pods = append(h.pods, 0)
	}
	h.pods = append(h.pods, starting...)
	h.highs = append(h.highs[:0], t.recs[from.highs:c.highs]...)
	h.lows = append(h.lows[:0], t.recs[c.highs:c.lows]...)
	h.events = append(h.events[:0], t.events[from.events:c.events]...)
	h.deferred, h.deferredFrom = h.deferred[:0], 0
	m := h.min
	h.min = c.min
	for s := k * checkpointEvery; s < i; s++ {
		h.sync(int64(s)*int64(step), loads[s])
	}
	h.min = m
}

// meterFollowed adds to days (perDay steps each from the scored step on) the steps [from, to)
// a run followed: the reactive run's, tallied as it tallied them, with their peaks.
func (t *reactiveTrack) meterFollowed(days []dayTally, from, to int, loads []float64, perDay int) {
	capacity := t.capacity
	for from = max(from, t.scored); from < to; {
		day := (from - t.scored) / perDay
		end := min(to, t.scored+(day+1)*perDay)
		d := &days[day]
		d.tally = d.plus(t.tallies[end-t.scored].minus(t.tallies[from-t.scored]))
		replicas, excess := t.peaks(from, end, loads)
		d.peakReplicas = max(d.peakReplicas, replicas)
		if s := excess / capacity; capacity > 0 && excess > 0 && s > d.peakShort {
			d.peakShort = s
		}
		from = end
	}
}

// peakBlock is how many steps each of a track's blocks covers: a stretch followed for hours
// reads its peaks a block at a time, where scanning it step by step was 3 % of a calibration's
// instructions on per-minute history.
const peakBlock = 64

// blockPeak is the highest replicas and the highest load above ready capacity (0 if none) over
// a block of steps.
type blockPeak struct {
	replicas int32
	excess   float64
}

// excess is how far load at step i was above the reactive HPA's ready capacity: the shortfall
// before it is divided by the capacity, which keeps the order, so the highest excess divided
// is the highest shortfall to the bit. Not above 0 where none (or the load is unknown).
func (t *reactiveTrack) excess(i int, loads []float64) float64 {
	return loads[i] - float64(t.readyAfter[i])*t.capacity
}

// summarize works out the blocks' peaks once the reactive run is recorded.
func (t *reactiveTrack) summarize(loads []float64) {
	t.blocks = make([]blockPeak, len(t.desired)/peakBlock)
	for b := range t.blocks {
		var p blockPeak
		for i := b * peakBlock; i < (b+1)*peakBlock; i++ {
			p.replicas = max(p.replicas, t.desired[i])
			if e := t.excess(i, loads); e > p.excess {
				p.excess = e
			}
		}
		t.blocks[b] = p
	}
}

// peaks are the highest replicas and excess (0 if none) over steps [from, to).
func (t *reactiveTrack) peaks(from, to int, loads []float64) (int32, float64) {
	var p blockPeak
	step := func(i int) {
		p.replicas = max(p.replicas, t.desired[i])
		if e := t.excess(i, loads); e > p.excess {
			p.excess = e
		}
	}
	for ; from < to && from%peakBlock != 0; from++ {
		step(from)
	}
	for ; from+peakBlock <= to; from += peakBlock {
		b := t.blocks[from/peakBlock]
		p.replicas = max(p.replicas, b.replicas)
		p.excess = max(p.excess, b.excess)
	}
	for ; from < to; from++ {
		step(from)
	}
	return p.replicas, p.excess
}
