// DOM helpers. Every piece of text goes in through textContent (text nodes): nothing the
// API returns is ever parsed as HTML.

// h builds an element: h("td", {class: "num"}, "3", child). Attributes are set with
// setAttribute (never "style" or "on*": the CSP forbids inline ones); a function value
// for a key starting with "on" is added as an event listener instead.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace puts children in place of el's content.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const pad = (n) => String(n).padStart(2, "0");

// fmtTime shows Unix milliseconds as "2026-11-27 09:00 UTC" (the API's hours are UTC).
export function fmtTime(ms) {
  if (!ms) return "—";
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

// fmtAgo says how long before now ms was: "5 min ago", "in 2 h".
export function fmtAgo(ms, now) {
  if (!ms) return "—";
  const s = Math.round((now - ms) / 1000);
  const a = Math.abs(s);
  const v = a < 90 ? `${a} s` : a < 5400 ? `${Math.round(a / 60)} min` : a < 172800 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
  return s >= 0 ? `${v} ago` : `in ${v}`;
}

export function fmtNum(v, digits = 2) {
  return typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "—";
}

export function badge(text, cls) {
  return h("span", { class: `badge ${cls || text}` }, text);
}

// table builds a table with a caption (for screen readers) from headers and rows of cells.
export function table(caption, headers, rows, cls) {
  return h("div", { class: "table-wrap" },
    h("table", { class: cls },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => (x instanceof Node ? x : h("th", { scope: "col" }, x))))),
      h("tbody", {}, rows)));
}
