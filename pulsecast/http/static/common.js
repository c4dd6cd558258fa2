// Shared by the pages: API requests with the session cookie, number formats, tables, the push channel.
"use strict";
window.Pulse = (() => {
  /** GET (or POST with a JSON body) an API path; resolves to {status, body}. */
  async function api(path, body) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) { window.location.assign("/login"); }
    let parsed = null;
    try { parsed = await response.json(); } catch (_) { parsed = null; }
    return { status: response.status, body: parsed };
  }

  /** A question's whole answer ({data, empty, snapshot, ...}), or null when the key may not ask it (403);
   *  throws on other errors. */
  async function answer(question, params = {}) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      for (const one of [].concat(v)) { if (one !== "" && one != null) query.append(k, one); }
    }
    const { status, body } = await api(`/api/metrics/${question}?${query}`);
    if (status === 403) return null;
    if (status !== 200) throw new Error((body && body.detail) || `HTTP ${status}`);
    return body;
  }

  /** The rows of a question, or null when the key may not ask it (403). */
  async function ask(question, params = {}) {
    const body = await answer(question, params);
    return body && body.data;
  }

  /** Fill a section by `render`, or with the error that stopped it. */
  async function guarded(id, render) {
    try { await render(); } catch (error) { fill(id, note(`Could not load: ${error.message}`, "error")); }
  }

  const MONEY = new Set(["spend", "revenue", "earnings", "amount", "earnings_today", "earnings_all_time",
                         "spend_last_7_days", "cpc", "cpa"]);
  const RATE = new Set(["ctr", "cvr", "ctr_lower_bound", "confidence", "goal_probability", "share",
                        "benchmark_ctr", "benchmark_cvr"]);

  /** A value as people read it; the raw value stays in data-value for tests and copy-paste. */
  function format(column, value) {
    if (value === null || value === undefined) return "–";
    if (typeof value !== "number") return String(value).replace("T", " ").replace(/\.\d+$/, "");
    if (RATE.has(column)) return `${(value * 100).toFixed(2)} %`;
    if (MONEY.has(column)) return value.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return value.toLocaleString("en", { maximumFractionDigits: 3 });
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }

  function cell(column, value, link) {
    const td = el("td", { "data-column": column });
    if (typeof value === "number") { td.className = "num"; td.dataset.value = String(value); }
    const text = format(column, value);
    td.append(link ? el("a", { href: link, text }) : text);
    return td;
  }

  /** A table of rows in the given columns; campaign ids link to their page. */
  function table(rows, columns, caption) {
    const head = el("tr", {}, ...columns.map((c) => el("th", { scope: "col", text: c.replaceAll("_", " ") })));
    const body = rows.map((row) => el("tr", {}, ...columns.map((c) =>
      cell(c, row[c], c === "campaign_id" && row[c] ? `/campaigns/${encodeURIComponent(row[c])}` : null))));
    const t = el("table", {}, ...(caption ? [el("caption", { text: caption })] : []),
      el("thead", {}, head), el("tbody", {}, ...body));
    return el("div", { class: "scroll" }, t);
  }

  /** Replace a section's content (after its heading). */
  function fill(id, ...nodes) {
    const section = document.getElementById(id);
    const heading = section.querySelector("h2");
    section.replaceChildren(...(heading ? [heading] : []), ...nodes);
  }

  function note(text, cls = "note") { return el("p", { class: cls, text }); }

  /** Who is signed in, in the header. */
  async function whoami() {
    const { body } = await api("/api/me");
    const who = body ? `${body.name} (${[body.kind, ...body.brands, ...body.owners].join(" ")})` : "";
    document.getElementById("who").textContent = who;
    return body;
  }

  /** Call refresh(snapshot) at opening and on every `snapshot` event of the push channel; after a refresh
   *  the page's body says the snapshot it shows (data-snapshot), and the header says it too. */
  function live(refresh) {
    const source = new EventSource("/api/events");
    let running = Promise.resolve();
    unpublished();
    source.addEventListener("snapshot", (event) => {
      const { snapshot } = JSON.parse(event.data);
      running = running.then(async () => {
        document.getElementById("unpublished")?.remove();
        await refresh(snapshot);
        document.body.dataset.snapshot = snapshot;
        document.getElementById("snapshot").textContent = `snapshot ${snapshot}`;
      }).catch((error) => console.error(error));
    });
    return source;
  }

  /** Before the first publish the push channel has nothing to say: tell what to run (the page fills in by
   *  itself when the first snapshot is published). */
  async function unpublished() {
    const { status, body } = await api("/api/freshness");
    if (status !== 200 || body.snapshot !== null || document.body.dataset.snapshot) return;
    document.getElementById("snapshot").textContent = "nothing published yet";
    document.querySelector("main").prepend(el("p", { class: "note wide", id: "unpublished",
      text: "Nothing is published yet: run `make run` (or `pulsecast run`), and this page fills in by itself." }));
  }

  return { api, answer, ask, guarded, format, el, table, fill, note, whoami, live };
})();
