// The API client: same-origin fetches with the bearer token kept in sessionStorage. A 401
// (no token) or a 403 naming Authorization (a wrong token) asks for the token once for all
// requests waiting, and retries them with it.
const KEY = "kai-scaler.token";

export class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
  }
}

let pending = null; // the token prompt in progress, shared by every request waiting for it

export function token() {
  return sessionStorage.getItem(KEY) || "";
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

function askToken(message) {
  if (pending) return pending;
  const dlg = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const err = document.getElementById("token-error");
  err.textContent = message || "";
  input.value = "";
  pending = new Promise((resolve) => {
    const done = (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      form.removeEventListener("submit", done);
      sessionStorage.setItem(KEY, t);
      dlg.close();
      pending = null;
      document.getElementById("signout").hidden = false;
      resolve(t);
    };
    form.addEventListener("submit", done);
    // Escape would leave every request hanging: keep the dialog until a token is given.
    dlg.addEventListener("cancel", (ev) => ev.preventDefault());
    dlg.showModal();
    input.focus();
  });
  return pending;
}

// request sends one API call; body is an object (sent as JSON) or undefined. Every POST
// carries Content-Type: application/json, also without a body (the API requires it).
export async function request(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    const init = { method, headers };
    if (method === "POST") {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body === undefined ? {} : body);
    }
    const res = await fetch(path, init);
    const text = await res.text(); // read even an empty body: an unread one is reported as a canceled request
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = { error: text }; }
    }
    const authProblem = res.status === 401 || (res.status === 403 && data && data.field === "Authorization");
    if (authProblem && attempt < 5) {
      if (res.status === 403) forgetToken();
      await askToken(res.status === 403 ? "That token was refused. Enter the right one." : "");
      continue;
    }
    if (!res.ok) throw new APIError(res.status, data);
    return data;
  }
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const del = (path) => request("DELETE", path);

// enc escapes one path segment.
export const enc = encodeURIComponent;
