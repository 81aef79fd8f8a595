package forecast

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func loadPlain(t *testing.T, path string) Series {
	f, err := os.Open(path)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	var times []time.Time
	var vals []float64
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		tm, _ := time.Parse(time.RFC3339, p[0])
		v, _ := strconv.ParseFloat(p[1], 64)
		times = append(times, tm)
		vals = append(vals, v)
	}
	step := times[1].Sub(times[0])
	n := int(times[len(times)-1].Sub(times[0])/step) + 1
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	for i, tm := range times {
		out[int(tm.Sub(times[0])/step)] = vals[i]
	}
	return Series{Start: times[0], Step: step, Values: out}
}

func TestZZDebug(t *testing.T) {
	for _, f := range strings.Fields(os.Getenv("DBG_FILES")) {
		s := loadPlain(t, f)
		p := periodsFor(s.Step)
		ev, err := evaluate(s, p.D, 0.9, 21, nil)
		if err != nil {
			t.Fatal(err)
		}
		scale := maseScale(ev.cleaning.raw, p)
		fmt.Printf("== %s n=%d origins=%d\n%-22s", f, len(s.Values), len(ev.origins), "")
		for _, o := range ev.origins {
			fmt.Printf(" %5s", s.Start.Add(time.Duration(o)*s.Step).Format("01-02"))
		}
		fmt.Println()
		for _, m := range ev.models {
			fmt.Printf("%-22s", m.name)
			for j := range ev.origins {
				v, _ := originMAE(m.errs[j])
				fmt.Printf(" %5.2f", v/scale)
			}
			fmt.Println()
		}
	}
}
