package dashboards

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// regenerate is the command that refreshes the committed copies.
const regenerate = `go run ./cmd/kai-scaler dashboards --out dashboards/json --prometheusrule deploy/base/prometheusrule.yaml`

// panelQuery is one Prometheus target of one panel.
type panelQuery struct {
	dashboard, panel, refID, expr string
	instant                       bool
}

// queriesOf lists every Prometheus target of d, in panels nested in collapsed rows too.
func queriesOf(t *testing.T, d dashboard.Dashboard) []panelQuery {
	t.Helper()
	var panels []dashboard.Panel
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			panels = append(panels, *p.Panel)
		case p.RowPanel != nil:
			panels = append(panels, p.RowPanel.Panels...)
		}
	}
	var out []panelQuery
	for _, p := range panels {
		require.NotNil(t, p.Title, "panel without title in %s", *d.Uid)
		require.NotEmpty(t, p.Targets, "panel %q of %s has no query", *p.Title, *d.Uid)
		for _, tg := range p.Targets {
			pq, ok := promQuery(tg)
			require.True(t, ok, "panel %q of %s: target is %T, not a Prometheus query", *p.Title, *d.Uid, tg)
			out = append(out, panelQuery{
				dashboard: *d.Uid, panel: *p.Title, refID: *pq.RefId, expr: pq.Expr,
				instant: pq.Instant != nil && *pq.Instant,
			})
		}
	}
	return out
}

// promQuery returns a target as a Prometheus query: built dashboards hold values, decoded
// ones pointers.
func promQuery(tg variants.Dataquery) (*prometheus.Dataquery, bool) {
	switch q := tg.(type) {
	case prometheus.Dataquery:
		return &q, true
	case *prometheus.Dataquery:
		return q, true
	}
	return nil, false
}

func mustPromQuery(t *testing.T, tg variants.Dataquery) *prometheus.Dataquery {
	t.Helper()
	q, ok := promQuery(tg)
	require.True(t, ok, "target is %T, not a Prometheus query", tg)
	return q
}

var (
	grafanaMacro = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)
	grafanaVar   = regexp.MustCompile(`\$\{?(\w+)\}?`)
)

// toPromQL replaces Grafana's macros with durations and template variables with value, which
// is what Grafana does before sending a query to Prometheus.
func toPromQL(expr, window, value string) string {
	expr = grafanaMacro.ReplaceAllString(expr, window)
	return grafanaVar.ReplaceAllString(expr, value)
}

func TestCatalog(t *testing.T) {
	got := Catalog()
	require.Equal(t, []Entry{
		{UID: "kai-predictive-scaling", Title: "KAI / Predictive scaling", Selects: map[string]string{"var-service": "service"}},
		{UID: "kai-hpa-metrics", Title: "KAI / HPA metrics", Selects: map[string]string{"var-namespace": "namespace", "var-hpa": "hpa"}},
		{UID: "kai-coordinator", Title: "KAI / Coordinator service"},
		{UID: "kai-supabase-pool", Title: "KAI / Supabase connection pool"},
	}, got, "UIDs are a contract with the admin panel and Grafana links: never change them")

	// The catalog is the source of the dashboards' own uid and title.
	ds, err := Dashboards()
	require.NoError(t, err)
	require.Len(t, ds, len(got))
	for i, d := range ds {
		require.Equal(t, got[i].UID, *d.Uid)
		require.Equal(t, got[i].Title, *d.Title)
		require.LessOrEqual(t, len(*d.Uid), 40, "Grafana uids are at most 40 characters")
	}

	got[0].UID = "mutated"
	require.Equal(t, UIDPredictiveScaling, Catalog()[0].UID, "Catalog returns a copy")
}

func TestEmbedURL(t *testing.T) {
	tests := []struct {
		name, grafana, uid, want string
	}{
		{"plain", "https://grafana.example.com", UIDPredictiveScaling,
			"https://grafana.example.com/d/kai-predictive-scaling?kiosk"},
		{"trailing slash", "https://grafana.example.com/", UIDHPAMetrics,
			"https://grafana.example.com/d/kai-hpa-metrics?kiosk"},
		{"sub-path", "http://10.0.0.5:3000/grafana", UIDHPAMetrics,
			"http://10.0.0.5:3000/grafana/d/kai-hpa-metrics?kiosk"},
		{"query and fragment of the base dropped", "https://grafana.example.com/?orgId=1#x", UIDCoordinator,
			"https://grafana.example.com/d/kai-coordinator?kiosk"},
		{"relative base", "/grafana", UIDCoordinator,
			"/grafana/d/kai-coordinator?kiosk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, EmbedURL(tt.grafana, tt.uid))
		})
	}
}

