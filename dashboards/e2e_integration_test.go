package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/promtest"
)

// kaiMetrics is a registry holding the product's metric vectors, exactly as DESIGN.md names
// them, with the labels the dashboards and alerts select on.
type kaiMetrics struct {
	reg                                                  *prometheus.Registry
	predicted, actual, errRatio, minReplicas, eff        *prometheus.GaugeVec
	shadowSaved, shadowExtra, beyondMax, stale, setAside *prometheus.GaugeVec
	calReduction, calIncrease, podStartup                *prometheus.GaugeVec
	info                                                 *prometheus.GaugeVec
	lastSuccess                                          prometheus.Gauge
	runs, patches, events, httpReqs, storeErrs           *prometheus.CounterVec
	duration                                             prometheus.Histogram
	httpDuration                                         *prometheus.HistogramVec
}

func newKaiMetrics() *kaiMetrics {
	m := &kaiMetrics{
		reg:         prometheus.NewRegistry(),
		predicted:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_forecast_predicted_load", Help: "Load forecast earlier for now."}, []string{"service", "quantile"}),
		actual:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_forecast_actual_load", Help: "Load measured now."}, []string{"service"}),
		errRatio:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_forecast_error_ratio", Help: "Forecast error ratio."}, []string{"service"}),
		runs:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kai_forecast_runs_total", Help: "Forecast runs."}, []string{"result"}),
		duration:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kai_forecast_duration_seconds", Help: "Forecast run duration."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kai_forecast_last_success_timestamp_seconds", Help: "Last successful run."}),
		minReplicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_actuator_min_replicas", Help: "Floor set."}, []string{"service", "reason"}),
		patches:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kai_actuator_patches_total", Help: "HPA patches."}, []string{"result"}),
		events:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kai_hpa_events_total", Help: "HPA events."}, []string{"service", "event_type"}),
		eff:         prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_hpa_scaling_effectiveness", Help: "Scaling effectiveness."}, []string{"service"}),
		httpReqs:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kai_http_requests_total", Help: "HTTP requests."}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kai_http_request_duration_seconds", Help: "HTTP request duration."},
			[]string{"route", "method"}),
		storeErrs:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kai_store_errors_total", Help: "Store errors."}, []string{"operation"}),
		shadowSaved:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_shadow_underprovisioned_minutes_saved", Help: "Shadow: minutes saved."}, []string{"service"}),
		shadowExtra:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_shadow_extra_replica_hours", Help: "Shadow: extra replica-hours."}, []string{"service"}),
		beyondMax:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_calibration_beyond_max_share", Help: "Shortfall beyond max replicas."}, []string{"service"}),
		calReduction: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_calibration_underprovisioned_reduction_ratio", Help: "Calibration: shortfall removed."}, []string{"service"}),
		calIncrease:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_calibration_replica_time_increase_ratio", Help: "Calibration: replica-hours added."}, []string{"service"}),
		podStartup:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_calibration_pod_startup_seconds", Help: "Calibration: pod start-up replayed."}, []string{"service", "source"}),
		stale:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_forecast_prediction_stale", Help: "No valid prediction covers now."}, []string{"service"}),
		setAside:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_actuator_prediction_set_aside", Help: "Load collapsed: prediction set aside."}, []string{"service"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kai_service_info", Help: "Managed services and their HPAs."},
			[]string{"service", "namespace", "horizontalpodautoscaler"}),
	}
	m.reg.MustRegister(m.predicted, m.actual, m.errRatio, m.runs, m.duration, m.lastSuccess, m.minReplicas,
		m.patches, m.events, m.eff, m.httpReqs, m.httpDuration, m.storeErrs, m.shadowSaved, m.shadowExtra, m.beyondMax, m.calReduction, m.calIncrease, m.podStartup, m.stale, m.setAside, m.info)
	for svc, hpa := range fixtureHPAs {
		m.info.WithLabelValues(svc, "shop", hpa).Set(1)
	}
	return m
}

// fixtureHPAs maps the fixture's managed services to their HPAs (namespace shop): checkout's
// is named after it (the services file's default), search's is not (its hpa field), so the
// HPA dashboard must map one to the other through kai_service_info.
var fixtureHPAs = map[string]string{"checkout": "checkout", "search": "search-hpa"}

