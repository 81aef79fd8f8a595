package kube

import (
	"strconv"
	"time"
)

// Annotations kai-scaler keeps on the objects whose floor it changes (the HPA, or the scale
// target when there is no HPA). They live on the object itself so that a restart, a crash, a
// second replica or `kai-scaler restore` always knows the base.
const (
	// AnnotationBase is the floor before kai-scaler first touched the object.
	AnnotationBase = "kai-scaler.io/base-min-replicas"
	// AnnotationChangedAt is when kai-scaler last changed the floor (RFC3339).
	AnnotationChangedAt = "kai-scaler.io/floor-changed-at"
	// AnnotationApplied is the floor kai-scaler last wrote. A floor that differs from it was
	// changed by someone else since (see marks).
	AnnotationApplied = "kai-scaler.io/applied-min-replicas"
	// AnnotationMaxReplicas, on a scale target without an HPA, caps the replicas kai-scaler
	// may set (absent: no cap).
	AnnotationMaxReplicas = "kai-scaler.io/max-replicas"
)

// marks is what the annotations say about one object's floor.
type marks struct {
	// base is the floor to restore: the base annotation, the current floor when untouched,
	// or the current floor when someone else changed it since our last write (adopted).
	base    int32
	touched bool
	// adopted is true when the floor was changed by someone else since kai-scaler last wrote
	// it: their value becomes the base.
	adopted   bool
	changedAt time.Time
	// malformed names an annotation that could not be parsed (then base is the current floor).
	malformed string
}

// readMarks interprets the annotations of an object whose floor is cur.
//
// The rule for someone else's edit (a human, GitOps): when the floor differs from what
// kai-scaler last applied, the new value is taken as the base. kai-scaler therefore never
// lowers a floor below a value it did not write itself: a human who raised the floor from
// our 6 to 10 keeps 10 after the peak, and one who lowered it to 3 gets 3 back when the
// peak is over (while the peak lasts, the planner may raise it again above 3).
func readMarks(cur int32, ann map[string]string) marks {
	m := marks{base: cur}
	s, ok := ann[AnnotationBase]
	if !ok {
		return m
	}
	m.touched = true
	if b, err := strconv.ParseInt(s, 10, 32); err == nil && b >= 0 {
		m.base = int32(b)
	} else {
		// We cannot see the original floor: never go below the one in force.
		m.malformed = AnnotationBase
	}
	if s, ok := ann[AnnotationChangedAt]; ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			m.changedAt = t
		} else {
			m.malformed = AnnotationChangedAt
		}
	}
	if s, ok := ann[AnnotationApplied]; ok {
		if a, err := strconv.ParseInt(s, 10, 32); err == nil && int32(a) != cur {
			m.base, m.adopted = cur, true
		} else if err != nil {
			m.malformed = AnnotationApplied
			m.base = max(m.base, cur)
		}
	}
	return m
}

// write is one change to an object's floor and annotations.
type write struct {
	from, floor int32
	// annotations to set; a nil value removes the annotation.
	annotations map[string]*string
	// reason is the Kubernetes Event reason: FloorRaised, FloorLowered or FloorRestored.
	reason string
	// clamped says why floor differs from the floor asked for ("base" or "max"), if it does.
	clamped string
	adopted bool
}

// Event reasons.
const (
	ReasonRaised   = "FloorRaised"
	ReasonLowered  = "FloorLowered"
	ReasonRestored = "FloorRestored"
	// ReasonAdopted: someone else changed the floor; their value is the new base.
	ReasonAdopted = "BaseAdopted"
)

// planSet decides the write that sets floor on an object whose floor is cur, capped by
// maxReplicas (0 = no cap). ok is false when nothing needs writing. The floor never goes
// below the base (the planner clamps too; this guards the write itself).
//
// ceiling stands in for maxReplicas when the object has none (no HPA and no max annotation),
// so that no floor, however it was planned, reaches the scale subresource unbounded (issue
// 11, item 1); 0 means no ceiling.
func planSet(cur, maxReplicas, ceiling int32, ann map[string]string, floor int32, now time.Time) (w write, ok bool) {
	m := readMarks(cur, ann)
	if maxReplicas <= 0 && ceiling > 0 {
		maxReplicas = max(ceiling, m.base) // never below a base someone else set
	}
	w = write{from: cur, floor: floor, adopted: m.adopted}
	if w.floor < m.base {
		w.floor, w.clamped = m.base, "base"
	}
	if maxReplicas > 0 && w.floor > maxReplicas && maxReplicas >= m.base {
		w.floor, w.clamped = maxReplicas, "max"
	}
	if w.floor == cur && (!m.touched || !m.adopted) {
		return w, false
	}
	base := strconv.Itoa(int(m.base))
	applied := strconv.Itoa(int(w.floor))
	w.annotations = map[string]*string{AnnotationApplied: &applied}
	if !m.touched || m.adopted || m.malformed == AnnotationBase {
		// Set only when absent: the base is the floor before our first write. An adopted
		// value (someone else's edit) replaces it.
		w.annotations[AnnotationBase] = &base
	}
	switch {
	case w.floor > cur:
		w.reason = ReasonRaised
	case w.floor < cur:
		w.reason = ReasonLowered
	default:
		w.reason = ReasonAdopted
	}
	if w.floor != cur {
		at := now.UTC().Format(time.RFC3339)
		w.annotations[AnnotationChangedAt] = &at
	}
	return w, true
}

// planRestore decides the write that puts the base back on an object whose floor is cur and
// forgets it. ok is false when the object was never touched.
func planRestore(cur int32, ann map[string]string) (w write, ok bool) {
	m := readMarks(cur, ann)
	if !m.touched {
		return write{}, false
	}
	return write{
		from:    cur,
		floor:   m.base,
		adopted: m.adopted,
		reason:  ReasonRestored,
		annotations: map[string]*string{
			AnnotationBase: nil, AnnotationChangedAt: nil, AnnotationApplied: nil,
		},
	}, true
}
