// Overview: every managed service with its floor and the reason that won, forecast health,
// the HPA's replicas and its last event.
import { h, replace, fmtTime, fmtAgo, fmtNum, badge, table } from "./dom.js";
import { get, enc } from "./api.js";
import { services, clusterNow, serviceLink } from "./util.js";

async function serviceRow(s, runs, now) {
  const name = enc(s.service);
  const [floors, preds, evs] = await Promise.all([
    get(`/api/predictive-scaling/floors/${name}?limit=1`),
    get(`/api/predictive-scaling/predictions?service=${name}&limit=1&points=false`),
    get(`/api/hpa-events/${name}?limit=1`),
  ]);
  const dec = floors.decisions[0];
  const pred = preds.predictions[0];
  const ev = evs.events[0];
  const run = runs.find((r) => !r.service || r.service === s.service);
  const result = run && run.results.find((x) => x.service === s.service);
  const hpa = s.hpa;
  const floor = hpa ? hpa.minReplicas : dec ? dec.to : null;
  const stale = pred ? pred.validUntil < now : true;
  // data-label names each cell where the phone layout stacks a row as a card.
  const cell = (label, num, ...content) => h("td", { class: num ? "num" : null, "data-label": label }, h("span", {}, ...content));
  return h("tr", { "data-service": s.service },
    h("th", { scope: "row" }, h("a", { href: serviceLink(s.service) }, s.service),
      s.namespace ? h("div", { class: "muted" }, s.namespace) : null),
    cell("Floor", true, floor ?? "—"),
    cell("Floor reason", false, dec ? h("span", { title: dec.summary }, dec.reason) : h("span", { class: "muted" }, "base (no change recorded)")),
    cell("Last run", false, run ? [badge((result && result.state) || run.state), " ", h("span", { class: "muted" }, fmtAgo(run.finishedAt || run.queuedAt, now))] : "—"),
    cell("Model", false, pred ? pred.model : "—"),
    cell("MASE", true, pred ? fmtNum(pred.backtestMase) : "—"),
    cell("Coverage", true, pred && typeof pred.backtestCoverage === "number" ? `${Math.round(pred.backtestCoverage * 100)} %` : "—"),
    cell("Forecast", false, pred ? badge(stale ? "stale" : "fresh") : badge("stale")),
    cell("Current", true, hpa ? hpa.currentReplicas : "—"),
    cell("Desired", true, hpa ? hpa.desiredReplicas : "—"),
    cell("Max", true, hpa ? hpa.maxReplicas : h("span", { class: "muted", title: s.error || "" }, "—")),
    cell("Last event", false, ev ? [badge(ev.eventType), " ", h("span", { class: "muted" }, fmtAgo(ev.timestamp, now))] : "—"));
}

export async function render(main) {
  const [svcs, runs] = await Promise.all([services(), get("/api/predictive-scaling/runs?limit=50")]);
  const now = clusterNow(svcs);
  const rows = await Promise.all(svcs.map((s) => serviceRow(s, runs.runs, now)));
  replace(main,
    h("h1", {}, "Overview"),
    h("p", { class: "muted" }, `${svcs.length} managed services · cluster time ${fmtTime(now)}`),
    rows.length === 0 ? h("p", {}, "No managed services (SERVICES_FILE).") :
      table("Managed services", ["Service", h("th", { scope: "col", class: "num" }, "Floor"), "Floor reason", "Last run", "Model",
        h("th", { scope: "col", class: "num" }, "MASE"), h("th", { scope: "col", class: "num" }, "Coverage"), "Forecast",
        h("th", { scope: "col", class: "num" }, "Current"), h("th", { scope: "col", class: "num" }, "Desired"),
        h("th", { scope: "col", class: "num" }, "Max"), "Last event"], rows, "stack"));
}
