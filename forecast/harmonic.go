package forecast

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Harmonic regression: intercept, linear trend, Kd Fourier pairs of the day and Kw of the week
// (weekly orders that are multiples of 7 are daily harmonics and are left out), fitted by
// least squares on the cleaned series, with an AR(1) correction of the last residual.
// Robustness comes from the cleaning before it: residuals beyond 3 IQR of a robust
// decomposition are replaced, which is a hard-rejection (weight 0) M-estimate, and it keeps
// the normal equations the same for every series on the same grid so they can be shared.
const (
	harmonicDailyPairs  = 10
	harmonicWeeklyPairs = 20
	harmonicCacheSize   = 8
)

// design is the part of a harmonic regression that depends only on the grid: the basis and
// the normal matrices X'X accumulated up to each origin. It is immutable once built.
type design struct {
	p       periods
	weekly  bool
	daily   []int // Fourier orders of the day
	wk      []int // Fourier orders of the week
	cols    int
	x       []float64 // (len(y) + h) × cols, row-major
	origins []int
	// inv holds, per origin, the inverse of X'X (with a tiny ridge) of the rows before it,
	// cols × cols, nil where it is singular: the coefficients of any series on this grid
	// are inv · X'y, so the factorisation is paid once per grid, not once per series.
	inv [][]float64
}

type designKey struct {
	n, h, d, w int
	weekly     bool
	origins    string
}

// designCache shares designs between series fitted on the same grid (the common case: every
// service queried over the same range and step). Bounded; entries are immutable.
type designCache struct {
	mu sync.Mutex
	m  map[designKey]*designEntry
}

type designEntry struct {
	once sync.Once
	d    *design
}

var designs = &designCache{m: map[designKey]*designEntry{}}

func (c *designCache) get(n, h int, p periods, weekly bool, origins []int) *design {
	k := designKey{n: n, h: h, d: p.D, w: p.W, weekly: weekly, origins: fmt.Sprint(origins)}
	c.mu.Lock()
	e, ok := c.m[k]
	if !ok {
		if len(c.m) >= harmonicCacheSize {
			for old := range c.m {
				delete(c.m, old)
				break
			}
		}
		e = &designEntry{}
		c.m[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.d = newDesign(n, h, p, weekly, origins) })
	return e.d
}

func harmonicOrders(p periods, weekly bool) (daily, weeklyOrders []int) {
	for k := 1; k <= harmonicDailyPairs && 2*k < p.D; k++ {
		daily = append(daily, k)
	}
	if weekly {
		for k := 1; k <= harmonicWeeklyPairs && 2*k < p.W; k++ {
			if k%7 != 0 || k/7 > len(daily) {
				weeklyOrders = append(weeklyOrders, k)
			}
		}
	}
	return daily, weeklyOrders
}

// row writes the basis at time index t into dst.
func (d *design) row(t int, dst []float64) {
	daily, weekly := d.daily, d.wk
	dst[0] = 1
	dst[1] = float64(t) / float64(d.p.D)
	j := 2
	for _, k := range daily {
		a := 2 * math.Pi * float64(k*(t%d.p.D)) / float64(d.p.D)
		dst[j], dst[j+1] = math.Cos(a), math.Sin(a)
		j += 2
	}
	for _, k := range weekly {
		a := 2 * math.Pi * float64((k*(t%d.p.W))%d.p.W) / float64(d.p.W)
		dst[j], dst[j+1] = math.Cos(a), math.Sin(a)
		j += 2
	}
}

func newDesign(n, h int, p periods, weekly bool, origins []int) *design {
	daily, wk := harmonicOrders(p, weekly)
	d := &design{p: p, weekly: weekly, daily: daily, wk: wk, cols: 2 + 2*len(daily) + 2*len(wk), origins: origins}
	c := d.cols
	// Rows past the end serve the final forecast.
	d.x = make([]float64, (n+h)*c)
	for t := 0; t < n+h; t++ {
		d.row(t, d.x[t*c:(t+1)*c])
	}
	acc := make([]float64, c*c)
	d.inv = make([][]float64, len(origins))
	t := 0
	for i, o := range origins {
		for ; t < o; t++ {
			r := d.x[t*c : (t+1)*c]
			for a := 0; a < c; a++ {
				ra := r[a]
				row := acc[a*c : a*c+c]
				for b := a; b < c; b++ {
					row[b] += ra * r[b]
				}
			}
		}
		m := make([]float64, c*c)
		copy(m, acc)
		for a := 0; a < c; a++ {
			for b := a + 1; b < c; b++ {
				m[b*c+a] = m[a*c+b]
			}
		}
		d.inv[i] = invertSym(m, c)
	}
	return d
}

