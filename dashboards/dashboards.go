package dashboards

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Stable dashboard UIDs: the admin panel, embed URLs and Grafana links address dashboards by
// them, so they never change once released.
const (
	UIDPredictiveScaling = "kai-predictive-scaling"
	UIDHPAMetrics        = "kai-hpa-metrics"
	UIDCoordinator       = "kai-coordinator"
	UIDSupabasePool      = "kai-supabase-pool"
)

// ErrorRatioThreshold is the forecast error ratio drawn as a threshold on the predictive
// dashboard; alerts.yaml's KaiForecastErrorHigh pages on the same figure.
const ErrorRatioThreshold = 0.3

// What a dashboard's Selects map a URL parameter to: the fields of a managed service as
// GET /api/services lists it.
const (
	SelectService   = "service"   // the service's name
	SelectNamespace = "namespace" // its namespace
	SelectHPA       = "hpa"       // its HPA's name (hpa.name), which need not be the service's
)

// Entry is one dashboard of the catalog served by GET /api/dashboards.
type Entry struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
	// Selects are the URL parameters (var-NAME, Grafana's way to set a dashboard variable)
	// that narrow the dashboard to one managed service, each mapped to the service's field
	// that sets it (SelectService, SelectNamespace, SelectHPA). Empty for dashboards of
	// other exporters, whose service labels are theirs, not kai-scaler's.
	Selects map[string]string `json:"selects,omitempty"`
}

// File is the name of the entry's generated JSON (in json/ and in its ConfigMap).
func (e Entry) File() string { return e.UID + ".json" }

// spec pairs a catalog entry with the code that builds its dashboard.
type spec struct {
	entry Entry
	build func(Entry) *dashboard.DashboardBuilder
}

// specs lists the dashboards in catalog order. A function, not a package variable, so nobody
// can mutate the catalog.
func specs() []spec {
	return []spec{
		{Entry{UIDPredictiveScaling, "KAI / Predictive scaling", map[string]string{"var-service": SelectService}}, predictiveScaling},
		// kube-state-metrics names HPAs, and kai_service_info joins them to kai-scaler's series.
		{Entry{UIDHPAMetrics, "KAI / HPA metrics", map[string]string{"var-namespace": SelectNamespace, "var-hpa": SelectHPA}}, hpaMetrics},
		{Entry{UIDCoordinator, "KAI / Coordinator service", nil}, coordinator},
		{Entry{UIDSupabasePool, "KAI / Supabase connection pool", nil}, supabasePool},
	}
}

// Catalog lists the dashboards (uid and title) in a stable order.
func Catalog() []Entry {
	ss := specs()
	out := make([]Entry, len(ss))
	for i, s := range ss {
		out[i] = s.entry
	}
	return out
}

// EmbedURL is the address of dashboard uid on the Grafana at grafanaURL in kiosk mode (no
// Grafana navigation, for an iframe in the admin panel), every variable at its default; the
// admin page appends an entry's Selects to narrow it to one service. grafanaURL may carry a
// path prefix (Grafana served under a sub-path).
func EmbedURL(grafanaURL, uid string) string {
	u, err := url.Parse(grafanaURL)
	if err != nil || u.Scheme == "" {
		// Not an absolute URL: keep whatever prefix was given and append the path as text.
		u = &url.URL{Path: grafanaURL}
	}
	u = u.JoinPath("d", uid)
	// A bare "kiosk" is how Grafana documents full kiosk mode; "kiosk=" (an empty value,
	// which url.Values would write) is not read as kiosk by every Grafana version.
	u.RawQuery = "kiosk"
	u.Fragment = ""
	return u.String()
}

