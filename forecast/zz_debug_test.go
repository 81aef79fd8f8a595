package forecast

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestZZKO(t *testing.T) {
	f, _ := os.Open("/tmp/cuts/ko_h.csv")
	rows, _ := csv.NewReader(f).ReadAll()
	var h []float64
	var ts []string
	for _, r := range rows {
		x, _ := strconv.ParseFloat(r[1], 64)
		h = append(h, x)
		ts = append(ts, r[0])
	}
	h = h[len(h)-24*40:]
	ts = ts[len(ts)-24*40:]
	s := Series{Start: time.Unix(0, 0), Step: time.Hour, Values: h}
	mem := getArena()
	e, _ := evaluate(s, 48, 0.9, 7+selectOrigins+1, nil, mem)
	ds := e.decideZeroing(e.selectAuto)
	for j, d := range ds[:len(ds)-1] {
		o := e.origins[j]
		fmt.Println(j, ts[o], d.m.name, fmt.Sprintf("mase %.2f", d.m.mae[j]), d.why[:min(len(d.why), 120)])
		if d.m.mae[j] > 3 {
			for k := -12; k < 48; k += 2 {
				fc := math.NaN()
				if k >= 0 {
					fc = d.m.fc[j][k]
				}
				fmt.Printf("  %s act %.0f fc %.0f\n", ts[o+k], h[o+k], fc)
			}
		}
	}
	fmt.Println(e.notes)
}
