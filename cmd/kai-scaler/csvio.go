package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kai-platform/kai-scaler/forecast"
)

// timeFormat is how a CSV file writes its timestamps, as its first one does. Output keeps
// Unix seconds or milliseconds and writes every other form as RFC 3339 in UTC.
type timeFormat int

const (
	timeRFC3339 timeFormat = iota
	timeUnix
	timeSpace     // "2006-01-02 15:04:05", read as UTC (the NAB traces)
	timeUnixMilli // Unix milliseconds, as a Grafana panel's CSV export writes its Time column
	timeSpaceOffset
	timeSpaceShortOffset
	timeSpaceUTC
	timeISO
	timeSpaceMinute
	timeISOMinute
	timeDate
	timeISOBasicOffset
	timeSpaceBasicOffset
	timeSlash
	timeSlashMinute
	timeSlashDate
)

// timeLayouts are the forms time.Parse reads (Unix has no layout), in the order
// detectTimeFormat tries them, each with how an error names it. The exports of real traces
// write these: pandas (a zone's offset, isoformat without one), psql's timestamptz (+00),
// BigQuery (" UTC"), Excel and dashboards (no seconds), daily data (a date), Python's
// strftime %z and Java's and many logs' offsets without a colon (+0000), and dates year first
// with slashes (2006/01/02: a spreadsheet in an East Asian locale). A form without a
// zone is read as UTC. A fraction after the seconds is read by a layout without one (as
// time.Parse reads it) and dropped. Only a time ending in Z reads in two of them, the same.
var timeLayouts = [...]struct{ layout, name string }{
	timeRFC3339:          {time.RFC3339, "RFC 3339 (2006-01-02T15:04:05Z)"},
	timeSpace:            {spaceLayout, `"2006-01-02 15:04:05"`},
	timeSpaceOffset:      {"2006-01-02 15:04:05Z07:00", `"2006-01-02 15:04:05+07:00"`},
	timeSpaceShortOffset: {"2006-01-02 15:04:05Z07", `"2006-01-02 15:04:05+07"`},
	timeSpaceUTC:         {"2006-01-02 15:04:05 UTC", `"2006-01-02 15:04:05 UTC"`},
	timeISO:              {"2006-01-02T15:04:05", `"2006-01-02T15:04:05"`},
	timeSpaceMinute:      {"2006-01-02 15:04", `"2006-01-02 15:04"`},
	timeISOMinute:        {"2006-01-02T15:04", `"2006-01-02T15:04"`},
	timeDate:             {"2006-01-02", `"2006-01-02"`},
	timeISOBasicOffset:   {"2006-01-02T15:04:05-0700", `"2006-01-02T15:04:05+0700"`},
	timeSpaceBasicOffset: {"2006-01-02 15:04:05-0700", `"2006-01-02 15:04:05+0700"`},
	timeSlash:            {"2006/01/02 15:04:05", `"2006/01/02 15:04:05"`},
	timeSlashMinute:      {"2006/01/02 15:04", `"2006/01/02 15:04"`},
	timeSlashDate:        {"2006/01/02", `"2006/01/02"`},
}

// wantTime names the timestamp forms a file's first row may have, for its error.
const wantTime = `want RFC 3339 (2006-01-02T15:04:05Z, 2006-01-02T15:04:05+07:00, or +0700), ` +
	`2006-01-02 15:04:05 with an offset (+07:00, +0700 or +07), " UTC" or no zone, ` +
	`2006-01-02T15:04:05, 2006-01-02 15:04, 2006-01-02T15:04 or 2006-01-02 (no zone is UTC; ` +
	`or with slashes, 2006/01/02), or Unix seconds or milliseconds`

// minUnixMilli is the least magnitude read as Unix milliseconds rather than seconds: as
// seconds it is the year 5138, as milliseconds 1973.
const minUnixMilli = 1e11

const spaceLayout = "2006-01-02 15:04:05"

// wantHeader names the headers scanSeriesCSV reads, for its errors.
const wantHeader = "series,timestamp,value or timestamp,value (or any two names, or no header), or Time and a column per series (a Grafana panel's CSV export, series joined by time), separated by commas, semicolons or tabs"

// maxSeriesPoints bounds one series' grid: a stray timestamp must not allocate gigabytes.
const maxSeriesPoints = 10_000_000

// maxStep is the longest step a series may have, in seconds: no load series steps by years.
const maxStep = 366 * 24 * 3600

