// Package api is kai-scaler's REST API: the endpoints of the feature document (load patterns,
// predictions, scaling dependencies, HPA events and effectiveness) plus forecast runs, the
// dashboard list and the OpenAPI document, with bearer-token auth, CORS, JSON errors and
// request metrics.
//
// It decides nothing about scaling: it validates input with the scaling package, reads and
// writes records through the narrow Store it declares (store.Store provides it), and asks a ForecastTrigger to start forecast runs.
// Every handler is a func(*http.Request) (any, error) behind one wrapper that writes the
// success body or maps the error to its status and a {"error": ..., "field": ...} body.
package api
