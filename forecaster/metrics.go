package forecaster

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

const (
	resultSkipped = "skipped"
	// errorEps keeps the error ratio finite when the actual load is zero.
	errorEps = 1e-6
)

type metrics struct {
	predicted   *prometheus.GaugeVec
	actual      *prometheus.GaugeVec
	errRatio    *prometheus.GaugeVec
	stale       *prometheus.GaugeVec
	runs        *prometheus.CounterVec
	duration    prometheus.Histogram
	lastSuccess prometheus.Gauge
	// runRecordErrors counts failed writes of run records to the store.
	runRecordErrors prometheus.Counter
	// lockErrors counts run lock failures by op: take, renew, lost, release.
	lockErrors *prometheus.CounterVec
	// beyondMax is, per service, the share of its last calibration's reactive shortfall
	// above what maxReplicas carry.
	beyondMax *prometheus.GaugeVec
	// calReduction and calIncrease are, per service, what the settings its last calibration
	// chose scored on the replayed window against the reactive HPA.
	calReduction, calIncrease *prometheus.GaugeVec
	// podStartup is, per service and source, the pod start-up its last calibration replayed.
	podStartup *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		predicted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_forecast_predicted_load",
			Help: "Load forecast earlier for now by the latest valid prediction: quantile 0.5 is the mean, the service's quantile the upper bound. Absent when no valid prediction covers now.",
		}, []string{"service", "quantile"}),
		actual: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_forecast_actual_load",
			Help: "Load of the service now, from its query. Absent when the query fails.",
		}, []string{"service"}),
		errRatio: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_forecast_error_ratio",
			Help: "Mean of |predicted - actual| / actual over the error window (default 1h).",
		}, []string{"service"}),
		stale: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_forecast_prediction_stale",
			Help: "1 when no valid prediction covers now for the service (its predicted load is then absent), else 0.",
		}, []string{"service"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_forecast_runs_total",
			Help: "Forecast runs by result: succeeded, partial (some services failed), failed, skipped (a run was still in progress), aborted (stopped by shutdown), abandoned (left unfinished by a dead process, counted by the process that marked it).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kai_forecast_duration_seconds",
			Help:    "Duration of forecast runs over all their services.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 12), // 0.25s .. 512s
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kai_forecast_last_success_timestamp_seconds",
			Help: "Unix time of the end of the last run that stored at least one prediction.",
		}),
		runRecordErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kai_forecast_run_record_errors_total",
			Help: "Writes of forecast run records (queued, running, finished) to the store that failed; the run itself went on, but other replicas may not report it.",
		}),
		lockErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_forecast_lock_errors_total",
			Help: "Failures of the cluster-wide forecast run lock by op: take (store unreachable; the run was refused), renew (store unreachable; retried), lost (the lease expired during a run; another replica may have run at once), release (it expires by itself).",
		}, []string{"op"}),
		beyondMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_calibration_beyond_max_share",
			Help: "Share of the under-provisioned replica-minutes the reactive HPA had over the service's last calibration window (replayed) that was load above what its maxReplicas carry: no floor serves it, only a higher maxReplicas. Absent until a calibration has replayed history.",
		}, []string{"service"}),
		calReduction: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_calibration_underprovisioned_reduction_ratio",
			Help: "Share of the reactive HPA's under-provisioned replica-minutes within max replicas that the floor settings chosen by the service's last calibration removed on its replayed window (0 with floors off). Absent until a calibration has replayed history.",
		}, []string{"service"}),
		calIncrease: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_calibration_replica_time_increase_ratio",
			Help: "Replica-hours the floor settings chosen by the service's last calibration added over the reactive HPA's on its replayed window, as a share of those (the budget bounds it). Absent until a calibration has replayed history.",
		}, []string{"service"}),
		podStartup: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_calibration_pod_startup_seconds",
			Help: "Pod start-up (creation to ready) the service's last calibration replayed the HPA with, by where it came from: services-file (its podStartup), measured (the median over its newest pods) or default (two fifths of the lead time). Absent until a calibration has replayed history.",
		}, []string{"service", "source"}),
	}
	for _, op := range []string{lockOpTake, lockOpRenew, lockOpLost, lockOpRelease} {
		m.lockErrors.WithLabelValues(op)
	}
	for _, r := range []string{string(scaling.RunSucceeded), string(scaling.RunPartial), string(scaling.RunFailed), resultSkipped,
		string(scaling.RunAborted), string(scaling.RunAbandoned)} {
		m.runs.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.predicted, m.actual, m.errRatio, m.stale, m.runs, m.duration, m.lastSuccess, m.runRecordErrors, m.lockErrors, m.beyondMax, m.podStartup,
			m.calReduction, m.calIncrease)
	}
	return m
}

