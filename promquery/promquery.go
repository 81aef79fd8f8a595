package promquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/kai-platform/kai-scaler/forecast"
)

// DefaultMaxPoints is Prometheus' limit of points per series in one range query. The server
// checks (end-start)/step > 11000, so 11,001 points would pass; we stay one below.
const DefaultMaxPoints = 11000

// ErrBadQuery is wrapped by errors for queries the server refuses as malformed (bad_data);
// they are not retried.
var ErrBadQuery = errors.New("bad query")

// ErrNotOneSeries is wrapped by SeriesCountError.
var ErrNotOneSeries = errors.New("query must return exactly one series")

// SeriesCountError is returned by QueryRangeOne and QueryOne when the query returned no
// series or several.
type SeriesCountError struct {
	Query  string
	Count  int
	Labels []map[string]string
}

func (e *SeriesCountError) Error() string {
	if e.Count == 0 {
		return fmt.Sprintf("query %q returned no series; it must return exactly one", e.Query)
	}
	const show = 5
	parts := make([]string, 0, show)
	for i, l := range e.Labels {
		if i == show {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, model.LabelSet(toLabelSet(l)).String())
	}
	return fmt.Sprintf("query %q returned %d series; it must return exactly one (aggregate it, e.g. sum(...)): %s",
		e.Query, e.Count, strings.Join(parts, ", "))
}

func (e *SeriesCountError) Unwrap() error { return ErrNotOneSeries }

// Sample is one point of a series.
type Sample struct {
	T time.Time
	V float64
}

// Series is one series of a query result. Samples are in increasing time order; a time the
// series had no value is absent, not zero.
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// Grid puts s on the regular grid start, start+step, ... up to end (inclusive): a grid point
// without a sample within half a step is NaN, a gap the forecast package understands.
func (s Series) Grid(start, end time.Time, step time.Duration) forecast.Series {
	out := forecast.Series{Start: start, Step: step}
	if step <= 0 || end.Before(start) {
		return out
	}
	n := int(end.Sub(start)/step) + 1
	out.Values = make([]float64, n)
	for i := range out.Values {
		out.Values[i] = math.NaN()
	}
	for _, smp := range s.Samples {
		d := smp.T.Sub(start)
		i := int(math.Round(float64(d) / float64(step)))
		if i < 0 || i >= n {
			continue
		}
		if off := d - time.Duration(i)*step; off >= step/2 || off <= -step/2 {
			continue
		}
		out.Values[i] = smp.V
	}
	return out
}

// Options configures a Client.
type Options struct {
	// URL is the base URL of the Prometheus HTTP API (without /api/v1).
	URL string
	// Headers are added to every request, e.g. a tenant id (X-Scope-OrgID) for Mimir or Thanos.
	Headers map[string]string
	// Timeout bounds each HTTP request (and is passed as the query timeout); default 30s.
	Timeout time.Duration
	// Retries is how many times a failed request is retried; default 3, negative means none.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next one up to 30s; default 500ms.
	Backoff time.Duration
	// MaxPointsPerRequest bounds the points per series of one range request; default 11000.
	MaxPointsPerRequest int
	// Logger gets retries and warnings; default slog.Default().
	Logger *slog.Logger
	// RoundTripper drives HTTP requests; default client_golang's api.DefaultRoundTripper.
	RoundTripper http.RoundTripper
}

// Client queries one Prometheus. Safe for concurrent use.
type Client struct {
	api       v1.API
	timeout   time.Duration
	retries   int
	backoff   time.Duration
	maxPoints int
	log       *slog.Logger
	sleep     func(ctx context.Context, d time.Duration) error
}

