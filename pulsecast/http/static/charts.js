// Charts on the vendored uPlot: a line chart and a fan chart (P10-P90 / 80 % bands around a median).
"use strict";
window.Charts = (() => {
  const seconds = (t) => new Date(t.length === 10 ? `${t}T00:00:00Z` : `${t}${/[Z+]/.test(t.slice(10)) ? "" : "Z"}`)
    .getTime() / 1000;

  function width(node) { return Math.max(280, node.clientWidth || 600); }

  /** Lines over time: xs as ISO text, series as [{label, values, color, dash}]. */
  function lines(node, xs, series, bands = []) {
    node.replaceChildren();
    const holder = document.createElement("div");
    holder.className = "chart";
    holder.setAttribute("role", "img");
    holder.setAttribute("aria-label", series.map((s) => s.label).join(", "));
    node.append(holder);
    const opts = {
      width: width(node), height: 260,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, dash: s.dash, width: s.width || 1.5,
        fill: s.fill, points: { show: false } }))],
      bands, axes: [{}, { size: 60 }], legend: { live: false },
    };
    return new window.uPlot(opts, [xs.map(seconds), ...series.map((s) => s.values)], holder);
  }

  /** A fan: lower/upper band around a middle line, optional actuals and a baseline. */
  function fan(node, xs, { lower, middle, upper, actual, baseline, label }) {
    const series = [
      { label: `${label} low`, values: lower, color: "rgba(31,95,191,.35)" },
      { label: `${label} high`, values: upper, color: "rgba(31,95,191,.35)" },
      { label: `${label} median`, values: middle, color: "#1f5fbf", width: 2 },
    ];
    if (baseline) series.push({ label: "baseline", values: baseline, color: "#5a6778", dash: [5, 4] });
    if (actual) series.push({ label: "actual", values: actual, color: "#1c2430", width: 2 });
    return lines(node, xs, series, [{ series: [2, 1], fill: "rgba(31,95,191,.15)" }]);
  }

  return { lines, fan };
})();