// invertSym returns the inverse of the symmetric c × c matrix a plus a tiny ridge (it keeps
// the solve defined when a short history makes columns collinear), nil when it is not
// positive definite.
func invertSym(a []float64, c int) []float64 {
	tr := 0.0
	for j := 0; j < c; j++ {
		tr += a[j*c+j]
	}
	for j := 0; j < c; j++ {
		a[j*c+j] += 1e-10 * tr / float64(c)
	}
	var chol mat.Cholesky
	if ok := chol.Factorize(mat.NewSymDense(c, a)); !ok {
		return nil
	}
	var inv mat.SymDense
	if err := chol.InverseTo(&inv); err != nil {
		return nil
	}
	out := make([]float64, c*c)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			out[i*c+j] = inv.At(i, j)
		}
	}
	return out
}

// rows is the design's rows [from, to) as a BLAS matrix.
func (d *design) rows(from, to int) blas64.General {
	return blas64.General{Rows: to - from, Cols: d.cols, Stride: d.cols, Data: d.x[from*d.cols : to*d.cols]}
}

// A decision whose history is scaled by f and moved by c before index s fits
// X'(y + ((f−1)·y + c)·1[t<s]) = X'y + (f−1)·X[:s]'y[:s] + c·Σ_{t<s} x_t: the shared X'y plus
// the prefix's own and a column sum of the design, no second pass over the whole of y.
func runHarmonic(y []float64, adj []levelAdj, p periods, weekly bool, origins []int, h int) [][]float64 {
	d := designs.get(len(y), h, p, weekly, origins)
	c := d.cols
	out := make([][]float64, len(origins))
	xty := make([]float64, c)
	bv := make([]float64, c)
	xtyV := blas64.Vector{N: c, Inc: 1, Data: xty}
	bvV := blas64.Vector{N: c, Inc: 1, Data: bv}
	arWin := p.D
	xtyAdj := make([]float64, c)
	var ones []float64
	t := 0
	for i, o := range origins {
		if o > t {
			// xty += X[t:o]'·y[t:o], in one BLAS call (the hot loop of the harmonic models).
			blas64.Gemv(blas.Trans, 1, d.rows(t, o), blas64.Vector{N: o - t, Inc: 1, Data: y[t:o]}, 1, xtyV)
			t = o
		}
		inv := d.inv[i]
		if inv == nil {
			continue
		}
		rhs := xty
		sh := adjOf(adj, i)
		if sh.at > 0 {
			if len(ones) < sh.at {
				ones = make([]float64, len(y))
				for t := range ones {
					ones[t] = 1
				}
			}
			copy(xtyAdj, xty)
			if sh.by != 0 {
				blas64.Gemv(blas.Trans, sh.by, d.rows(0, sh.at), blas64.Vector{N: sh.at, Inc: 1, Data: ones[:sh.at]}, 1,
					blas64.Vector{N: c, Inc: 1, Data: xtyAdj})
			}
			if f := sh.factor(); f != 1 { // X'y over the history before the shift, once more times f−1
				blas64.Gemv(blas.Trans, f-1, d.rows(0, sh.at), blas64.Vector{N: sh.at, Inc: 1, Data: y[:sh.at]}, 1,
					blas64.Vector{N: c, Inc: 1, Data: xtyAdj})
			}
			rhs = xtyAdj
		}
		for a := range bv {
			row := inv[a*c : (a+1)*c]
			v := 0.0
			for j, x := range row {
				v += x * rhs[j]
			}
			bv[a] = v
		}
		// Residuals of the last day before the origin drive the AR(1) correction.
		lo := max(0, o-arWin)
		res := make([]float64, o-lo)
		for t := lo; t < o; t++ {
			res[t-lo] = sh.value(y, t)
		}
		if o > lo {
			blas64.Gemv(blas.NoTrans, -1, d.rows(lo, o), bvV, 1, blas64.Vector{N: o - lo, Inc: 1, Data: res})
		}
		phi := arPhi(res, d.p)
		e := 0.0
		if len(res) > 0 {
			e = res[len(res)-1]
		}
		f := make([]float64, h)
		blas64.Gemv(blas.NoTrans, 1, d.rows(o, o+h), bvV, 0, blas64.Vector{N: h, Inc: 1, Data: f})
		pk := phi
		for k := range f {
			f[k] += pk * e
			pk *= phi
		}
		out[i] = f
	}
	return out
}