// New returns a Client for opts.URL.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus url must be an http(s) URL with a host, got %q", RedactURL(opts.URL))
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = 3
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.MaxPointsPerRequest <= 0 {
		opts.MaxPointsPerRequest = DefaultMaxPoints
	}
	if opts.MaxPointsPerRequest < 2 {
		return nil, fmt.Errorf("max points per request must be at least 2, got %d", opts.MaxPointsPerRequest)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	rt := opts.RoundTripper
	if rt == nil {
		rt = api.DefaultRoundTripper
	}
	if len(opts.Headers) > 0 {
		h := make(http.Header, len(opts.Headers))
		for k, v := range opts.Headers {
			h.Set(k, v)
		}
		rt = headerRoundTripper{next: rt, headers: h}
	}
	c, err := api.NewClient(api.Config{Address: opts.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return &Client{
		api:       v1.NewAPI(c),
		timeout:   opts.Timeout,
		retries:   opts.Retries,
		backoff:   opts.Backoff,
		maxPoints: opts.MaxPointsPerRequest,
		log:       opts.Logger.With("component", "promquery"),
		sleep:     sleepCtx,
	}, nil
}

type headerRoundTripper struct {
	next    http.RoundTripper
	headers http.Header
}

func (h headerRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range h.headers {
		r.Header[k] = vs
	}
	return h.next.RoundTrip(r)
}

// QueryRange evaluates query at start, start+step, ... up to end, in as many requests as the
// points limit needs, and returns every series of the result sorted by labels.
func (c *Client) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]Series, error) {
	if step <= 0 {
		return nil, fmt.Errorf("query range %q: step must be positive, got %s", query, step)
	}
	if end.Before(start) {
		return nil, fmt.Errorf("query range %q: end %s is before start %s", query, end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	// Prometheus evaluates at start + k*step (milliseconds); keep every request on that grid.
	start = start.Truncate(time.Millisecond)
	step = step.Truncate(time.Millisecond)
	var (
		order []string
		byKey = map[string]*Series{}
	)
	for _, r := range SplitRange(start, end, step, c.maxPoints) {
		var m model.Matrix
		err := c.do(ctx, "query range", query, func(ctx context.Context) (v1.Warnings, error) {
			val, warnings, _, err := c.api.QueryRange(ctx, query, r, v1.WithTimeout(c.timeout))
			if err != nil {
				return warnings, err
			}
			mm, ok := val.(model.Matrix)
			if !ok {
				return warnings, fmt.Errorf("unexpected result type %s", val.Type())
			}
			m = mm
			return warnings, nil
		})
		if err != nil {
			return nil, err
		}
		for _, ss := range m {
			key := ss.Metric.String()
			s, ok := byKey[key]
			if !ok {
				s = &Series{Labels: labelsOf(ss.Metric)}
				byKey[key] = s
				order = append(order, key)
			}
			for _, p := range ss.Values {
				t := p.Timestamp.Time().UTC()
				// Requests do not overlap, but a backend that widens ranges (or a retried
				// request) must not duplicate points at the seams.
				if n := len(s.Samples); n > 0 && !t.After(s.Samples[n-1].T) {
					continue
				}
				s.Samples = append(s.Samples, Sample{T: t, V: float64(p.Value)})
			}
		}
	}
	sort.Strings(order)
	out := make([]Series, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}

// QueryRangeOne is QueryRange for a query that must return exactly one series; otherwise
// it returns a *SeriesCountError naming how many series and their labels.
func (c *Client) QueryRangeOne(ctx context.Context, query string, start, end time.Time, step time.Duration) (Series, error) {
	ss, err := c.QueryRange(ctx, query, start, end, step)
	if err != nil {
		return Series{}, err
	}
	if len(ss) != 1 {
		return Series{}, countError(query, ss)
	}
	return ss[0], nil
}

// Query evaluates query at ts. Each series of the result holds one sample; a scalar result
// is one series without labels.
func (c *Client) Query(ctx context.Context, query string, ts time.Time) ([]Series, error) {
	var out []Series
	err := c.do(ctx, "query", query, func(ctx context.Context) (v1.Warnings, error) {
		val, warnings, _, err := c.api.Query(ctx, query, ts, v1.WithTimeout(c.timeout))
		if err != nil {
			return warnings, err
		}
		out = out[:0]
		switch v := val.(type) {
		case model.Vector:
			for _, s := range v {
				out = append(out, Series{Labels: labelsOf(s.Metric), Samples: []Sample{{T: s.Timestamp.Time().UTC(), V: float64(s.Value)}}})
			}
		case *model.Scalar:
			out = append(out, Series{Labels: map[string]string{}, Samples: []Sample{{T: v.Timestamp.Time().UTC(), V: float64(v.Value)}}})
		default:
			return warnings, fmt.Errorf("unexpected result type %s", val.Type())
		}
		return warnings, nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		return model.LabelSet(toLabelSet(out[i].Labels)).String() < model.LabelSet(toLabelSet(out[j].Labels)).String()
	})
	return out, nil
}

// QueryOne is Query for a query that must return exactly one series (the current load of a
// service); otherwise it returns a *SeriesCountError.
func (c *Client) QueryOne(ctx context.Context, query string, ts time.Time) (Sample, error) {
	ss, err := c.Query(ctx, query, ts)
	if err != nil {
		return Sample{}, err
	}
	if len(ss) != 1 {
		return Sample{}, countError(query, ss)
	}
	return ss[0].Samples[0], nil
}

func countError(query string, ss []Series) error {
	e := &SeriesCountError{Query: query, Count: len(ss)}
	for _, s := range ss {
		e.Labels = append(e.Labels, s.Labels)
	}
	return e
}

// do runs one request with a per-request timeout, retrying what a retry can fix.
func (c *Client) do(ctx context.Context, op, query string, call func(ctx context.Context) (v1.Warnings, error)) error {
	backoff := c.backoff
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeoutCause(ctx, c.timeout, fmt.Errorf("prometheus request took longer than %s", c.timeout))
		warnings, err := call(rctx)
		cancel()
		if len(warnings) > 0 {
			c.log.Warn("prometheus returned warnings; using the result anyway", "query", query, "warnings", strings.Join(warnings, "; "))
		}
		if err == nil {
			return nil
		}
		err = describe(err)
		if ctx.Err() != nil {
			return fmt.Errorf("%s %q: %w", op, query, context.Cause(ctx))
		}
		if !retryable(err) || attempt >= c.retries {
			if attempt > 0 {
				return fmt.Errorf("%s %q (after %d attempts): %w", op, query, attempt+1, err)
			}
			return fmt.Errorf("%s %q: %w", op, query, err)
		}
		c.log.Warn("prometheus request failed; retrying", "query", query, "attempt", attempt+1, "backoff", backoff, "err", err)
		if err := c.sleep(ctx, backoff); err != nil {
			return fmt.Errorf("%s %q: %w", op, query, err)
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// describe turns client errors into what we report: bad queries wrap ErrBadQuery, and
// transport errors lose the request URL (it can carry a tenant or a token).
func describe(err error) error {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		if apiErr.Type == v1.ErrBadData {
			return fmt.Errorf("%w: %s", ErrBadQuery, apiErr.Msg)
		}
		return err
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return &transportError{err: uerr.Err}
	}
	return err
}

type transportError struct{ err error }

func (e *transportError) Error() string { return "request to prometheus: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// retryable says whether a retry can fix err: server errors, timeouts, rate limits and
// connection failures can pass; a refused query (bad_data, execution errors) will not.
func retryable(err error) bool {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case v1.ErrServer, v1.ErrTimeout, v1.ErrCanceled:
			return true
		case v1.ErrClient:
			return strings.HasSuffix(apiErr.Msg, ": 429")
		}
		return false
	}
	if errors.Is(err, ErrBadQuery) {
		return false
	}
	var te *transportError
	return errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// SplitRange cuts start..end at step into ranges of at most maxPoints evaluation points each,
// on one grid (start + k*step) and without overlap.
func SplitRange(start, end time.Time, step time.Duration, maxPoints int) []v1.Range {
	if step <= 0 || end.Before(start) || maxPoints < 1 {
		return nil
	}
	span := time.Duration(maxPoints-1) * step
	var out []v1.Range
	for s := start; !s.After(end); s = s.Add(span + step) {
		e := s.Add(span)
		if e.After(end) {
			e = end
		}
		out = append(out, v1.Range{Start: s, End: e, Step: step})
	}
	return out
}

func labelsOf(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

func toLabelSet(m map[string]string) model.LabelSet {
	out := make(model.LabelSet, len(m))
	for k, v := range m {
		out[model.LabelName(k)] = model.LabelValue(v)
	}
	return out
}

// RedactURL drops user info and query parameters (where a token may sit) from a URL, for
// error text and reports.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
