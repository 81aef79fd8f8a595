// One service: predicted vs actual load and floor vs replicas over the last and next day,
// the floor settings calibration chose and why, the load pattern as an editable hour-of-week
// grid, scheduled overrides, the floor's decision record, and "forecast now" following its
// run to the end.
import { h, replace, fmtTime, fmtAgo, fmtNum, badge, table } from "./dom.js";
import { get, post, del, enc, APIError } from "./api.js";
import { services, clusterNow } from "./util.js";
import { lineChart } from "./chart.js";

const DAY = 86400000;
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

// predictedSeries stitches the stored predictions: each one speaks from its fit until the
// next one was fitted (what was predicted at the time), the newest one to its end.
function predictedSeries(preds, from, to) {
  const asc = [...preds].sort((a, b) => a.fittedAt - b.fittedAt);
  const median = [], upper = [], floor = [];
  asc.forEach((p, i) => {
    const until = i + 1 < asc.length ? asc[i + 1].fittedAt : Infinity;
    for (const pt of p.points || []) {
      if (pt.timestamp < p.fittedAt || pt.timestamp >= until || pt.timestamp < from || pt.timestamp > to) continue;
      median.push([pt.timestamp, pt.expectedLoad]);
      upper.push([pt.timestamp, pt.upperLoad]);
      floor.push([pt.timestamp, pt.recommendedMinReplicas]);
    }
  });
  return { median, upper, floor };
}

// charts draws both charts, and the newest prediction's calibration into calibrationEl from the
// same predictions.
async function charts(el, calibrationEl, name, now, hpa) {
  const from = now - DAY, to = now + DAY;
  const [load, preds, decs, evs] = await Promise.all([
    get(`/api/predictive-scaling/load/${enc(name)}?since=${Math.floor(from)}&until=${Math.floor(now)}&step=5m`).catch((e) => {
      if (e.status === 503) return { points: [] };
      throw e;
    }),
    get(`/api/predictive-scaling/predictions?service=${enc(name)}&limit=48`),
    get(`/api/predictive-scaling/floors/${enc(name)}?since=${Math.floor(from)}&limit=1000`),
    get(`/api/hpa-events/${enc(name)}?since=${Math.floor(from)}&limit=1000`),
  ]);
  const newest = preds.predictions.reduce((a, b) => (a === null || b.fittedAt > a.fittedAt ? b : a), null);
  calibrationSection(calibrationEl, newest);
  const p = predictedSeries(preds.predictions, from, to);
  const actual = load.points.filter((x) => x.load !== null).map((x) => [x.timestamp, x.load]);
  const floors = decs.decisions.map((d) => [d.timestamp, d.to]);
  if (hpa) floors.push([now, hpa.minReplicas]);
  const replicas = evs.events.map((e) => [e.timestamp, e.currentReplicas]);
  if (hpa) replicas.push([now, hpa.currentReplicas]);
  const loadBox = h("div", { class: "chart", role: "img", "aria-label": `Load of ${name}: actual over the last day, predicted median and upper bound over the last and next day` });
  const floorBox = h("div", { class: "chart", role: "img", "aria-label": `Floor and replicas of ${name} over the last day, and the predicted floor for the next day` });
  replace(el,
    h("h2", {}, "Load and floor, last day and next day"),
    h("p", { class: "legend-note" }, `Dashed line: now (${fmtTime(now)}). ${actual.length} actual samples, ${p.median.length} predicted points, ${floors.length} floor changes, ${replicas.length} HPA events.`),
    loadBox, floorBox);
  const cleanups = await Promise.all([
    lineChart(loadBox, {
      title: "Load: predicted vs actual", yLabel: "load", nowMs: now, fromMs: from, toMs: to, series: [
        { label: "actual", points: actual, stroke: "#111827" },
        { label: "predicted median", points: p.median, stroke: "#2563eb" },
        { label: "predicted upper bound", points: p.upper, stroke: "#93c5fd", dash: [6, 4] },
      ],
    }),
    lineChart(floorBox, {
      title: "Floor vs replicas", yLabel: "replicas", nowMs: now, fromMs: from, toMs: to, series: [
        { label: "floor (minReplicas)", points: floors, stroke: "#b45309", stepped: true },
        { label: "replicas", points: replicas, stroke: "#047857", stepped: true },
        { label: "predicted floor", points: p.floor.filter((x) => x[0] >= now), stroke: "#f59e0b", dash: [6, 4], stepped: true },
      ],
    }),
  ]);
  return () => cleanups.forEach((c) => c());
}

// --- the pattern grid ---

function level(v) {
  return v === null || v === undefined || v === "" ? "l0" : `l${Math.min(10, Math.max(0, Math.round(Number(v) * 10)))}`;
}

