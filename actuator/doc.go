// Package actuator turns load patterns, predictions and scaling dependencies into one
// replica floor per service and writes it to the cluster: HPA spec.minReplicas, or the scale
// subresource of a target without an HPA. Planning is a pure function over plain values; the
// cluster is reached through the Cluster interface (client-go adapter, or the simulator).
package actuator
