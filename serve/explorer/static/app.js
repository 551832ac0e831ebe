// covary explorer: token login (sessionStorage), correlations, pair drill-down, KPIs, ask (SSE) and query.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { overview: null, selected: null };
const TOKEN_KEY = "covary.token";

function token() { return sessionStorage.getItem(TOKEN_KEY); }
function status(text, error = false) { $("status").textContent = text; $("status").className = error ? "error" : ""; }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  if (options.body && typeof options.body === "string") headers["Content-Type"] = "application/json";
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) { logout("session expired or token invalid: log in again"); throw new Error("unauthorized"); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || body.detail || ("HTTP " + res.status));
  return body;
}

function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
function fmt(v, d = 3) { return v === null || v === undefined ? "n/a" : (typeof v === "number" ? Number(v.toPrecision(d)).toString() : String(v)); }

// ---------------------------------------------------------------------------------------------- login
async function login(tok) {
  sessionStorage.setItem(TOKEN_KEY, tok);
  try {
    await api("/v1/explorer/overview").then((o) => { state.overview = o; });
  } catch (e) { if (e.message !== "unauthorized") status(e.message, true); return; }
  $("login").hidden = true; $("session").hidden = false; $("app").hidden = false;
  $("who").textContent = "logged in";
  status("");
  renderFilters(); renderCorrelations(); loadKpis();
}
function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("login").hidden = false; $("session").hidden = true; $("app").hidden = true;
  status(message || "logged out", Boolean(message));
}
$("login").addEventListener("submit", (e) => { e.preventDefault(); login($("token").value.trim()); });
$("logout").addEventListener("click", () => logout());

// ------------------------------------------------------------------------------------- correlations
function seriesMeta(id) { return (state.overview.series || []).find((s) => s.series_id === id) || {}; }
function renderFilters() {
  const sel = $("f-domain"); const seen = new Set();
  for (const s of state.overview.series || []) for (const v of [s.domain, s.source]) if (v && !seen.has(v)) {
    seen.add(v); const o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o);
  }
  for (const id of ["f-q", "f-domain", "f-lag", "f-network"]) $(id).addEventListener("change", renderCorrelations);
}
function filtered() {
  const q = parseFloat($("f-q").value), dom = $("f-domain").value, lag = parseInt($("f-lag").value || "60", 10);
  const inDom = (id) => { const m = seriesMeta(id); return !dom || m.domain === dom || m.source === dom; };
  return (state.overview.findings || []).filter((f) => f.change !== "vanished" && f.q !== null && f.q <= q &&
    Math.abs(f.lag) <= lag && (inDom(f.a) || inDom(f.b)));
}
function renderCorrelations() {
  const run = state.overview.run;
  $("run-info").textContent = run ? `run ${run.run_id} · ${run.significant} significant of ${run.tested} tested` : "no correlation run yet";
  const rows = filtered();
  const body = $("findings").querySelector("tbody"); body.textContent = "";
  for (const f of rows) {
    const tr = document.createElement("tr"); tr.dataset.pair = f.a + "|" + f.b; tr.dataset.finding = f.finding_id;
    cell(tr, f.a + " ~ " + f.b); cell(tr, fmt(f.r)); cell(tr, fmt(f.q, 2)); cell(tr, f.lag); cell(tr, f.change || "");
    tr.addEventListener("click", () => openPair(f.a, f.b));
    body.appendChild(tr);
  }
  const names = [...new Set(rows.flatMap((f) => [f.a, f.b]))].sort();
  const idx = Object.fromEntries(names.map((n, i) => [n, i]));
  if ($("f-network").checked) return renderNetwork(rows, names);
  const z = names.map(() => names.map(() => null)), text = names.map(() => names.map(() => ""));
  for (const f of rows) {
    const i = idx[f.a], j = idx[f.b];
    z[i][j] = z[j][i] = f.r;
    text[i][j] = text[j][i] = `r=${fmt(f.r)} q=${fmt(f.q, 2)} lag=${f.lag}`;
  }
  Plotly.react("heatmap", [{ type: "heatmap", x: names, y: names, z, text, hoverinfo: "x+y+text", zmin: -1, zmax: 1,
    colorscale: "RdBu", reversescale: false }], { margin: { l: 140, b: 120, t: 10, r: 10 }, height: 420 },
    { displaylogo: false, responsive: true });
  $("heatmap").removeAllListeners && $("heatmap").removeAllListeners("plotly_click");
  $("heatmap").on("plotly_click", (ev) => { const p = ev.points[0]; if (p && p.z !== null && p.x !== p.y) openPair(p.y, p.x); });
}
function renderNetwork(rows, names) {
  const pos = Object.fromEntries(names.map((n, i) => [n, [Math.cos(2 * Math.PI * i / names.length), Math.sin(2 * Math.PI * i / names.length)]]));
  const traces = rows.map((f) => ({ type: "scatter", mode: "lines", x: [pos[f.a][0], pos[f.b][0]], y: [pos[f.a][1], pos[f.b][1]],
    line: { width: 1 + 5 * Math.abs(f.r), color: f.r > 0 ? "#2563eb" : "#dc2626" }, hoverinfo: "text",
    text: `${f.a} ~ ${f.b} r=${fmt(f.r)}`, showlegend: false }));
  traces.push({ type: "scatter", mode: "markers+text", x: names.map((n) => pos[n][0]), y: names.map((n) => pos[n][1]),
    text: names, textposition: "top center", marker: { size: 12, color: "#0f172a" }, showlegend: false });
  Plotly.react("heatmap", traces, { xaxis: { visible: false }, yaxis: { visible: false }, height: 420, margin: { t: 10 } },
    { displaylogo: false });
}

