package forecast

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestArenaFloats(t *testing.T) {
	a := new(arena)
	x, y := a.floats(10), a.floats(20)
	require.Len(t, x, 10)
	require.Equal(t, 10, cap(x), "a slice may not grow into the next one")
	require.Len(t, y, 20)
	x[9], y[0] = 1, 2
	require.Equal(t, 1.0, x[9], "slices are disjoint")
	big := a.floats(arenaChunk + 1)
	require.Len(t, big, arenaChunk+1)
	rest := a.floats(arenaChunk - 5) // does not fit after x and y: a second chunk
	require.Len(t, rest, arenaChunk-5)
	require.Len(t, a.chunks, 2)
	a.reset()
	again := a.floats(10)
	require.Same(t, &x[0], &again[0], "reset reuses the first chunk")
	require.Len(t, (*arena)(nil).floats(3), 3, "a nil arena allocates")
}

// TestArenaLeavesForecastsUnchanged fits series of every shape the models branch on with an
// arena whose memory holds garbage and with none: any read of an element nobody wrote, or a
// result left pointing into the arena, shows as a difference.
func TestArenaLeavesForecastsUnchanged(t *testing.T) {
	cases := map[string]Series{
		"5 min, 4 weeks":      synthetic(3, 8064),
		"5 min, 10 days":      synthetic(4, 2880),
		"hourly, 3 weeks":     gen(24*21, time.Hour, func(i int) float64 { return 100 + 40*math.Sin(2*math.Pi*float64(i)/24) }),
		"30 min with a shift": gen(48*20, 30*time.Minute, func(i int) float64 { return 50 + float64(i/(48*15))*30 + 10*math.Sin(2*math.Pi*float64(i)/48) }),
		"short":               gen(40, 5*time.Minute, func(i int) float64 { return float64(i % 7) }),
	}
	for name, s := range cases {
		for _, model := range []string{ModelAuto, ModelCombination, ModelProfile, ModelHoltWinters} {
			t.Run(name+"/"+model, func(t *testing.T) {
				want, err := forecast(s, 288, 0.9, model, nil)
				require.NoError(t, err)
				dirty := new(arena)
				for range 8 {
					for i, c := 0, dirty.floats(arenaChunk); i < len(c); i++ {
						c[i] = math.NaN()
						if i%3 == 1 {
							c[i] = 1e300
						}
					}
				}
				dirty.reset()
				got, err := forecast(s, 288, 0.9, model, dirty)
				require.NoError(t, err)
				require.Equal(t, want, got)
				dirty.reset()
				for range 8 { // overwrite everything the arena holds: got must not change
					c := dirty.floats(arenaChunk)
					for i := range c {
						c[i] = -1
					}
				}
				require.Equal(t, want, got)
			})
		}
	}
}