// minUnix and maxUnix bound timestamps to the years 0001–9999, as RFC3339 does: within them
// every difference of two timestamps fits an int64 and a float64 rounds to an int64, so the
// grid arithmetic cannot overflow (a row at -9e18 made a negative grid length, a panic).
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// namedSeries is one input series on its regular grid.
type namedSeries struct {
	name   string
	series forecast.Series
	// err is why the series could not be read (a service's query of --services that returned
	// no series, several, or only gaps): the command names it as the series' error.
	err error
}

// rawSeries collects a series' rows as read.
type rawSeries struct {
	name  string
	line  int // first line, for messages
	times []int64
	vals  []float64
	// newestFirst: the rows run back in time (toGrid turns them round).
	newestFirst bool
	// repeating: the rows repeat an hour a local clock was set back over (inOrder), the last
	// of them at lastRepeat.
	repeating  bool
	lastRepeat int64
}

// inOrder reports where a row at t goes among rs's rows: at len(rs.times), after them; at an
// earlier index, over the row whose time it repeats (the later row wins; repeated: the last
// row's time); at -1, nowhere. ok is false for a row out of order. Rows run one way in time:
// oldest first, or newest first (a log or an API listing its latest rows first) when the
// second time is before the first; a time out of that order is refused, as a file mixing two
// units or two exports would be misread, but for a local clock set back an hour (the end of
// daylight saving, in a Grafana panel's export in the browser's time zone or a log counted in
// local time): its rows repeat the hour before, in order, and each goes over the row of its
// time (nowhere where that hour had none), so the series keeps the clock's hours, as the
// skipped hour of spring leaves a gap in it.
func (rs *rawSeries) inOrder(t int64) (at int, repeated, ok bool) {
	n := len(rs.times)
	if n == 0 {
		return 0, false, true
	}
	prev := rs.times[n-1]
	if rs.repeating {
		switch {
		case t <= rs.lastRepeat:
			return 0, false, false
		case t <= prev:
			rs.lastRepeat = t
			return rs.repeatedRow(t), false, true
		}
		rs.repeating = false // past the hour repeated
	}
	switch {
	case t == prev:
		return n - 1, true, true
	case n == 1 && t < prev:
		rs.newestFirst = true
	}
	if (t > prev) != rs.newestFirst {
		return n, false, true
	}
	if back := prev - t; !rs.newestFirst && n >= 2 && back < clockSetBack && back+(prev-rs.times[n-2]) >= clockSetBack {
		rs.repeating, rs.lastRepeat = true, t
		return rs.repeatedRow(t), false, true
	}
	return 0, false, false
}

// clockSetBack is how far, in seconds, a local clock goes back at the end of daylight saving:
// a row that far back (less its step) begins the hour's repeat (inOrder).
const clockSetBack = 3600

// repeatedRow is the index of the row at t, or -1 where there is none.
func (rs *rawSeries) repeatedRow(t int64) int {
	if i, found := slices.BinarySearch(rs.times, t); found {
		return i
	}
	return -1
}

// orderError says why a row at ts is out of rs's order (inOrder).
func (rs *rawSeries) orderError(ts []byte) string {
	if rs.newestFirst {
		return fmt.Sprintf("%s is not before the previous one (the rows began newest first, and must stay in time order)", ts)
	}
	return fmt.Sprintf("%s is not after the previous one (rows must be in time order)", ts)
}

