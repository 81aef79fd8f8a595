// HPA events: a timeline filtered by type and service, each with its trigger metric against
// its threshold, and the effectiveness of scaling per service over a chosen window.
import { h, replace, fmtTime, fmtNum, badge, table } from "./dom.js";
import { get, enc } from "./api.js";
import { services, EVENT_TYPES, serviceLink } from "./util.js";

const WINDOWS = ["1h", "6h", "24h", "168h"];
const state = { types: new Set(EVENT_TYPES), service: "", window: "24h" };

function eventItem(e) {
  const hasTrigger = typeof e.triggerValue === "number" && typeof e.triggerThreshold === "number" && e.triggerThreshold > 0;
  const max = hasTrigger ? Math.max(e.triggerValue, e.triggerThreshold) * 1.25 : 1;
  return h("li", { "data-type": e.eventType },
    h("span", {}, fmtTime(e.timestamp)),
    h("span", {}, h("a", { href: serviceLink(e.service) }, e.service)),
    h("span", {}, badge(e.eventType)),
    h("span", {},
      `${e.currentReplicas} → ${e.desiredReplicas}`, e.actualReplicas != null ? ` (reached ${e.actualReplicas})` : "",
      e.outcome ? [" ", badge(e.outcome)] : null,
      e.triggerMetric ? h("div", {},
        `${e.triggerMetric}: ${fmtNum(e.triggerValue)} vs threshold ${fmtNum(e.triggerThreshold)} `,
        hasTrigger ? h("meter", { min: 0, max, value: e.triggerValue, high: e.triggerThreshold, optimum: 0,
          "aria-label": `${e.triggerMetric} value against threshold` }) : null) : null,
      e.reason ? h("div", { class: "muted reason" }, e.reason) : null));
}

export async function render(main) {
  const svcs = await services();
  const q = new URLSearchParams({ limit: "200" });
  if (state.types.size < EVENT_TYPES.length) q.set("type", [...state.types].join(","));
  const path = state.service ? `/api/hpa-events/${enc(state.service)}` : "/api/hpa-events";
  const noneChecked = state.types.size === 0;
  const [evs, effs] = await Promise.all([
    noneChecked ? { events: [] } : get(`${path}?${q}`),
    Promise.all(svcs.map((s) => get(`/api/hpa-events/${enc(s.service)}/effectiveness?window=${state.window}`))),
  ]);
  // A filter change redraws the page in place; aria-busy tells assistive technology (and
  // the browser test) when the new list is there.
  const rerender = () => {
    main.setAttribute("aria-busy", "true");
    render(main).finally(() => main.setAttribute("aria-busy", "false"));
  };
  const filters = h("form", { class: "panel row", id: "event-filters", "aria-label": "Filters" },
    h("fieldset", {}, h("legend", {}, "Types"),
      EVENT_TYPES.map((t) => [
        h("input", { type: "checkbox", id: `type-${t}`, name: "type", value: t, checked: state.types.has(t),
          onchange: (ev) => { ev.target.checked ? state.types.add(t) : state.types.delete(t); rerender(); } }),
        h("label", { for: `type-${t}` }, ` ${t} `)])),
    h("div", { class: "field" }, h("label", { for: "event-service" }, "Service"),
      h("select", { id: "event-service", onchange: (ev) => { state.service = ev.target.value; rerender(); } },
        h("option", { value: "" }, "All services"),
        svcs.map((s) => h("option", { value: s.service, selected: s.service === state.service }, s.service)))),
    h("div", { class: "field" }, h("label", { for: "eff-window" }, "Effectiveness window"),
      h("select", { id: "eff-window", onchange: (ev) => { state.window = ev.target.value; rerender(); } },
        WINDOWS.map((w) => h("option", { value: w, selected: w === state.window }, w)))));
  filters.addEventListener("submit", (ev) => ev.preventDefault());
  const focused = document.activeElement && document.activeElement.id;
  replace(main,
    h("h1", {}, "HPA events"),
    filters,
    h("h2", {}, "Effectiveness"),
    table("Effectiveness per service", ["Service", "Window", "Effective", "Scaling events", "Effective / ineffective / pending"],
      effs.map((r) => h("tr", {},
        h("th", { scope: "row" }, r.service), h("td", {}, r.window || state.window),
        h("td", { class: "num" }, r.effectiveness == null ? "—" : `${Math.round(r.effectiveness * 100)} %`),
        h("td", { class: "num" }, r.scalingEvents ?? 0),
        h("td", {}, `${r.effective ?? 0} / ${r.ineffective ?? 0} / ${r.pending ?? 0}`)))),
    h("h2", {}, `Timeline (${evs.events.length} newest)`),
    evs.events.length === 0 ? h("p", { class: "muted" }, "No events match.") :
      h("ol", { class: "timeline", id: "timeline" }, evs.events.map(eventItem)));
  // Keep keyboard focus on the filter that was just changed.
  if (focused) main.querySelector(`#${focused}`)?.focus();
}
