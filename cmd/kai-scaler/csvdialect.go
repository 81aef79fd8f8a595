package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// headerPeek is how much of a file normalizeCSV looks at to tell its dialect: the first line
// (or the first two, after an Excel "sep=" line) up to this many bytes, which always holds a
// header's first fields.
const headerPeek = 64 << 10

// normalizeCSV returns r as the comma-separated UTF-8 text scanSeriesCSV reads, and how many
// lines above the header it dropped (for line numbers in errors). It reads what spreadsheets
// and Grafana write besides: UTF-16 with a byte order mark (Grafana's "Download for Excel"
// writes UTF-16LE, tab-separated), an Excel "sep=;" first line naming the separator (older
// Grafana's "Download for Excel", and spreadsheets in locales whose list separator is ";"),
// and semicolons or tabs as separators, told from the header (its first field is time,
// timestamp or series). With a separator other than the comma, a value with a decimal comma
// ("12,5") is read as "12.5". A comma-separated UTF-8 file, the common case, comes back as
// it is read, without a copy.
func normalizeCSV(r io.Reader) (io.Reader, int) {
	br := bufio.NewReaderSize(r, headerPeek)
	if bom, _ := br.Peek(2); len(bom) == 2 && (bom[0] == 0xFF && bom[1] == 0xFE || bom[0] == 0xFE && bom[1] == 0xFF) {
		// The decoder reads the byte order from the mark and drops it.
		utf16 := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		br = bufio.NewReaderSize(transform.NewReader(br, utf16), headerPeek)
	}
	skipped, comma := 0, rune(0)
	if line := peekLine(br); strings.HasPrefix(strings.ToLower(line), "sep=") {
		if sep := line[len("sep="):]; utf8.RuneCountInString(sep) == 1 {
			comma = []rune(sep)[0]
			_, _ = br.ReadString('\n') // the line was peeked whole, so this reads it from the buffer
			skipped = 1
		}
	}
	if comma == 0 {
		comma = headerComma(peekLine(br))
	}
	if comma == ',' {
		return br, skipped
	}
	cr := csv.NewReader(br)
	cr.Comma, cr.LazyQuotes, cr.FieldsPerRecord, cr.ReuseRecord = comma, true, -1, true
	return &recodeReader{in: cr, skipped: skipped}, skipped
}

// peekLine is the first line of br not yet read, without its line ending and a UTF-8 byte
// order mark, or as much of it as headerPeek holds.
func peekLine(br *bufio.Reader) string {
	// Peeked by doubling lengths, so no more than about the line is read ahead of the scanner
	// (a file read as it streams in is handed on series by series).
	var b []byte
	for n := 64; ; n *= 2 {
		var err error
		b, err = br.Peek(min(n, headerPeek)) // short at the end of the file: then b is all of it
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[:i]
			break
		}
		if err != nil || n >= headerPeek {
			break
		}
	}
	return strings.TrimPrefix(strings.TrimRight(string(b), "\r"), "\ufeff")
}

// headerComma is the separator of a header line: the first of comma, tab and semicolon that
// splits it into two or more fields, the first naming the time (or the series); else one that
// splits it into a timestamp and another field (no header: the line is a row), else the first
// that splits it into two fields (a time and a value of other names); a comma when none does,
// so the header's error says what is wanted.
func headerComma(line string) rune {
	twoFields := rune(0)
	for _, comma := range []rune{',', '\t', ';'} {
		cr := csv.NewReader(strings.NewReader(line))
		cr.Comma, cr.LazyQuotes, cr.FieldsPerRecord = comma, true, -1
		fields, err := cr.Read()
		if err != nil || len(fields) < 2 {
			continue
		}
		first := strings.TrimSpace(fields[0])
		switch strings.ToLower(first) {
		case "time", "timestamp", "series":
			return comma
		}
		if len(fields) != 2 {
			continue
		}
		if readsAsTime(first) {
			return comma
		}
		if twoFields == 0 {
			twoFields = comma
		}
	}
	if twoFields != 0 {
		return twoFields
	}
	return ','
}

// recodeReader reads a CSV file with another separator as comma-separated text, a line for
// every line read (blank lines too), so line numbers in errors stay the file's.
type recodeReader struct {
	in      *csv.Reader
	skipped int // lines dropped above the header, for the line numbers of parse errors
	out     bytes.Buffer
	w       *csv.Writer
	line    int  // lines written
	body    bool // the header is written: the rest are rows, whose values may have decimal commas
	err     error
}

func (r *recodeReader) Read(p []byte) (int, error) {
	if r.w == nil {
		r.w = csv.NewWriter(&r.out)
	}
	for r.out.Len() == 0 {
		if r.err != nil {
			return 0, r.err
		}
		record, err := r.in.Read()
		if err != nil {
			if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
				pe.StartLine += r.skipped
				pe.Line += r.skipped
			}
			r.err = err
			continue
		}
		at, _ := r.in.FieldPos(0)
		for ; r.line < at-1; r.line++ {
			r.out.WriteByte('\n') // a blank line the CSV reader skipped
		}
		// The first line too: in a file without a header it is a row.
		for i, f := range record {
			record[i] = decimalPoint(f)
			if r.body && i > 0 && strings.Contains(record[i], ",") {
				// Written quoted, it would be a field the scanner has no place for.
				r.err = &dialectError{line: at + r.skipped, msg: fmt.Sprintf(
					"%q is not a number: between fields separated by %q a number's one comma is its decimal point, and no thousands separator is read", f, r.in.Comma)}
				return 0, r.err
			}
		}
		r.body = true
		_ = r.w.Write(record) // into a bytes.Buffer, which does not fail
		r.w.Flush()
		r.line++
	}
	return r.out.Read(p)
}

// dialectError is a fault normalizeCSV finds at a line of the file.
type dialectError struct {
	line int
	msg  string
}

func (e *dialectError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// readError is err, of reading file, said as its other faults are: file:line: what.
func readError(file string, err error) error {
	if de := (*dialectError)(nil); errors.As(err, &de) {
		return fmt.Errorf("%s:%d: %s", file, de.line, de.msg)
	}
	return fmt.Errorf("read %s: %w", file, err)
}

// decimalPoint is f with its decimal comma made a point where f is then a number ("12,5"),
// else f: a file separated by semicolons or tabs comes from a locale that writes numbers so.
func decimalPoint(f string) string {
	if strings.Count(f, ",") != 1 || strings.Contains(f, ".") {
		return f
	}
	g := strings.Replace(strings.TrimSpace(f), ",", ".", 1)
	if _, err := strconv.ParseFloat(g, 64); err != nil {
		return f
	}
	return g
}
