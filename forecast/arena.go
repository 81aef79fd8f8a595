package forecast

import "sync"

// arena hands out float64 slices for one evaluation and takes them all back at once. A fit of
// four weeks at 5 minutes allocates about 1 MB, garbage as soon as its forecast is out: reused
// from one series to the next, that memory costs neither the allocator nor its zeroing nor a
// collection. Its slices are not zeroed (every caller writes each element) and must not
// outlive the evaluation: what a Result keeps is copied out of it.
type arena struct {
	chunks   [][]float64
	cur, off int
}

// arenaChunk is the floats of one chunk: several series-length buffers of a month at 5
// minutes each.
const arenaChunk = 1 << 15

var arenas = sync.Pool{New: func() any { return new(arena) }}

// floats returns n floats of unspecified values; a nil arena allocates.
func (a *arena) floats(n int) []float64 {
	if a == nil || n > arenaChunk {
		return make([]float64, n)
	}
	for ; a.cur < len(a.chunks); a.cur, a.off = a.cur+1, 0 {
		if c := a.chunks[a.cur]; a.off+n <= len(c) {
			a.off += n
			return c[a.off-n : a.off : a.off]
		}
	}
	c := make([]float64, arenaChunk)
	a.chunks = append(a.chunks, c)
	a.off = n
	return c[:n:n]
}

// clone is a copy of v in the arena.
func (a *arena) clone(v []float64) []float64 {
	out := a.floats(len(v))
	copy(out, v)
	return out
}

// reset takes every slice back.
func (a *arena) reset() { a.cur, a.off = 0, 0 }

// getArena and putArena borrow an arena for one evaluation.
func getArena() *arena { return arenas.Get().(*arena) }

func putArena(a *arena) {
	a.reset()
	arenas.Put(a)
}
