package readmecheck

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const root = "../.."

const clientGolang = "github.com/prometheus/client_golang/prometheus"

// metric is one metric as the code registers it or the README lists it.
type metric struct {
	Type   string // counter, gauge, histogram, summary
	Labels string // comma-separated, in declaration order
}

// registeredMetrics finds every client_golang metric the module's non-test code declares: each
// prometheus.{Counter,Gauge,Histogram,Summary}Opts literal, with the labels of the New*Vec call
// it is passed to. A name it cannot read (not a string literal) fails the test, so a metric
// cannot slip past the README by being built at run time.
func registeredMetrics(t *testing.T) map[string]metric {
	t.Helper()
	found := map[string]metric{}
	fset := token.NewFileSet()
	err := walkGoFiles(false, false, func(path string) error {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		local := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == clientGolang {
				local = "prometheus"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		if local == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			lit, ok := call.Args[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			typ := optsType(lit, local)
			if typ == "" {
				return true
			}
			name, err := optsName(lit)
			if err != nil {
				t.Errorf("%s: %v", fset.Position(lit.Pos()), err)
				return true
			}
			var labels []string
			if len(call.Args) > 1 {
				if l, ok := call.Args[1].(*ast.CompositeLit); ok {
					for _, e := range l.Elts {
						if s, ok := e.(*ast.BasicLit); ok {
							v, _ := strconv.Unquote(s.Value)
							labels = append(labels, v)
						} else {
							t.Errorf("%s: a label name that is not a string literal", fset.Position(e.Pos()))
						}
					}
				} else {
					t.Errorf("%s: labels of %s that are not a []string literal", fset.Position(call.Args[1].Pos()), name)
				}
			}
			if prev, ok := found[name]; ok && prev.Type != typ {
				t.Errorf("%s: %s declared as %s and %s", fset.Position(lit.Pos()), name, prev.Type, typ)
			}
			found[name] = metric{Type: typ, Labels: strings.Join(labels, ", ")}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return found
}

// walkGoFiles calls visit with the path of every Go file under root: test files or the others
// (tests), in the main module only or in the modules nested in it too (nested), never under a
// hidden directory, testdata or vendor.
func walkGoFiles(tests, nested bool, visit func(path string) error) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root && !nested {
				return filepath.SkipDir // another module (the chart's tests)
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") != tests {
			return nil
		}
		return visit(path)
	})
}

// optsType is "counter" for prometheus.CounterOpts{...} and so on, else "".
func optsType(lit *ast.CompositeLit, local string) string {
	sel, ok := lit.Type.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if x, ok := sel.X.(*ast.Ident); !ok || x.Name != local {
		return ""
	}
	switch sel.Sel.Name {
	case "CounterOpts":
		return "counter"
	case "GaugeOpts":
		return "gauge"
	case "HistogramOpts":
		return "histogram"
	case "SummaryOpts":
		return "summary"
	}
	return ""
}

// optsName joins the literal's Namespace, Subsystem and Name as client_golang does.
func optsName(lit *ast.CompositeLit) (string, error) {
	parts := map[string]string{}
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			return "", fmt.Errorf("metric options without field names")
		}
		key := kv.Key.(*ast.Ident).Name
		if key != "Namespace" && key != "Subsystem" && key != "Name" {
			continue
		}
		s, ok := kv.Value.(*ast.BasicLit)
		if !ok || s.Kind != token.STRING {
			return "", fmt.Errorf("metric %s is not a string literal: the README check cannot read it", key)
		}
		parts[key], _ = strconv.Unquote(s.Value)
	}
	var name []string
	for _, k := range []string{"Namespace", "Subsystem", "Name"} {
		if parts[k] != "" {
			name = append(name, parts[k])
		}
	}
	if parts["Name"] == "" {
		return "", fmt.Errorf("metric options without a Name")
	}
	return strings.Join(name, "_"), nil
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	return string(b)
}

