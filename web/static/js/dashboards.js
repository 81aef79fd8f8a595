// Grafana dashboards, embedded from /api/dashboards (kiosk links), for every service or, at
// #/dashboards/NAME, narrowed to one through each dashboard's selects. The CSP allows frames
// from GRAFANA_URL's origin only.
import { h, replace } from "./dom.js";
import { get, enc } from "./api.js";
import { services, serviceLink } from "./util.js";

// The value of a managed service's field named by a dashboard's selects; undefined where the
// server does not know it (an HPA not observed).
function fieldOf(svc, field) {
  switch (field) {
    case "service": return svc.service;
    case "namespace": return svc.namespace || undefined;
    case "hpa": return (svc.hpa && svc.hpa.name) || undefined;
    default: return undefined;
  }
}

// narrowed is d's address showing svc alone, and a note where it cannot be narrowed fully.
// The parameters are appended as text: URLSearchParams would rewrite the bare "kiosk" as
// "kiosk=", which not every Grafana reads as kiosk mode.
function narrowed(d, svc) {
  if (!svc) return { url: d.url, note: null };
  const selects = Object.entries(d.selects || {});
  if (selects.length === 0) return { url: d.url, note: "Not narrowed to a service: this dashboard shows its own exporter's services." };
  const params = [], missing = [];
  for (const [param, field] of selects) {
    const v = fieldOf(svc, field);
    if (v === undefined) missing.push(field);
    else params.push(`${encodeURIComponent(param)}=${encodeURIComponent(v)}`);
  }
  const url = params.length === 0 ? d.url : d.url + (d.url.includes("?") ? "&" : "?") + params.join("&");
  return { url, note: missing.length ? `Not known on this server: ${missing.join(", ")} of ${svc.service}; that variable shows all.` : null };
}

export async function render(main, name) {
  const { dashboards } = await get("/api/dashboards");
  if (dashboards.length === 0) {
    replace(main,
      h("h1", {}, "Grafana dashboards"),
      h("div", { class: "panel", id: "no-grafana" },
        h("p", {}, "Grafana is not configured, so there is nothing to embed."),
        h("p", {}, "Set GRAFANA_URL (or --grafana.url) to your Grafana's address, for example ",
          h("code", {}, "GRAFANA_URL=https://grafana.example.com"), ", and restart kai-scaler. ",
          "Import the dashboards first (", h("code", {}, "kai-scaler dashboards --out DIR"), "), and let Grafana be embedded: ",
          h("code", {}, "[security] allow_embedding = true"), ".")));
    return;
  }
  // The dashboards stay embedded for every service when the services cannot be listed.
  let svcs = [], svcsErr = null;
  try {
    svcs = await services();
  } catch (e) {
    svcsErr = e;
  }
  const svc = name === undefined ? null : svcs.find((s) => s.service === name);
  const chooser = h("form", { class: "panel row", id: "dash-filters", "aria-label": "Service" },
    h("div", { class: "field" }, h("label", { for: "dash-service" }, "Service"),
      h("select", {
        id: "dash-service",
        onchange: (ev) => { location.hash = ev.target.value ? `#/dashboards/${enc(ev.target.value)}` : "#/dashboards"; },
      },
      h("option", { value: "", selected: !svc }, "All services"),
      svcs.map((s) => h("option", { value: s.service, selected: svc && s.service === svc.service }, s.service)))),
    svc ? h("p", {}, h("a", { href: serviceLink(svc.service) }, `${svc.service}'s page`)) : null);
  // Only http(s) links are framed or linked: anything else is shown as text.
  const safe = (u) => { try { return ["http:", "https:"].includes(new URL(u, location.href).protocol); } catch { return false; } };
  replace(main,
    h("h1", {}, svc ? `Grafana dashboards: ${svc.service}` : "Grafana dashboards"),
    chooser,
    svcsErr ? h("p", { class: "error", role: "alert" }, `The services could not be listed (${svcsErr.message}): showing every service.`) :
      name !== undefined && !svc ? h("p", { class: "error", role: "alert" }, `${name} is not a managed service on this server: showing every service.`) : null,
    dashboards.filter((d) => !safe(d.url)).map((d) => h("p", { class: "error" }, `Not embedded (not an http(s) URL): ${d.title} ${d.url}`)),
    dashboards.filter((d) => safe(d.url)).map((d) => {
      const { url, note } = narrowed(d, svc);
      return h("section", { "aria-label": d.title },
        h("h2", {}, d.title, " ", h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "open in Grafana")),
        note ? h("p", { class: "muted dash-note" }, note) : null,
        h("iframe", { class: "dash-frame", src: url, title: `Grafana dashboard: ${d.title}`, loading: "lazy",
          referrerpolicy: "no-referrer" }));
    }));
}