function patternSection(el, name, pattern, onSaved) {
  const daily = pattern && pattern.patternType === "daily";
  const rows = daily ? [{ label: "Every day", day: null }] : DAYS.map((d, i) => ({ label: d, day: i }));
  const src = pattern ? pattern.source || "manual" : null;
  const value = new Map(); // "day:hour" -> load
  for (const w of (pattern && pattern.timeWindows) || []) value.set(`${daily ? "" : w.dayOfWeek}:${w.hourOfDay}`, w.expectedLoad);
  const inputs = [];
  const status = h("p", { role: "status", class: "muted" });
  const err = h("p", { role: "alert", class: "error" });
  const grid = h("table", { class: "grid", id: "pattern-grid" },
    h("caption", { class: "sr-only" }, "Expected load by hour (fraction of full capacity, 0 to 1; empty = no window)"),
    h("thead", {}, h("tr", {}, h("td", {}), [...Array(24).keys()].map((hr) => h("th", { scope: "col" }, String(hr).padStart(2, "0"))))),
    h("tbody", {}, rows.map((r) => h("tr", {},
      h("th", { scope: "row" }, r.label),
      [...Array(24).keys()].map((hr) => {
        const k = `${r.day ?? ""}:${hr}`;
        const v = value.get(k);
        const input = h("input", {
          type: "number", min: 0, max: 1, step: 0.05, inputmode: "decimal",
          value: v === undefined ? "" : v.toFixed(2), "data-orig": v ?? "", "aria-label": `${r.label} ${String(hr).padStart(2, "0")}:00 expected load`,
          class: `${level(v)} ${v !== undefined ? src : ""}`, "data-day": r.day ?? "", "data-hour": hr,
          onchange: (ev) => {
            ev.target.className = `${level(ev.target.value)} edited`;
            status.textContent = "Unsaved changes.";
          },
        });
        inputs.push(input);
        return h("td", {}, input);
      })))));
  const save = async () => {
    err.textContent = "";
    const windows = [];
    for (const i of inputs) {
      // An untouched cell keeps its stored value: the grid shows it rounded to 2 places.
      const raw = i.classList.contains("edited") ? i.value : i.dataset.orig;
      if (raw === "") continue;
      const w = { hourOfDay: Number(i.dataset.hour), expectedLoad: Number(raw) };
      if (!daily) w.dayOfWeek = Number(i.dataset.day);
      windows.push(w);
    }
    const body = { patternType: daily ? "daily" : "weekly", timeWindows: windows };
    if (pattern && pattern.timezone) body.timezone = pattern.timezone;
    try {
      await post(`/api/predictive-scaling/patterns/${enc(name)}`, body);
      status.textContent = `Saved ${windows.length} windows as a manual pattern.`;
      await onSaved(status.textContent);
    } catch (e) {
      err.textContent = `Not saved: ${e.message}${e.field ? ` (${e.field})` : ""}`;
    }
  };
  const remove = async () => {
    err.textContent = "";
    try {
      await del(`/api/predictive-scaling/patterns/${enc(name)}`);
      await onSaved("Manual pattern deleted: the next forecast run derives one.");
    } catch (e) {
      err.textContent = `Not deleted: ${e.message}`;
    }
  };
  replace(el,
    h("h2", {}, "Load pattern"),
    h("p", {}, pattern
      ? [badge(src), ` ${pattern.patternType} pattern, ${pattern.timeWindows.length} windows, hours in ${pattern.timezone || "UTC"}, updated ${fmtTime(pattern.lastUpdated)}. `,
        src === "derived" ? "Derived windows (dashed) come from the forecaster and set floors only while no prediction is in force (the prediction is the finer form of the same forecast); saving makes the pattern manual, and the forecaster then leaves it alone." :
          "Manual windows (solid border) are kept: the forecaster never overwrites a manual pattern."]
      : "No pattern yet. Fill in hours and save to create a manual one."),
    h("div", { class: "grid-wrap" }, grid),
    h("div", { class: "row" },
      h("button", { type: "button", id: "pattern-save", onclick: save }, "Save pattern"),
      src === "manual" ? h("button", { type: "button", class: "danger", id: "pattern-delete", onclick: remove }, "Delete manual pattern") : null),
    status, err);
}

// --- forecast now ---

function forecastSection(el, name, onDone) {
  const status = h("p", { role: "status", id: "forecast-status" });
  const button = h("button", { type: "button", id: "forecast-now" }, "Forecast now");
  let timer = null;
  const follow = async (id) => {
    const run = await get(`/api/predictive-scaling/runs/${enc(id)}`);
    const res = run.results.find((r) => r.service === name);
    status.replaceChildren(`Run ${run.id}: `, badge(run.state),
      res ? ` ${res.model || ""} ${res.durationMs ? `(${res.durationMs} ms)` : ""}${res.error ? ` — ${res.error}` : ""}` : "");
    if (run.state === "queued" || run.state === "running") {
      timer = setTimeout(() => follow(id).catch(fail), 500);
      return;
    }
    status.dataset.state = run.state;
    button.disabled = false;
    await onDone();
  };
  const fail = (e) => {
    button.disabled = false;
    status.replaceChildren(h("span", { class: "error" }, `Forecast not started: ${e.message}`));
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.dataset.state = "";
    status.textContent = "Starting…";
    try {
      const acc = await post(`/api/predictive-scaling/forecast/${enc(name)}`);
      await follow(acc.runId);
    } catch (e) {
      fail(e instanceof APIError && e.status === 409 ? new Error("a run is already in progress; try again in a moment") : e);
    }
  });
  replace(el, h("div", { class: "row" }, button), status);
  return () => clearTimeout(timer);
}

