// Package web serves kai-scaler's admin page: static HTML, CSS and ES modules embedded in the
// binary, which read and change everything through the REST API (/api). No build step: the
// files under static/ are what the browser gets. The chart library (uPlot) is vendored under
// static/vendor/uplot with its licence.
//
// Every answer carries a strict Content-Security-Policy (no inline script or style, requests
// to this origin only, frames only from the configured Grafana), so text from the API can
// never run as code even if a page slipped; the page also writes API text only as text.
package web
