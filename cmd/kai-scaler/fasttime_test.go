package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFastUTCAgreesWithTimeParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(ts string) {
		for _, f := range []timeFormat{timeRFC3339, timeSpace} {
			layout := time.RFC3339
			if f == timeSpace {
				layout = spaceLayout
			}
			want, werr := time.Parse(layout, ts)
			got, gerr := parseTime(ts, f)
			if werr != nil {
				require.Error(t, gerr, "%q as %v", ts, f)
				continue
			}
			require.NoError(t, gerr, "%q as %v", ts, f)
			require.Equal(t, want.Unix(), got, "%q as %v", ts, f)
		}
	}
	for _, ts := range []string{
		"2024-01-07T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2000-02-29T12:00:00Z",
		"1900-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z",
		"2024-01-07T24:00:00Z", "2024-01-07T23:60:00Z", "2024-01-07T23:59:60Z", "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", "2024-01-07T00:00:00+02:00", "2024-01-07T00:00:00.5Z", "2024-1-07T00:00:00Z",
		"2014-04-10 00:04:00", "2014-04-10T00:04:00", "2014-04-10 00:04:0x", "abcd-01-07T00:00:00Z",
	} {
		check(ts)
	}
	for range 5000 {
		sec := rng.Int64N(int64(400*365.25*86400)) - int64(200*365.25*86400)
		tm := time.Unix(sec, 0).UTC()
		check(tm.Format(time.RFC3339))
		check(tm.Format(spaceLayout))
	}
}

// The reader's day cache reads every timestamp as fastUTC does, in any order: a day's later
// rows, a new day, the other separator, and invalid times on a cached date.
func TestDayCacheAgreesWithFastUTC(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var c dayCache
	check := func(ts string, sep byte) {
		want, wok := fastUTC(ts, sep)
		got, gok := c.unix([]byte(ts), sep)
		require.Equal(t, wok, gok, "%q sep %q", ts, sep)
		require.Equal(t, want, got, "%q sep %q", ts, sep)
	}
	for _, ts := range []string{"2024-01-07T00:00:00Z", "2024-01-07T23:59:59Z", "2024-01-07T24:00:00Z", "2024-01-07T12:60:00Z",
		"2024-01-07T12:00:60Z", "2024-01-07T1a:00:00Z", "2024-01-07T12:00:00+01:00", "2024-01-07T12:00:00", "2024-01-07 12:00:00Z",
		"2024-01-08T00:00:00Z", "2024-01-08T00:00:00Z"} {
		check(ts, 'T')
	}
	check("2024-01-08 00:05:00", ' ')
	check("2024-01-08T00:05:00Z", ' ')
	base := time.Date(2015, 2, 26, 0, 0, 0, 0, time.UTC)
	for i := range 20000 {
		tm := base.Add(time.Duration(i*299+rng.IntN(3)) * time.Second)
		if rng.IntN(50) == 0 {
			tm = time.Unix(rng.Int64N(4e9)-2e9, 0).UTC()
		}
		check(tm.Format(time.RFC3339), 'T')
		check(tm.Format(spaceLayout), ' ')
	}
}

func BenchmarkParseTime(b *testing.B) {
	ts := "2024-01-07T13:45:00Z"
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = parseTime(ts, timeRFC3339)
		}
	})
	b.Run("time.Parse", func(b *testing.B) {
		for b.Loop() {
			_, _ = time.Parse(time.RFC3339, ts)
		}
	})
}

func TestFastDecimalAgreesWithParseFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(s string) {
		want, werr := strconv.ParseFloat(s, 64)
		got, ok := fastDecimal([]byte(s))
		if !ok {
			return // strconv reads it
		}
		require.NoError(t, werr, s)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"0", "1", "-1", "+2", "123.456", "0.1", "0.3", "1e5", "12.", ".5", "-.5", "999999999999999",
		"9999999999999999", "0.000000000000001", "123456789.012345", "1,5", "", "-", "."} {
		check(s)
	}
	for range 20000 {
		check(strconv.FormatFloat(rng.Float64()*math.Pow(10, float64(rng.IntN(12))), 'f', rng.IntN(7), 64))
		check(strconv.FormatInt(rng.Int64N(1<<50), 10))
	}
	_, ok := fastDecimal([]byte("12.5"))
	require.True(t, ok, "the common case takes the fast path")
}

// BenchmarkScanSeriesCSV reads 50 series of 8,064 rows (4 weeks at 5 minutes) in the form the
// speed target's file has: the reader is the forecast command's floor.
func BenchmarkScanSeriesCSV(b *testing.B) {
	var body []byte
	body = append(body, "series,timestamp,value\n"...)
	start := time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC)
	for s := range 50 {
		for i := range 8064 {
			body = fmt.Appendf(body, "svc-%04d,%s,%.3f\n", s, start.Add(time.Duration(i)*5*time.Minute).Format(time.RFC3339), 40+float64(i%288)/7)
		}
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := scanSeriesCSV(bytes.NewReader(body), "in.csv", func(namedSeries, timeFormat) error { n++; return nil }); err != nil || n != 50 {
			b.Fatal(err, n)
		}
	}
}

func TestTrimSpaceMatchesBytesTrimSpace(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a", "a ", "\ta\r", "svc-1", "1.5", "\u00a0x", "x\u00a0", "\u0085x\u3000", "é", " é ", "x\x7f"} {
		require.Equal(t, string(bytes.TrimSpace([]byte(s))), string(trimSpace([]byte(s))), "%q", s)
	}
}
