// Package scaling holds the records of the feature document (load patterns, predictions,
// scaling dependencies, HPA events, managed services) and the pure checks on them.
//
// It does no I/O: the store persists these records, the api decodes and encodes them, and
// the forecaster, actuator and HPA event deriver produce and consume them. JSON names are
// the contract of the seed document (camelCase, times in Unix milliseconds).
package scaling