// readSeriesCSV reads every series of r (see scanSeriesCSV) into memory.
func readSeriesCSV(r io.Reader, file string) ([]namedSeries, timeFormat, error) {
	var out []namedSeries
	format, err := scanSeriesCSV(r, file, func(s namedSeries, _ timeFormat) error {
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, format, nil
}

// scanSeriesCSV reads "series,timestamp,value" (or "timestamp,value", one series named after
// file, as are two columns of other names and a file with no header, or a time and a column
// per series: scanWideCSV), puts each series on the regular grid of its median step, snapping
// timestamps that are a few seconds off and leaving missing rows as gaps (NaN), and hands it
// to emit as soon as it is complete, so only one series' rows are held at a time: a series
// ends where the next one's rows begin, so each series' rows must be contiguous. Of rows at
// one repeated time the later is kept, as of rows that snap to one slot: real exports repeat
// a local clock's hour across a daylight-saving change (NAB's
// ec2_request_latency_system_failure has twelve rows at 2014-03-09 03:00:00, a local clock's
// per-minute rows go back from 01:59 to 01:00: inOrder) or a row exported twice, and refused,
// the whole file was. Rows may run newest first (inOrder), and a
// first column without a name (a row index) is read past. Other separators, UTF-16 and an
// Excel "sep=" line are read as normalizeCSV reads them. It returns the file's time format.
func scanSeriesCSV(r io.Reader, file string, emit func(namedSeries, timeFormat) error) (timeFormat, error) {
	r, skipped := normalizeCSV(r)
	first := 1 + skipped // the header's line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return 0, readError(file, err)
		}
		return 0, fmt.Errorf("%s: empty file, want a header %s", file, wantHeader)
	}
	header, err := parseHeader(sc.Text())
	if err != nil {
		return 0, fmt.Errorf("%s:%d: %w", file, first, err)
	}
	keys := make([]string, len(header))
	for i, h := range header {
		keys[i] = strings.ToLower(h)
	}
	// A first column without a name is a row index (pandas' DataFrame.to_csv writes one unless
	// told index=False): it is read past, and the rest of the header says the form.
	indexed := len(keys) >= 3 && keys[0] == ""
	if indexed {
		header, keys = header[1:], keys[1:]
	}
	var named bool
	var firstRow []byte // the first line, when it is a row and there is no header
	switch {
	case slices.Equal(keys, []string{"series", "timestamp", "value"}):
		named = true
	case slices.Equal(keys, []string{"timestamp", "value"}):
	case len(keys) >= 2 && (keys[0] == "time" || keys[0] == "timestamp"):
		return scanWideCSV(sc, file, first, header[1:], indexed, emit)
	case len(keys) == 2 && isRow(header):
		// Without the byte order mark an editor may put before the first row, as parseHeader
		// reads the line.
		firstRow = []byte(strings.TrimPrefix(sc.Text(), "\ufeff"))
	case len(keys) == 2:
		// Two columns of other names (ds,y as Prophet writes them, ts,load, …) are a time and
		// a value; the rows say whether they are.
	default:
		return 0, fmt.Errorf("%s:%d: header %q, want %s", file, first, sc.Text(), wantHeader)
	}
	plainName := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var times timeReader
	done := map[string]bool{} // series already emitted
	var cur *rawSeries
	// short is a series of one row, an error held back while the rest is read: interleaved
	// rows (a,b,a,b) make every series one row long, and the true message is that a series
	// continues after others' rows, found only further on. Nothing is emitted after it.
	var short error
	flush := func() error {
		if cur == nil {
			return nil
		}
		if short != nil || len(cur.times) < 2 {
			if short == nil {
				_, err := toGrid(cur)
				short = fmt.Errorf("%s:%d: series %q: %w", file, cur.line, cur.name, err)
			}
			done[cur.name] = true
			cur = nil
			return nil
		}
		s, err := toGrid(cur)
		if err != nil {
			return fmt.Errorf("%s:%d: series %q: %w", file, cur.line, cur.name, err)
		}
		done[cur.name] = true
		cur = nil
		return emit(s, times.format)
	}
	line := first
	lastLen := 0 // rows of the previous series: the next one's likely size
	// The rows are read as bytes and nothing is allocated per row but on a new series or an
	// error: parsing is most of what a forecast of many series costs.
	for firstRow != nil || sc.Scan() {
		var text []byte
		if firstRow != nil {
			text, firstRow = trimSpace(firstRow), nil // line is the first line's
		} else {
			line++
			text = trimSpace(sc.Bytes())
		}
		if len(text) == 0 {
			continue
		}
		var nameB []byte
		rest := text
		if indexed {
			var ok bool
			if _, rest, ok = cutName(text); !ok {
				return 0, fmt.Errorf("%s:%d: want a row index and the fields of the header, got %q", file, line, text)
			}
		}
		if named {
			var ok bool
			if nameB, rest, ok = cutName(rest); !ok {
				return 0, fmt.Errorf("%s:%d: want 3 fields series,timestamp,value, got %q", file, line, text)
			}
			if len(nameB) == 0 {
				return 0, fmt.Errorf("%s:%d: empty series name", file, line)
			}
		}
		i := bytes.IndexByte(rest, ',')
		// A third field can only be in the value, which then is no number: the rows are
		// searched for it only when a timestamp or value fails to parse.
		fieldsErr := func() error {
			return fmt.Errorf("%s:%d: want fields timestamp,value, got %q", file, line, text)
		}
		if i < 0 {
			return 0, fieldsErr()
		}
		// Fields in quotes (pandas' QUOTE_ALL, R's write.csv) hold no comma here: a timestamp
		// or a number (one written with a thousands separator is refused, saying so).
		rawValue := trimSpace(rest[i+1:])
		ts, vs := unquote(trimSpace(rest[:i])), unquote(rawValue)
		extra := func() bool { return bytes.IndexByte(vs, ',') >= 0 }
		// The common forms are read inline (rows are most of a large file's cost); read and
		// parseValue take the rest and say what is wrong.
		t, ok := times.fast(ts)
		if !ok {
			var err error
			if t, err = times.read(ts); err != nil {
				if extra() {
					return 0, fieldsErr()
				}
				return 0, fmt.Errorf("%s:%d: timestamp %q: %w", file, line, ts, err)
			}
		}
		v, ok := fastDecimal(vs)
		if !ok {
			var err error
			if v, err = parseValue(vs); err != nil {
				if extra() && len(vs) < len(rawValue) && bytes.IndexByte(vs, '"') < 0 {
					// One quoted field: a number written with a thousands separator, as a
					// spreadsheet formats it ("1,234"), read by no form here.
					return 0, fmt.Errorf("%s:%d: value %q is not a number: no thousands separator is read (export the numbers without one)", file, line, vs)
				}
				if extra() {
					return 0, fieldsErr()
				}
				return 0, fmt.Errorf("%s:%d: %w", file, line, err)
			}
		}
		if cur == nil || (named && string(nameB) != cur.name) {
			if err := flush(); err != nil {
				return 0, err
			}
			name := plainName
			if named {
				name = string(nameB)
			}
			if done[name] {
				return 0, fmt.Errorf("%s:%d: series %q continues after other series' rows (keep each series' rows together)", file, line, name)
			}
			cur = &rawSeries{name: name, line: line, times: make([]int64, 0, lastLen), vals: make([]float64, 0, lastLen)}
		}
		at, repeated, ok := cur.inOrder(t)
		switch {
		case !ok:
			return 0, fmt.Errorf("%s:%d: series %q: timestamp %s", file, line, cur.name, cur.orderError(ts))
		case repeated && subSecond(ts, times.format):
			return 0, fmt.Errorf("%s:%d: series %q: timestamp %s is in the same second as the previous one: sub-second timestamps are not supported (the grid is whole seconds)", file, line, cur.name, ts)
		case at < 0:
			continue
		case at < len(cur.vals):
			cur.vals[at] = v // a repeated time: the later row wins
			continue
		}
		cur.times = append(cur.times, t)
		cur.vals = append(cur.vals, v)
		lastLen = max(lastLen, len(cur.times))
	}
	if err := sc.Err(); err != nil {
		return 0, readError(file, err)
	}
	if cur == nil && len(done) == 0 {
		return 0, fmt.Errorf("%s: no data rows", file)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if short != nil {
		return 0, short
	}
	return times.format, nil
}

// isRow reports whether a first line's two fields are a timestamp and a number, so the file
// has no header: no column name reads as a timestamp.
func isRow(fields []string) bool {
	if !readsAsTime(fields[0]) {
		return false
	}
	_, err := parseValue([]byte(fields[1]))
	return err == nil
}

// readsAsTime reports whether s is a timestamp in one of the forms parseTime reads.
func readsAsTime(s string) bool {
	f, err := detectTimeFormat(s)
	if err != nil {
		return false
	}
	_, err = parseTime(s, f)
	return err == nil
}

// parseHeader reads a header line's fields, unquoted and trimmed: a Grafana export names its
// columns by their series' labels, "{job=""api"", instance=""a:80""}", commas, quotes and all.
func parseHeader(line string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(line, "\ufeff")))
	r.FieldsPerRecord, r.LazyQuotes = -1, true
	fields, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header %q: %w", line, err)
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields, nil
}