async function openPair(a, b) {
  status(`loading ${a} ~ ${b} …`);
  let d;
  try { d = await api(`/v1/explorer/pair?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}&max_lag=8`); }
  catch (e) { status(e.message, true); return; }
  for (const tr of $("findings").querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.pair === a + "|" + b || tr.dataset.pair === b + "|" + a);
  $("pair").hidden = false;
  $("pair-title").textContent = `${a} ~ ${b}`;
  Plotly.react("overlay", [
    { x: d.a.ts, y: d.a.values, name: a, type: "scatter", line: { color: "#2563eb" } },
    { x: d.b.ts, y: d.b.values, name: b, type: "scatter", yaxis: "y2", line: { color: "#ea580c" } },
  ], { title: { text: "Both series" }, yaxis: { title: { text: a } }, yaxis2: { overlaying: "y", side: "right", title: { text: b } },
    legend: { orientation: "h" }, height: 340, margin: { t: 40 } }, { displaylogo: false, displayModeBar: false });
  const f = d.finding;
  const best = f ? (f.a === a ? f.lag : -f.lag) : null;
  Plotly.react("ccf", [{ type: "bar", x: d.ccf.lags, y: d.ccf.r, marker: { color: d.ccf.lags.map((l) => l === best ? "#ea580c" : "#2563eb") } }],
    { title: { text: "Cross-correlation by lag" }, xaxis: { title: { text: d.ccf.note } }, yaxis: { range: [-1, 1] }, height: 340, margin: { t: 40 } },
    { displaylogo: false, displayModeBar: false });
  const stats = $("stats"); stats.textContent = "";
  const rows = f ? [["r (adjusted)", fmt(f.r)], ["r (raw)", fmt(f.r_raw)], ["95% CI", `${fmt(f.ci_low)} … ${fmt(f.ci_high)}`],
    ["n / effective n", `${f.n} / ${fmt(f.n_eff)}`], ["p", fmt(f.p, 2)], ["q", fmt(f.q, 2)], ["best lag", `${f.lag} (${f.a} leads when > 0)`],
    ["change vs previous run", f.change || "n/a"], ["possible confounder", f.third_series ? `${f.third_series} (partial r ${fmt(f.partial_r_third)})` : "none found"],
    ["Granger p a→b / b→a", `${fmt(f.granger_p_ab, 2)} / ${fmt(f.granger_p_ba, 2)}`], ["precedence", f.precedence || "n/a"]]
    : [["finding", "this pair is not a finding of the latest run"]];
  rows.push(["aligned steps", String(d.aligned_steps)]);
  for (const [k, v] of rows) { const tr = document.createElement("tr"); const th = document.createElement("th"); th.textContent = k; tr.appendChild(th); cell(tr, v); stats.appendChild(tr); }
  const ul = $("warnings"); ul.textContent = "";
  for (const w of (f && f.warnings) || []) { const li = document.createElement("li"); li.textContent = w; ul.appendChild(li); }
  $("caveat").textContent = (f && f.caveat) || "Correlation is not causation.";
  status("");
  $("pair").scrollIntoView({ behavior: "instant", block: "start" });
}