// Dashboards builds every dashboard of the catalog, in catalog order.
func Dashboards() ([]dashboard.Dashboard, error) {
	ss := specs()
	out := make([]dashboard.Dashboard, 0, len(ss))
	for _, s := range ss {
		d, err := s.build(s.entry).Build()
		if err != nil {
			return nil, fmt.Errorf("build dashboard %s: %w", s.entry.UID, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Generate returns each dashboard's JSON keyed by file name (Entry.File): indented, with a
// final newline, deterministic so the committed copies can be compared byte for byte.
func Generate() (map[string][]byte, error) {
	ds, err := Dashboards()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(ds))
	for i, e := range Catalog() {
		b, err := json.MarshalIndent(ds[i], "", "  ")
		if err != nil {
			return nil, fmt.Errorf("marshal dashboard %s: %w", e.UID, err)
		}
		out[e.File()] = append(b, '\n')
	}
	return out, nil
}

// Write writes the generated JSON of every dashboard into dir (created if missing) and
// returns the paths written.
func Write(dir string) ([]string, error) {
	files, err := Generate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var written []string
	for _, e := range Catalog() {
		p := filepath.Join(dir, e.File())
		if err := os.WriteFile(p, files[e.File()], 0o644); err != nil {
			return written, fmt.Errorf("write dashboard %s: %w", e.UID, err)
		}
		written = append(written, p)
	}
	return written, nil
}

// ---- building blocks ----

// ds is the datasource every panel and variable uses: the dashboard's datasource variable,
// so one JSON serves any Prometheus-compatible datasource (Prometheus, Thanos, Mimir).
var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// query is one PromQL target of a panel.
type query struct {
	expr, legend string
	instant      bool
}

func q(expr, legend string) query { return query{expr: expr, legend: legend} }

// targets turns queries into Prometheus targets with refIds A, B, ...
func targets(qs []query, table bool) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], 0, len(qs))
	for i, qq := range qs {
		b := prometheus.NewDataqueryBuilder().
			RefId(string(rune('A' + i))).
			Datasource(ds).
			Expr(qq.expr).
			LegendFormat(qq.legend)
		switch {
		case table:
			b = b.Instant().Format(prometheus.PromQueryFormatTable)
		case qq.instant:
			b = b.Instant()
		default:
			b = b.Range()
		}
		out = append(out, b)
	}
	return out
}

func legend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		ShowLegend(true).
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementBottom).
		Calcs([]string{"lastNotNull", "max"})
}

func tooltip() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)
}

// timeSeries is a time series panel with the project's defaults.
func timeSeries(title, description, unit string, qs ...query) *timeseries.PanelBuilder {
	b := timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(ds).
		Unit(unit).
		Height(8).
		Span(12).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(false)}).
		Legend(legend()).
		Tooltip(tooltip())
	for _, t := range targets(qs, false) {
		b = b.WithTarget(t)
	}
	return b
}

// dashed draws the series whose display name matches re as a dashed line without fill (bounds
// and forecasts, as opposed to observed values).
func dashed(re string) (string, []dashboard.DynamicConfigValue) {
	return re, []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
		{Id: "custom.fillOpacity", Value: 0},
	}
}

// statPanel is a single-value panel of instant queries.
func statPanel(title, description, unit string, qs ...query) *stat.PanelBuilder {
	b := stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(ds).
		Unit(unit).
		Height(4).
		Span(6).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
	for _, t := range targets(qs, false) {
		b = b.WithTarget(t)
	}
	return b
}

// tablePanel is a table of instant queries, one row per series, labels as columns.
func tablePanel(title, description string, qs ...query) *table.PanelBuilder {
	b := table.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(ds).
		Height(8).
		Span(12).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		WithTransformation(dashboard.DataTransformerConfig{
			Id: "organize",
			Options: map[string]any{
				"excludeByName": map[string]any{"Time": true},
			},
		})
	for _, t := range targets(qs, true) {
		b = b.WithTarget(t)
	}
	return b
}

func thresholds(steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

func step(v *float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: v, Color: color}
}

// base is a dashboard with the settings every KAI dashboard shares: its uid, the datasource
// variable, and links to the other KAI dashboards.
func base(e Entry, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(e.Title).
		Uid(e.UID).
		Description(description).
		Tags([]string{"kai", "autoscaling"}).
		Editable().
		Refresh("1m").
		Time("now-24h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("KAI dashboards").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"kai"}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus"))
}