// tick moves the metrics as a working kai-scaler would between two scrapes, so counters have
// rates and histograms have quantiles.
func (m *kaiMetrics) tick(n int, now time.Time) {
	for i, svc := range []string{"checkout", "search"} {
		load := 100 + 50*math.Sin(float64(n)/10+float64(i))
		m.actual.WithLabelValues(svc).Set(load)
		m.predicted.WithLabelValues(svc, "0.5").Set(load * 1.05)
		m.predicted.WithLabelValues(svc, "0.9").Set(load * 1.3)
		m.errRatio.WithLabelValues(svc).Set(0.05)
		m.minReplicas.WithLabelValues(svc, "prediction").Set(4)
		m.eff.WithLabelValues(svc).Set(0.9)
		m.shadowSaved.WithLabelValues(svc).Set(float64(n))
		m.shadowExtra.WithLabelValues(svc).Set(float64(n) / 60)
		m.beyondMax.WithLabelValues(svc).Set(0.1 * float64(i))
		m.calReduction.WithLabelValues(svc).Set(0.9 - 0.1*float64(i))
		m.calIncrease.WithLabelValues(svc).Set(0.06)
		m.podStartup.WithLabelValues(svc, "measured").Set(float64(40 + 10*i))
		m.stale.WithLabelValues(svc).Set(0)
		m.setAside.WithLabelValues(svc).Set(float64(n / 30 % 2 * i)) // search's load collapses now and then
		for _, et := range []string{"scale-up", "scale-down", "no-scale", "limited-scale"} {
			m.events.WithLabelValues(svc, et).Inc()
		}
	}
	m.runs.WithLabelValues("succeeded").Inc()
	m.runs.WithLabelValues("failed").Add(0)
	m.duration.Observe(1.5 + float64(n%5))
	m.lastSuccess.Set(float64(now.Unix()))
	for _, r := range []string{"success", "conflict", "error", "dry_run"} {
		m.patches.WithLabelValues(r).Inc()
	}
	m.httpReqs.WithLabelValues("/api/predictive-scaling/patterns", "GET", "200").Inc()
	m.httpDuration.WithLabelValues("/api/predictive-scaling/patterns", "GET").Observe(0.02)
	m.storeErrs.WithLabelValues("get").Inc()
}

