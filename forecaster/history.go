package forecaster

import (
	"context"
	"fmt"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

// PromHistory reads history and current load from Prometheus with the service's query.
type PromHistory struct {
	Client *promquery.Client
}

var (
	_ HistorySource = PromHistory{}
	_ LoadSource    = PromHistory{}
)

// Range returns svc's load on the grid start..end at step; missing points are NaN.
func (p PromHistory) Range(ctx context.Context, svc scaling.ManagedService, start, end time.Time, step time.Duration) (forecast.Series, error) {
	s, err := p.Client.QueryRangeOne(ctx, svc.Query, start, end, step)
	if err != nil {
		return forecast.Series{}, fmt.Errorf("history of %s: %w", svc.Name, err)
	}
	return s.Grid(start, end, step), nil
}

// Current returns svc's load at at (an instant query).
func (p PromHistory) Current(ctx context.Context, svc scaling.ManagedService, at time.Time) (float64, error) {
	s, err := p.Client.QueryOne(ctx, svc.Query, at)
	if err != nil {
		return 0, fmt.Errorf("current load of %s: %w", svc.Name, err)
	}
	return s.V, nil
}
