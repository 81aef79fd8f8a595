package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Series is a regular time series: Values[i] is the load at Start + i*Step. NaN marks a gap.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// End returns the time of the last point (Start when the series is empty).
func (s Series) End() time.Time {
	if len(s.Values) == 0 {
		return s.Start
	}
	return s.Start.Add(time.Duration(len(s.Values)-1) * s.Step)
}

// Options says what to forecast.
type Options struct {
	// Horizon is the number of points to forecast.
	Horizon int
	// Quantile is the upper quantile of Result.Upper; 0 means 0.9.
	Quantile float64
	// Model is "" or "auto" to select by backtest, else one of Models().
	Model string
}

// Scores are a model's rolling-origin backtest errors.
type Scores struct {
	// MASE is the mean absolute error scaled by the in-sample weekly (or daily) seasonal naive error.
	MASE float64
	// SMAPE is the symmetric mean absolute percentage error, 0–200.
	SMAPE float64
	// Coverage is the share of actuals at or below the upper bound.
	Coverage float64
	// Pinball is the mean pinball (quantile) loss of the upper bound at its quantile, scaled
	// like MASE: it rewards a bound that covers without being needlessly high.
	Pinball float64
	// Origins is the number of backtest origins the scores average over.
	Origins int
}

// Result is one forecast.
type Result struct {
	// Model is the chosen model; Reason says why (fallbacks say which and why).
	Model, Reason string
	// Start is the time of Mean[0]: the series' end plus Step.
	Start time.Time
	Step  time.Duration
	// Mean and Upper have Horizon points; Upper is the Quantile bound.
	Mean, Upper []float64
	// Backtest scores the chosen model (zero Origins when no backtest could run).
	Backtest Scores
}

// ErrNoData is returned for a series with no finite value.
var ErrNoData = errors.New("series has no finite values")

// ErrNotFinite is returned when a forecast would hold NaN or ±Inf (values near the float64
// limit overflow the models' arithmetic): a Result never carries one.
var ErrNotFinite = errors.New("forecast is not finite")

// Forecast fits s and forecasts opts.Horizon points after its end.
func Forecast(s Series, opts Options) (Result, error) {
	if opts.Horizon <= 0 {
		return Result{}, fmt.Errorf("horizon must be positive, got %d", opts.Horizon)
	}
	if s.Step <= 0 {
		return Result{}, fmt.Errorf("step must be positive, got %s", s.Step)
	}
	q := opts.Quantile
	if q == 0 {
		q = 0.9
	}
	if !(q > 0 && q < 1) {
		return Result{}, fmt.Errorf("quantile must be between 0 and 1, got %v", opts.Quantile)
	}
	mem := getArena()
	defer putArena(mem)
	r, err := forecast(s, opts.Horizon, q, opts.Model, mem)
	if err != nil {
		return Result{}, err
	}
	if err := checkFinite(r); err != nil {
		return Result{}, err
	}
	return r, nil
}

// checkFinite is the last guard before a Result leaves the package: every Mean and Upper
// point finite, Upper at least Mean. Callers write them to CSV, JSON and metrics, none of
// which should see a NaN (issue 9).
func checkFinite(r Result) error {
	if len(r.Upper) != len(r.Mean) {
		return fmt.Errorf("forecast has %d mean and %d upper points", len(r.Mean), len(r.Upper))
	}
	for i := range r.Mean {
		m, u := r.Mean[i], r.Upper[i]
		if !finite(m) || !finite(u) {
			return fmt.Errorf("%w: %s forecast point %d is mean %v, upper %v", ErrNotFinite, r.Model, i, m, u)
		}
		if u < m {
			return fmt.Errorf("%s forecast point %d has upper %v below mean %v", r.Model, i, u, m)
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// allFinite says whether no value of v is NaN or ±Inf.
func allFinite(v []float64) bool {
	for _, x := range v {
		if !finite(x) {
			return false
		}
	}
	return true
}

// ReplicasFor returns the replicas that carry load at capacityPerReplica each:
// ceil(load/capacity), never negative. NaN, infinite or non-positive inputs give 0
// (an unknown load must never raise a floor); a huge load saturates at MaxInt32.
func ReplicasFor(load, capacityPerReplica float64) int32 {
	if math.IsNaN(load) || math.IsInf(load, 0) || load <= 0 ||
		math.IsNaN(capacityPerReplica) || math.IsInf(capacityPerReplica, 0) || capacityPerReplica <= 0 {
		return 0
	}
	// A tiny relative tolerance keeps 3.0000000001 (float noise) from becoming 4.
	r := load / capacityPerReplica
	n := math.Ceil(r - 1e-9*math.Max(1, r))
	if n >= math.MaxInt32 {
		return math.MaxInt32
	}
	if n < 0 {
		return 0
	}
	return int32(n)
}