// calibrationSection shows how the planner turns the newest prediction into a floor: the
// settings calibration chose on the service's replayed history, and why.
function calibrationSection(el, pred) {
  const cal = pred && pred.calibration;
  replace(el, h("h2", {}, "Floor calibration"),
    !pred ? h("p", { class: "muted" }, "No prediction yet.") :
      !cal ? h("p", { class: "muted" }, `The prediction fitted ${fmtTime(pred.fittedAt)} carries no calibration: the planner's defaults apply.`) :
        h("p", { id: "calibration-reason" }, `Prediction fitted ${fmtTime(pred.fittedAt)} (${pred.model}): `,
          h("span", { class: "reason" }, cal.reason)));
}

function overridesSection(el, list) {
  replace(el, h("h2", {}, "Scheduled overrides"),
    list.length === 0 ? h("p", { class: "muted" }, "None scheduled (POST /api/predictive-scaling/overrides/{service}).") :
      table("Scheduled overrides", ["Start", "End", "Floor", "Reason"], list.map((o) => h("tr", {},
        h("td", {}, fmtTime(Date.parse(o.start))), h("td", {}, fmtTime(Date.parse(o.end))),
        h("td", {}, o.minReplicas ? `${o.minReplicas} replicas` : `${Math.round(o.expectedLoad * 100)} % of max`),
        h("td", { class: "reason" }, o.reason)))));
}

function decisionsSection(el, list) {
  replace(el, h("h2", {}, "Floor decision record"),
    list.length === 0 ? h("p", { class: "muted" }, "No floor change recorded yet.") :
      table("Floor decisions, newest first", ["Time", "Floor", "Reason", "Contributions", "Summary"], list.map((d) => h("tr", {},
        h("td", {}, fmtTime(d.timestamp), d.dryRun ? [" ", badge("dry run", "stale")] : null),
        h("td", { class: "num" }, `${d.from} → ${d.to}`),
        h("td", { class: "reason" }, d.reason),
        h("td", {}, h("ul", { class: "contribs" }, d.contributions.map((c) =>
          h("li", {}, `${c.source}: ${c.floor}`, c.detail ? h("span", { class: "muted" }, ` (${c.detail})`) : null)))),
        h("td", { class: "summary" }, d.summary)))));
}

export async function render(main, name) {
  const svcs = await services();
  const svc = svcs.find((s) => s.service === name);
  if (!svc) {
    replace(main, h("h1", {}, name), h("p", {}, "Not a managed service on this server. ", h("a", { href: "#/" }, "Back to the overview")));
    return null;
  }
  const now = clusterNow(svcs);
  const hpa = svc && svc.hpa;
  const chartBox = h("section", { "aria-label": "Charts" });
  const forecastBox = h("section", { "aria-label": "Forecast now" });
  const patternBox = h("section", { "aria-label": "Load pattern" });
  const calibrationBox = h("section", { "aria-label": "Floor calibration" });
  const overridesBox = h("section", { "aria-label": "Overrides" });
  const decisionsBox = h("section", { "aria-label": "Decision record" });
  replace(main,
    h("p", {}, h("a", { href: "#/" }, "← Overview"), " · ", h("a", { href: `#/dashboards/${enc(name)}`, id: "service-dashboards" }, "Grafana dashboards")),
    h("h1", {}, name),
    h("p", { class: "muted" }, hpa
      ? `HPA ${hpa.name || "(none)"}: ${hpa.currentReplicas} current, ${hpa.desiredReplicas} desired, floor ${hpa.minReplicas} (base ${hpa.baseMinReplicas}), max ${hpa.maxReplicas}; observed ${fmtAgo(hpa.observedAt, now)}.`
      : svc.error || ""),
    forecastBox, chartBox, calibrationBox, patternBox, overridesBox, decisionsBox);
  let chartCleanup = null;
  const refreshRecords = async () => {
    const [pats, ovs, decs] = await Promise.all([
      get("/api/predictive-scaling/patterns?limit=1000"),
      get(`/api/predictive-scaling/overrides/${enc(name)}?limit=1000`),
      get(`/api/predictive-scaling/floors/${enc(name)}?limit=20`),
    ]);
    const pattern = pats.patterns.find((p) => p.service === name) || null;
    patternSection(patternBox, name, pattern, async (msg) => {
      await refreshRecords();
      patternBox.querySelector("[role=status]").textContent = msg;
    });
    overridesSection(overridesBox, ovs.overrides);
    decisionsSection(decisionsBox, decs.decisions);
  };
  const redrawCharts = async () => {
    if (chartCleanup) chartCleanup();
    chartCleanup = await charts(chartBox, calibrationBox, name, now, hpa);
  };
  const stopFollow = forecastSection(forecastBox, name, () => Promise.all([redrawCharts(), refreshRecords()]));
  await Promise.all([refreshRecords(), redrawCharts()]);
  return () => {
    stopFollow();
    if (chartCleanup) chartCleanup();
  };
}