// history writes two hours of kube-state-metrics, coordinator and pool series at a 1-minute
// step, ending a minute before end.
func history(t *testing.T, end time.Time) *bytes.Buffer {
	t.Helper()
	const n = 120
	start := end.Add(-n * time.Minute)
	series := func(f func(i int) float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	constant := func(c float64) []float64 { return series(func(int) float64 { return c }) }
	counter := func(perMin float64) []float64 { return series(func(i int) float64 { return perMin * float64(i) }) }

	var buf bytes.Buffer
	w := promtest.NewWriter(&buf)
	hpas := []string{fixtureHPAs["checkout"], fixtureHPAs["search"]}
	gaugePerHPA := func(name string, extra map[string]string, v []float64) {
		for _, h := range hpas {
			l := map[string]string{"namespace": "shop", "horizontalpodautoscaler": h}
			for k, x := range extra {
				l[k] = x
			}
			w.Gauge(name, l, start, time.Minute, v)
		}
	}
	gaugePerHPA("kube_horizontalpodautoscaler_info", map[string]string{"scaletargetref_kind": "Deployment", "scaletargetref_name": "app"}, constant(1))
	gaugePerHPA("kube_horizontalpodautoscaler_spec_min_replicas", nil, constant(2))
	gaugePerHPA("kube_horizontalpodautoscaler_spec_max_replicas", nil, constant(10))
	gaugePerHPA("kube_horizontalpodautoscaler_status_current_replicas", nil, series(func(i int) float64 { return float64(2 + i%8) }))
	gaugePerHPA("kube_horizontalpodautoscaler_status_desired_replicas", nil, series(func(i int) float64 { return float64(2 + (i+1)%8) }))
	cpu := map[string]string{"metric_name": "cpu", "metric_target_type": "utilization"}
	gaugePerHPA("kube_horizontalpodautoscaler_spec_target_metric", cpu, constant(70))
	gaugePerHPA("kube_horizontalpodautoscaler_status_target_metric", cpu, series(func(i int) float64 { return 50 + float64(i%40) }))
	for _, st := range []string{"true", "false"} {
		v := 0.0
		if st == "true" {
			v = 1
		}
		gaugePerHPA("kube_horizontalpodautoscaler_status_condition", map[string]string{"condition": "ScalingLimited", "status": st}, constant(v))
	}

	coord := func(extra map[string]string) map[string]string {
		l := map[string]string{"namespace": "kai", "service": "coordinator"}
		for k, x := range extra {
			l[k] = x
		}
		return l
	}
	for _, q := range []string{"workflows", "notifications"} {
		w.Gauge("coordinator_queue_depth", coord(map[string]string{"queue": q}), start, time.Minute, series(func(i int) float64 { return float64(i % 30) }))
	}
	for _, q := range []string{"workflows", "notifications"} {
		w.Gauge("coordinator_tasks_processed_total", coord(map[string]string{"queue": q}), start, time.Minute, counter(60))
	}
	buckets := []float64{0.1, 0.5, 1, 5, math.Inf(1)}
	le := func(b float64) string {
		if math.IsInf(b, 1) {
			return "+Inf"
		}
		return strconv.FormatFloat(b, 'g', -1, 64)
	}
	for _, wf := range []string{"onboarding", "export"} {
		for j, b := range buckets {
			w.Gauge("coordinator_workflow_duration_seconds_bucket", coord(map[string]string{"workflow": wf, "le": le(b)}), start, time.Minute, counter(float64(10*(j+1))))
		}
	}
	for _, st := range []string{"completed", "failed"} {
		w.Gauge("coordinator_workflows_total", coord(map[string]string{"workflow": "onboarding", "status": st}), start, time.Minute, counter(5))
	}
	w.Gauge("coordinator_errors_total", coord(map[string]string{"type": "timeout"}), start, time.Minute, counter(1))

	pool := func(extra map[string]string) map[string]string {
		l := coord(map[string]string{"pool": "main"})
		for k, x := range extra {
			l[k] = x
		}
		return l
	}
	w.Gauge("supabase_pool_max_clients", pool(nil), start, time.Minute, constant(20))
	w.Gauge("supabase_pool_total_clients", pool(nil), start, time.Minute, constant(15))
	w.Gauge("supabase_pool_active_clients", pool(nil), start, time.Minute, series(func(i int) float64 { return float64(5 + i%10) }))
	w.Gauge("supabase_pool_idle_clients", pool(nil), start, time.Minute, series(func(i int) float64 { return float64(10 - i%10) }))
	w.Gauge("supabase_pool_waiting_clients", pool(nil), start, time.Minute, series(func(i int) float64 { return float64(i % 3) }))
	for j, b := range buckets {
		w.Gauge("supabase_pool_wait_duration_seconds_bucket", pool(map[string]string{"le": le(b)}), start, time.Minute, counter(float64(20*(j+1))))
	}
	w.Gauge("supabase_pool_errors_total", pool(map[string]string{"type": "acquire_timeout"}), start, time.Minute, counter(0.5))
	require.NoError(t, w.Close())
	return &buf
}

// End to end: a real Prometheus scrapes a server exposing the product's metric vectors and
// holds backfilled kube-state-metrics, coordinator and pool history; every panel query and
// every variable of every dashboard returns data from it.
func TestEveryPanelReturnsData(t *testing.T) {
	prom := startFixture(t)

	ds, err := Dashboards()
	require.NoError(t, err)
	labelValues := regexp.MustCompile(`^label_values\((.+), (\w+)\)$`)
	for _, d := range ds {
		for _, v := range d.Templating.List {
			if v.Query == nil || v.Query.String == nil || v.Name == "datasource" {
				continue
			}
			sel := labelValues.FindStringSubmatch(*v.Query.String)
			require.NotNil(t, sel, "%s variable %s", *d.Uid, v.Name)
			t.Run(*d.Uid+"/variable "+v.Name, func(t *testing.T) {
				prom.WaitForData(t, toPromQL(sel[1], "5m", ".*"), time.Minute)
			})
		}
		for _, q := range queriesOf(t, d) {
			t.Run(q.dashboard+"/"+q.panel+"/"+q.refID, func(t *testing.T) {
				// $__rate_interval is at least four scrape intervals in Grafana; 5m spans
				// several samples of both the 1-minute history and the 1-second scrapes.
				prom.WaitForData(t, toPromQL(q.expr, "5m", ".*"), time.Minute)
			})
		}
	}

	// The check can fail: a metric nobody exports returns nothing.
	n, err := queryCount(prom.URL, `kai_forecast_predicted_load{service="no-such-service"}`)
	require.NoError(t, err)
	require.Zero(t, n)
}

// startFixture starts a Prometheus holding the backfilled history and scraping a server that
// exposes the product's metric vectors, moving as a working kai-scaler's would.
func startFixture(t *testing.T) *promtest.Server {
	t.Helper()
	m := newKaiMetrics()
	var scrapes atomic.Int64
	metrics := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.tick(int(scrapes.Add(1)), time.Now())
		metrics.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	end := time.Now().Truncate(time.Minute).Add(-time.Minute)
	return promtest.StartScraping(t, history(t, end), []string{srv.URL + "/metrics"})
}

// The HPA dashboard with one HPA selected: kube-state-metrics' panels show that HPA, and
// kai-scaler's panels the managed service whose HPA it is, found through kai_service_info,
// also when the HPA is not named after the service (search's HPA is search-hpa). Selecting a
// service's name that is no HPA's shows none of kai-scaler's series.
func TestHPAPanelsFollowServiceInfo(t *testing.T) {
	prom := startFixture(t)
	ds, err := Dashboards()
	require.NoError(t, err)
	var qs []panelQuery
	for _, d := range ds {
		if *d.Uid == UIDHPAMetrics {
			qs = queriesOf(t, d)
		}
	}
	require.NotEmpty(t, qs)
	kai := regexp.MustCompile(`\bkai_`)
	kaiQueries := 0
	for _, q := range qs {
		if kai.MatchString(q.expr) {
			kaiQueries++
		}
	}
	require.Equal(t, 4, kaiQueries, "events by type, events in range, effectiveness, floor")

	promQL := func(expr, hpa string) string {
		expr = grafanaMacro.ReplaceAllString(expr, "5m")
		return strings.NewReplacer("$namespace", "shop", "$hpa", hpa).Replace(expr)
	}
	for svc, hpa := range fixtureHPAs {
		for _, q := range qs {
			t.Run(fmt.Sprintf("hpa %s/%s/%s", hpa, q.panel, q.refID), func(t *testing.T) {
				expr := promQL(q.expr, hpa)
				prom.WaitForData(t, expr, time.Minute)
				series, err := querySeries(prom.URL, expr)
				require.NoError(t, err)
				require.NotEmpty(t, series)
				for _, l := range series {
					if h, ok := l["horizontalpodautoscaler"]; ok {
						require.Equal(t, hpa, h, expr)
					}
					if s, ok := l["service"]; ok {
						require.Equal(t, svc, s, expr)
					}
				}
			})
		}
	}
	// search is a managed service, not an HPA: kai-scaler's panels select by HPA name only.
	for _, q := range qs {
		if !kai.MatchString(q.expr) {
			continue
		}
		t.Run("hpa search (no such HPA)/"+q.panel+"/"+q.refID, func(t *testing.T) {
			n, err := queryCount(prom.URL, promQL(q.expr, "search"))
			require.NoError(t, err)
			require.Zero(t, n, "selected by the service's name, not its HPA's")
		})
	}
}

// querySeries runs an instant query and returns the labels of each series it returned.
func querySeries(base, query string) ([]map[string]string, error) {
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {query}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: status %s", query, body.Status)
	}
	out := make([]map[string]string, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		out = append(out, r.Metric)
	}
	return out, nil
}

// queryCount runs an instant query and returns how many series it returned.
func queryCount(base, query string) (int, error) {
	series, err := querySeries(base, query)
	return len(series), err
}
