package history

import (
	"context"
	"errors"
	"fmt"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

// RangeQuerier reads Prometheus range queries; *promquery.Client satisfies it.
type RangeQuerier interface {
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]promquery.Series, error)
}

var _ RangeQuerier = (*promquery.Client)(nil)

// kube-state-metrics HPA series the history source reads.
const (
	ksmCurrent      = "kube_horizontalpodautoscaler_status_current_replicas"
	ksmDesired      = "kube_horizontalpodautoscaler_status_desired_replicas"
	ksmMin          = "kube_horizontalpodautoscaler_spec_min_replicas"
	ksmMax          = "kube_horizontalpodautoscaler_spec_max_replicas"
	ksmSpecTarget   = "kube_horizontalpodautoscaler_spec_target_metric"
	ksmStatusTarget = "kube_horizontalpodautoscaler_status_target_metric"
	ksmCondition    = "kube_horizontalpodautoscaler_status_condition"
)

// DefaultStep is the range-query step of the history source: finer than the default
// kube-state-metrics scrape interval is pointless, coarser misses short divergences.
const DefaultStep = 30 * time.Second

// historyChunk bounds how much history is held in memory at once.
const historyChunk = 24 * time.Hour

// Options configure a Source. Querier and Sink are required.
type Options struct {
	Querier RangeQuerier
	Sink    hpaevents.Sink
	// Services maps HPAs to managed services and limits the queries to them; empty reads every HPA.
	Services []scaling.ManagedService
	// Step is DefaultStep when 0.
	Step time.Duration
	// Selector is extra label matchers for every series, e.g. `job="kube-state-metrics"`.
	Selector string
	// MetricTypes names the source type of metrics kube-state-metrics does not say (see KSMOptions).
	MetricTypes map[string]hpaevents.MetricType
	Logger      *slog.Logger
}

// Source reads HPA history from kube-state-metrics series in Prometheus, for times the
// scaler was not watching and for clusters where it has no watch access.
type Source struct {
	opts Options
	log  *slog.Logger
}

