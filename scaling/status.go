package scaling

// ServiceStatus is one managed service as observed now: what the admin page's overview
// shows beside the stored records (floors, predictions, events).
type ServiceStatus struct {
	Service   string `json:"service"`
	Namespace string `json:"namespace,omitempty"`
	// HPA is the service's HPA (or scale target) as observed; nil when it could not be
	// observed, and Error then says why.
	HPA   *HPAStatus `json:"hpa"`
	Error string     `json:"error,omitempty"`
}

// HPAStatus is an HPA's bounds and status at ObservedAt.
type HPAStatus struct {
	Name            string `json:"name,omitempty"`
	MinReplicas     int32  `json:"minReplicas"`
	BaseMinReplicas int32  `json:"baseMinReplicas"`
	MaxReplicas     int32  `json:"maxReplicas"`
	CurrentReplicas int32  `json:"currentReplicas"`
	DesiredReplicas int32  `json:"desiredReplicas"`
	// ObservedAt is Unix milliseconds.
	ObservedAt int64 `json:"observedAt"`
}

// LoadPoint is one sample of a service's actual load; Load is nil where the history has a gap.
type LoadPoint struct {
	Timestamp int64    `json:"timestamp"`
	Load      *float64 `json:"load"`
}