// ---------------------------------------------------------------------------------------------- KPIs
async function loadKpis() {
  let d;
  try { d = await api("/v1/explorer/kpis"); } catch (e) { status(e.message, true); return; }
  $("kpi-kind").textContent = d.kind === "kpi" ? `latest ${d.period}, all platforms and countries` : d.kind === "series" ? "latest value of each series" : "no data yet";
  const box = $("kpi-tiles"); box.textContent = "";
  for (const r of d.rows) {
    const t = document.createElement("div"); t.className = "tile";
    const n = document.createElement("div"); n.className = "name"; n.textContent = r.metric + " · " + String(r.period_start).slice(0, 10);
    const v = document.createElement("div"); v.className = "value"; v.textContent = fmt(r.value, 4);
    const c = document.createElement("div"); const p = r.previous_change_pct;
    c.className = p > 0 ? "up" : p < 0 ? "down" : ""; c.textContent = p === null || p === undefined ? "no previous period" : `${p > 0 ? "▲" : p < 0 ? "▼" : "="} ${p.toFixed(1)}% vs previous`;
    t.append(n, v, c); box.appendChild(t);
  }
}

// ----------------------------------------------------------------------------------------------- ask
$("ask-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = $("ask-input").value.trim(); if (!question) return;
  $("answer").textContent = ""; $("answer-caveat").textContent = ""; $("citations").textContent = "";
  status("asking …");
  const res = await fetch("/v1/ask/stream", { method: "POST", headers: { Authorization: "Bearer " + token(), "Content-Type": "application/json" },
    body: JSON.stringify({ question }) });
  if (!res.ok) { const b = await res.json().catch(() => ({})); status(b.error || b.detail || "HTTP " + res.status, true); return; }
  const reader = res.body.getReader(); const decoder = new TextDecoder(); let buffer = "";
  for (;;) {
    const { value, done } = await reader.read(); if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) { handleEvent(buffer.slice(0, cut)); buffer = buffer.slice(cut + 2); }
  }
  status("");
});
function handleEvent(block) {
  let name = "message", data = "";
  for (const line of block.split("\n")) { if (line.startsWith("event:")) name = line.slice(6).trim(); else if (line.startsWith("data:")) data += line.slice(5).trim(); }
  const d = data ? JSON.parse(data) : {};
  if (name === "sources") {
    for (const c of d.citations) { const li = document.createElement("li"); li.textContent = c.label.replace(/^\[\d+\]\s*/, ""); li.dataset.doc = c.doc_id; $("citations").appendChild(li); }
  } else if (name === "token") { $("answer").textContent += d.text; }
  else if (name === "caveat") { $("answer-caveat").textContent = d.caveat; }
  else if (name === "error") { status(d.error, true); }
}

// --------------------------------------------------------------------------------------------- query
$("query-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = $("query-input").value.trim(); if (!question) return;
  status("running …");
  let d;
  try { d = await api("/v1/query", { method: "POST", body: JSON.stringify({ question }) }); }
  catch (err) { status(err.message, true); return; }
  $("query-sql").textContent = d.sql;
  const table = $("query-table"); table.textContent = "";
  const head = document.createElement("tr");
  for (const c of d.columns) { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); }
  table.appendChild(head);
  for (const row of d.rows.slice(0, 200)) { const tr = document.createElement("tr"); for (const v of row) cell(tr, fmt(v, 6)); table.appendChild(tr); }
  const numeric = d.columns.map((_, i) => d.rows.length > 0 && d.rows.every((r) => r[i] === null || typeof r[i] === "number"));
  const x = d.rows.map((r) => r[0]);
  const traces = d.columns.map((c, i) => i > 0 && numeric[i] ? { x, y: d.rows.map((r) => r[i]), name: c, type: (d.chart && d.chart.type === "bar") ? "bar" : "scatter" } : null).filter(Boolean);
  if (traces.length) {
    Plotly.react("query-chart", traces, { height: 260, margin: { t: 10, l: 50, r: 10, b: 40 }, legend: { orientation: "h" } }, { displaylogo: false });
  } else { Plotly.purge("query-chart"); }
  status(`${d.row_count} rows${d.truncated ? " (truncated)" : ""} · ${d.translator || ""}`);
});

if (token()) login(token());