// scanWideCSV reads the rows after a header "Time,<series>,<series>…": one timestamp and one
// value per series a row (empty where a series has none: a gap), as a Grafana panel's CSV
// export writes them with its series joined by time, its Time column in Unix milliseconds (or
// any timestamp form scanSeriesCSV reads). Each column is a series named by its header field;
// a single one is named after the file, as in "timestamp,value". It emits the series in the
// columns' order once every row is read. indexed: each row starts with a row index, which
// is read past (scanSeriesCSV).
func scanWideCSV(sc *bufio.Scanner, file string, first int, columns []string, indexed bool, emit func(namedSeries, timeFormat) error) (timeFormat, error) {
	// An exporter that ends every line with a separator (Excel's CSV, NAB's
	// art_increase_spike_density: "timestamp,value,label,") writes a last column without a name,
	// empty or holding a note ("APB" on one row of that file) or a gap (NaN, NA): it is read
	// past. A number in it may be a series whose name was lost, and is refused.
	unnamed := 0
	for len(columns) > 1 && columns[len(columns)-1] == "" {
		columns, unnamed = columns[:len(columns)-1], unnamed+1
	}
	series := make([]rawSeries, len(columns))
	seen := map[string]int{}
	skip := 0 // fields before the time
	if indexed {
		skip = 1
	}
	for i, c := range columns {
		name := c
		switch {
		case len(columns) == 1:
			name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		case name == "":
			return 0, fmt.Errorf("%s:%d: column %d has no name", file, first, skip+i+2)
		}
		if j, dup := seen[name]; dup {
			return 0, fmt.Errorf("%s:%d: columns %d and %d are both named %q", file, first, skip+j+2, skip+i+2, name)
		}
		seen[name] = i
		series[i] = rawSeries{name: name, line: first + 1}
	}
	var times timeReader
	fields := make([][]byte, 0, 1+len(columns))
	line := first
	for sc.Scan() {
		line++
		text := trimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		fields = fields[:0]
		for f := range bytes.SplitSeq(text, []byte{','}) {
			fields = append(fields, unquote(trimSpace(f)))
		}
		want := skip + 1 + len(columns)
		if unnamed > 0 && len(fields) == want+unnamed {
			for k, f := range fields[want:] {
				if v, err := parseValue(f); err == nil && !math.IsNaN(v) {
					return 0, fmt.Errorf("%s:%d: column %d has no name in the header but a number here, %q: name the series it holds", file, line, want+k+1, f)
				}
			}
			fields = fields[:want]
		}
		if len(fields) != want {
			return 0, fmt.Errorf("%s:%d: want %d fields (the time and a value per series, as the header), got %d", file, line, want, len(fields))
		}
		fields = fields[skip:]
		t, err := times.read(fields[0])
		if err != nil {
			return 0, fmt.Errorf("%s:%d: time %q: %w", file, line, fields[0], err)
		}
		at, repeated, ok := series[0].inOrder(t)
		if repeated && subSecond(fields[0], times.format) {
			return 0, fmt.Errorf("%s:%d: time %s is in the same second as the previous one: sub-second timestamps are not supported (the grid is whole seconds)", file, line, fields[0])
		}
		if !ok {
			return 0, fmt.Errorf("%s:%d: time %s", file, line, series[0].orderError(fields[0]))
		}
		for i, f := range fields[1:] {
			v, err := parseValue(f)
			if err != nil {
				return 0, fmt.Errorf("%s:%d: series %q: %w", file, line, series[i].name, err)
			}
			switch {
			case at < 0:
				continue
			case at < len(series[i].vals):
				series[i].vals[at] = v // a repeated time: the later row wins
				continue
			}
			series[i].times = append(series[i].times, t)
			series[i].vals = append(series[i].vals, v)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, readError(file, err)
	}
	if len(series[0].times) == 0 {
		return 0, fmt.Errorf("%s: no data rows", file)
	}
	newestFirst := series[0].newestFirst // inOrder saw the rows' order on the first column
	for i := range series {
		series[i].newestFirst = newestFirst
		s, err := toGrid(&series[i])
		if err != nil {
			return 0, fmt.Errorf("%s: series %q: %w", file, series[i].name, err)
		}
		if err := emit(s, times.format); err != nil {
			return 0, err
		}
	}
	return times.format, nil
}

// cutName splits a row's first field, the series name, from the rest: a name in double quotes
// may hold commas, and doubled quotes within it stand for one (as writeForecastCSV writes a
// Grafana column's labels).
func cutName(text []byte) (name, rest []byte, ok bool) {
	if len(text) == 0 || text[0] != '"' {
		i := bytes.IndexByte(text, ',')
		if i < 0 {
			return nil, nil, false
		}
		return trimSpace(text[:i]), text[i+1:], true
	}
	for i := 1; i < len(text); i++ {
		if text[i] != '"' {
			continue
		}
		if i+1 < len(text) && text[i+1] == '"' {
			i++ // a doubled quote
			continue
		}
		if i+1 < len(text) && text[i+1] == ',' {
			return bytes.ReplaceAll(text[1:i], []byte(`""`), []byte(`"`)), text[i+2:], true
		}
		return nil, nil, false
	}
	return nil, nil, false
}

// unquote is b without one pair of enclosing double quotes.
func unquote(b []byte) []byte {
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' {
		return b[1 : n-1]
	}
	return b
}

