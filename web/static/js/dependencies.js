// Scaling dependencies: the table, with create, enable, disable and delete. The API refuses
// a dependency that would close a cycle (409); the message is shown beside the form.
import { h, replace, fmtTime, badge, table } from "./dom.js";
import { get, post, del, enc } from "./api.js";
import { services } from "./util.js";

const PARAM = { proportional: ["ratio", "Ratio", 0.5], fixed: ["replicas", "Replicas", 2], minimum: ["minReplicas", "Min replicas", 2] };

function paramText(d) {
  if (d.dependencyType === "proportional") return `ratio ${d.ratio}`;
  if (d.dependencyType === "fixed") return `${d.replicas} replicas`;
  return `at least ${d.minReplicas}`;
}

export async function render(main) {
  const [list, svcs] = await Promise.all([get("/api/scaling-dependencies?limit=1000"), services()]);
  const status = h("p", { role: "status", class: "muted", id: "dep-status" });
  const err = h("p", { role: "alert", class: "error", id: "dep-error" });
  const reload = async (msg) => {
    await render(main);
    main.querySelector("#dep-status").textContent = msg;
  };
  const act = async (what, fn) => {
    err.textContent = "";
    try {
      await fn();
      await reload(what);
    } catch (e) {
      err.textContent = `${what} failed: ${e.message}`;
    }
  };
  const rows = list.dependencies.map((d) => {
    const path = `/api/scaling-dependencies/${enc(d.sourceService)}/${enc(d.targetService)}`;
    const label = `${d.sourceService} → ${d.targetService}`;
    return h("tr", { "data-dep": `${d.sourceService}/${d.targetService}` },
      h("td", {}, d.sourceService), h("td", {}, d.targetService), h("td", {}, d.dependencyType), h("td", {}, paramText(d)),
      h("td", {}, badge(d.enabled ? "enabled" : "disabled", d.enabled ? "fresh" : "stale")),
      h("td", {}, fmtTime(d.lastUpdated)),
      h("td", { class: "row" },
        h("button", {
          type: "button", class: "secondary", "aria-label": `${d.enabled ? "Disable" : "Enable"} ${label}`,
          onclick: () => act(`${d.enabled ? "Disabled" : "Enabled"} ${label}`, () => post(`${path}/${d.enabled ? "disable" : "enable"}`)),
        }, d.enabled ? "Disable" : "Enable"),
        h("button", {
          type: "button", class: "danger", "aria-label": `Delete ${label}`,
          onclick: () => act(`Deleted ${label}`, () => del(path)),
        }, "Delete")));
  });
  const typeSel = h("select", { id: "dep-type", name: "dependencyType" },
    Object.keys(PARAM).map((t) => h("option", { value: t }, t)));
  const paramLabel = h("label", { for: "dep-param" }, PARAM.proportional[1]);
  const paramInput = h("input", { id: "dep-param", name: "param", type: "number", min: 0, step: "any", value: PARAM.proportional[2], required: true });
  typeSel.addEventListener("change", () => {
    const [, label, def] = PARAM[typeSel.value];
    paramLabel.textContent = label;
    paramInput.value = def;
  });
  const names = h("datalist", { id: "dep-services" }, svcs.map((s) => h("option", { value: s.service })));
  const form = h("form", { id: "dep-form", class: "panel", "aria-labelledby": "dep-form-title" },
    h("h2", { id: "dep-form-title" }, "Create or replace a dependency"),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "dep-source" }, "Source service"),
        h("input", { id: "dep-source", name: "source", list: "dep-services", required: true, autocomplete: "off" })),
      h("div", { class: "field" }, h("label", { for: "dep-target" }, "Target service"),
        h("input", { id: "dep-target", name: "target", list: "dep-services", required: true, autocomplete: "off" })),
      h("div", { class: "field" }, h("label", { for: "dep-type" }, "Type"), typeSel),
      h("div", { class: "field" }, paramLabel, paramInput),
      h("div", { class: "field" }, h("label", { for: "dep-enabled" }, "Enabled"),
        h("input", { id: "dep-enabled", name: "enabled", type: "checkbox", checked: true })),
      h("button", { type: "submit" }, "Save dependency")),
    names);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const src = form.querySelector("#dep-source").value.trim();
    const dst = form.querySelector("#dep-target").value.trim();
    const type = typeSel.value;
    const body = { dependencyType: type, enabled: form.querySelector("#dep-enabled").checked };
    body[PARAM[type][0]] = Number(paramInput.value);
    act(`Saved ${src} → ${dst}`, () => post(`/api/scaling-dependencies/${enc(src)}/${enc(dst)}`, body));
  });
  replace(main,
    h("h1", {}, "Scaling dependencies"),
    h("p", { class: "muted" }, "A target keeps replicas in line with its source. A dependency that would close a cycle is refused."),
    form, err, status,
    list.dependencies.length === 0 ? h("p", {}, "No dependencies.") :
      table("Scaling dependencies", ["Source", "Target", "Type", "Parameter", "State", "Updated", "Actions"], rows));
}
