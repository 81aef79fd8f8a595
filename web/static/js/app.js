// The admin page's router: one module per page, chosen by the location hash
// (#/, #/service/NAME, #/dependencies, #/events, #/dashboards, #/dashboards/NAME).
import { h, replace } from "./dom.js";
import { forgetToken, token } from "./api.js";
import * as overview from "./overview.js";
import * as service from "./service.js";
import * as dependencies from "./dependencies.js";
import * as events from "./events.js";
import * as dashboards from "./dashboards.js";

const routes = [
  { re: /^#?\/?$/, nav: "overview", page: overview },
  { re: /^#\/service\/([^/]+)$/, nav: "overview", page: service },
  { re: /^#\/dependencies$/, nav: "dependencies", page: dependencies },
  { re: /^#\/events$/, nav: "events", page: events },
  { re: /^#\/dashboards$/, nav: "dashboards", page: dashboards },
  { re: /^#\/dashboards\/([^/]+)$/, nav: "dashboards", page: dashboards },
];

let current = null; // {page, cleanup}
let generation = 0;

async function render() {
  const main = document.getElementById("main");
  const hash = location.hash || "#/";
  const route = routes.find((r) => r.re.test(hash));
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (route && a.dataset.nav === route.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current && current.cleanup) current.cleanup();
  current = null;
  const gen = ++generation;
  main.setAttribute("aria-busy", "true");
  main.dataset.page = "";
  if (!route) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: "#/" }, "Back to the overview")));
    main.setAttribute("aria-busy", "false");
    return;
  }
  const args = (hash.match(route.re) || []).slice(1).map(decodeURIComponent);
  try {
    const cleanup = await route.page.render(main, ...args);
    if (gen !== generation) {
      if (cleanup) cleanup();
      return;
    }
    current = { page: route.page, cleanup };
  } catch (err) {
    if (gen !== generation) return;
    replace(main, h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, String(err.message || err)));
  }
  if (gen === generation) {
    main.setAttribute("aria-busy", "false");
    // The browser test and assistive technology read this: the page is drawn and usable.
    main.dataset.page = route.nav + (args.length ? ":" + args[0] : "");
    performance.mark(`kai-interactive:${main.dataset.page}`);
    document.title = `${main.querySelector("h1")?.textContent || "kai-scaler"} · kai-scaler`;
  }
}

function start() {
  const signout = document.getElementById("signout");
  signout.hidden = !token();
  signout.addEventListener("click", () => {
    forgetToken();
    signout.hidden = true;
    render();
  });
  window.addEventListener("hashchange", () => {
    render().then(() => document.getElementById("main").focus({ preventScroll: true }));
  });
  render();
}

start();
