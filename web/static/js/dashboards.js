// Grafana dashboards, embedded from /api/dashboards (kiosk links). The CSP allows frames
// from GRAFANA_URL's origin only.
import { h, replace } from "./dom.js";
import { get } from "./api.js";

export async function render(main) {
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
  // Only http(s) links are framed or linked: anything else is shown as text.
  const safe = (u) => { try { return ["http:", "https:"].includes(new URL(u, location.href).protocol); } catch { return false; } };
  replace(main,
    h("h1", {}, "Grafana dashboards"),
    dashboards.filter((d) => !safe(d.url)).map((d) => h("p", { class: "error" }, `Not embedded (not an http(s) URL): ${d.title} ${d.url}`)),
    dashboards.filter((d) => safe(d.url)).map((d) => h("section", { "aria-label": d.title },
      h("h2", {}, d.title, " ", h("a", { href: d.url, target: "_blank", rel: "noopener noreferrer" }, "open in Grafana")),
      h("iframe", { class: "dash-frame", src: d.url, title: `Grafana dashboard: ${d.title}`, loading: "lazy",
        referrerpolicy: "no-referrer" }))));
}