// timeReader reads a file's timestamps as Unix seconds, in the form of its first one.
type timeReader struct {
	format timeFormat
	known  bool
	sep    byte // between date and time
	dates  dayCache
}

// fast reads ts as read does where the file's timestamps are in fastUTC's forms and ts is
// one of them (most rows); false otherwise, and read then reads it or says why not.
func (r *timeReader) fast(ts []byte) (int64, bool) {
	if r.known && (r.format == timeRFC3339 || r.format == timeSpace) {
		return r.dates.unix(ts, r.sep)
	}
	return 0, false
}

func (r *timeReader) read(ts []byte) (int64, error) {
	if !r.known {
		f, err := detectTimeFormat(string(ts))
		if err != nil {
			return 0, err
		}
		r.format, r.known, r.sep = f, true, 'T'
		if r.format == timeSpace {
			r.sep = ' '
		}
	}
	if t, ok := r.fast(ts); ok {
		return t, nil
	}
	return parseTime(string(ts), r.format)
}

// parseValue reads a value; empty, or a tool's word for a missing value (missingValue), is a
// gap (NaN).
func parseValue(vs []byte) (float64, error) {
	if len(vs) == 0 {
		return math.NaN(), nil
	}
	if v, ok := fastDecimal(vs); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(string(vs), 64)
	if err != nil {
		if missingValue(vs) {
			return math.NaN(), nil
		}
		return 0, fmt.Errorf("value %q is not a number", vs)
	}
	return v, nil
}

