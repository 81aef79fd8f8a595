package promtest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sample is one value of a series at a time.
type Sample struct {
	T time.Time
	V float64
}

// Writer writes OpenMetrics text as promtool's backfill reads it: every sample carries a
// timestamp in seconds (milliseconds would be read silently as dates far in the future) and
// the text ends with "# EOF" (written by Close). Series of one metric name must be written
// one after another; a metric family split by another one is refused by the parser.
// A Writer is not safe for concurrent use.
type Writer struct {
	w    *bufio.Writer
	last string
	seen map[string]bool
	err  error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 1<<16), seen: map[string]bool{}}
}

// Gauge writes one gauge series with values at start, start+step, ...; NaN values are not
// written, so they stay gaps in Prometheus.
func (w *Writer) Gauge(name string, labels map[string]string, start time.Time, step time.Duration, values []float64) {
	if !w.family(name, "gauge") {
		return
	}
	ls := formatLabels(labels)
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		w.sample(name, ls, start.Add(time.Duration(i)*step), v)
	}
}

// Samples writes one gauge series from samples in increasing time order; NaN values are skipped.
func (w *Writer) Samples(name string, labels map[string]string, samples []Sample) {
	if !w.family(name, "gauge") {
		return
	}
	ls := formatLabels(labels)
	for _, s := range samples {
		if math.IsNaN(s.V) {
			continue
		}
		w.sample(name, ls, s.T, s.V)
	}
}

// Close writes "# EOF" and flushes. It returns the first error of any write.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if _, err := io.WriteString(w.w, "# EOF\n"); err != nil {
		return fmt.Errorf("write openmetrics: %w", err)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("write openmetrics: %w", err)
	}
	return nil
}

func (w *Writer) family(name, typ string) bool {
	if w.err != nil {
		return false
	}
	if name == w.last {
		return true
	}
	if w.seen[name] {
		w.err = fmt.Errorf("write openmetrics: metric family %q is split by another family; write its series together", name)
		return false
	}
	w.seen[name] = true
	w.last = name
	_, w.err = fmt.Fprintf(w.w, "# TYPE %s %s\n", name, typ)
	return w.err == nil
}

func (w *Writer) sample(name, labels string, t time.Time, v float64) {
	if w.err != nil {
		return
	}
	// Seconds with millisecond precision: Prometheus stores milliseconds.
	ts := strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
	_, w.err = fmt.Fprintf(w.w, "%s%s %s %s\n", name, labels, strconv.FormatFloat(v, 'g', -1, 64), ts)
}

// labelEscaper escapes a label value as OpenMetrics wants it (only \\, \" and \n).
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func formatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteByte('"')
		b.WriteString(labelEscaper.Replace(labels[n]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// WriteGauge writes a whole OpenMetrics document holding one gauge series (see Writer.Gauge).
func WriteGauge(w io.Writer, name string, labels map[string]string, start time.Time, step time.Duration, values []float64) error {
	ow := NewWriter(w)
	ow.Gauge(name, labels, start, step, values)
	return ow.Close()
}