// PredictedAt reads p at t: the mean and upper load linearly interpolated between the
// surrounding points. ok is false when p is no longer valid at t or does not cover t. Up to
// one step before the first point (the time between fitting and the first forecast step)
// the first point is used; FittedAt itself is not a bound, so a replica whose clock is a
// little behind the one that fitted still reads the prediction.
func PredictedAt(p scaling.Prediction, t time.Time) (mean, upper float64, ok bool) {
	ms := t.UnixMilli()
	if len(p.Points) == 0 || ms > p.ValidUntil {
		return 0, 0, false
	}
	first, last := p.Points[0], p.Points[len(p.Points)-1]
	stepMs := p.StepSeconds * 1000
	switch {
	case ms < first.Timestamp-stepMs || ms > last.Timestamp:
		return 0, 0, false
	case ms <= first.Timestamp:
		return first.ExpectedLoad, first.UpperLoad, true
	}
	i := sort.Search(len(p.Points), func(i int) bool { return p.Points[i].Timestamp >= ms })
	b := p.Points[i]
	if b.Timestamp == ms {
		return b.ExpectedLoad, b.UpperLoad, true
	}
	a := p.Points[i-1]
	w := float64(ms-a.Timestamp) / float64(b.Timestamp-a.Timestamp)
	return a.ExpectedLoad + w*(b.ExpectedLoad-a.ExpectedLoad), a.UpperLoad + w*(b.UpperLoad-a.UpperLoad), true
}

// refreshPredicted sets or removes the predicted-load gauges of svcs at now and returns the
// mean forecast per service that has one.
func (f *Forecaster) refreshPredicted(ctx context.Context, svcs []scaling.ManagedService, now time.Time) map[string]float64 {
	out := make(map[string]float64, len(svcs))
	for _, svc := range svcs {
		log := f.log.With("service", svc.Name)
		ps, err := f.opts.Store.ListPredictions(ctx, svc.Name, 1)
		if err != nil {
			// Unknown is not "still the old value": drop the gauge rather than leave it.
			f.dropPredicted(svc.Name)
			log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "cannot read predictions; predicted load gauge removed", "err", err)
			continue
		}
		var (
			mean, upper float64
			ok          bool
		)
		if len(ps) > 0 {
			mean, upper, ok = PredictedAt(ps[0], now)
			// BuildPrediction stores finite points only; a record written otherwise is no value.
			ok = ok && finite(mean) && finite(upper)
		}
		if !ok {
			if f.dropPredicted(svc.Name) {
				log.Warn("no valid prediction covers now; predicted load gauge removed until the next successful forecast")
			}
			f.m.stale.WithLabelValues(svc.Name).Set(1)
			continue
		}
		q := ps[0].Quantile
		if q == 0 {
			q = scaling.DefaultQuantile
		}
		f.m.predicted.WithLabelValues(svc.Name, "0.5").Set(mean)
		f.m.predicted.WithLabelValues(svc.Name, strconv.FormatFloat(q, 'f', -1, 64)).Set(upper)
		f.m.stale.WithLabelValues(svc.Name).Set(0)
		out[svc.Name] = mean
	}
	return out
}

// dropPredicted removes a service's predicted gauges; true when there were some.
func (f *Forecaster) dropPredicted(service string) bool {
	return f.m.predicted.DeletePartialMatch(prometheus.Labels{"service": service}) > 0
}

// RunActualLoop refreshes, every ActualInterval until ctx ends, the actual load (an instant
// query per service), the predicted load read from the store, and their rolling error ratio.
// Without a LoadSource only the predicted load is kept.
func (f *Forecaster) RunActualLoop(ctx context.Context) error {
	for {
		f.Tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-f.opts.After(f.opts.ActualInterval):
		}
	}
}

