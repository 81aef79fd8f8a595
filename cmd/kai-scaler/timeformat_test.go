package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// jan1 is 2024-01-01T00:00:00Z in Unix seconds.
const jan1 = 1704067200

// TestDetectTimeFormat: the first timestamp's form, and what it reads as. Times without a zone
// are UTC, fractions of a second are dropped, offsets shift the time.
func TestDetectTimeFormat(t *testing.T) {
	tests := []struct {
		ts        string
		format    timeFormat
		unix      int64
		subSecond bool
		out       string // appendTime's: RFC 3339 in UTC for every form but Unix
	}{
		{"2024-01-01T00:00:00Z", timeRFC3339, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01T02:00:00+02:00", timeRFC3339, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01T00:00:00.250Z", timeRFC3339, jan1, true, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:00", timeSpace, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:00.000", timeSpace, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:59.999", timeSpace, jan1 + 59, true, "2024-01-01T00:00:59Z"},
		{"2024-01-01 00:00:00,5", timeSpace, jan1, true, "2024-01-01T00:00:00Z"}, // a decimal comma, as time.Parse reads it
		{"2024-01-01T00:00:00", timeISO, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01T00:00:00.000", timeISO, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01T12:30:15.123456", timeISO, jan1 + 12*3600 + 30*60 + 15, true, "2024-01-01T12:30:15Z"},
		{"2024-01-01 00:00:00+00:00", timeSpaceOffset, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 02:00:00+02:00", timeSpaceOffset, jan1, false, "2024-01-01T00:00:00Z"},
		{"2023-12-31 21:00:00-03:00", timeSpaceOffset, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:00.500+00:00", timeSpaceOffset, jan1, true, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:00Z", timeSpaceOffset, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:00+00", timeSpaceShortOffset, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 05:00:00.123456+05", timeSpaceShortOffset, jan1, true, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:00 UTC", timeSpaceUTC, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:00:00.000000 UTC", timeSpaceUTC, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01 00:05", timeSpaceMinute, jan1 + 300, false, "2024-01-01T00:05:00Z"},
		{"2024-01-01 9:05", timeSpaceMinute, jan1 + 9*3600 + 300, false, "2024-01-01T09:05:00Z"},
		{"2024-01-01T23:59", timeISOMinute, jan1 + 86400 - 60, false, "2024-01-01T23:59:00Z"},
		{"2024-01-01", timeDate, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-02-29", timeDate, jan1 + 59*86400, false, "2024-02-29T00:00:00Z"},
		{"2024-01-01T00:00:00+0000", timeISOBasicOffset, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024-01-01T05:30:00.123456+0530", timeISOBasicOffset, jan1, true, "2024-01-01T00:00:00Z"},
		{"2023-12-31 19:00:00-0500", timeSpaceBasicOffset, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024/01/01 00:00:00", timeSlash, jan1, false, "2024-01-01T00:00:00Z"},
		{"2024/01/01 00:05", timeSlashMinute, jan1 + 300, false, "2024-01-01T00:05:00Z"},
		{"2024/02/29", timeSlashDate, jan1 + 59*86400, false, "2024-02-29T00:00:00Z"},
		{"1704067200", timeUnix, jan1, false, "1704067200"},
		{"1704067200.5", timeUnix, jan1, true, "1704067200"},
		{"1704067200000", timeUnixMilli, jan1, false, "1704067200000"},
	}
	for _, tc := range tests {
		t.Run(tc.ts, func(t *testing.T) {
			f, err := detectTimeFormat(tc.ts)
			require.NoError(t, err)
			require.Equal(t, tc.format, f)
			require.True(t, readsAsTime(tc.ts))
			got, err := parseTime(tc.ts, f)
			require.NoError(t, err)
			require.Equal(t, tc.unix, got)
			require.Equal(t, tc.subSecond, subSecond([]byte(tc.ts), f))
			require.Equal(t, tc.out, string(appendTime(nil, time.Unix(got, 0), f)))
		})
	}
}

// TestDetectTimeFormatRefuses: a first timestamp in no form read says so and lists the forms;
// one in a form but no time says what is wrong with it.
func TestDetectTimeFormatRefuses(t *testing.T) {
	tests := []struct {
		ts, want  string
		yearFirst bool // the error suggests writing dates year first
	}{
		{"01/02/2024 00:00", "not a time form this reads: " + wantTime, true},
		{"1/2/2024", "not a time form this reads: " + wantTime, true},
		{"02.01.2024 00:00:00", "not a time form this reads: " + wantTime, true},
		{"yesterday", "not a time form this reads: " + wantTime, false},
		{"NaN", "not a time form this reads: " + wantTime, false},
		{"2024-01-01T00:00:00 UTC", "not a time form this reads: " + wantTime, false},
		{"2024-01-01 00:00:00 PST", "not a time form this reads: " + wantTime, false},
		{"2024-01-01T00:00:00+02", "not a time form this reads: " + wantTime, false},
		{"2024/13/01", "month out of range", false},
		{"2024-02-30", "day out of range", false},
		{"2024-13-01 00:00", "month out of range", false},
		{"2024-01-01T24:00:00Z", "hour out of range", false},
	}
	for _, tc := range tests {
		t.Run(tc.ts, func(t *testing.T) {
			_, err := detectTimeFormat(tc.ts)
			require.ErrorContains(t, err, tc.want)
			if tc.yearFirst {
				require.ErrorContains(t, err, "; write dates year first (2006-01-02)")
			} else {
				require.NotContains(t, err.Error(), "year first")
			}
			require.False(t, readsAsTime(tc.ts))
		})
	}
}

// TestReadSeriesCSVTimeForms reads a small file in each form: the header's, a column per
// series, and no header (the first line is a row when it reads as a time).
func TestReadSeriesCSVTimeForms(t *testing.T) {
	gap := math.NaN()
	fiveMin := func(name string) []series {
		return []series{{name, jan1, 5 * time.Minute, []float64{1, 2, 3}}}
	}
	tests := []struct {
		name, body string
		format     timeFormat
		want       []series
	}{
		{"pandas isoformat, no zone", "timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:05:00,2\n2024-01-01T00:10:00,3\n",
			timeISO, fiveMin("in")},
		{"isoformat, fractions", "timestamp,value\n2024-01-01T00:00:00.000,1\n2024-01-01T00:05:00.400,2\n2024-01-01T00:10:00.999,3\n",
			timeISO, fiveMin("in")},
		{"no seconds", "timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05,2\n2024-01-01 00:10,3\n",
			timeSpaceMinute, fiveMin("in")},
		{"no seconds, T", "timestamp,value\n2024-01-01T00:00,1\n2024-01-01T00:05,2\n2024-01-01T00:10,3\n",
			timeISOMinute, fiveMin("in")},
		// Regression test: a space and fractions was refused, only 19 characters being read so.
		{"a space and fractions", "timestamp,value\n2024-01-01 00:00:00.000,1\n2024-01-01 00:05:00.000,2\n2024-01-01 00:10:00.000,3\n",
			timeSpace, fiveMin("in")},
		{"pandas, a zone's offset", "timestamp,value\n2024-01-01 02:00:00+02:00,1\n2024-01-01 02:05:00+02:00,2\n2024-01-01 02:10:00+02:00,3\n",
			timeSpaceOffset, fiveMin("in")},
		// A change of offset within the file (daylight saving time) is the same form.
		{"offsets change", "timestamp,value\n2024-01-01 01:00:00+01:00,1\n2024-01-01 02:05:00+02:00,2\n2024-01-01 00:10:00+00:00,3\n",
			timeSpaceOffset, fiveMin("in")},
		{"psql timestamptz", "ts,v\n2024-01-01 00:00:00+00,1\n2024-01-01 00:05:00+00,2\n2024-01-01 00:10:00+00,3\n",
			timeSpaceShortOffset, fiveMin("in")},
		{"bigquery UTC", "timestamp,value\n2024-01-01 00:00:00 UTC,1\n2024-01-01 00:05:00 UTC,2\n2024-01-01 00:10:00.000000 UTC,3\n",
			timeSpaceUTC, fiveMin("in")},
		{"daily", "timestamp,value\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n2024-01-05,5\n",
			timeDate, []series{{"in", jan1, 24 * time.Hour, []float64{1, 2, 3, gap, 5}}}},
		{"long form, no seconds", "series,timestamp,value\napi,2024-01-01 00:00,1\napi,2024-01-01 00:05,2\napi,2024-01-01 00:10,3\nweb,2024-01-01 00:00,4\nweb,2024-01-01 00:05,5\n",
			timeSpaceMinute, []series{{"api", jan1, 5 * time.Minute, []float64{1, 2, 3}}, {"web", jan1, 5 * time.Minute, []float64{4, 5}}}},
		{"a column per series, daily", "Time,api,web\n2024-01-01,1,10\n2024-01-02,2,\n2024-01-03,3,30\n",
			timeDate, []series{{"api", jan1, 24 * time.Hour, []float64{1, 2, 3}}, {"web", jan1, 24 * time.Hour, []float64{10, gap, 30}}}},
		{"no header, no seconds", "2024-01-01 00:00,1\n2024-01-01 00:05,2\n2024-01-01 00:10,3\n",
			timeSpaceMinute, fiveMin("in")},
		{"no header, semicolons, a zone's offset", "2024-01-01 00:00:00+00:00;1\n2024-01-01 00:05:00+00:00;2,0\n2024-01-01 00:10:00+00:00;3\n",
			timeSpaceOffset, fiveMin("in")},
		{"quoted, UTC", "\"timestamp\",\"value\"\n\"2024-01-01 00:00:00 UTC\",\"1\"\n\"2024-01-01 00:05:00 UTC\",\"2\"\n\"2024-01-01 00:10:00 UTC\",\"3\"\n",
			timeSpaceUTC, fiveMin("in")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireReads(t, tc.body, tc.format, tc.want)
		})
	}
}

// TestReadSeriesCSVTimeFormErrors: a first row in no form says so with the forms read; a later
// row in another form than the first's names the first's, with its line.
func TestReadSeriesCSVTimeFormErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"US dates", "timestamp,value\n01/01/2024 00:00,1\n01/01/2024 00:05,2\n",
			`bad.csv:2: timestamp "01/01/2024 00:00": not a time form this reads: ` + wantTime + "; write dates year first (2006-01-02)"},
		{"a grafana export of US dates", "Time,a\n01/01/2024 00:00,1\n",
			`bad.csv:2: time "01/01/2024 00:00": not a time form this reads: ` + wantTime + "; write dates year first"},
		{"long form, no time", "series,timestamp,value\na,noon,1\n", `bad.csv:2: timestamp "noon": not a time form this reads: want RFC 3339`},
		{"a sep= line above", "sep=;\ntimestamp;value\n\n31.01.2024 00:00;1\n", `bad.csv:4: timestamp "31.01.2024 00:00": not a time form this reads`},
		{"no date on the first row", "timestamp,value\n2024-02-30 00:00:00,1\n2024-03-01 00:00:00,2\n", `bad.csv:2: timestamp "2024-02-30 00:00:00": day out of range`},
		{"no date on a later row", "timestamp,value\n2024-02-28 00:00,1\n2024-02-30 00:00,2\n", `bad.csv:3: timestamp "2024-02-30 00:00": day out of range`},
		{"RFC 3339, then a space", "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01 00:05:00,2\n",
			`bad.csv:3: timestamp "2024-01-01 00:05:00": want RFC 3339 (2006-01-02T15:04:05Z) like the first row`},
		{"no zone, then a zone", "timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:05:00Z,2\n",
			`bad.csv:3: timestamp "2024-01-01T00:05:00Z": want "2006-01-02T15:04:05" like the first row`},
		{"seconds, then none", "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05,2\n",
			`bad.csv:3: timestamp "2024-01-01 00:05": want "2006-01-02 15:04:05" like the first row`},
		{"no seconds, then seconds", "timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:05:00,2\n",
			`bad.csv:3: timestamp "2024-01-01 00:05:00": want "2006-01-02 15:04" like the first row`},
		{"an offset, then none", "timestamp,value\n2024-01-01 00:00:00+00:00,1\n\n2024-01-01 00:05:00,2\n",
			`bad.csv:4: timestamp "2024-01-01 00:05:00": want "2006-01-02 15:04:05+07:00" like the first row`},
		{"UTC, then an offset", "timestamp,value\n2024-01-01 00:00:00 UTC,1\n2024-01-01 00:05:00+00:00,2\n",
			`bad.csv:3: timestamp "2024-01-01 00:05:00+00:00": want "2006-01-02 15:04:05 UTC" like the first row`},
		{"a date, then a time", "timestamp,value\n2024-01-01,1\n2024-01-02 00:00:00,2\n",
			`bad.csv:3: timestamp "2024-01-02 00:00:00": want "2006-01-02" like the first row`},
		{"psql's offset, then a long one", "timestamp,value\n2024-01-01 00:00:00+00,1\n2024-01-01 00:05:00+05:30,2\n",
			`bad.csv:3: timestamp "2024-01-01 00:05:00+05:30": want "2006-01-02 15:04:05+07" like the first row`},
		{"a grafana export, forms mixed", "Time,a,b\n2024-01-01T00:00,1,2\n2024-01-01 00:05,3,4\n",
			`bad.csv:3: time "2024-01-01 00:05": want "2006-01-02T15:04" like the first row`},
		{"long form, forms mixed", "series,timestamp,value\na,2024-01-01,1\na,2024-01-02,2\nb,2024-01-01T00:00:00,1\n",
			`bad.csv:4: timestamp "2024-01-01T00:00:00": want "2006-01-02" like the first row`},
		{"sub-second, no zone", "timestamp,value\n2024-01-01T00:00:00.100,1\n2024-01-01T00:00:00.600,2\n",
			`bad.csv:3: series "bad": timestamp 2024-01-01T00:00:00.600 is in the same second as the previous one: sub-second timestamps are not supported`},
		{"sub-second, UTC", "Time,a\n2024-01-01 00:00:00.1 UTC,1\n2024-01-01 00:00:00.6 UTC,2\n",
			`bad.csv:3: time 2024-01-01 00:00:00.6 UTC is in the same second as the previous one`},
		// The later of two rows at one time wins (scanSeriesCSV): one row is left.
		{"minutes repeated", "timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:00,2\n",
			`bad.csv:2: series "bad": has 1 row, need at least 2 to infer its step`},
		{"minutes out of order", "timestamp,value\n2024-01-01 00:00,1\n2024-01-01 00:02,2\n2024-01-01 00:01,3\n",
			`bad.csv:4: series "bad": timestamp 2024-01-01 00:01 is not after the previous one`},
		{"past 9999 by its offset", "timestamp,value\n9999-12-31 23:00:00+00:00,1\n9999-12-31 23:30:00-01:00,2\n",
			`bad.csv:3: timestamp "9999-12-31 23:30:00-01:00": out of range`},
		{"the year 0, a date", "timestamp,value\n0000-12-31,1\n0001-01-01,2\n", `bad.csv:2: timestamp "0000-12-31": out of range`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readSeriesCSV(strings.NewReader(tc.body), "bad.csv")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// Each form reads the instants time.Parse reads in it, in UTC where it has no zone, and never
// one time.Parse refuses: the same sweep as TestFastUTCAgreesWithTimeParse's, over every form.
func TestParseTimeAgreesWithTimeParse(t *testing.T) {
	east := time.FixedZone("", 5*3600+30*60)
	for f, l := range timeLayouts {
		if l.layout == "" {
			continue
		}
		t.Run(l.layout, func(t *testing.T) {
			for i := range 2000 {
				at := time.Unix(int64(i)*int64(1e7)+int64(i%7)*86399-int64(1e10), 0).UTC()
				for _, tm := range []time.Time{at, at.In(east)} {
					ts := tm.Format(l.layout)
					want, werr := time.Parse(l.layout, ts)
					got, gerr := parseTime(ts, timeFormat(f))
					if werr != nil {
						require.Error(t, gerr, ts)
						continue
					}
					require.NoError(t, gerr, ts)
					require.Equal(t, want.Unix(), got, ts)
					d, err := detectTimeFormat(ts)
					require.NoError(t, err, ts)
					// Only a time ending in Z reads in two forms, and alike.
					if d != timeFormat(f) {
						require.True(t, strings.HasSuffix(ts, "Z"), fmt.Sprintf("%s read as %v, not %v", ts, d, f))
						alt, err := parseTime(ts, d)
						require.NoError(t, err)
						require.Equal(t, got, alt, ts)
					}
				}
			}
		})
	}
}
