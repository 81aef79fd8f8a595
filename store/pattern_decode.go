package store

import (
	"bytes"
	"strconv"

	"github.com/kai-platform/kai-scaler/scaling"
)

// decodePattern is decode for a stored pattern, the record every GET pattern reads: a
// weekly pattern is 168 windows, and encoding/json's reflection and validation pass were
// most of the CPU of BenchmarkScale/bolt. parsePattern reads the JSON that json.Marshal
// writes for a Pattern, several times faster; anything else it leaves to encoding/json, so
// the stored format and the result are what they were.
func decodePattern(what string, data []byte) (scaling.Pattern, error) {
	if p, ok := parsePattern(data); ok {
		return p, nil
	}
	return decode[scaling.Pattern](what, data)
}

// parsePattern parses data as a Pattern when it is plain JSON of the pattern's own fields:
// exact field names, each at most once, strings of printable ASCII without escapes,
// numbers that fit their field, and null only for timeWindows. For such input it returns
// what json.Unmarshal returns (FuzzParsePattern checks); for any other (case-folded or
// unknown names, escapes, duplicates, errors) ok is false.
func parsePattern(data []byte) (p scaling.Pattern, ok bool) {
	s := scanner{data: data}
	seen := 0
	ok = s.object(func(key []byte) bool {
		bit, fieldOK := 0, false
		switch string(key) {
		case "service":
			bit = 1
			p.Service, fieldOK = s.str()
		case "patternType":
			bit = 2
			var v string
			v, fieldOK = s.str()
			p.PatternType = scaling.PatternType(v)
		case "timeWindows":
			bit = 4
			p.TimeWindows, fieldOK = s.windows()
		case "timezone":
			bit = 8
			p.Timezone, fieldOK = s.str()
		case "source":
			bit = 16
			var v string
			v, fieldOK = s.str()
			p.Source = scaling.PatternSource(v)
		case "lastUpdated":
			bit = 32
			p.LastUpdated, fieldOK = s.integer(64)
		}
		if !fieldOK || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	s.space()
	if !ok || s.i != len(s.data) {
		return scaling.Pattern{}, false
	}
	return p, true
}

// windows parses the timeWindows array, or null.
func (s *scanner) windows() ([]scaling.TimeWindow, bool) {
	if s.literal("null") {
		return nil, true
	}
	if !s.byte('[') {
		return nil, false
	}
	// Every window is an object: its braces bound the count (a hint; strings may hold some).
	n := bytes.Count(s.data[s.i:], []byte("{"))
	ws := make([]scaling.TimeWindow, 0, n)
	// The windows' days, one allocation for all instead of one per window.
	days := make([]int, 0, n)
	if s.byte(']') {
		return ws, true
	}
	for {
		w, ok := s.window(&days)
		if !ok {
			return nil, false
		}
		ws = append(ws, w)
		if s.byte(']') {
			return ws, true
		}
		if !s.byte(',') {
			return nil, false
		}
	}
}

// window parses one window; its day, if any, is appended to days.
func (s *scanner) window(days *[]int) (w scaling.TimeWindow, ok bool) {
	seen := 0
	ok = s.object(func(key []byte) bool {
		bit, fieldOK := 0, false
		switch string(key) {
		case "dayOfWeek":
			bit = 1
			var d int64
			d, fieldOK = s.integer(strconv.IntSize)
			if len(*days) == cap(*days) {
				*days = make([]int, 0, 16) // the hint fell short: a new block, the old stays referenced
			}
			*days = append(*days, int(d))
			w.DayOfWeek = &(*days)[len(*days)-1]
		case "hourOfDay":
			bit = 2
			var h int64
			h, fieldOK = s.integer(strconv.IntSize)
			w.HourOfDay = int(h)
		case "expectedLoad":
			bit = 4
			w.ExpectedLoad, fieldOK = s.float()
		}
		if !fieldOK || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	return w, ok
}

// scanner reads JSON tokens from data at i.
type scanner struct {
	data []byte
	i    int
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c after optional white space.
func (s *scanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	s.space()
	if len(s.data)-s.i >= len(lit) && string(s.data[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// object parses {"key": value, ...}, calling member for each key to parse its value.
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		key, ok := s.rawString()
		if !ok || !s.byte(':') || !member(key) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// rawString returns a string's bytes when it holds only printable ASCII and no escapes.
func (s *scanner) rawString() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.data); s.i++ {
		switch c := s.data[s.i]; {
		case c == '"':
			s.i++
			return s.data[start : s.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

func (s *scanner) str() (string, bool) {
	b, ok := s.rawString()
	return string(b), ok
}

// number returns the bytes of a JSON number and whether it has a fraction or exponent.
func (s *scanner) number() (num []byte, isFloat, ok bool) {
	s.space()
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.data) && s.data[s.i] == '-' {
		s.i++
	}
	intStart := s.i
	if n := digits(); n == 0 || (n > 1 && s.data[intStart] == '0') {
		return nil, false, false
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, false, false
		}
		isFloat = true
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, false, false
		}
		isFloat = true
	}
	return s.data[start:s.i], isFloat, true
}

// integer parses a number into an integer of bits as encoding/json does: no fraction or
// exponent, and in range.
func (s *scanner) integer(bits int) (int64, bool) {
	num, isFloat, ok := s.number()
	if !ok || isFloat {
		return 0, false
	}
	n, err := strconv.ParseInt(string(num), 10, bits)
	return n, err == nil
}

func (s *scanner) float() (float64, bool) {
	num, _, ok := s.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(num), 64)
	return f, err == nil
}
