// A campaign's page: outlook, trend with filters, forecast fan chart, scenarios, open risks, pivots, insights
// (asked again on every snapshot), and the what-if form (submitted, polled until its trajectory is recorded).
"use strict";
(() => {
  const P = window.Pulse;
  const C = window.Charts;
  const campaign = decodeURIComponent(window.location.pathname.split("/").pop());
  const forCampaign = (extra = {}) => ({ campaign, ...extra });

  function rows(answer, id) {
    if (answer === null) { P.fill(id, P.note("Not available to this key.")); return null; }
    if (!answer.data.length) { P.fill(id, P.note(answer.empty || "Nothing yet.")); return null; }
    return answer.data;
  }

  async function outlook() {
    const data = rows(await P.answer("outlook", forCampaign()), "outlook");
    if (!data) return;
    const row = data[0];
    const shown = ["pace_status", "goal_probability", "realistic_conversions", "open_risks", "pivots", "top_pivot",
      "top_insight"].filter((c) => c in row);
    P.fill("outlook", P.el("dl", { class: "tile" }, ...shown.flatMap((c) => [P.el("dt", { text: c.replaceAll("_", " ") }),
      P.el("dd", { "data-field": c, "data-value": String(row[c] ?? ""), text: P.format(c, row[c]) })])));
  }

  const PALETTE = ["#1f5fbf", "#c2571a", "#2e8540", "#8a3ffc", "#b8860b", "#d6336c"];
  let trendAsked = 0;

  /** The trend for the form's filters (any channels and devices, a window, a grain), one line per value of
   *  the split, or one line. Only the latest request draws: the page's load, a new snapshot and the form may
   *  ask at once. */
  async function trend() {
    const asked = ++trendAsked;
    const f = new FormData(document.getElementById("trend-form"));
    const by = f.get("by");
    const params = forCampaign({ grain: f.get("grain"), channel: f.getAll("channel"), device: f.getAll("device"),
      by, start: f.get("start"), end: f.get("end") });
    const node = document.getElementById("trend");
    const answer = await P.answer("trend", params);
    if (asked !== trendAsked) return;
    const measure = f.get("measure");
    if (!answer.data.length) { node.replaceChildren(P.note("No events for this selection.")); return; }
    const time = Object.keys(answer.data[0])[0];
    const data = [...answer.data].sort((a, b) => (a[time] < b[time] ? -1 : a[time] > b[time] ? 1 : 0));
    const xs = [...new Set(data.map((r) => String(r[time])))];
    const groups = by ? [...new Set(data.map((r) => r[by]))].sort() : [null];
    const series = groups.map((group, i) => {
      const at = new Map(data.filter((r) => !by || r[by] === group).map((r) => [String(r[time]), r[measure]]));
      return { label: by ? `${measure}, ${group}` : measure, values: xs.map((x) => at.get(x) ?? null),
        color: PALETTE[i % PALETTE.length], width: 2 };
    });
    C.lines(node, xs, series);
    node.dataset.lines = String(series.length);
    const columns = [time, ...(by ? [by] : []), "impressions", "clicks", "conversions", "spend", "revenue"];
    node.append(P.el("details", {}, P.el("summary", { text: `The figures (${data.length} rows)` }),
      P.table(data, columns.filter((c) => c in data[0]))));
  }

  async function forecast() {
    const answer = await P.answer("forecast", forCampaign({ metric: "conversions", level: "campaign",
      model: "ensemble" }));
    const data = rows(answer, "forecast");
    if (!data) return;
    const sorted = [...data].sort((a, b) => (a.ds < b.ds ? -1 : 1));
    const section = document.getElementById("forecast");
    const chart = P.el("div");
    P.fill("forecast", chart, P.note("The band is the forecast's 80 % interval; the line inside it its median."));
    C.fan(chart, sorted.map((r) => String(r.ds)), { label: "forecast", lower: sorted.map((r) => r.yhat_lo_80),
      middle: sorted.map((r) => r.yhat), upper: sorted.map((r) => r.yhat_hi_80), actual: sorted.map((r) => r.actual) });
    section.dataset.points = String(sorted.length);
  }

  async function scenarios() {
    const data = rows(await P.answer("scenarios", forCampaign({ metric: "conversions" })), "scenarios");
    if (data) P.fill("scenarios", P.table(data, ["span", "scenario", "through_date", "lower", "value", "upper",
      "stated_probability", "measured_probability"]));
  }

  async function risks() {
    const data = rows(await P.answer("risks", forCampaign({ status: "open" })), "risks");
    if (data) P.fill("risks", P.table(data, ["severity", "risk_type", "subject", "confidence", "summary"]));
  }

  async function pivots() {
    const data = rows(await P.answer("pivots", forCampaign()), "pivots");
    if (data) P.fill("pivots", P.table(data, ["rank", "kind", "channel", "change", "lift_p10", "lift_p50",
      "lift_p90", "confidence", "summary"]));
  }

  async function insights() {
    const data = rows(await P.answer("insights", forCampaign()), "insights");
    if (data) P.fill("insights", P.el("ol", {}, ...data.map((r) => P.el("li", {}, P.el("strong", { text: r.key }),
      `: ${r.value}`))));
  }

  function whatIfRequest(form) {
    const f = new FormData(form);
    const budget = {};
    for (const [name, value] of f.entries()) {
      if (name.startsWith("budget.") && value !== "" && Number(value) !== 0) budget[name.slice(7)] = Number(value);
    }
    return { campaign, budget, creative_refresh: f.get("creative_refresh") === "on",
      audience: Number(f.get("audience") || 0), horizon: Number(f.get("horizon") || 28) };
  }

  function showResult(node, result) {
    const t = result.trajectory;
    const chart = P.el("div");
    node.replaceChildren(P.el("p", { class: "ok", id: "whatif-status", text:
      `Completed${result.cached ? " (cached)" : ""}: request ${result.request_id}.` }), chart,
      P.table(result.totals, Object.keys(result.totals[0] || {}), "Over the horizon"),
      P.el("ul", {}, ...result.notes.map((n) => P.el("li", { text: n }))));
    C.fan(chart, t.map((r) => String(r.day)), { label: "conversions", lower: t.map((r) => r.conversions_p10),
      middle: t.map((r) => r.conversions_p50), upper: t.map((r) => r.conversions_p90),
      baseline: t.map((r) => r.conversions_baseline) });
  }

  async function whatIf(event) {
    event.preventDefault();
    const form = event.target;
    const node = document.getElementById("whatif");
    const button = form.querySelector("button");
    button.disabled = true;
    node.replaceChildren(P.el("p", { id: "whatif-status", class: "note", text: "Simulating…" }));
    try {
      const submitted = await P.api("/api/simulations", whatIfRequest(form));
      if (submitted.status !== 202) throw new Error(JSON.stringify(submitted.body && submitted.body.detail));
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const { status, body } = await P.api(`/api/simulations/${submitted.body.job}`);
        if (status !== 200) throw new Error(body && body.detail);
        if (body.status === "completed") { showResult(node, body); break; }
        if (body.status === "failed") throw new Error(body.error);
      }
    } catch (error) {
      node.replaceChildren(P.el("p", { id: "whatif-status", class: "error", text: `Failed: ${error.message}` }));
    } finally {
      button.disabled = false;
    }
  }

  /** Only the channels the campaign spends on and that brought a conversion take a budget change: the flow
   * fits a response curve per channel and refuses a change where it has none. */
  async function budgetChannels() {
    const answer = await P.answer("trend", forCampaign({ by: "channel" }));
    const spent = new Set(answer.data.filter((r) => r.spend > 0).map((r) => r.channel));
    const fitted = new Set(answer.data.filter((r) => r.spend > 0 && r.conversions > 0).map((r) => r.channel));
    for (const input of document.querySelectorAll("#whatif-form input[name^='budget.']")) {
      const channel = input.name.slice(7);
      input.disabled = !fitted.has(channel);
      input.title = fitted.has(channel) ? ""
        : spent.has(channel) ? `no conversion on ${channel} yet: no response curve to move its budget along`
          : `${campaign} has no spend on ${channel}`;
    }
    document.getElementById("whatif-form").dataset.channels = [...fitted].sort().join(" ");
  }

  async function main() {
    document.getElementById("title").textContent = `Campaign ${campaign}`;
    document.title = `${campaign} · Pulsecast`;
    if (!(await P.whoami())) return;
    document.getElementById("trend-form").addEventListener("submit", (e) => {
      e.preventDefault();
      P.guarded("trend", trend);
    });
    document.getElementById("whatif-form").addEventListener("submit", whatIf);
    P.guarded("whatif", budgetChannels);
    const sections = { outlook, trend, forecast, scenarios, risks, pivots, insights };
    P.live(() => Promise.all(Object.entries(sections).map(([id, render]) => P.guarded(id, render))));
  }

  main();
})();