// missingValues are the words exporters write in a cell with no value, any case: R's
// write.csv and data frames (NA), spreadsheets (#N/A, N/A), exporters of JSON's null (null) and
// Python's str(None) (None). A trace from any of them would otherwise be refused at its first gap.
var missingValues = [...]string{"NA", "N/A", "#N/A", "null", "None"}

func missingValue(vs []byte) bool {
	for _, m := range missingValues {
		if bytes.EqualFold(vs, []byte(m)) {
			return true
		}
	}
	return false
}

// trimSpace is bytes.TrimSpace, without the call for a field that neither starts nor ends in
// a space (every field of a machine-written file): no byte above ' ' and below utf8.RuneSelf is one.
func trimSpace(b []byte) []byte {
	if n := len(b); n > 0 && b[0] > ' ' && b[n-1] > ' ' && b[0] < utf8.RuneSelf && b[n-1] < utf8.RuneSelf {
		return b
	}
	return bytes.TrimSpace(b)
}

// detectTimeFormat is the form of a file's first timestamp: Unix when it is a number, else
// the first of timeLayouts that reads it. Its error is said of the first row only; later rows
// are held to its form (parseTime).
func detectTimeFormat(ts string) (timeFormat, error) {
	// NaN and Inf are numbers to ParseFloat, not times.
	if v, err := strconv.ParseFloat(ts, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		if math.Abs(v) >= minUnixMilli && math.Abs(v/1000) <= float64(maxUnix) {
			return timeUnixMilli, nil
		}
		return timeUnix, nil
	}
	var invalid error
	for f, l := range timeLayouts {
		if l.layout == "" {
			continue
		}
		_, err := time.Parse(l.layout, ts)
		if err == nil {
			return timeFormat(f), nil
		}
		invalid = cmp.Or(invalid, outOfRange(err))
	}
	if invalid != nil {
		return 0, invalid // in a form read, but no time: February 30
	}
	if dayMonthDate(ts) {
		return 0, errors.New("not a time form this reads: " + wantTime +
			"; write dates year first (2006-01-02): with slashes or dots the day may come first or the month")
	}
	return 0, errors.New("not a time form this reads: " + wantTime)
}

// dayMonthDate reports whether ts starts with a date of slashes or dots not year first
// (01/02/2024, 02.01.2024), which may be day first or month first: it is read as neither.
func dayMonthDate(ts string) bool {
	date, _, _ := strings.Cut(ts, " ")
	if y, _, ok := strings.Cut(date, "/"); ok && len(y) == 4 {
		return false // year first: 2006/01/02, read when it is a date
	}
	return strings.Count(date, "/") == 2 || strings.Count(date, ".") == 2
}

// outOfRange is time.Parse's error when ts is in the layout's form but names no time (a
// 13th month, February 30), said as such rather than as another form wanted; nil otherwise.
func outOfRange(err error) error {
	if pe := (*time.ParseError)(nil); errors.As(err, &pe) && strings.HasSuffix(pe.Message, " out of range") {
		return errors.New(strings.TrimPrefix(pe.Message, ": "))
	}
	return nil
}