// A Selects parameter that names no variable of its dashboard is ignored by Grafana, which then
// shows every service while the admin page says it shows one.
func TestSelectsSetDefinedVariables(t *testing.T) {
	ds, err := Dashboards()
	require.NoError(t, err)
	fields := map[string]bool{SelectService: true, SelectNamespace: true, SelectHPA: true}
	for i, e := range Catalog() {
		vars := map[string]bool{}
		for _, v := range ds[i].Templating.List {
			vars[v.Name] = true
		}
		for param, field := range e.Selects {
			name, ok := strings.CutPrefix(param, "var-")
			require.True(t, ok, "%s: %s is not a variable parameter", e.UID, param)
			require.True(t, vars[name], "%s: %s sets no variable of the dashboard", e.UID, param)
			require.True(t, fields[field], "%s: %s is set from %q, no field of a managed service", e.UID, param, field)
		}
	}
}

// Every panel's PromQL must parse with Prometheus' own parser once Grafana's macros and
// variables are replaced as Grafana replaces them.
func TestPanelQueriesParse(t *testing.T) {
	ds, err := Dashboards()
	require.NoError(t, err)
	p := parser.NewParser(parser.Options{})
	n := 0
	for _, d := range ds {
		for _, q := range queriesOf(t, d) {
			t.Run(q.dashboard+"/"+q.panel+"/"+q.refID, func(t *testing.T) {
				promql := toPromQL(q.expr, "5m", "checkout")
				require.NotContains(t, promql, "$", "unreplaced Grafana variable")
				expr, err := p.ParseExpr(promql)
				require.NoError(t, err, "query %s", q.expr)
				require.Contains(t, []parser.ValueType{parser.ValueTypeVector, parser.ValueTypeScalar}, expr.Type())
				// The multi-value form: Grafana joins selected values with | for =~ matchers.
				_, err = p.ParseExpr(toPromQL(q.expr, "1h", "checkout|search"))
				require.NoError(t, err)
			})
			n++
		}
	}
	require.Greater(t, n, 40, "every dashboard has its panels")
}

// Every dashboard has a Prometheus datasource variable and a service variable (the HPA
// dashboard an hpa variable instead: HPA names, which need not be the services'), with a
// namespace variable where the metrics carry one, and every panel and query uses the
// datasource variable.
func TestVariablesAndDatasource(t *testing.T) {
	ds, err := Dashboards()
	require.NoError(t, err)
	labelValues := regexp.MustCompile(`^label_values\((.+), (\w+)\)$`)
	p := parser.NewParser(parser.Options{})
	for _, d := range ds {
		t.Run(*d.Uid, func(t *testing.T) {
			vars := map[string]dashboard.VariableModel{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v
			}
			dsv, ok := vars["datasource"]
			require.True(t, ok, "datasource variable")
			require.Equal(t, dashboard.VariableTypeDatasource, dsv.Type)
			require.Equal(t, "prometheus", *dsv.Query.String)
			if *d.Uid == UIDHPAMetrics {
				require.Contains(t, vars, "hpa")
				require.NotContains(t, vars, "service", "the HPA dashboard selects HPAs, not services")
			} else {
				require.Contains(t, vars, "service")
			}
			if *d.Uid != UIDPredictiveScaling { // kai metrics carry no namespace label
				require.Contains(t, vars, "namespace")
			}
			for name, v := range vars {
				if v.Type != dashboard.VariableTypeQuery {
					continue
				}
				require.Equal(t, "${datasource}", *v.Datasource.Uid, name)
				m := labelValues.FindStringSubmatch(*v.Query.String)
				require.NotNil(t, m, "variable %s: %s", name, *v.Query.String)
				_, err := p.ParseMetricSelector(toPromQL(m[1], "5m", "x"))
				require.NoError(t, err, "variable %s", name)
			}
			for _, pp := range d.Panels {
				if pp.Panel == nil {
					continue
				}
				require.Equal(t, "${datasource}", *pp.Panel.Datasource.Uid, *pp.Panel.Title)
				for _, tg := range pp.Panel.Targets {
					require.Equal(t, "${datasource}", *mustPromQuery(t, tg).Datasource.Uid, *pp.Panel.Title)
				}
			}
		})
	}
}

