// Shared reads: the managed services and the cluster's "now".
import { get, enc } from "./api.js";

// services lists the managed services with their HPAs (/api/services). Without a forecaster
// on this server (503), it falls back to every service named by predictions, patterns or
// events, with no HPA status.
export async function services() {
  try {
    const r = await get("/api/services");
    return r.services;
  } catch (err) {
    if (err.status !== 503) throw err;
  }
  const [preds, pats, evs] = await Promise.all([
    get("/api/predictive-scaling/predictions?limit=1000"),
    get("/api/predictive-scaling/patterns?limit=1000"),
    get("/api/hpa-events?limit=1000"),
  ]);
  const names = new Set([...preds.predictions, ...pats.patterns, ...evs.events].map((x) => x.service));
  return [...names].sort().map((service) => ({ service, hpa: null, error: "not observed on this server" }));
}

// clusterNow is the time the cluster's state was last observed: the demo's clock runs
// faster than the wall clock, and its records are dated by it.
export function clusterNow(svcs) {
  const t = Math.max(0, ...svcs.map((s) => (s.hpa ? s.hpa.observedAt : 0)));
  return t || Date.now();
}

export function serviceLink(name) {
  return `#/service/${enc(name)}`;
}

export const EVENT_TYPES = ["scale-up", "scale-down", "no-scale", "limited-scale"];