// Tick does one round of RunActualLoop at Now().
func (f *Forecaster) Tick(ctx context.Context) {
	now := f.opts.Now()
	svcs := f.opts.Services()
	predicted := f.refreshPredicted(ctx, svcs, now)
	if f.opts.Load == nil {
		return
	}
	known := make(map[string]bool, len(svcs))
	for _, svc := range svcs {
		known[svc.Name] = true
		actual, err := f.currentLoad(ctx, svc, now)
		if err == nil && !finite(actual) {
			// A query can answer NaN (0/0 in a rate ratio) or ±Inf: no NaN leaves as a metric
			// (issue 9), and an unknown load is not a sample of the error ratio.
			err = fmt.Errorf("current load of %s is %v", svc.Name, actual)
		}
		if err != nil {
			f.m.actual.DeleteLabelValues(svc.Name)
			f.log.Warn("cannot read actual load; actual load gauge removed", "service", svc.Name, "err", err)
		} else {
			f.m.actual.WithLabelValues(svc.Name).Set(actual)
		}
		mean, hasPred := predicted[svc.Name]
		f.updateError(svc.Name, now, mean, actual, hasPred && err == nil)
	}
	// Services removed from the file lose their series.
	f.mu.Lock()
	for name := range f.errWins {
		if !known[name] {
			delete(f.errWins, name)
			f.m.errRatio.DeleteLabelValues(name)
			f.m.actual.DeleteLabelValues(name)
			f.m.stale.DeleteLabelValues(name)
			f.m.forgetCalibration(name)
			f.m.predicted.DeletePartialMatch(prometheus.Labels{"service": name})
		}
	}
	f.mu.Unlock()
}

func (f *Forecaster) currentLoad(ctx context.Context, svc scaling.ManagedService, now time.Time) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.ActualInterval)
	defer cancel()
	return f.opts.Load.Current(ctx, svc, now)
}

// updateError adds one |predicted-actual|/actual sample (when both are known), forgets
// samples older than the window, and sets or removes the gauge.
func (f *Forecaster) updateError(service string, now time.Time, predicted, actual float64, add bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	win := f.errWins[service]
	if add && finite(predicted) && finite(actual) {
		// A huge forecast over a zero load overflows the ratio: such a sample is left out, or
		// the gauge would stay +Inf for the whole window.
		if r := math.Abs(predicted-actual) / math.Max(math.Abs(actual), errorEps); finite(r) {
			win = append(win, errSample{at: now, ratio: r})
		}
	}
	cut := now.Add(-f.opts.ErrorWindow)
	i := 0
	for i < len(win) && !win[i].at.After(cut) {
		i++
	}
	win = win[i:]
	f.errWins[service] = win
	if len(win) == 0 {
		f.m.errRatio.DeleteLabelValues(service)
		return
	}
	avg := 0.0
	for _, s := range win {
		avg += s.ratio / float64(len(win)) // divided first: a sum of huge ratios overflows
	}
	f.m.errRatio.WithLabelValues(service).Set(avg)
}

// setCalibration publishes what a service's calibration found on its replayed window.
func (m *metrics) setCalibration(service string, r hpasim.CalibrationResult) {
	m.beyondMax.WithLabelValues(service).Set(r.Reactive.BeyondMaxShare())
	m.calReduction.WithLabelValues(service).Set(r.UnderProvisionedReduction)
	m.calIncrease.WithLabelValues(service).Set(r.ReplicaHoursIncrease)
	m.podStartup.DeletePartialMatch(prometheus.Labels{"service": service}) // its source may have changed
	m.podStartup.WithLabelValues(service, r.PodStartupSource).Set(float64(r.PodStartupSeconds))
}

// forgetCalibration removes a service's calibration series: no replay (or no service), so
// nothing to say rather than the last run's.
func (m *metrics) forgetCalibration(service string) {
	m.beyondMax.DeleteLabelValues(service)
	m.calReduction.DeleteLabelValues(service)
	m.calIncrease.DeleteLabelValues(service)
	m.podStartup.DeletePartialMatch(prometheus.Labels{"service": service})
}
