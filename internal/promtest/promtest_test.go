package promtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/promtest"
)

func TestWriter(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		write   func(w *promtest.Writer)
		want    string
		wantErr string
	}{
		{
			name: "gauge in seconds with gaps skipped",
			write: func(w *promtest.Writer) {
				w.Gauge("load", map[string]string{"service": "a", "env": `x"y`}, start, time.Minute, []float64{1, math.NaN(), 2.5})
			},
			want: "# TYPE load gauge\n" +
				"load{env=\"x\\\"y\",service=\"a\"} 1 1700000000\n" +
				"load{env=\"x\\\"y\",service=\"a\"} 2.5 1700000120\n" +
				"# EOF\n",
		},
		{
			name: "two series of one family share one TYPE line",
			write: func(w *promtest.Writer) {
				w.Gauge("load", map[string]string{"service": "a"}, start, time.Minute, []float64{1})
				w.Samples("load", map[string]string{"service": "b"}, []promtest.Sample{{T: start.Add(1500 * time.Millisecond), V: 3}})
			},
			want: "# TYPE load gauge\nload{service=\"a\"} 1 1700000000\nload{service=\"b\"} 3 1700000001.5\n# EOF\n",
		},
		{
			name: "split family refused",
			write: func(w *promtest.Writer) {
				w.Gauge("a", nil, start, time.Minute, []float64{1})
				w.Gauge("b", nil, start, time.Minute, []float64{1})
				w.Gauge("a", nil, start, time.Minute, []float64{1})
			},
			wantErr: `metric family "a" is split`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := promtest.NewWriter(&buf)
			tt.write(w)
			err := w.Close()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, buf.String())
		})
	}
}

type queryResp struct {
	Status string `json:"status"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func get(t *testing.T, base, path string, v url.Values) queryResp {
	t.Helper()
	resp, err := http.Get(base + path + "?" + v.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var r queryResp
	require.NoError(t, json.Unmarshal(body, &r))
	return r
}

func TestStartBackfilled(t *testing.T) {
	// Two weeks at 1 minute, ending now: old enough that the default 15d retention would
	// matter if the harness forgot its own, and ending at "now" so instant queries see data.
	end := time.Now().Truncate(time.Minute)
	n := 14 * 24 * 60
	start := end.Add(-time.Duration(n-1) * time.Minute)
	values := make([]float64, n)
	for i := range values {
		values[i] = float64(i % 100)
	}
	values[10] = math.NaN() // a gap
	var om bytes.Buffer
	w := promtest.NewWriter(&om)
	w.Gauge("app_load", map[string]string{"service": "checkout"}, start, time.Minute, values)
	w.Gauge("other_load", map[string]string{"service": "search"}, start, time.Minute, values)
	require.NoError(t, w.Close())

	srv := promtest.Start(t, &om)

	r := get(t, srv.URL, "/api/v1/query", url.Values{"query": {`count_over_time(app_load[30d])`}, "time": {fmt.Sprint(end.Unix())}})
	require.Len(t, r.Data.Result, 1)
	require.Equal(t, fmt.Sprint(n-1), r.Data.Result[0].Value[1], "every sample but the gap is stored")

	r = get(t, srv.URL, "/api/v1/query_range", url.Values{
		"query": {`app_load`}, "start": {fmt.Sprint(start.Unix())}, "end": {fmt.Sprint(start.Add(12 * time.Minute).Unix())}, "step": {"60"},
	})
	require.Len(t, r.Data.Result, 1)
	require.Equal(t, "checkout", r.Data.Result[0].Metric["service"])
	require.Equal(t, "9", r.Data.Result[0].Values[9][1])
	// The gap is filled by the 5m lookback in range queries: PromQL, not the harness.
	require.Equal(t, "9", r.Data.Result[0].Values[10][1])

	srv.WaitForData(t, `other_load`, 10*time.Second) // instant query at now sees the last sample
}

func TestStartScraping(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "# TYPE kai_test_up gauge\nkai_test_up 1")
	}))
	t.Cleanup(target.Close)
	srv := promtest.StartScraping(t, nil, []string{strings.TrimPrefix(target.URL, "http://")})
	srv.WaitForData(t, `kai_test_up == 1`, 30*time.Second)
}

func TestStartEmptyHasNoData(t *testing.T) {
	srv := promtest.Start(t, nil)
	r := get(t, srv.URL, "/api/v1/query", url.Values{"query": {`up`}})
	require.Equal(t, "success", r.Status)
	require.Empty(t, r.Data.Result)
}