// Every variable a query names is one of its dashboard's variables: a renamed variable left
// behind in a query would be sent to Prometheus as "$name" and match nothing.
func TestQueriesUseDefinedVariables(t *testing.T) {
	ds, err := Dashboards()
	require.NoError(t, err)
	for _, d := range ds {
		vars := map[string]bool{}
		var exprs []string
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			if v.Query != nil && v.Query.String != nil && v.Name != "datasource" {
				exprs = append(exprs, *v.Query.String)
			}
		}
		for _, q := range queriesOf(t, d) {
			exprs = append(exprs, q.expr)
		}
		for _, expr := range exprs {
			for _, m := range grafanaVar.FindAllStringSubmatch(grafanaMacro.ReplaceAllString(expr, "5m"), -1) {
				require.True(t, vars[m[1]], "%s: query %s names $%s, which the dashboard does not define", *d.Uid, expr, m[1])
			}
		}
	}
}

// The HPA dashboard selects kube-state-metrics' series by HPA name, and kai-scaler's (labelled
// with the managed service's name) through kai_service_info, which maps a service to its HPA:
// the services file may name the HPA otherwise than the service. An integration test
// (TestHPAPanelsFollowServiceInfo) runs the queries; this one checks their shape.
func TestHPAPanelsSelectKaiMetricsByHPA(t *testing.T) {
	ds, err := Dashboards()
	require.NoError(t, err)
	var d *dashboard.Dashboard
	for i := range ds {
		if *ds[i].Uid == UIDHPAMetrics {
			d = &ds[i]
		}
	}
	require.NotNil(t, d)
	p := parser.NewParser(parser.Options{})
	hasMatcher := func(vs *parser.VectorSelector, name, value string) bool {
		for _, m := range vs.LabelMatchers {
			if m.Name == name && m.Type == labels.MatchRegexp && m.Value == value {
				return true
			}
		}
		return false
	}
	kaiQueries := 0
	for _, q := range queriesOf(t, *d) {
		// Distinct values for the two variables, to tell which matcher holds which.
		promql := grafanaMacro.ReplaceAllString(q.expr, "5m")
		promql = strings.NewReplacer("$namespace", "NS", "$hpa", "HPA").Replace(promql)
		expr, err := p.ParseExpr(promql)
		require.NoError(t, err, q.expr)
		kaiMetric, joined := false, false
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			switch n := n.(type) {
			case *parser.VectorSelector:
				switch {
				case strings.HasPrefix(n.Name, "kube_horizontalpodautoscaler_"):
					require.True(t, hasMatcher(n, "horizontalpodautoscaler", "HPA"), "%s: %s", q.panel, n)
					require.True(t, hasMatcher(n, "namespace", "NS"), "%s: %s", q.panel, n)
				case n.Name == "kai_service_info":
				case strings.HasPrefix(n.Name, "kai_"):
					kaiMetric = true
					require.Len(t, n.LabelMatchers, 1, "%s: %s is selected through kai_service_info only, not by its service label", q.panel, n)
				default:
					t.Errorf("%s: unexpected metric %s", q.panel, n.Name)
				}
			case *parser.BinaryExpr:
				info, ok := n.RHS.(*parser.VectorSelector)
				if ok && info.Name == "kai_service_info" {
					require.Equal(t, parser.ItemType(parser.LAND), n.Op, q.panel)
					require.True(t, n.VectorMatching.On, q.panel)
					require.Equal(t, []string{"service"}, n.VectorMatching.MatchingLabels, q.panel)
					require.True(t, hasMatcher(info, "horizontalpodautoscaler", "HPA"), "%s: %s", q.panel, info)
					require.True(t, hasMatcher(info, "namespace", "NS"), "%s: %s", q.panel, info)
					joined = true
				}
			}
			return nil
		})
		if kaiMetric {
			kaiQueries++
			require.True(t, joined, "%s: %s selects kai-scaler's series without kai_service_info", q.panel, q.expr)
		}
	}
	require.Equal(t, 4, kaiQueries, "events by type, events in range, effectiveness, floor")
}

