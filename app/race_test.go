//go:build race

package app

// raceEnabled: the tests run under the race detector, which makes a forecast fit about 17
// times as costly (BenchmarkFitDay: 2.6 ms, 44 ms with -race).
const raceEnabled = true
