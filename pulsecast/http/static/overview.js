// The overview: KPI tiles, top campaigns, brands, campaigns, devices, earnings and the activity feed, asked
// again on every snapshot the push channel announces; the live simulation's pause / resume for admins.
"use strict";
(() => {
  const P = window.Pulse;
  const WINDOWS = { last_hour: "Last hour", today: "Today", last_7_days: "7 days", last_30_days: "30 days" };
  const KPI_FIELDS = ["impressions", "clicks", "conversions", "spend", "revenue", "ctr"];

  async function kpis() {
    const rows = await P.ask("kpis");
    const tiles = Object.entries(WINDOWS).map(([name, label]) => {
      const row = rows.find((r) => r.window_name === name) || {};
      const fields = KPI_FIELDS.flatMap((f) => [P.el("dt", { text: f }),
        P.el("dd", { "data-field": f, "data-value": String(row[f] ?? ""), text: P.format(f, row[f]) })]);
      return P.el("article", { class: "tile", "data-window": name }, P.el("h3", { text: label }), P.el("dl", {}, ...fields));
    });
    P.fill("kpis", P.el("div", { class: "tiles" }, ...tiles));
  }

  async function top() {
    const rows = (await P.ask("top", { by: "impressions" })) || [];
    P.fill("top", rows.length ? P.table(rows, ["rank", "campaign_id", "impressions", "clicks", "ctr"])
      : P.note("No impressions in the last hour."));
  }

  async function brands() {
    const rows = (await P.ask("brands")) || [];
    P.fill("brands", P.table(rows, ["brand_id", "brand_name", "impressions", "clicks", "conversions", "spend",
      "spend_last_7_days"]));
  }

  async function campaigns() {
    const rows = (await P.ask("pacing")) || [];
    P.fill("campaigns", P.table(rows, ["campaign_id", "status", "goal_conversions", "conversions_to_date",
      "projected_goal_date", "budget_status", "budget_pacing_ratio"]));
  }

  async function devices(me) {
    const rows = (await P.ask("devices")) || [];
    const wanted = me.kind === "admin" ? "overall" : "brand";
    const shown = rows.filter((r) => r.scope === wanted);
    const columns = shown.length ? Object.keys(shown[0]).filter((c) => !["scope", "loaded_at"].includes(c)) : [];
    P.fill("devices", shown.length ? P.table(shown, columns) : P.note("No device mix yet."));
  }

  async function earnings() {
    const totals = await P.ask("earnings");
    if (totals === null) { P.fill("earnings", P.note("Earnings are the data owners' (and admins') to see.")); return; }
    const latest = (await P.ask("latest-earnings")) || [];
    const sum = (field) => totals.reduce((s, r) => s + (r[field] || 0), 0);
    const five = [...latest].sort((a, b) => (a.event_ts < b.event_ts ? 1 : -1)).slice(0, 5);
    const figure = (id, label, value) => P.el("div", {}, label,
      P.el("strong", { id, "data-value": String(value), text: P.format("earnings", value) }));
    P.fill("earnings",
      P.el("div", { class: "ticker", "aria-live": "polite" },
        figure("earnings-today", "Today", sum("earnings_today")),
        figure("earnings-all-time", "All time", sum("earnings_all_time"))),
      P.table(five, ["event_ts", "owner_id", "amount", "campaign_id"], "Latest five earnings"));
  }

  async function feed() {
    const rows = (await P.ask("feed")) || [];
    const newest = [...rows].sort((a, b) => (a.event_ts < b.event_ts ? 1 : -1)).slice(0, 30);
    const items = newest.map((r) => P.el("li", {},
      `${P.format("event_ts", r.event_ts)} · `,
      P.el("a", { href: `/campaigns/${encodeURIComponent(r.campaign_id)}`, text: r.campaign_id }),
      ` · ${r.event_type} on ${r.device || "?"} via ${r.channel || "?"}`));
    P.fill("feed", items.length ? P.el("ol", { class: "feed" }, ...items) : P.note("No activity yet."));
  }

  async function liveControl(me) {
    if (me.kind !== "admin") return;
    const section = document.getElementById("live");
    const state = document.getElementById("live-state");
    section.hidden = false;
    const show = ({ status, body }) => {
      const ok = status === 200;
      state.className = ok ? "ok" : "error";
      state.textContent = ok ? (body.paused ? "Paused." : "Running.") : (body && body.detail) || `HTTP ${status}`;
      document.getElementById("pause").disabled = !ok || body.paused;
      document.getElementById("resume").disabled = !ok || !body.paused;
    };
    show(await P.api("/api/live"));
    for (const [id, path] of [["pause", "/api/live/pause"], ["resume", "/api/live/resume"]]) {
      document.getElementById(id).addEventListener("click", async () => show(await P.api(path, {})));
    }
  }

  async function main() {
    const me = await P.whoami();
    if (!me) return;
    liveControl(me);
    const sections = { kpis, top, brands, campaigns, devices: () => devices(me), earnings, feed };
    P.live(() => Promise.all(Object.entries(sections).map(([id, render]) => P.guarded(id, render))));
  }

  main();
})();
