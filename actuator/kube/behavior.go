package kube

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kai-platform/kai-scaler/actuator"
)

// The API server's bounds on HPAScalingRules (pkg/apis/autoscaling/validation).
const (
	maxStabilizationWindowSeconds = 3600
	maxPolicyPeriodSeconds        = 1800
)

// BehaviorOf is an HPA's spec.behavior as plain values. A nil behavior is Unset (the HPA
// controller's older path); a nil direction or field is the default; an explicit window or
// tolerance of 0 is none, which actuator.ScalingRules spells as negative. The API server has
// validated what it serves; a manifest read from a file has not, and gets an error naming the
// field at fault (e.g. "behavior.scaleDown.policies[0].periodSeconds").
func BehaviorOf(b *autoscalingv2.HorizontalPodAutoscalerBehavior) (actuator.Behavior, error) {
	if b == nil {
		return actuator.Behavior{Unset: true}, nil
	}
	up, err := rulesOf("behavior.scaleUp", b.ScaleUp)
	if err != nil {
		return actuator.Behavior{}, err
	}
	down, err := rulesOf("behavior.scaleDown", b.ScaleDown)
	if err != nil {
		return actuator.Behavior{}, err
	}
	return actuator.Behavior{ScaleUp: up, ScaleDown: down}, nil
}

func rulesOf(field string, r *autoscalingv2.HPAScalingRules) (actuator.ScalingRules, error) {
	var out actuator.ScalingRules
	if r == nil {
		return out, nil
	}
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 || *w > maxStabilizationWindowSeconds {
			return out, fmt.Errorf("%s.stabilizationWindowSeconds: %d must be 0 to %d", field, *w, maxStabilizationWindowSeconds)
		}
		out.StabilizationWindow = time.Duration(*w) * time.Second
		if *w == 0 {
			out.StabilizationWindow = -1
		}
	}
	if p := r.SelectPolicy; p != nil {
		switch *p {
		case autoscalingv2.MaxChangePolicySelect:
			out.Select = actuator.SelectMax
		case autoscalingv2.MinChangePolicySelect:
			out.Select = actuator.SelectMin
		case autoscalingv2.DisabledPolicySelect:
			out.Select = actuator.SelectDisabled
		default:
			return out, fmt.Errorf("%s.selectPolicy: %q must be Max, Min or Disabled", field, *p)
		}
	}
	if r.Policies != nil {
		if len(r.Policies) == 0 {
			// The API server refuses it whatever the selectPolicy.
			return out, fmt.Errorf("%s.policies: empty, must hold at least one policy; leave it out for the defaults", field)
		}
		out.Policies = make([]actuator.ScalingPolicy, 0, len(r.Policies))
	}
	for i, p := range r.Policies {
		at := fmt.Sprintf("%s.policies[%d]", field, i)
		var percent bool
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
		case autoscalingv2.PercentScalingPolicy:
			percent = true
		default:
			return out, fmt.Errorf("%s.type: %q must be Pods or Percent", at, p.Type)
		}
		if p.Value <= 0 {
			return out, fmt.Errorf("%s.value: %d must be more than 0", at, p.Value)
		}
		if p.PeriodSeconds <= 0 || p.PeriodSeconds > maxPolicyPeriodSeconds {
			return out, fmt.Errorf("%s.periodSeconds: %d must be 1 to %d", at, p.PeriodSeconds, maxPolicyPeriodSeconds)
		}
		out.Policies = append(out.Policies, actuator.ScalingPolicy{Percent: percent, Value: p.Value, Period: time.Duration(p.PeriodSeconds) * time.Second})
	}
	if t := r.Tolerance; t != nil {
		v := t.AsApproximateFloat64()
		if !(v >= 0) {
			return out, fmt.Errorf("%s.tolerance: %s must be 0 or more (a share of the target: 0.05 is 5%%)", field, t.String())
		}
		out.Tolerance = v
		if v == 0 {
			out.Tolerance = -1
		}
	}
	return out, nil
}