// The committed JSON is what the code generates; regenerate it when this fails.
func TestCommittedJSONIsCurrent(t *testing.T) {
	files, err := Generate()
	require.NoError(t, err)
	committed, err := filepath.Glob(filepath.Join("json", "*.json"))
	require.NoError(t, err)
	names := make([]string, 0, len(committed))
	for _, c := range committed {
		names = append(names, filepath.Base(c))
	}
	want := make([]string, 0, len(files))
	for _, e := range Catalog() {
		want = append(want, e.File())
	}
	require.ElementsMatch(t, want, names, "dashboards/json holds exactly the catalog; run %s", regenerate)
	for name, b := range files {
		got, err := os.ReadFile(filepath.Join("json", name))
		require.NoError(t, err)
		require.Equal(t, string(b), string(got), "dashboards/json/%s is stale; run %s", name, regenerate)
	}
}

// The committed JSON imports into Grafana's current dashboard schema: it decodes strictly into
// the foundation SDK's types (panels and queries through the registered plugins), validates,
// and encodes back to the same JSON, so no field was unknown or dropped.
func TestJSONRoundTripsThroughSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for _, e := range Catalog() {
		t.Run(e.UID, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("json", e.File()))
			require.NoError(t, err)
			// The strict decoder reports unknown and missing required fields; its result is not
			// used because v0.0.22 drops panels whose strict decode returned an empty error list.
			var strict dashboard.Dashboard
			require.NoError(t, sdkErr(strict.UnmarshalJSONStrict(raw)))
			var d dashboard.Dashboard
			require.NoError(t, json.Unmarshal(raw, &d))
			require.NoError(t, sdkErr(d.Validate()))
			require.Equal(t, e.UID, *d.Uid)
			back, err := json.Marshal(d)
			require.NoError(t, err)
			require.JSONEq(t, string(raw), string(back))
			for _, q := range queriesOf(t, d) {
				require.NotEmpty(t, q.expr, "%s/%s", q.panel, q.refID)
			}
		})
	}
}

// sdkErr undoes a quirk of the SDK's generated code: success is returned as an empty
// cog.BuildErrors in an error interface, which is not a nil error.
func sdkErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

func TestPrometheusRuleIsCurrent(t *testing.T) {
	b, err := PrometheusRule()
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join("..", "deploy", "base", "prometheusrule.yaml"))
	require.NoError(t, err)
	require.Equal(t, string(b), string(got), "deploy/base/prometheusrule.yaml is stale; run %s", regenerate)
	require.True(t, strings.HasPrefix(string(b), prometheusRuleHeader))
}

// Every alert has the annotations the runbook and the pager need, and a runbook section.
func TestAlertsHaveRunbooks(t *testing.T) {
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(alertRules, &rf))
	runbook, err := os.ReadFile("RUNBOOK.md")
	require.NoError(t, err)
	alerts := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts++
			require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.NotEmpty(t, r.Annotations["description"], r.Alert)
			anchor := strings.ToLower(r.Alert)
			require.True(t, strings.HasSuffix(r.Annotations["runbook_url"], "/dashboards/RUNBOOK.md#"+anchor), r.Alert)
			require.Contains(t, string(runbook), "\n## "+r.Alert+"\n", "RUNBOOK.md section for %s", r.Alert)
		}
	}
	require.Equal(t, 6, alerts)
}

// alerts_test.yaml has, for every alert, a case where it fires and one where it does not.
func TestAlertTestsCoverFiringAndNotFiring(t *testing.T) {
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(alertRules, &rf))
	raw, err := os.ReadFile("alerts_test.yaml")
	require.NoError(t, err)
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tf))
	require.Equal(t, []string{"alerts.yaml"}, tf.RuleFiles)
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			require.True(t, firing[r.Alert], "no firing case for %s", r.Alert)
			require.True(t, quiet[r.Alert], "no non-firing case for %s", r.Alert)
		}
	}
}

// The schema check above must be able to fail: a misspelt panel field is refused.
func TestSchemaCheckRefusesUnknownFields(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw, err := os.ReadFile(filepath.Join("json", Catalog()[0].File()))
	require.NoError(t, err)
	bad := strings.Replace(string(raw), `"gridPos"`, `"gridPosition"`, 1)
	require.NotEqual(t, string(raw), bad)
	var d dashboard.Dashboard
	require.Error(t, sdkErr(d.UnmarshalJSONStrict([]byte(bad))))
}