// New returns a Source.
func New(opts Options) (*Source, error) {
	if opts.Querier == nil || opts.Sink == nil {
		return nil, errors.New("hpa history source needs a querier and a sink")
	}
	if opts.Step <= 0 {
		opts.Step = DefaultStep
	}
	h := &Source{opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

// Step is the sample grid of the range queries (Watch continues its polls on it).
func (h *Source) Step() time.Duration { return h.opts.Step }

// Backfill reads [start, end] and passes the observations to the Sink in time order. Events
// already stored (by the live source or an earlier backfill) are not stored twice.
func (h *Source) Backfill(ctx context.Context, start, end time.Time) error {
	n := 0
	for from := start; !from.After(end); from = from.Add(historyChunk) {
		to := from.Add(historyChunk - h.opts.Step)
		if to.After(end) {
			to = end
		}
		s, err := h.read(ctx, from, to)
		if err != nil {
			return err
		}
		for _, o := range ObservationsFromKSM(s, KSMOptions{Services: h.opts.Services, MetricTypes: h.opts.MetricTypes}) {
			h.opts.Sink.Observe(ctx, o)
			n++
		}
	}
	h.log.Info("read hpa history", "start", start, "end", end, "observations", n)
	return nil
}

func (h *Source) read(ctx context.Context, start, end time.Time) (KSMSeries, error) {
	sel := h.selector()
	var s KSMSeries
	for _, q := range []struct {
		dst    *[]promquery.Series
		metric string
		by     string
	}{
		{&s.CurrentReplicas, ksmCurrent, ""},
		{&s.DesiredReplicas, ksmDesired, ""},
		{&s.MinReplicas, ksmMin, ""},
		{&s.MaxReplicas, ksmMax, ""},
		{&s.SpecTargetMetric, ksmSpecTarget, ", metric_name, metric_target_type"},
		{&s.StatusTargetMetric, ksmStatusTarget, ", metric_name, metric_target_type"},
		{&s.StatusCondition, ksmCondition, ", condition, status"},
	} {
		// max by drops instance labels, so several kube-state-metrics replicas count once.
		query := fmt.Sprintf("max by (namespace, horizontalpodautoscaler%s) (%s%s)", q.by, q.metric, sel)
		res, err := h.opts.Querier.QueryRange(ctx, query, start, end, h.opts.Step)
		if err != nil {
			return KSMSeries{}, fmt.Errorf("read hpa history: %w", err)
		}
		*q.dst = res
	}
	return s, nil
}

func (h *Source) selector() string {
	var ms []string
	if h.opts.Selector != "" {
		ms = append(ms, h.opts.Selector)
	}
	if len(h.opts.Services) > 0 {
		nss, hpas := map[string]bool{}, map[string]bool{}
		for _, s := range h.opts.Services {
			nss[s.Namespace], hpas[s.HPAName()] = true, true
		}
		ms = append(ms, oneOf("namespace", nss), oneOf("horizontalpodautoscaler", hpas))
	}
	if len(ms) == 0 {
		return ""
	}
	return "{" + strings.Join(ms, ",") + "}"
}

// oneOf is the PromQL matcher of label name equal to one of the values exactly: an anchored
// alternation of the values with their regexp metacharacters escaped, rendered by
// Prometheus' own matcher type so the escapes survive PromQL's string quoting (a dotted HPA
// name once became "web\.v2" unquoted, which Prometheus refused).
func oneOf(name string, set map[string]bool) string {
	vs := make([]string, 0, len(set))
	for v := range set {
		vs = append(vs, regexp.QuoteMeta(v))
	}
	sort.Strings(vs)
	m, err := labels.NewMatcher(labels.MatchRegexp, name, strings.Join(vs, "|"))
	if err != nil { // unreachable: quoted literals always compile
		panic(fmt.Sprintf("matcher for %s: %v", name, err))
	}
	return m.String()
}

// KSMSeries are the kube-state-metrics HPA series of one time range, each queried as
// max by (namespace, horizontalpodautoscaler, <its own labels>).
type KSMSeries struct {
	CurrentReplicas, DesiredReplicas, MinReplicas, MaxReplicas []promquery.Series
	// SpecTargetMetric and StatusTargetMetric carry metric_name and metric_target_type
	// (utilization, average or value).
	SpecTargetMetric, StatusTargetMetric []promquery.Series
	// StatusCondition carries condition and status (true, false, unknown); 1 marks the status.
	StatusCondition []promquery.Series
}

// KSMOptions tune ObservationsFromKSM.
type KSMOptions struct {
	// Services maps HPAs to managed services; empty means every HPA, named after itself.
	Services []scaling.ManagedService
	// MetricTypes gives the source type of a metric by name. kube-state-metrics does not
	// export it; without a hint, cpu, memory and ephemeral-storage are resource metrics,
	// other average targets pods metrics and other value targets external metrics.
	MetricTypes map[string]hpaevents.MetricType
}

// ObservationsFromKSM turns kube-state-metrics series into observations, one per HPA and
// sample time at which both current and desired replicas are known, sorted by time (then HPA).
// What the series lack is inferred, and only where the HPA controller leaves one explanation:
// ScalingLimited's reason from the bounds and the metrics (TooManyReplicas at maxReplicas,
// TooFewReplicas at minReplicas, else ScaleUpLimit or ScaleDownLimit by direction), and
// ScaleDownStabilized when a metric asks for fewer replicas and nothing else holds them,
// since scale-down stabilization (300 s by default) is then what keeps them.
func ObservationsFromKSM(s KSMSeries, opts KSMOptions) []hpaevents.Observation {
	services := hpaevents.NewServiceMap(opts.Services)
	type metricKey struct{ name, target string }
	type hpaData struct {
		obs     map[int64]*hpaevents.Observation
		has     map[int64]uint8 // bit 1: current, bit 2: desired
		targets map[metricKey]map[int64]float64
		current map[metricKey]map[int64]float64
		conds   map[int64]map[string]string
	}
	hpas := map[string]*hpaData{}
	get := func(ls map[string]string) *hpaData {
		ns, name := ls["namespace"], ls["horizontalpodautoscaler"]
		service, ok := services.Lookup(ns, name)
		if !ok || name == "" {
			return nil
		}
		k := ns + "/" + name
		d, ok := hpas[k]
		if !ok {
			d = &hpaData{obs: map[int64]*hpaevents.Observation{}, has: map[int64]uint8{},
				targets: map[metricKey]map[int64]float64{}, current: map[metricKey]map[int64]float64{},
				conds: map[int64]map[string]string{}}
			d.obs[-1] = &hpaevents.Observation{Namespace: ns, HPA: name, Service: service} // template
			hpas[k] = d
		}
		return d
	}
	at := func(d *hpaData, t time.Time) *hpaevents.Observation {
		ms := t.UnixMilli()
		o, ok := d.obs[ms]
		if !ok {
			tpl := d.obs[-1]
			o = &hpaevents.Observation{Time: t, Namespace: tpl.Namespace, HPA: tpl.HPA, Service: tpl.Service}
			d.obs[ms] = o
		}
		return o
	}
	replicas := func(series []promquery.Series, bit uint8, set func(o *hpaevents.Observation, v int32)) {
		for _, sr := range series {
			d := get(sr.Labels)
			if d == nil {
				continue
			}
			for _, smp := range sr.Samples {
				set(at(d, smp.T), int32(smp.V))
				d.has[smp.T.UnixMilli()] |= bit
			}
		}
	}
	replicas(s.CurrentReplicas, 1, func(o *hpaevents.Observation, v int32) { o.CurrentReplicas = v })
	replicas(s.DesiredReplicas, 2, func(o *hpaevents.Observation, v int32) { o.DesiredReplicas = v })
	replicas(s.MinReplicas, 0, func(o *hpaevents.Observation, v int32) { o.MinReplicas = v })
	replicas(s.MaxReplicas, 0, func(o *hpaevents.Observation, v int32) { o.MaxReplicas = v })
	metricValues := func(series []promquery.Series, dst func(d *hpaData) map[metricKey]map[int64]float64) {
		for _, sr := range series {
			d := get(sr.Labels)
			if d == nil {
				continue
			}
			k := metricKey{sr.Labels["metric_name"], sr.Labels["metric_target_type"]}
			m := dst(d)
			if m[k] == nil {
				m[k] = map[int64]float64{}
			}
			for _, smp := range sr.Samples {
				m[k][smp.T.UnixMilli()] = smp.V
			}
		}
	}
	metricValues(s.SpecTargetMetric, func(d *hpaData) map[metricKey]map[int64]float64 { return d.targets })
	metricValues(s.StatusTargetMetric, func(d *hpaData) map[metricKey]map[int64]float64 { return d.current })
	for _, sr := range s.StatusCondition {
		d := get(sr.Labels)
		if d == nil {
			continue
		}
		for _, smp := range sr.Samples {
			if smp.V != 1 {
				continue
			}
			ms := smp.T.UnixMilli()
			if d.conds[ms] == nil {
				d.conds[ms] = map[string]string{}
			}
			d.conds[ms][sr.Labels["condition"]] = statusWord(sr.Labels["status"])
		}
	}

	var out []hpaevents.Observation
	for _, d := range hpas {
		keys := make([]metricKey, 0, len(d.targets))
		for k := range d.targets {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].name != keys[j].name {
				return keys[i].name < keys[j].name
			}
			return keys[i].target < keys[j].target
		})
		for ms, o := range d.obs {
			if ms < 0 || d.has[ms] != 3 {
				continue
			}
			for _, k := range keys {
				target, ok := d.targets[k][ms]
				if !ok {
					continue
				}
				m := hpaevents.Metric{Type: ksmMetricType(k.name, k.target, opts.MetricTypes), Name: k.name, TargetKind: ksmTargetKind(k.target), Target: target}
				m.Current, m.HasCurrent = d.current[k][ms]
				o.Metrics = append(o.Metrics, m)
			}
			// kube-state-metrics exports no spec.behavior, so the HPA's own tolerances are
			// unknown: ScaleUpTolerance and ScaleDownTolerance stay 0, and InferReasons here,
			// the Deriver and Settle read these observations with the default tolerance.
			conds := d.conds[ms]
			for _, typ := range []string{hpaevents.CondAbleToScale, hpaevents.CondScalingActive, hpaevents.CondScalingLimited} {
				if st, ok := conds[typ]; ok {
					o.Conditions = append(o.Conditions, hpaevents.Condition{Type: typ, Status: st})
				}
			}
			hpaevents.InferReasons(o)
			out = append(out, *o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Key() < out[j].Key()
	})
	return out
}

func statusWord(s string) string {
	switch strings.ToLower(s) {
	case "true":
		return "True"
	case "false":
		return "False"
	}
	return "Unknown"
}

func ksmTargetKind(t string) hpaevents.TargetKind {
	switch t {
	case "utilization":
		return hpaevents.TargetUtilization
	case "average":
		return hpaevents.TargetAverageValue
	}
	return hpaevents.TargetValue
}

func ksmMetricType(name, target string, hints map[string]hpaevents.MetricType) hpaevents.MetricType {
	if t, ok := hints[name]; ok {
		return t
	}
	switch {
	case name == "cpu" || name == "memory" || name == "ephemeral-storage":
		return hpaevents.MetricResource
	case target == "value":
		return hpaevents.MetricExternal
	}
	return hpaevents.MetricPods
}

var _ hpaevents.HistorySource = (*Source)(nil)