// subSecond reports whether ts, which parseTime read, has a fraction of a second. parseTime
// drops fractions (as time.Time.Unix does for RFC 3339's), so a row in the same second as
// the previous one, in time order, is one with a fraction: only the error path asks.
func subSecond(ts []byte, f timeFormat) bool {
	switch f {
	case timeUnix, timeUnixMilli:
		v, err := strconv.ParseFloat(string(ts), 64)
		if f == timeUnixMilli {
			v /= 1000
		}
		return err == nil && v != math.Floor(v)
	}
	t, err := time.Parse(timeLayouts[f].layout, string(ts))
	return err == nil && t.Nanosecond() != 0
}

// parseTime returns Unix seconds, a fraction of a second dropped: the grid is whole seconds.
func parseTime(ts string, f timeFormat) (int64, error) {
	switch f {
	case timeUnix:
		v, err := strconv.ParseFloat(ts, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("want Unix seconds like the first row")
		}
		if v = math.Floor(v); v < float64(minUnix) || v > float64(maxUnix) {
			return 0, fmt.Errorf("out of range: want Unix seconds between %d and %d (years 1 to 9999)", minUnix, maxUnix)
		}
		return int64(v), nil
	case timeUnixMilli:
		v, err := strconv.ParseFloat(ts, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("want Unix milliseconds like the first row")
		}
		if v = math.Floor(v / 1000); v < float64(minUnix) || v > float64(maxUnix) {
			return 0, fmt.Errorf("out of range: want Unix milliseconds between %d and %d (years 1 to 9999)", minUnix*1000, maxUnix*1000)
		}
		return int64(v), nil
	case timeRFC3339:
		if u, ok := fastUTC(ts, 'T'); ok {
			return u, nil
		}
	case timeSpace:
		if u, ok := fastUTC(ts, ' '); ok {
			return u, nil
		}
	}
	l := timeLayouts[f]
	t, err := time.Parse(l.layout, ts)
	if err != nil {
		if err := outOfRange(err); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("want %s like the first row", l.name)
	}
	return inYears(t)
}

// inYears is t in Unix seconds, or an error when it is outside the years 1–9999 (UTC):
// time.Parse reads the year 0, and an offset carries a time past 9999 or before 1.
func inYears(t time.Time) (int64, error) {
	if u := t.Unix(); u >= minUnix && u <= maxUnix {
		return u, nil
	}
	return 0, fmt.Errorf("out of range: want a time in the years 1 to 9999 (UTC)")
}

// fastUTC reads the two forms every row of a large file has, "2006-01-02T15:04:05Z" (sep 'T')
// and "2006-01-02 15:04:05" (sep ' ', read as UTC), as Unix seconds, several times faster than
// time.Parse: the timestamps are most of the parsing cost of a forecast run. It reports false
// for anything else (an offset, fractions, an invalid date), which time.Parse then reads or
// refuses with its error.
func fastUTC[T string | []byte](ts T, sep byte) (int64, bool) {
	tod, ok := timeOfDay(ts, sep)
	if !ok || ts[4] != '-' || ts[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(ts, 0, 4)
	mo, ok2 := digits(ts, 5, 2)
	d, ok3 := digits(ts, 8, 2)
	if !ok1 || !ok2 || !ok3 || y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) {
		return 0, false // the year 0, which time.Parse reads, parseTime refuses as out of range
	}
	return daysFromCivil(y, mo, d)*86400 + tod, true
}