// tableAfter returns the cells of the Markdown table whose header line starts with marker:
// one slice per row, the header and the separator dropped.
func tableAfter(t *testing.T, doc, marker string) [][]string {
	t.Helper()
	i := strings.Index(doc, "\n"+marker)
	require.GreaterOrEqual(t, i, 0, "README has no line starting with %q", marker)
	var rows [][]string
	started := false
	for _, line := range strings.Split(doc[i+1:], "\n")[1:] {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if started {
				break
			}
			continue
		}
		started = true
		rows = append(rows, splitRow(line))
	}
	require.Greater(t, len(rows), 1, "table %q", marker)
	require.Regexp(t, `^-+$`, rows[0][0], "table %q: separator", marker)
	return rows[1:]
}

// splitRow splits "| a | b \\| c |" into its trimmed cells, on pipes not escaped by a backslash.
func splitRow(line string) []string {
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	// The text before the first pipe and after the last is not a cell.
	return cells[1:]
}

var backticked = regexp.MustCompile("^`([^`]+)`$")

// The README's metrics table lists exactly the metrics the code registers, with their type
// and labels; and every kai_ name the README mentions anywhere is one of them.
func TestREADMEListsEveryMetric(t *testing.T) {
	registered := registeredMetrics(t)
	require.NotEmpty(t, registered)
	require.Contains(t, registered, "kai_forecast_runs_total", "the scan finds the known metrics")
	doc := readme(t)

	listed := map[string]metric{}
	for _, row := range tableAfter(t, doc, "| metric | type | labels | meaning |") {
		require.Len(t, row, 4, "row %v", row)
		m := backticked.FindStringSubmatch(row[0])
		require.NotNil(t, m, "metric name in backticks: %q", row[0])
		require.NotContains(t, listed, m[1], "listed twice")
		require.NotEmpty(t, row[3], "%s has no meaning", m[1])
		listed[m[1]] = metric{Type: row[1], Labels: row[2]}
	}
	for name, want := range registered {
		got, ok := listed[name]
		if !ok {
			t.Errorf("README's metrics table lacks %s (%s; labels %q), registered by the code", name, want.Type, want.Labels)
			continue
		}
		require.Equal(t, want, got, "README's row for %s", name)
	}
	for name := range listed {
		if _, ok := registered[name]; !ok {
			t.Errorf("README's metrics table lists %s, which no code registers", name)
		}
	}

	// Names elsewhere in the README: a metric (or its histogram series), or a prefix
	// ("kai_shadow_*", "kai_(a|b)") of at least one.
	for _, m := range regexp.MustCompile(`kai_[a-z0-9_]*`).FindAllString(doc, -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
		if _, ok := registered[m]; ok {
			continue
		}
		if _, ok := registered[base]; ok && registered[base].Type == "histogram" {
			continue
		}
		if strings.HasSuffix(m, "_") && slices.ContainsFunc(slices.Collect(mapKeys(registered)), func(n string) bool { return strings.HasPrefix(n, m) }) {
			continue
		}
		t.Errorf("README mentions %s, which no code registers", m)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// The README's status codes per route are api/openapi.json's, route by route.
func TestREADMEStatusCodesMatchOpenAPI(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "api", "openapi.json"))
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	want := map[string][]string{}
	for path, item := range doc.Paths {
		for method, op := range item {
			var o struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if json.Unmarshal(op, &o) != nil || o.Responses == nil {
				continue // "parameters" and other path-level fields
			}
			var codes []string
			for c := range o.Responses {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			want[strings.ToUpper(method)+" "+path] = codes
		}
	}
	require.Greater(t, len(want), 20)

	got := map[string][]string{}
	for _, row := range tableAfter(t, readme(t), "| route | success | errors |") {
		require.Len(t, row, 3, "row %v", row)
		m := backticked.FindStringSubmatch(row[0])
		require.NotNil(t, m, "route in backticks: %q", row[0])
		require.NotContains(t, got, m[1], "listed twice")
		codes := append(strings.Fields(row[1]), strings.Fields(row[2])...)
		for _, c := range strings.Fields(row[1]) {
			require.Regexp(t, `^2\d\d$`, c, "%s: success codes are 2xx", m[1])
		}
		for _, c := range strings.Fields(row[2]) {
			require.Regexp(t, `^[45]\d\d$`, c, "%s: error codes are 4xx or 5xx", m[1])
		}
		slices.Sort(codes)
		got[m[1]] = codes
	}
	require.Equal(t, want, got, "README's status codes (left: api/openapi.json)")
}
