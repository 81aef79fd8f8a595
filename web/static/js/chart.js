// Charts with uPlot (vendored, loaded on the first chart: the overview needs none).
import { h } from "./dom.js";

let loading = null;

function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    document.head.appendChild(h("link", { rel: "stylesheet", href: "/ui/vendor/uplot/uPlot.min.css" }));
    const s = h("script", { src: "/ui/vendor/uplot/uPlot.iife.min.js" });
    s.addEventListener("load", () => resolve(window.uPlot));
    s.addEventListener("error", () => reject(new Error("cannot load the chart library")));
    document.head.appendChild(s);
  });
  return loading;
}

// merge aligns series given as [[tMs, value], ...] on one x axis (seconds); a series has
// null where it has no point of its own (spanGaps joins them).
function merge(series) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const idx = new Map(xs.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) col[idx.get(t)] = v;
    return col;
  });
  return [xs.map((x) => x / 1000), ...cols];
}

// lineChart draws series ({label, points, stroke, dash, stepped, fill}) into el, with a
// vertical marker at nowMs, over fromMs..toMs. It returns a cleanup function.
export async function lineChart(el, { title, yLabel, series, nowMs, fromMs, toMs }) {
  const uPlot = await loadUPlot();
  const data = merge(series);
  const width = () => Math.max(280, el.clientWidth || 600);
  const opts = {
    title, width: width(), height: 260,
    scales: { x: { time: true, range: [fromMs / 1000, toMs / 1000] } },
    axes: [{}, { label: yLabel }],
    series: [{}, ...series.map((s) => ({
      label: s.label, stroke: s.stroke, width: 2, dash: s.dash, fill: s.fill, spanGaps: true,
      paths: s.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
      points: { show: false },
    }))],
    hooks: {
      draw: [(u) => {
        const x = u.valToPos(nowMs / 1000, "x", true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = "#6b7280";
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.restore();
      }],
    },
  };
  const plot = new uPlot(opts, data, el);
  const onResize = () => plot.setSize({ width: width(), height: 260 });
  window.addEventListener("resize", onResize);
  return () => {
    window.removeEventListener("resize", onResize);
    plot.destroy();
  };
}