// timeOfDay reads the seconds since midnight of a timestamp in fastUTC's forms, checking
// everything but the date's digits (the length, the separators, the trailing Z).
func timeOfDay[T string | []byte](ts T, sep byte) (int64, bool) {
	n := 19
	if sep == 'T' {
		n = 20
		if len(ts) != n || ts[19] != 'Z' {
			return 0, false
		}
	}
	if len(ts) != n || ts[10] != sep || ts[13] != ':' || ts[16] != ':' {
		return 0, false
	}
	h, ok1 := digits(ts, 11, 2)
	mi, ok2 := digits(ts, 14, 2)
	sec, ok3 := digits(ts, 17, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	return int64(h*3600 + mi*60 + sec), true
}

// digits reads the w decimal digits of ts from i; false if any is not a digit.
func digits[T string | []byte](ts T, i, w int) (int, bool) {
	v := 0
	for j := i; j < i+w; j++ {
		c := ts[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// dayCache remembers the last date read: a day's rows (288 at 5 minutes) share it, so only
// their time of day is parsed, which halves the cost of a timestamp.
type dayCache struct {
	date [10]byte
	sep  byte
	day  int64 // Unix seconds at the date's midnight
	ok   bool
}

// unix reads ts as fastUTC does.
func (c *dayCache) unix(ts []byte, sep byte) (int64, bool) {
	if c.ok && sep == c.sep && len(ts) >= 10 && string(ts[:10]) == string(c.date[:]) {
		if tod, ok := timeOfDay(ts, sep); ok {
			return c.day + tod, true
		}
		return 0, false
	}
	u, ok := fastUTC(ts, sep)
	if ok {
		tod, _ := timeOfDay(ts, sep) // fastUTC read it already
		copy(c.date[:], ts[:10])
		c.sep, c.day, c.ok = sep, u-tod, true
	}
	return u, ok
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastDecimal reads a plain decimal ("123", "-4.5", "0.125") of at most 15 significant digits,
// as strconv.ParseFloat would, correctly rounded: the digits make an integer below 2^53 and
// the divisor a power of ten below 1e23, both exact, so one division rounds once (Clinger's
// fast path). It reports false for anything else, which strconv then reads.
func fastDecimal(b []byte) (float64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	v := float64(m) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the proleptic Gregorian
// calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// toGrid snaps a series' rows to the grid of its median step from its first timestamp.
func toGrid(rs *rawSeries) (namedSeries, error) {
	s, err := gridOf(rs)
	return namedSeries{name: rs.name, series: s}, err
}

func gridOf(rs *rawSeries) (forecast.Series, error) {
	if rs.newestFirst {
		slices.Reverse(rs.times)
		slices.Reverse(rs.vals)
		rs.newestFirst = false
	}
	if len(rs.times) < 2 {
		return forecast.Series{}, fmt.Errorf("has %d row, need at least 2 to infer its step", len(rs.times))
	}
	d := make([]int64, len(rs.times)-1)
	for i := 1; i < len(rs.times); i++ {
		d[i-1] = rs.times[i] - rs.times[i-1]
	}
	slices.Sort(d)
	step := d[len(d)/2]
	// Rows a few seconds off (scrapes, the NAB traces) make the median step odd by seconds;
	// a step of a minute or more snaps to whole minutes so the grid does not drift.
	if m := (step + 30) / 60 * 60; step >= 50 && abs64(step-m) <= max(5, m/100) {
		step = m
	}
	if step <= 0 {
		return forecast.Series{}, fmt.Errorf("cannot infer a positive step")
	}
	if step > maxStep {
		// time.Duration overflows at 292 years: the grid's and the forecast's times would wrap.
		return forecast.Series{}, fmt.Errorf("step of %ds is longer than a year", step)
	}
	t0 := rs.times[0]
	n := int64(math.Round(float64(rs.times[len(rs.times)-1]-t0)/float64(step))) + 1
	if n > maxSeriesPoints {
		return forecast.Series{}, fmt.Errorf("spans %d steps of %ds, more than %d", n, step, maxSeriesPoints)
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.NaN()
	}
	for i, t := range rs.times {
		// Rows a few seconds off the grid snap to the nearest slot; the later row of two
		// snapping to one slot wins.
		vals[int(math.Round(float64(t-t0)/float64(step)))] = rs.vals[i]
	}
	return forecast.Series{Start: time.Unix(t0, 0).UTC(), Step: time.Duration(step) * time.Second, Values: vals}, nil
}

// appendTime appends t as f writes it: Unix seconds or milliseconds, or RFC 3339 in UTC.
func appendTime(b []byte, t time.Time, f timeFormat) []byte {
	switch f {
	case timeUnix:
		return strconv.AppendInt(b, t.Unix(), 10)
	case timeUnixMilli:
		return strconv.AppendInt(b, t.UnixMilli(), 10)
	}
	return t.UTC().AppendFormat(b, time.RFC3339)
}

// appendValue appends v with 8 significant digits.
func appendValue(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'g', 8, 64)
}

// writeForecastCSV writes "series,timestamp,value,upper", one row per forecast point. Each
// row is built in one reused buffer: a forecast of many series writes millions of rows, which
// allocated a string per field.
func writeForecastCSV(w *bufio.Writer, name string, r forecast.Result, f timeFormat) {
	row := make([]byte, 0, 128)
	if strings.ContainsAny(name, ",\"\r\n") { // a Grafana column's labels
		name = `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	for i := range r.Mean {
		row = append(row[:0], name...)
		row = append(row, ',')
		row = appendTime(row, r.Start.Add(time.Duration(i)*r.Step), f)
		row = append(row, ',')
		row = appendValue(row, r.Mean[i])
		row = append(row, ',')
		row = appendValue(row, r.Upper[i])
		row = append(row, '\n')
		w.Write(row)
	}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
