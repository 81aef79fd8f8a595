package hpasim

import (
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

// liveLike is three weeks of ramps sampled every step and the forecasts a live forecaster
// would have stored over its last week: one an hour, 24 hours ahead at a 5-minute step, the
// true load with noise as the expected load and 30 % above it as the upper bound.
func liveLike(step time.Duration) (forecast.Series, []scaling.Prediction, time.Time) {
	return liveLikeAt(step, 5*time.Minute)
}

// liveLikeAt is liveLike with forecasts at predStep, as simulate fits them on a trace sampled
// every predStep.
func liveLikeAt(step, predStep time.Duration) (forecast.Series, []scaling.Prediction, time.Time) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	o := DefaultRamps(start)
	o.Days, o.Step = 22, step
	trace := GenerateRamps(o)
	now := start.Add(21 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(7, 7))
	var preds []scaling.Prediction
	for at := now.Add(-7 * 24 * time.Hour); at.Before(now); at = at.Add(time.Hour) {
		p := scaling.Prediction{Service: "svc", Model: "test", Quantile: 0.9, FittedAt: at.UnixMilli(),
			ValidUntil: at.Add(2 * time.Hour).UnixMilli(), StepSeconds: int64(predStep / time.Second)}
		for k := 1; k <= int(24*time.Hour/predStep); k++ {
			ts := at.Add(time.Duration(k) * predStep)
			mean := LoadAt(trace, ts) * (1 + 0.05*rng.NormFloat64())
			p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: ts.UnixMilli(), ExpectedLoad: mean, UpperLoad: mean * 1.3,
				RecommendedMinReplicas: forecast.ReplicasFor(mean*1.3, 30)})
		}
		preds = append(preds, p)
	}
	trace.Values = trace.Values[:int(now.Sub(start)/trace.Step)]
	return trace, preds, now
}

// BenchmarkCalibrate is one service's calibration in a live forecast run: a week of history
// at the forecaster's 5-minute step replayed through every candidate with hourly forecasts.
// Target: at most 50 ms per service.
func BenchmarkCalibrate(b *testing.B) { benchmarkCalibrate(b, 5*time.Minute) }

// BenchmarkCalibrateHistory1m and BenchmarkCalibrateHistory15s are the same with a history
// sampled every minute or every 15 s, which are replayed at 15 s (replayStep): four times the
// syncs of a minute's replay.
func BenchmarkCalibrateHistory1m(b *testing.B)  { benchmarkCalibrate(b, time.Minute) }
func BenchmarkCalibrateHistory15s(b *testing.B) { benchmarkCalibrate(b, 15*time.Second) }

// BenchmarkCalibrateForecast15s is the history at 15 s with forecasts at 15 s too, as simulate
// fits them on a trace sampled every 15 s: its smoothed candidates average over 101 points.
func BenchmarkCalibrateForecast15s(b *testing.B) {
	trace, preds, now := liveLikeAt(15*time.Second, 15*time.Second)
	runCalibrationBench(b, calibrationBenchInput(trace, preds, now))
}

// BenchmarkCalibrateSteadyNoise is the dearest calibration at the forecaster's step: a steady
// load with 30 % noise, forecast every hour with points that wiggle by 3 %, on which the bound
// held throughout contends, so its held twins are replayed and bisected too (liveLike's ramps
// do not replay them), at a 20 % budget, under which every share of the grid fits and is
// replayed (at 10 %, where the floors' steady cost may spend 90 % of it, a surge floor wins
// outright and the held twins are not replayed; at 25 % and 30 % the replays are as many).
func BenchmarkCalibrateSteadyNoise(b *testing.B) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	trace := forecast.Series{Start: start, Step: 5 * time.Minute, Values: make([]float64, 21*288)}
	rng := rand.New(rand.NewPCG(11, 11))
	for i := range trace.Values {
		trace.Values[i] = 900 * (1 + 0.3*rng.NormFloat64())
	}
	now := trace.End()
	var preds []scaling.Prediction
	for at := now.Add(-7 * 24 * time.Hour); at.Before(now); at = at.Add(time.Hour) {
		p := scaling.Prediction{Service: "svc", Model: "test", Quantile: 0.9, FittedAt: at.UnixMilli(),
			ValidUntil: at.Add(2 * time.Hour).UnixMilli(), StepSeconds: 300}
		for k := 1; k <= 288; k++ {
			mean := 900 * (1 + 0.03*rng.NormFloat64())
			p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: at.Add(time.Duration(k) * 5 * time.Minute).UnixMilli(),
				ExpectedLoad: mean, UpperLoad: mean * 1.2})
		}
		preds = append(preds, p)
	}
	in := calibrationBenchInput(trace, preds, now)
	in.Budget = 0.2
	if got := Calibrate(in); !slices.ContainsFunc(got.Scores, func(s Score) bool { return s.Settings.HoldSeconds > 0 }) {
		b.Fatalf("the held twins were not replayed (chose %s): not the dearest calibration", SettingsString(got.FloorSettings))
	}
	runCalibrationBench(b, in)
}

// calibrationBenchInput is a calibration of trace with every candidate (surge floors too).
func calibrationBenchInput(trace forecast.Series, preds []scaling.Prediction, now time.Time) CalibrationInput {
	return CalibrationInput{History: trace, Predictions: preds, Now: now, LeadTime: 5 * time.Minute, Surge: true,
		HPA: Config{MinReplicas: 2, MaxReplicas: 50, CapacityPerReplica: 30, PodStartup: 2 * time.Minute}}
}

func benchmarkCalibrate(b *testing.B, step time.Duration) {
	trace, preds, now := liveLike(step)
	runCalibrationBench(b, calibrationBenchInput(trace, preds, now))
}

func runCalibrationBench(b *testing.B, in CalibrationInput) {
	cpu0 := cpuTime()
	for b.Loop() {
		Calibrate(in)
	}
	// CPU time as well as wall time: on a shared machine the wall time says more about the
	// neighbours than about the calibration.
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/service")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/service")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
