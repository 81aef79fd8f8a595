// Package actuator turns load patterns, predictions, scheduled overrides and scaling
// dependencies into one replica floor per service and writes it to the cluster: HPA
// spec.minReplicas, or the scale subresource of a target without an HPA. Planning is a pure
// function over plain values; the cluster is reached through the Cluster interface (client-go
// adapter, or the simulator). Each floor change (in dry-run, each would-be change) is logged
// once and kept in the decision record (FloorRecord); in dry-run the actuator also keeps the
// shadow counterfactual (AddShadowInterval): what the would-be floors would have saved and
// cost against what the HPA did.
package actuator