// labelVariable is a multi-select query variable over the values of a label, "All" by default.
func labelVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(ds).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		})
}

// ---- the dashboards ----

func predictiveScaling(e Entry) *dashboard.DashboardBuilder {
	const sel = `service=~"$service"`
	return base(e, "kai-scaler's forecasts against the load that came, the HPA floors it set and why, "+
		"what its floors would have saved and cost in dry run (shadow mode), and the health of its "+
		"forecaster, actuator and API. Metrics: kai_forecast_*, kai_actuator_*, kai_shadow_*, kai_calibration_*, "+
		"kai_http_*, kai_store_errors_total (exported by kai-scaler, job \"kai-scaler\").").
		WithVariable(labelVariable("service", "Service", `label_values(kai_forecast_prediction_stale, service)`)).
		WithRow(dashboard.NewRowBuilder("Forecast versus actual load")).
		WithPanel(timeSeries("Predicted versus actual load",
			"The load forecast earlier for each moment (median, and the upper quantile the floor is "+
				"provisioned for, dashed) against the load measured at that moment, on one time axis. "+
				"Load is in the unit of the service's load query.",
			"short",
			q(`max by (service) (kai_forecast_actual_load{`+sel+`})`, "{{service}} actual"),
			q(`max by (service) (kai_forecast_predicted_load{`+sel+`, quantile="0.5"})`, "{{service}} predicted median"),
			q(`max by (service, quantile) (kai_forecast_predicted_load{`+sel+`, quantile!="0.5"})`, "{{service}} predicted q{{quantile}}"),
		).Span(24).Height(10).Min(0).OverrideByRegexp(dashed(`.* predicted q.*`))).
		WithPanel(timeSeries("Forecast error ratio",
			fmt.Sprintf("|predicted − actual| / actual per service. The dashed line is the alert threshold "+
				"(%.0f%%, KaiForecastErrorHigh when held for an hour).", ErrorRatioThreshold*100),
			"percentunit",
			q(`max by (service) (kai_forecast_error_ratio{`+sel+`})`, "{{service}}"),
		).Min(0).
			Thresholds(thresholds(step(nil, "green"), step(cog.ToPtr(ErrorRatioThreshold), "red"))).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(tablePanel("Forecast error now",
			"Latest error ratio per service; sort by the column to find the worst forecast.",
			q(`max by (service) (kai_forecast_error_ratio{`+sel+`})`, ""),
		)).
		WithRow(dashboard.NewRowBuilder("Floors set by the actuator")).
		WithPanel(timeSeries("HPA floor (minReplicas) and reason",
			"minReplicas the actuator keeps on each service's HPA, by the reason that set it "+
				"(base, pattern, prediction, dependency:<source>).",
			"short",
			q(`max by (service, reason) (kai_actuator_min_replicas{`+sel+`})`, "{{service}} ({{reason}})"),
		).Min(0).Decimals(0)).
		WithPanel(tablePanel("Floors in force and why",
			"The floor per service now and the reason behind it.",
			q(`max by (service, reason) (kai_actuator_min_replicas{`+sel+`})`, ""),
		)).
		WithPanel(timeSeries("Predictions set aside (load collapsed)",
			"1 while a service's load has collapsed under its forecast (every need of the last 15 "+
				"minutes under a third of it: an outage upstream, traffic moved elsewhere) and the "+
				"prediction's floor is set aside; the floor comes back with the load.",
			"short",
			q(`max by (service) (kai_actuator_prediction_set_aside{`+sel+`})`, "{{service}}"),
		).Min(0).Max(1).Decimals(0)).
		WithPanel(timeSeries("HPA patches by result",
			"Writes of minReplicas to the cluster per second: success, conflict (retried), error, dry_run.",
			"ops",
			q(`sum by (result) (rate(kai_actuator_patches_total[$__rate_interval]))`, "{{result}}"),
		).Min(0)).
		WithPanel(timeSeries("Scaling effectiveness",
			"Share of scaling events after which the trigger metric came back within its threshold "+
				"without an opposite scaling soon after.",
			"percentunit",
			q(`max by (service) (kai_hpa_scaling_effectiveness{`+sel+`})`, "{{service}}"),
		).Min(0).Max(1)).
		WithPanel(timeSeries("Shortfall beyond max replicas",
			"Of the under-provisioned replica-minutes the reactive HPA had over each service's last "+
				"calibration window (a week, replayed at every forecast run), the share that was load above "+
				"what its maxReplicas carry. No floor serves that load; near 1, only a higher maxReplicas does.",
			"percentunit",
			q(`max by (service) (kai_calibration_beyond_max_share{`+sel+`})`, "{{service}}"),
		).Min(0).Max(1)).
		WithPanel(timeSeries("Calibration: shortfall removed and replica-hours added",
			"What the floor settings each service's last calibration chose did on its replayed week "+
				"against the reactive HPA: the share of the under-provisioned replica-minutes within max "+
				"replicas they removed (0 with floors off), and the replica-hours they added (the budget, "+
				"10 % by default, bounds it). Set at every forecast run.",
			"percentunit",
			q(`max by (service) (kai_calibration_underprovisioned_reduction_ratio{`+sel+`})`, "{{service}} shortfall removed"),
			q(`max by (service) (kai_calibration_replica_time_increase_ratio{`+sel+`})`, "{{service}} replica-hours added"),
		).Min(0)).
		WithPanel(timeSeries("Calibration: pod start-up replayed",
			"How long from creation to ready each service's last calibration replayed its new pods "+
				"with, and where that came from: the services file's podStartup, measured on the "+
				"service's pods (the median over its newest), or the default, two fifths of the lead "+
				"time, where neither is known (the calibration's reason says why it was not measured).",
			"s",
			q(`max by (service, source) (kai_calibration_pod_startup_seconds{`+sel+`})`, "{{service}} ({{source}})"),
		).Min(0)).
		WithRow(dashboard.NewRowBuilder("Shadow mode (DRY_RUN): what the floors would have done")).
		WithPanel(timeSeries("Under-provisioned replica-minutes saved, today",
			"In dry run, per service since 00:00 UTC: replica-minutes the HPA ran short of what it "+
				"asked for (desired − current), minus the same had the would-be floors been in force "+
				"(replicas = max(actual, floor)). Resets at midnight; GET /api/predictive-scaling/shadow/{service} "+
				"keeps each day.",
			"short",
			q(`max by (service) (kai_shadow_underprovisioned_minutes_saved{`+sel+`})`, "{{service}}"),
		).Min(0)).
		WithPanel(timeSeries("Extra replica-hours the floors would cost, today",
			"In dry run, per service since 00:00 UTC: Σ (max(actual, would-be floor) − actual) over time, "+
				"in replica-hours. Weigh it against the minutes saved before switching DRY_RUN off.",
			"short",
			q(`max by (service) (kai_shadow_extra_replica_hours{`+sel+`})`, "{{service}}"),
		).Min(0)).
		WithRow(dashboard.NewRowBuilder("Forecaster")).
		WithPanel(statPanel("Since last successful forecast",
			"Seconds since a forecast run last succeeded; KaiForecastStale fires past 3 hours.",
			"s",
			q(`time() - max(kai_forecast_last_success_timestamp_seconds)`, "age"),
		).Thresholds(thresholds(step(nil, "green"), step(cog.ToPtr(3600.0), "orange"), step(cog.ToPtr(3*3600.0), "red")))).
		WithPanel(statPanel("Forecast runs in range",
			"Forecast runs over the dashboard's time range, by result.",
			"short",
			q(`sum by (result) (increase(kai_forecast_runs_total[$__range]))`, "{{result}}"),
		)).
		WithPanel(timeSeries("Forecast runs by result",
			"Forecast runs per second by result.",
			"ops",
			q(`sum by (result) (rate(kai_forecast_runs_total[$__rate_interval]))`, "{{result}}"),
		).Min(0)).
		WithPanel(timeSeries("Forecast run duration",
			"Quantiles of the time one forecast run takes (fetching history, fitting, backtesting, storing).",
			"s",
			q(`histogram_quantile(0.5, sum by (le) (rate(kai_forecast_duration_seconds_bucket[$__rate_interval])))`, "p50"),
			q(`histogram_quantile(0.9, sum by (le) (rate(kai_forecast_duration_seconds_bucket[$__rate_interval])))`, "p90"),
			q(`histogram_quantile(0.99, sum by (le) (rate(kai_forecast_duration_seconds_bucket[$__rate_interval])))`, "p99"),
		).Min(0)).
		WithRow(dashboard.NewRowBuilder("API and store")).
		WithPanel(timeSeries("API requests by route and code",
			"Requests per second to kai-scaler's REST API.",
			"reqps",
			q(`sum by (route, code) (rate(kai_http_requests_total[$__rate_interval]))`, "{{route}} {{code}}"),
		).Min(0)).
		WithPanel(timeSeries("API latency p90 by route",
			"90th percentile of request duration per route.",
			"s",
			q(`histogram_quantile(0.9, sum by (route, le) (rate(kai_http_request_duration_seconds_bucket[$__rate_interval])))`, "{{route}}"),
		).Min(0)).
		WithPanel(timeSeries("Store errors by operation",
			"Errors per second from the pattern/prediction/event store (Redis or embedded).",
			"ops",
			q(`sum by (operation) (rate(kai_store_errors_total[$__rate_interval]))`, "{{operation}}"),
		).Min(0).Span(24))
}

// HPA metrics come from kube-state-metrics (v2): kube_horizontalpodautoscaler_* with the HPA's
// name in the horizontalpodautoscaler label, selected with $hpa. kai-scaler's metrics carry the
// managed service's name in service, and the services file may give a service an HPA of
// another name: they are selected through kai_service_info{service, namespace,
// horizontalpodautoscaler}, which maps each managed service to its HPA (managedSel).
func hpaMetrics(e Entry) *dashboard.DashboardBuilder {
	const ksm = `namespace=~"$namespace", horizontalpodautoscaler=~"$hpa"`
	// managedSel keeps the series of expr (labelled service) whose managed service's HPA is
	// selected. "and" rather than "* on (service) group_left": no many-to-one match to break
	// while two replicas briefly export different HPA names for a service (a services file
	// reload reaches each replica within 30 s).
	managedSel := func(expr string) string {
		return expr + ` and on (service) kai_service_info{` + ksm + `}`
	}
	return base(e, "HorizontalPodAutoscalers: current and desired replicas, min/max bounds, when scaling "+
		"was limited, the metrics that trigger scaling, and kai-scaler's scaling events by type. "+
		"Needs kube-state-metrics v2 (kube_horizontalpodautoscaler_info, _spec_min_replicas, "+
		"_spec_max_replicas, _status_current_replicas, _status_desired_replicas, _spec_target_metric, "+
		"_status_target_metric, _status_condition) and kai-scaler (kai_hpa_events_total, "+
		"kai_hpa_scaling_effectiveness, kai_actuator_min_replicas, kai_service_info). $hpa is the HPA "+
		"name; kai-scaler's panels show the managed services whose HPA is selected, mapped by "+
		"kai_service_info (the services file's hpa, by default the service's name).").
		WithVariable(labelVariable("namespace", "Namespace", `label_values(kube_horizontalpodautoscaler_info, namespace)`)).
		WithVariable(labelVariable("hpa", "HPA",
			`label_values(kube_horizontalpodautoscaler_info{namespace=~"$namespace"}, horizontalpodautoscaler)`)).
		WithRow(dashboard.NewRowBuilder("Replicas")).
		WithPanel(timeSeries("Current and desired replicas",
			"Replicas the HPA has now and the count its last decision asked for.",
			"short",
			q(`max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{`+ksm+`})`, "{{horizontalpodautoscaler}} current"),
			q(`max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_desired_replicas{`+ksm+`})`, "{{horizontalpodautoscaler}} desired"),
		).Min(0).Decimals(0)).
		WithPanel(timeSeries("Min and max bounds",
			"spec.minReplicas (raised ahead of peaks by kai-scaler) and spec.maxReplicas.",
			"short",
			q(`max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_min_replicas{`+ksm+`})`, "{{horizontalpodautoscaler}} min"),
			q(`max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{`+ksm+`})`, "{{horizontalpodautoscaler}} max"),
		).Min(0).Decimals(0).OverrideByRegexp(dashed(`.* max`))).
		WithPanel(tablePanel("HPA status now",
			"Current replicas against the bounds, per HPA; at max means the HPA cannot scale further up.",
			q(`max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{`+ksm+`})`+
				` / on (namespace, horizontalpodautoscaler) max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{`+ksm+`})`, ""),
		)).
		WithPanel(timeSeries("Scaling limited",
			"1 while the HPA's ScalingLimited condition is true: it wanted more or fewer replicas than "+
				"its bounds or behavior allowed (KaiHPAPinnedAtBounds).",
			"short",
			q(`max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_condition{`+ksm+`, condition="ScalingLimited", status="true"})`, "{{horizontalpodautoscaler}}"),
		).Min(0).Max(1)).
		WithRow(dashboard.NewRowBuilder("Triggers")).
		WithPanel(timeSeries("Trigger metrics: current / target",
			"For each metric the HPA scales on, its current value over its target. The highest ratio "+
				"drives the decision: above 1 scales up, below 1 scales down.",
			"percentunit",
			q(`max by (namespace, horizontalpodautoscaler, metric_name, metric_target_type) (kube_horizontalpodautoscaler_status_target_metric{`+ksm+`})`+
				` / on (namespace, horizontalpodautoscaler, metric_name, metric_target_type)`+
				` max by (namespace, horizontalpodautoscaler, metric_name, metric_target_type) (kube_horizontalpodautoscaler_spec_target_metric{`+ksm+`})`,
				"{{horizontalpodautoscaler}} {{metric_name}} ({{metric_target_type}})"),
		).Min(0)).
		WithPanel(timeSeries("Trigger metric values and targets",
			"Raw values of each scaling metric (solid) and its target (dashed).",
			"short",
			q(`max by (namespace, horizontalpodautoscaler, metric_name, metric_target_type) (kube_horizontalpodautoscaler_status_target_metric{`+ksm+`})`, "{{horizontalpodautoscaler}} {{metric_name}}"),
			q(`max by (namespace, horizontalpodautoscaler, metric_name, metric_target_type) (kube_horizontalpodautoscaler_spec_target_metric{`+ksm+`})`, "{{horizontalpodautoscaler}} {{metric_name}} target"),
		).Min(0).OverrideByRegexp(dashed(`.* target`))).
		WithRow(dashboard.NewRowBuilder("Scaling events")).
		WithPanel(timeSeries("Scaling events by type",
			"HPA decisions recorded by kai-scaler per interval: scale-up, scale-down, no-scale, limited-scale.",
			"short",
			q(`sum by (service, event_type) (`+managedSel(`increase(kai_hpa_events_total[$__rate_interval])`)+`)`, "{{service}} {{event_type}}"),
		).Min(0).DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(statPanel("Events in range by type",
			"Scaling events over the dashboard's time range.",
			"short",
			q(`sum by (event_type) (`+managedSel(`increase(kai_hpa_events_total[$__range])`)+`)`, "{{event_type}}"),
		).Span(12)).
		WithPanel(timeSeries("Scaling effectiveness",
			"Share of scaling events after which the trigger metric came back within its threshold "+
				"without an opposite scaling soon after (GET /api/hpa-events/:service/effectiveness).",
			"percentunit",
			q(`max by (service) (`+managedSel(`kai_hpa_scaling_effectiveness`)+`)`, "{{service}}"),
		).Min(0).Max(1)).
		WithPanel(timeSeries("Floor set by kai-scaler",
			"minReplicas kai-scaler keeps on the HPA, by reason.",
			"short",
			q(`max by (service, reason) (`+managedSel(`kai_actuator_min_replicas`)+`)`, "{{service}} ({{reason}})"),
		).Min(0).Decimals(0))
}

// coordinatorMetrics are the metric names the coordinator dashboard expects; README.md lists
// them with their types and labels.
func coordinator(e Entry) *dashboard.DashboardBuilder {
	const sel = `namespace=~"$namespace", service=~"$service"`
	return base(e, "The coordinator service: queue depths, workflow durations, processing rates and "+
		"errors. Expects the coordinator to export coordinator_queue_depth{queue} (gauge), "+
		"coordinator_workflow_duration_seconds{workflow} (histogram), "+
		"coordinator_workflows_total{workflow,status} (counter; status completed|failed), "+
		"coordinator_tasks_processed_total{queue} (counter) and coordinator_errors_total{type} "+
		"(counter), scraped with namespace and service target labels (a ServiceMonitor adds them).").
		WithVariable(labelVariable("namespace", "Namespace", `label_values(coordinator_queue_depth, namespace)`)).
		WithVariable(labelVariable("service", "Service", `label_values(coordinator_queue_depth{namespace=~"$namespace"}, service)`)).
		WithRow(dashboard.NewRowBuilder("Queues")).
		WithPanel(timeSeries("Queue depth",
			"Items waiting in each queue.",
			"short",
			q(`sum by (queue) (coordinator_queue_depth{`+sel+`})`, "{{queue}}"),
		).Min(0)).
		WithPanel(timeSeries("Processing rate by queue",
			"Tasks taken off each queue per second.",
			"ops",
			q(`sum by (queue) (rate(coordinator_tasks_processed_total{`+sel+`}[$__rate_interval]))`, "{{queue}}"),
		).Min(0)).
		WithRow(dashboard.NewRowBuilder("Workflows")).
		WithPanel(timeSeries("Workflow duration",
			"Quantiles of workflow duration, over all workflows.",
			"s",
			q(`histogram_quantile(0.5, sum by (le) (rate(coordinator_workflow_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "p50"),
			q(`histogram_quantile(0.9, sum by (le) (rate(coordinator_workflow_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "p90"),
			q(`histogram_quantile(0.99, sum by (le) (rate(coordinator_workflow_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "p99"),
		).Min(0)).
		WithPanel(timeSeries("Workflow duration p90 by workflow",
			"90th percentile per workflow.",
			"s",
			q(`histogram_quantile(0.9, sum by (workflow, le) (rate(coordinator_workflow_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "{{workflow}}"),
		).Min(0)).
		WithPanel(timeSeries("Workflows by status",
			"Workflows finished per second, completed and failed.",
			"ops",
			q(`sum by (status) (rate(coordinator_workflows_total{`+sel+`}[$__rate_interval]))`, "{{status}}"),
		).Min(0)).
		WithPanel(timeSeries("Workflow failure ratio",
			"Failed workflows over all finished workflows.",
			"percentunit",
			q(`sum(rate(coordinator_workflows_total{`+sel+`, status="failed"}[$__rate_interval])) / sum(rate(coordinator_workflows_total{`+sel+`}[$__rate_interval]))`, "failed"),
		).Min(0).Max(1)).
		WithRow(dashboard.NewRowBuilder("Errors")).
		WithPanel(timeSeries("Errors by type",
			"Errors per second by type.",
			"ops",
			q(`sum by (type) (rate(coordinator_errors_total{`+sel+`}[$__rate_interval]))`, "{{type}}"),
		).Min(0).Span(24))
}

// supabasePool expects the pool metrics listed in README.md.
func supabasePool(e Entry) *dashboard.DashboardBuilder {
	const sel = `namespace=~"$namespace", service=~"$service"`
	return base(e, "Each service's Supabase (Postgres) client connection pool: size, active/idle/waiting "+
		"clients, time spent waiting for a connection and errors. Expects the service (or its pool "+
		"exporter) to export, per pool: supabase_pool_max_clients (gauge, configured size), "+
		"supabase_pool_total_clients, supabase_pool_active_clients, supabase_pool_idle_clients, "+
		"supabase_pool_waiting_clients (gauges), supabase_pool_wait_duration_seconds (histogram) and "+
		"supabase_pool_errors_total{type} (counter), all labelled pool, scraped with namespace and "+
		"service target labels.").
		WithVariable(labelVariable("namespace", "Namespace", `label_values(supabase_pool_max_clients, namespace)`)).
		WithVariable(labelVariable("service", "Service", `label_values(supabase_pool_max_clients{namespace=~"$namespace"}, service)`)).
		WithRow(dashboard.NewRowBuilder("Pool")).
		WithPanel(statPanel("Pool utilisation",
			"Active clients over the configured pool size, worst pool.",
			"percentunit",
			q(`max(sum by (namespace, service, pool) (supabase_pool_active_clients{`+sel+`}) / sum by (namespace, service, pool) (supabase_pool_max_clients{`+sel+`}))`, "utilisation"),
		).Thresholds(thresholds(step(nil, "green"), step(cog.ToPtr(0.8), "orange"), step(cog.ToPtr(0.95), "red")))).
		WithPanel(statPanel("Waiting clients",
			"Clients waiting for a connection now, over all pools.",
			"short",
			q(`sum(supabase_pool_waiting_clients{`+sel+`})`, "waiting"),
		).Thresholds(thresholds(step(nil, "green"), step(cog.ToPtr(1.0), "orange"), step(cog.ToPtr(10.0), "red")))).
		WithPanel(timeSeries("Pool size",
			"Connections open (total) against the configured maximum (dashed).",
			"short",
			q(`sum by (service, pool) (supabase_pool_total_clients{`+sel+`})`, "{{service}}/{{pool}} open"),
			q(`sum by (service, pool) (supabase_pool_max_clients{`+sel+`})`, "{{service}}/{{pool}} max"),
		).Min(0).Span(12).OverrideByRegexp(dashed(`.* max`))).
		WithPanel(timeSeries("Clients by state",
			"Active (in use), idle (open, free) and waiting (queued for a connection) clients.",
			"short",
			q(`sum by (service, pool) (supabase_pool_active_clients{`+sel+`})`, "{{service}}/{{pool}} active"),
			q(`sum by (service, pool) (supabase_pool_idle_clients{`+sel+`})`, "{{service}}/{{pool}} idle"),
			q(`sum by (service, pool) (supabase_pool_waiting_clients{`+sel+`})`, "{{service}}/{{pool}} waiting"),
		).Min(0)).
		WithPanel(timeSeries("Wait time for a connection",
			"Quantiles of the time a client waited to get a connection.",
			"s",
			q(`histogram_quantile(0.5, sum by (le) (rate(supabase_pool_wait_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "p50"),
			q(`histogram_quantile(0.95, sum by (le) (rate(supabase_pool_wait_duration_seconds_bucket{`+sel+`}[$__rate_interval])))`, "p95"),
		).Min(0)).
		WithPanel(timeSeries("Pool errors by type",
			"Errors per second: connection failures, acquire timeouts, query errors.",
			"ops",
			q(`sum by (type) (rate(supabase_pool_errors_total{`+sel+`}[$__rate_interval]))`, "{{type}}"),
		).Min(0)).
		WithPanel(tablePanel("Pools now",
			"Active clients per pool now.",
			q(`sum by (namespace, service, pool) (supabase_pool_active_clients{`+sel+`})`, ""),
		).Span(24))
}
