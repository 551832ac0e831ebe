// covary explorer: token login (sessionStorage), hash-routed pages over the /v1 routes, Plotly figures.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { overview: null, page: null, cache: {} };
const TOKEN_KEY = "covary.token";
const PLOT = { displaylogo: false, responsive: true, displayModeBar: false };
const POS = [37, 99, 235], NEG = [220, 38, 38], ZERO = [241, 245, 249]; // one colour meaning everywhere

function token() { return sessionStorage.getItem(TOKEN_KEY); }
function status(text, error = false) { $("status").textContent = text; $("status").className = error ? "error" : ""; }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  if (options.body && typeof options.body === "string") headers["Content-Type"] = "application/json";
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) { logout("session expired or token invalid: log in again"); throw new Error("unauthorized"); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) { const e = new Error((body.error || ("HTTP " + res.status)) + (body.hint ? " — " + body.hint : "")); e.status = res.status; throw e; }
  return body;
}
async function cached(path) { if (!(path in state.cache)) state.cache[path] = await api(path); return state.cache[path]; }

// ------------------------------------------------------------------------------------------ helpers
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
function fmt(v, d = 3) {
  if (v === null || v === undefined) return "n/a";
  if (typeof v !== "number") return String(v);
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(1);
  if (Math.abs(v) >= 1e4) return Math.round(v).toLocaleString("en-US");
  return Number(v.toPrecision(d)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}
function pct(v) { return v === null || v === undefined ? "n/a" : `${v > 0 ? "+" : ""}${v.toFixed(1)} %`; }
function fillTable(table, columns, rows, opts = {}) {
  table.textContent = "";
  const head = el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { class: c.num ? "num" : "", scope: "col", text: c.label }))));
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    for (const c of columns) {
      const v = c.value ? c.value(r) : r[c.key];
      tr.append(el("td", { class: c.num ? "num" : "" }, v instanceof Node ? v : (c.num ? fmt(v, c.digits || 4) : (v === null || v === undefined ? "" : String(v)))));
    }
    if (opts.onSelect) {
      tr.className = "clickable"; tr.tabIndex = 0;
      tr.addEventListener("click", () => opts.onSelect(r, tr));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); opts.onSelect(r, tr); } });
    }
    if (opts.decorate) opts.decorate(tr, r);
    body.append(tr);
  }
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: String(columns.length), class: "muted", text: opts.empty || "nothing yet" })));
  table.append(head, body);
}
function badge(text) { return el("span", { class: "badge " + String(text).replace(/\s.*/, ""), text }); }
function link(href, text) { return el("a", { href, text }); }
function mix(a, b, t) { return a.map((x, i) => Math.round(x + (b[i] - x) * t)); }
function colorFor(r) { const c = r >= 0 ? mix(ZERO, POS, Math.min(1, r)) : mix(ZERO, NEG, Math.min(1, -r)); return `rgb(${c.join(",")})`; }
const COLORSCALE = [[0, `rgb(${NEG})`], [0.5, `rgb(${ZERO})`], [1, `rgb(${POS})`]];
function draw(id, data, layout, config = PLOT) {
  const div = typeof id === "string" ? $(id) : id;
  div.style.height = layout.height + "px"; // the container is as tall as the figure (nothing overlaps below)
  if (layout.width) div.style.width = layout.width + "px"; else div.style.width = "";
  return Plotly.react(div, data, layout, config);
}
function r2(v) { return v === null || v === undefined ? "n/a" : (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(2); }
function narrow() { return window.matchMedia("(max-width: 760px)").matches; }
function seriesLabel(id) { const s = seriesMeta(id); return s && s.description ? `${s.description} (${id})` : id; }
function seriesMeta(id) { return state.overview ? state.overview.series.find((s) => s.series_id === id) : null; }
function domainOf(id) { const s = seriesMeta(id); return (s && s.domain) || (s && s.source) || id.split(".")[0]; }
function unitOf(id) { const s = seriesMeta(id); return (s && s.unit) || ""; }

// ---------------------------------------------------------------------------------------------- login
async function login(tok) {
  sessionStorage.setItem(TOKEN_KEY, tok);
  status("logging in …");
  try { state.overview = await api("/v1/explorer/overview"); }
  catch (e) { if (e.message !== "unauthorized") status(e.message, true); return; }
  $("login").hidden = true; $("session").hidden = false; $("content").hidden = false; $("nav").hidden = false;
  $("who").textContent = "logged in";
  status("");
  renderFilters();
  route();
}
function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY); state.cache = {}; state.overview = null;
  $("login").hidden = false; $("session").hidden = true; $("content").hidden = true; $("nav").hidden = true;
  status(message || "logged out", Boolean(message));
}
$("login").addEventListener("submit", (e) => { e.preventDefault(); login($("token").value.trim()); });
$("logout").addEventListener("click", () => logout());

// ---------------------------------------------------------------------------------------------- router
const PAGES = {
  overview: renderOverview, correlations: renderCorrelations, pair: renderPair, finding: renderFinding,
  findings: renderFindings, forecasts: renderForecasts, anomalies: renderAnomalies, quality: renderQuality,
  catalog: renderCatalog, series: renderSeries, table: renderTable, doc: renderDoc, uploads: renderUploads,
  ask: () => {}, query: () => {},
};
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "overview", arg: parts.slice(1).join("/"), params: new URLSearchParams(query || "") };
}
async function route() {
  if (!state.overview) return;
  const { name, arg, params } = parseHash();
  const page = PAGES[name] ? name : "overview";
  const shown = page === "finding" ? "pair" : page;
  for (const s of document.querySelectorAll(".page")) s.classList.toggle("active", s.dataset.page === shown);
  const navPage = { pair: "correlations", finding: "findings", series: "catalog", table: "catalog", doc: "ask" }[page] || page;
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.page === navPage);
    if (a.dataset.page === navPage) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  state.page = page;
  status("");
  try { await PAGES[page](arg, params); }
  catch (e) { if (e.message !== "unauthorized") status(e.message, true); }
  window.dispatchEvent(new Event("resize")); // plots drawn while hidden take their real width now
}
window.addEventListener("hashchange", route);

// ---------------------------------------------------------------------------------------------- overview
async function renderOverview() {
  const d = await cached("/v1/explorer/kpis");
  $("kpi-kind").textContent = d.kind === "none" ? "no data yet" : `latest complete ${d.period} (quarter for quarterly series) vs the one before`;
  const box = $("kpi-domains"); box.textContent = "";
  const SHOW = 8;
  for (const dom of d.domains) {
    const tiles = el("div", { class: "tiles" });
    // KPI definitions keep their order; series: the biggest moves first
    const ordered = dom.tiles[0] && dom.tiles[0].direction_source === "KPI definition" ? dom.tiles :
      [...dom.tiles].sort((x, y) => Math.abs(y.change_pct ?? -1) - Math.abs(x.change_pct ?? -1));
    ordered.forEach((t, i) => {
      const cls = t.good === true ? "good" : t.good === false ? "bad" : "neutral";
      const arrow = t.change_pct === null || t.change_pct === undefined ? "" : t.change_pct > 0 ? "▲" : t.change_pct < 0 ? "▼" : "=";
      const change = t.change_pct === null || t.change_pct === undefined ? "no previous period" :
        `${arrow} ${pct(t.change_pct)} vs previous ${t.period}` + (t.good === true ? " (good)" : t.good === false ? " (bad)" : "");
      const tile = el("div", { class: `tile ${t.good === true ? "tile-good" : t.good === false ? "tile-bad" : ""}`, title: `${t.metric}${t.unit ? " · unit: " + t.unit : ""}${t.direction_source ? " · direction: " + t.direction_source : ""}` },
        el("div", { class: "name", text: `${t.label} · ${t.period} of ${t.period_start}` }),
        el("div", { class: "value", text: t.display }),
        el("div", { class: "change " + cls, text: change }));
      if (i >= SHOW) tile.hidden = true;
      tiles.append(tile);
    });
    const more = ordered.length > SHOW ? el("button", { type: "button", class: "more", "aria-expanded": "false", text: `show all ${ordered.length}`,
      onclick: (e) => { for (const t of tiles.children) t.hidden = false; e.target.remove(); } }) : null;
    box.append(el("div", { class: "domain" }, el("h3", {}, el("span", { class: "cap", text: dom.domain }), " ", el("small", { text: `${ordered.length} ${ordered[0] && ordered[0].direction_source === "KPI definition" ? "KPIs" : "series"}` })), tiles, more));
  }
  const run = state.overview.run;
  $("run-summary").textContent = run ? `Run ${run.run_id}: ${run.significant} significant pairs of ${run.tested} tested across ${run.series} series` +
    (run.compared_to ? ` (vs the previous run: ${run.new} new, ${run.strengthened} stronger, ${run.weakened} weaker, ${run.vanished} gone).` : ".") : "No correlation run yet.";
  const ul = $("overview-alerts"); ul.textContent = "";
  try {
    const a = await cached("/v1/explorer/anomalies?limit=50");
    const items = [...a.alerts.slice(0, 4).map((x) => x.message), ...a.correlation_alerts.slice(0, 3).map((x) => x.message),
      ...(a.dq_alerts.length ? [`${a.dq_alerts.length} failing data-quality checks`] : [])];
    for (const m of items) ul.append(el("li", { text: m }));
    if (!items.length) ul.append(el("li", { class: "muted", text: "no alerts" }));
  } catch (e) { ul.append(el("li", { class: "muted", text: e.message })); }
}

// ------------------------------------------------------------------------------------------ correlations
function renderFilters() {
  const domains = [...new Set(state.overview.series.map((s) => s.domain || s.source).filter(Boolean))].sort();
  for (const id of ["f-domain", "cat-domain"]) {
    const sel = $(id); sel.length = 1;
    for (const d of domains) sel.append(el("option", { value: d, text: d }));
  }
  for (const id of ["f-q", "f-domain", "f-lag", "f-network"]) $(id).addEventListener("change", () => { if (state.page === "correlations") renderCorrelations(); });
}
function filtered() {
  const q = Number($("f-q").value), lag = Number($("f-lag").value), dom = $("f-domain").value;
  return state.overview.findings.filter((f) => f.significant && f.change !== "vanished" && f.q !== null && f.q <= q &&
    Math.abs(f.lag) <= lag && (!dom || domainOf(f.a) === dom || domainOf(f.b) === dom));
}
function sentence(f) {
  const dir = f.r > 0 ? "move together" : "move in opposite directions";
  const steps = Math.abs(f.lag);
  const lag = f.lag === 0 ? "in the same period" : `with ${f.lag > 0 ? f.a : f.b} leading by ${steps} step${steps === 1 ? "" : "s"}`;
  const strength = Math.abs(f.r) >= 0.7 ? "strongly" : Math.abs(f.r) >= 0.4 ? "moderately" : "weakly";
  return `${f.a} and ${f.b} ${strength} ${dir} ${lag} (r = ${r2(f.r)}, 95% CI ${r2(f.ci_low)} to ${r2(f.ci_high)}, q = ${fmt(f.q, 2)}, ${f.n} points, ${fmt(f.n_eff, 3)} effectively independent).`;
}
async function renderCorrelations() {
  const run = state.overview.run;
  $("run-info").textContent = run ? `run ${run.run_id} · ${run.significant} significant of ${run.tested} tested` : "no correlation run yet";
  const rows = filtered();
  const body = $("findings").querySelector("tbody"); body.textContent = "";
  for (const f of rows) {
    const tr = el("tr", { class: "clickable", tabindex: "0" });
    tr.dataset.pair = f.a + "|" + f.b; tr.dataset.finding = f.finding_id;
    tr.append(el("td", {}, link(`#/pair?a=${encodeURIComponent(f.a)}&b=${encodeURIComponent(f.b)}`, `${f.a} ~ ${f.b}`)),
      el("td", { class: "num", text: fmt(f.r) }), el("td", { class: "num", text: fmt(f.q, 2) }), el("td", { class: "num", text: String(f.lag) }), el("td", { text: f.change || "" }));
    const go = () => openPair(f.a, f.b);
    tr.addEventListener("click", (e) => { if (e.target.tagName !== "A") go(); });
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    body.append(tr);
  }
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "no pair passes these filters" })));
  // series grouped by domain, then by name; every label shown in full
  const names = [...new Set(rows.flatMap((f) => [f.a, f.b]))].sort((x, y) => domainOf(x).localeCompare(domainOf(y)) || x.localeCompare(y));
  if ($("f-network").checked) return renderNetwork(rows, names);
  if (!names.length) { Plotly.purge("heatmap"); return; }
  const idx = Object.fromEntries(names.map((n, i) => [n, i]));
  const z = names.map(() => names.map(() => null)), text = names.map(() => names.map(() => ""));
  for (const f of rows) {
    const i = idx[f.a], j = idx[f.b];
    z[i][j] = z[j][i] = f.r;
    text[i][j] = text[j][i] = `r=${fmt(f.r)} q=${fmt(f.q, 2)} lag=${f.lag}`;
  }
  const longest = Math.max(...names.map((n) => n.length));
  const small = narrow();
  const font = names.length > 45 || small ? 9 : 11;
  const margin = Math.min(small ? 150 : 320, Math.round(longest * font * 0.62) + 16);
  const cell = Math.max(font + 3, small ? 10 : 14);
  const size = names.length * cell + margin + 30;
  // domain bands along both axes, labelled
  const shapes = [], annotations = [];
  let start = 0;
  names.forEach((n, i) => {
    if (i === names.length - 1 || domainOf(names[i + 1]) !== domainOf(n)) {
      const d = domainOf(n);
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: i + 0.5, x1: i + 0.5, y0: 0, y1: 1, line: { color: "#94a3b8", width: 1 } });
      shapes.push({ type: "line", yref: "y", xref: "paper", y0: i + 0.5, y1: i + 0.5, x0: 0, x1: 1, line: { color: "#94a3b8", width: 1 } });
      annotations.push({ x: (start + i) / 2, y: 1.0, xref: "x", yref: "paper", yanchor: "bottom", text: `<b>${d}</b>`, showarrow: false, font: { size: font + 1 } });
      start = i + 1;
    }
  });
  const ticks = { tickmode: "array", tickvals: names.map((_, i) => i), ticktext: names, tickfont: { size: font }, automargin: true };
  draw("heatmap", [{ type: "heatmap", x: names.map((_, i) => i), y: names.map((_, i) => i), z, text, hovertemplate: "%{customdata}<br>%{text}<extra></extra>",
    customdata: names.map((a) => names.map((b) => `${a} ~ ${b}`)), zmin: -1, zmax: 1, colorscale: COLORSCALE, xgap: 1, ygap: 1,
    colorbar: { title: { text: "r" }, thickness: 12, len: 0.6 } }],
    { margin: { l: margin, b: margin, t: 40, r: 20 }, height: Math.max(360, size), width: small ? Math.max(360, size) : undefined,
      xaxis: Object.assign({ tickangle: -60, side: "bottom" }, ticks), yaxis: Object.assign({ autorange: "reversed" }, ticks),
      shapes: shapes.slice(0, -2), annotations, plot_bgcolor: "white" });
  const plot = $("heatmap");
  plot.removeAllListeners && plot.removeAllListeners("plotly_click");
  plot.on("plotly_click", (ev) => { const p = ev.points[0]; if (p && p.z !== null && p.x !== p.y) openPair(names[p.y], names[p.x]); });
}
function renderNetwork(rows, names) {
  const pos = Object.fromEntries(names.map((n, i) => [n, [Math.cos(2 * Math.PI * i / names.length), Math.sin(2 * Math.PI * i / names.length)]]));
  const traces = rows.map((f) => ({ type: "scatter", mode: "lines", x: [pos[f.a][0], pos[f.b][0]], y: [pos[f.a][1], pos[f.b][1]],
    line: { width: 1 + 5 * Math.abs(f.r), color: colorFor(f.r) }, hoverinfo: "text", customdata: [[f.a, f.b], [f.a, f.b]],
    text: `${f.a} ~ ${f.b} r=${fmt(f.r)}`, showlegend: false }));
  traces.push({ type: "scatter", mode: "markers+text", x: names.map((n) => pos[n][0]), y: names.map((n) => pos[n][1]),
    text: names, textposition: "top center", textfont: { size: 10 }, marker: { size: 10, color: "#0f172a" }, hoverinfo: "text", showlegend: false });
  traces.push({ type: "scatter", x: [null], y: [null], mode: "markers", marker: { colorscale: COLORSCALE, cmin: -1, cmax: 1, color: [0], showscale: true,
    colorbar: { title: { text: "r" }, thickness: 12, len: 0.6 } }, hoverinfo: "skip", showlegend: false });
  draw("heatmap", traces, { xaxis: { visible: false, range: [-1.6, 1.6] }, yaxis: { visible: false, range: [-1.3, 1.3] }, height: 560, margin: { t: 20, l: 10, r: 10, b: 10 } });
  const plot = $("heatmap");
  plot.removeAllListeners && plot.removeAllListeners("plotly_click");
  plot.on("plotly_click", (ev) => { const p = ev.points[0]; if (p && p.customdata && Array.isArray(p.customdata)) openPair(p.customdata[0], p.customdata[1]); });
}

// -------------------------------------------------------------------------------------------------- pair
function openPair(a, b) { location.hash = `#/pair?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`; }
async function renderFinding(id) {
  const f = await api(`/v1/findings/${encodeURIComponent(id)}`);
  const row = f.finding || f;
  await renderPair("", new URLSearchParams({ a: row.a, b: row.b }));
}
async function renderPair(_, params) {
  const a = params.get("a"), b = params.get("b");
  if (!a || !b) { status("a pair needs ?a=SERIES&b=SERIES", true); return; }
  status(`loading ${a} ~ ${b} …`);
  const d = await api(`/v1/explorer/pair?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}&max_lag=8`);
  $("pair-title").textContent = `${a} ~ ${b}`;
  const f = d.finding;
  $("pair-sentence").textContent = f ? sentence(f) : "This pair is not a finding of the latest run.";
  const small = narrow();
  draw("overlay", [
    { x: d.a.ts, y: d.a.values, name: a, type: "scatter", line: { color: "#2563eb", width: 1.5 } },
    { x: d.b.ts, y: d.b.values, name: b, type: "scatter", yaxis: "y2", line: { color: "#ea580c", width: 1.5 } },
  ], { title: { text: "Both series over time", font: { size: 14 } }, yaxis: { title: { text: unitOf(a) || a }, automargin: true },
    yaxis2: { overlaying: "y", side: "right", title: { text: unitOf(b) || b }, automargin: true },
    legend: { orientation: "h", y: -0.2 }, height: 360, margin: { t: 40, l: 60, r: 60, b: small ? 90 : 60 } });
  const best = f ? (f.a === a ? f.lag : -f.lag) : null;
  draw("ccf", [{ type: "bar", x: d.ccf.lags, y: d.ccf.r, marker: { color: d.ccf.r.map((r, i) => d.ccf.lags[i] === best ? "#ea580c" : colorFor(r === null ? 0 : Math.sign(r) * Math.max(0.35, Math.abs(r)))) } }],
    { title: { text: "Correlation at each lag", font: { size: 14 } }, xaxis: { title: { text: d.ccf.note }, dtick: 1 }, yaxis: { range: [-1, 1], title: { text: "r" } }, height: 360, margin: { t: 40, l: 50, r: 10 } });
  const stats = $("stats"); stats.textContent = "";
  const rows = f ? [["r (adjusted)", fmt(f.r)], ["r (raw)", fmt(f.r_raw)], ["95% CI", `${fmt(f.ci_low)} … ${fmt(f.ci_high)}`],
    ["n / effective n", `${f.n} / ${fmt(f.n_eff)}`], ["p", fmt(f.p, 2)], ["q (false discovery rate)", fmt(f.q, 2)], ["best lag", `${f.lag} (${f.a} leads when > 0)`],
    ["change vs previous run", f.change || "n/a"], ["possible confounder", f.third_series ? `${f.third_series} (partial r ${fmt(f.partial_r_third)})` : "none found"],
    ["Granger p a→b / b→a", `${fmt(f.granger_p_ab, 2)} / ${fmt(f.granger_p_ba, 2)}`], ["precedence", f.precedence || "n/a"]]
    : [["finding", "this pair is not a finding of the latest run"]];
  rows.push(["aligned steps", String(d.aligned_steps)]);
  for (const [k, v] of rows) stats.append(el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v })));
  const ul = $("warnings"); ul.textContent = "";
  for (const w of (f && f.warnings) || []) ul.append(el("li", { text: w }));
  $("caveat").textContent = (f && f.caveat) || "Correlation is not causation.";
  status("");
}

// ---------------------------------------------------------------------------------------------- findings
async function renderFindings() {
  const rows = state.overview.findings.filter((f) => f.significant && f.change !== "vanished");
  $("findings-info").textContent = `${rows.length} significant in the latest run`;
  const box = $("finding-cards"); box.textContent = "";
  const limit = Number(box.dataset.limit || 24);
  for (const f of rows.slice(0, limit)) {
    const warn = el("ul", {}, ...(f.warnings || []).map((w) => el("li", { text: w })));
    box.append(el("article", { class: "card", id: `finding-${f.finding_id}` },
      el("h3", {}, link(`#/finding/${encodeURIComponent(f.finding_id)}`, `${f.a} ~ ${f.b}`)),
      el("p", { text: sentence(f) }),
      f.third_series ? el("p", { class: "muted", text: `Possible confounder: ${f.third_series} (partial r ${fmt(f.partial_r_third)}).` }) : null,
      (f.warnings || []).length ? warn : null,
      el("p", { class: "caveat", text: f.caveat || "Correlation is not causation." }),
      el("div", { class: "mini" }),
      el("p", {}, el("button", { type: "button", class: "plots", onclick: (e) => miniPlot(f, e.target) , text: "Show plots" }), " ",
        link(`#/finding/${encodeURIComponent(f.finding_id)}`, "Open the pair →"))));
  }
  if (rows.length > limit) box.append(el("p", {}, el("button", { type: "button", class: "more", text: `show ${Math.min(24, rows.length - limit)} more of ${rows.length - limit}`,
    onclick: () => { box.dataset.limit = String(limit + 24); renderFindings(); } })));
  if (!rows.length) box.append(el("p", { class: "muted", text: "no findings yet: run `covary job run correlate`" }));
}

async function miniPlot(f, button) {
  const card = button.closest("article"), box = card.querySelector(".mini");
  button.disabled = true; button.textContent = "loading …";
  const d = await api(`/v1/explorer/pair?a=${encodeURIComponent(f.a)}&b=${encodeURIComponent(f.b)}&max_lag=8`).catch((e) => { status(e.message, true); return null; });
  button.remove();
  if (!d) return;
  const over = el("div", { class: "plot mini-plot" }), ccf = el("div", { class: "plot mini-plot" });
  box.append(over, ccf);
  draw(over, [{ x: d.a.ts, y: d.a.values, name: f.a, type: "scatter", line: { color: "#2563eb", width: 1 } },
    { x: d.b.ts, y: d.b.values, name: f.b, type: "scatter", yaxis: "y2", line: { color: "#ea580c", width: 1 } }],
  { height: 200, margin: { t: 10, l: 40, r: 40, b: 30 }, showlegend: false, yaxis2: { overlaying: "y", side: "right" } });
  draw(ccf, [{ type: "bar", x: d.ccf.lags, y: d.ccf.r, marker: { color: d.ccf.r.map((r) => colorFor(r === null ? 0 : Math.sign(r) * Math.max(0.35, Math.abs(r)))) } }],
    { height: 160, margin: { t: 20, l: 40, r: 10, b: 30 }, title: { text: "r at each lag", font: { size: 12 } }, yaxis: { range: [-1, 1] } });
}

// --------------------------------------------------------------------------------------------- forecasts
async function renderForecasts(arg) {
  const list = await cached("/v1/explorer/forecasts");
  const sel = $("fc-series");
  if (sel.options.length !== list.series.length) {
    sel.textContent = "";
    for (const s of list.series) sel.append(el("option", { value: s.series_id, text: s.description ? `${s.series_id} — ${s.description}` : s.series_id }));
    sel.onchange = () => { location.hash = `#/forecasts/${encodeURIComponent(sel.value)}`; };
  }
  if (!list.series.length) { $("fc-sentence").textContent = "No forecasts yet: run `covary job run forecast`."; Plotly.purge("fc-plot"); return; }
  const id = arg || sel.value || list.series[0].series_id;
  sel.value = id;
  const d = await api(`/v1/explorer/forecasts/${encodeURIComponent(id)}`);
  const f = d.forecast, unit = (d.meta && d.meta.unit) || unitOf(id);
  const last = f[f.length - 1];
  const info = list.series.find((s) => s.series_id === id) || {};
  $("fc-sentence").textContent = `${id}: the ${d.model} model, trained on data up to ${d.origin}, expects ${fmt(last.mean, 4)}${unit ? " " + unit : ""} on ${last.ts} ` +
    `(80% interval ${fmt(last.lo80, 4)} to ${fmt(last.hi80, 4)}; 95% interval ${fmt(last.lo95, 4)} to ${fmt(last.hi95, 4)}).` +
    (info.mase !== null && info.mase !== undefined ? ` Backtest MASE ${fmt(info.mase, 3)}${info.baseline_mase !== null && info.baseline_mase !== undefined ? ` vs ${fmt(info.baseline_mase, 3)} for the best naive baseline` : ""}.` : "");
  const ts = f.map((r) => r.ts);
  draw("fc-plot", [
    { x: [...ts, ...ts.slice().reverse()], y: [...f.map((r) => r.hi95), ...f.map((r) => r.lo95).reverse()], fill: "toself", fillcolor: "rgba(37,99,235,0.12)", line: { width: 0 }, name: "95% interval", hoverinfo: "skip", type: "scatter" },
    { x: [...ts, ...ts.slice().reverse()], y: [...f.map((r) => r.hi80), ...f.map((r) => r.lo80).reverse()], fill: "toself", fillcolor: "rgba(37,99,235,0.25)", line: { width: 0 }, name: "80% interval", hoverinfo: "skip", type: "scatter" },
    { x: d.actual.ts, y: d.actual.values, name: "actual", type: "scatter", line: { color: "#0f172a", width: 1.5 } },
    { x: ts, y: f.map((r) => r.mean), name: "forecast", type: "scatter", line: { color: "#2563eb", width: 2, dash: "dot" } },
  ], { height: 380, margin: { t: 20, l: 60, r: 20, b: 50 }, yaxis: { title: { text: unit }, automargin: true }, legend: { orientation: "h", y: -0.15 } });
  fillTable($("fc-backtests"), [
    { label: "model", value: (r) => r.winner ? `${r.model} (chosen)` : r.model }, { label: "MASE", key: "mase", num: true },
    { label: "sMAPE %", key: "smape", num: true }, { label: "80% coverage", key: "coverage80", num: true }, { label: "95% coverage", key: "coverage95", num: true }, { label: "points", key: "points", num: true }],
    d.backtests, { empty: "no backtest recorded" });
}

// ------------------------------------------------------------------------------------ anomalies, alerts
async function renderAnomalies() {
  const d = await cached("/v1/explorer/anomalies");
  const list = (ul, items, empty) => { ul.textContent = ""; for (const x of items) ul.append(x); if (!items.length) ul.append(el("li", { class: "muted", text: empty })); };
  list($("an-alerts"), d.alerts.map((a) => el("li", {}, a.message, " ", link(`#/pair?a=${encodeURIComponent(a.source_series)}&b=${encodeURIComponent(a.target_series)}`, "pair →"))), "no cross-source alerts");
  list($("an-corr"), d.correlation_alerts.slice(0, 30).map((a) => el("li", {}, a.message, " ", link(`#/finding/${encodeURIComponent(a.finding_id)}`, "finding →"))), "no correlation changes");
  fillTable($("an-table"), [{ label: "day", key: "ts" }, { label: "series", key: "series_id" }, { label: "kind", key: "kind" },
    { label: "value", key: "value", num: true }, { label: "expected", key: "expected", num: true }, { label: "score", key: "score", num: true, digits: 3 }, { label: "direction", key: "direction" }],
    d.anomalies, { empty: "no anomalies", onSelect: (r, tr) => plotAnomaly(r, d.anomalies, tr) });
  fillTable($("an-dq"), [{ label: "table", key: "table_name" }, { label: "check", key: "check" }, { label: "column", key: "column_name" },
    { label: "value", key: "value", num: true }, { label: "detail", key: "detail" }], d.dq_alerts, { empty: "no failing checks" });
}
async function plotAnomaly(r, all, tr) {
  for (const x of $("an-table").querySelectorAll("tr")) x.classList.remove("selected");
  tr.classList.add("selected");
  const s = await api(`/v1/series/${encodeURIComponent(r.series_id)}?limit=100000`);
  const marks = all.filter((a) => a.series_id === r.series_id);
  $("an-plot").hidden = false;
  draw("an-plot", [
    { x: s.rows.map((x) => String(x[0]).slice(0, 10)), y: s.rows.map((x) => x[1]), type: "scatter", name: r.series_id, line: { color: "#0f172a", width: 1 } },
    { x: marks.map((a) => a.ts), y: marks.map((a) => a.value), mode: "markers", type: "scatter", name: "anomaly", marker: { color: "#dc2626", size: 9, symbol: "x" } },
  ], { height: 280, margin: { t: 30, l: 60, r: 20, b: 40 }, title: { text: seriesLabel(r.series_id), font: { size: 13 } }, legend: { orientation: "h" } });
}

// ------------------------------------------------------------------------------------------ data quality
async function renderQuality() {
  const d = await cached("/v1/explorer/quality");
  $("dq-info").textContent = d.run_id ? `run ${d.run_id} at ${String(d.checked_at).slice(0, 19)} UTC` : "no DQ run yet";
  const top = d.tables.slice(0, 25);
  if (top.length) {
    draw("dq-plot", ["pass", "warn", "fail"].map((k, i) => ({ type: "bar", orientation: "h", name: k, y: top.map((t) => t.table_name), x: top.map((t) => t[k]),
      marker: { color: ["#16a34a", "#f59e0b", "#dc2626"][i] } })), { barmode: "stack", height: Math.max(260, top.length * 20 + 80), margin: { t: 10, l: 10, r: 10, b: 40 },
      yaxis: { automargin: true, autorange: "reversed" }, xaxis: { title: { text: "checks" } }, legend: { orientation: "h" } });
  } else Plotly.purge("dq-plot");
  fillTable($("dq-tables"), [{ label: "table", key: "table_name" }, { label: "version", key: "table_version", num: true }, { label: "pass", key: "pass", num: true },
    { label: "warn", key: "warn", num: true }, { label: "fail", key: "fail", num: true }], d.tables, { empty: "no checks yet" });
  fillTable($("dq-problems"), [{ label: "status", value: (r) => badge(r.status) }, { label: "table", key: "table_name" }, { label: "check", key: "check" },
    { label: "column", key: "column_name" }, { label: "detail", key: "detail" }], d.problems, { empty: "every check passes" });
}

// ------------------------------------------------------------------------------------- catalogue, series
async function renderCatalog() {
  const series = state.overview.series;
  const redraw = () => {
    const q = $("cat-search").value.trim().toLowerCase(), dom = $("cat-domain").value;
    const rows = series.filter((s) => (!dom || s.domain === dom || s.source === dom) &&
      (!q || [s.series_id, s.description, s.unit].some((v) => String(v || "").toLowerCase().includes(q))));
    $("cat-info").textContent = `${rows.length} of ${series.length} series`;
    fillTable($("cat-table"), [{ label: "series", value: (r) => link(`#/series/${encodeURIComponent(r.series_id)}`, r.series_id) }, { label: "description", key: "description" },
      { label: "unit", key: "unit" }, { label: "frequency", key: "frequency" }, { label: "domain", key: "domain" }, { label: "source", key: "source" }], rows);
  };
  $("cat-search").oninput = redraw; $("cat-domain").onchange = redraw;
  redraw();
}
async function renderSeries(id) {
  const s = await api(`/v1/series/${encodeURIComponent(id)}?limit=100000`);
  const meta = seriesMeta(id) || s.meta || {};
  $("series-title").textContent = id;
  $("series-meta").textContent = [meta.description, meta.unit && `unit: ${meta.unit}`, meta.frequency && `frequency: ${meta.frequency}`, meta.domain && `domain: ${meta.domain}`, meta.source && `source: ${meta.source}`].filter(Boolean).join(" · ");
  draw("series-plot", [{ x: s.rows.map((x) => String(x[0]).slice(0, 10)), y: s.rows.map((x) => x[1]), type: "scatter", line: { color: "#2563eb", width: 1.5 }, name: id }],
    { height: 360, margin: { t: 20, l: 60, r: 20, b: 40 }, yaxis: { title: { text: meta.unit || "" }, automargin: true } });
  const links = $("series-links"); links.textContent = "";
  const pairs = state.overview.findings.filter((f) => f.significant && (f.a === id || f.b === id)).slice(0, 10);
  links.append(link(`#/forecasts/${encodeURIComponent(id)}`, "Forecast →"), " ");
  for (const f of pairs) links.append(" · ", link(`#/finding/${encodeURIComponent(f.finding_id)}`, `${f.a === id ? f.b : f.a} (r ${fmt(f.r, 2)})`));
}
async function renderTable(name, params) {
  const t = await api(`/v1/explorer/tables/${encodeURIComponent(name)}`);
  const cited = params.get("v");
  $("table-title").textContent = name + (cited !== null ? ` — cited version ${cited}` : "");
  $("table-desc").textContent = `${t.description || ""} Current version: ${t.version ?? "n/a"}.`;
  fillTable($("table-versions"), [{ label: "version", key: "version", num: true }, { label: "time (UTC)", key: "time" }, { label: "operation", key: "operation" },
    { label: "rows added", key: "rows_added", num: true }], t.versions, { decorate: (tr, r) => { if (cited !== null && String(r.version) === cited) tr.classList.add("selected"); } });
  fillTable($("table-columns"), [{ label: "column", key: "name" }, { label: "type", key: "type" }, { label: "description", key: "description" }], t.columns);
}
async function renderDoc(id) {
  const d = await api(`/v1/explorer/documents/${encodeURIComponent(id)}`);
  $("doc-title").textContent = d.title || d.doc_id;
  $("doc-meta").textContent = [`${d.kind || "document"} ${d.doc_id}`, d.source_table && `from ${d.source_table}${d.source_version !== null && d.source_version !== undefined ? " v" + d.source_version : ""}`, d.indexed_at && `indexed ${d.indexed_at.slice(0, 19)} UTC`].filter(Boolean).join(" · ");
  $("doc-text").textContent = d.text || "The full text of this document lives in the vector index; open what it describes below.";
  if (d.link) $("doc-meta").append(" · ", link(d.link, "open →"));
}

// ------------------------------------------------------------------------------------------------ uploads
async function renderUploads() {
  const d = await cached("/v1/explorer/uploads");
  fillTable($("up-table"), [{ label: "uploaded (UTC)", value: (r) => String(r.uploaded_at).slice(0, 19) }, { label: "name", key: "upload" }, { label: "file", key: "file_name" },
    { label: "format", key: "format" }, { label: "status", value: (r) => badge(r.status === "loaded" && Array.isArray(r.profile) && r.profile.some((c) => c.invalid) ? "loaded with problems" : r.status) }, { label: "rows loaded", key: "rows_loaded", num: true },
    { label: "quarantined", key: "rows_quarantined", num: true }, { label: "size (bytes)", key: "size_bytes", num: true }],
    d.uploads, { empty: "no uploads yet", onSelect: (r, tr) => showProfile(r, tr) });
  fillTable($("up-quarantine"), [{ label: "when (UTC)", value: (r) => r.quarantined_at.slice(0, 19) }, { label: "source", key: "source" }, { label: "where", key: "location" },
    { label: "reason", key: "reason" }, { label: "raw", key: "raw" }], d.quarantine, { empty: "nothing quarantined" });
  if (d.uploads.length) showProfile(d.uploads[0], $("up-table").querySelector("tbody tr"));
}
function showProfile(u, tr) {
  for (const x of $("up-table").querySelectorAll("tr")) x.classList.remove("selected");
  if (tr) tr.classList.add("selected");
  const box = $("up-profile"); box.textContent = "";
  const prof = u.profile && typeof u.profile === "object" ? u.profile : null;
  const cols = prof ? (Array.isArray(prof) ? prof : (prof.columns || Object.entries(prof).map(([name, v]) => Object.assign({ name }, v)))) : [];
  box.append(el("h3", { text: `Column profile of ${u.file_name}` }));
  if (!cols.length) { box.append(el("p", { class: "muted", text: "no profile recorded" })); return; }
  const t = el("table");
  const keys = [...new Set(cols.flatMap((c) => Object.keys(c)))].filter((k) => k !== "name" && k !== "samples").slice(0, 9);
  fillTable(t, [{ label: "column", value: (c) => c.name || c.column }, ...keys.map((k) => ({ label: k.replace(/_/g, " "), value: (c) => typeof c[k] === "object" && c[k] !== null ? JSON.stringify(c[k]).slice(0, 120) : (typeof c[k] === "number" ? fmt(c[k], 4) : c[k]) }))], cols);
  box.append(el("div", { class: "table-wrap" }, t));
  // cells that do not fit their typed column (kept as null; the raw value stays in bronze.upload_rows)
  const bad = cols.flatMap((c) => Array.isArray(c.invalid_cells) ? c.invalid_cells : []);
  if (bad.length) {
    const bt = el("table");
    fillTable(bt, [{ label: "line", key: "line", num: true }, { label: "column", key: "column" }, { label: "value", key: "value" }, { label: "reason", key: "reason" }], bad);
    box.append(el("h3", { text: `Cells that do not fit their column (${cols.reduce((n, c) => n + (c.invalid || 0), 0)})` }), el("div", { class: "table-wrap" }, bt));
  }
}

// ---------------------------------------------------------------------------------------------------- ask
function citationHref(c) {
  if (c.finding_id) return `#/finding/${encodeURIComponent(c.finding_id)}`;
  if (c.source_table && ["table", "series", "kpi", "dq", "forecast", "anomaly", "alert", "finding"].includes(c.kind)) {
    return c.kind === "series" && c.doc_id.startsWith("series:") ? `#/series/${encodeURIComponent(c.doc_id.slice(7))}` :
      `#/table/${encodeURIComponent(c.source_table)}${c.source_version >= 0 ? "?v=" + c.source_version : ""}`;
  }
  return `#/doc/${encodeURIComponent(c.doc_id)}`;
}
function renderAnswer(text, citations) {
  const box = $("answer"); box.textContent = "";
  const byN = Object.fromEntries(citations.map((c) => [String(c.n), c]));
  // one paragraph per cited statement: a citation marker followed by a new sentence starts a new paragraph
  for (const para of text.replace(/(\[\d+\])\s+(?=[A-Za-z0-9])/g, "$1\n\n").split(/\n{2,}/)) {
    const p = el("p");
    for (const piece of para.split(/(\[\d+\])/)) {
      const m = piece.match(/^\[(\d+)\]$/);
      if (m && byN[m[1]]) p.append(el("sup", {}, el("a", { href: citationHref(byN[m[1]]), title: byN[m[1]].label, text: `[${m[1]}]` })));
      else p.append(piece);
    }
    box.append(p);
  }
}
$("ask-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = $("ask-input").value.trim(); if (!question) return;
  $("answer").textContent = ""; $("answer-caveat").textContent = ""; $("citations").textContent = ""; $("citations-title").hidden = true;
  status("asking …");
  const res = await fetch("/v1/ask/stream", { method: "POST", headers: { Authorization: "Bearer " + token(), "Content-Type": "application/json" }, body: JSON.stringify({ question }) });
  if (!res.ok) { const b = await res.json().catch(() => ({})); status((b.error || "HTTP " + res.status) + (b.hint ? " — " + b.hint : ""), true); return; }
  const reader = res.body.getReader(); const decoder = new TextDecoder(); let buffer = "";
  const acc = { text: "", citations: [] };
  for (;;) {
    const { value, done } = await reader.read(); if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) { handleEvent(buffer.slice(0, cut), acc); buffer = buffer.slice(cut + 2); }
  }
  if (!$("status").classList.contains("error")) status("");
});
function handleEvent(block, acc) {
  let name = "message", data = "";
  for (const line of block.split("\n")) { if (line.startsWith("event:")) name = line.slice(6).trim(); else if (line.startsWith("data:")) data += line.slice(5).trim(); }
  const d = data ? JSON.parse(data) : {};
  if (name === "sources") {
    acc.citations = d.citations;
    $("citations-title").hidden = !d.citations.length;
    for (const c of d.citations) $("citations").append(el("li", { "data-doc": c.doc_id }, el("a", { href: citationHref(c), text: c.label.replace(/^\[\d+\]\s*/, "") })));
  } else if (name === "token") { acc.text += d.text; $("answer").textContent = acc.text; }
  else if (name === "caveat") { $("answer-caveat").textContent = d.caveat; }
  else if (name === "done") { renderAnswer(d.answer || acc.text, d.citations || acc.citations); }
  else if (name === "error") { status(d.error + (d.hint ? " — " + d.hint : ""), true); }
}

// -------------------------------------------------------------------------------------------------- query
$("query-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = $("query-input").value.trim(); if (!question) return;
  status("running …");
  let d;
  try { d = await api("/v1/query", { method: "POST", body: JSON.stringify({ question }) }); }
  catch (err) { status(err.message, true); return; }
  $("query-explanation").textContent = d.explanation || "";
  $("query-sql").textContent = d.sql;
  const table = $("query-table"); table.textContent = "";
  table.append(el("thead", {}, el("tr", {}, ...d.columns.map((c) => el("th", { scope: "col", text: c })))));
  const body = el("tbody");
  for (const row of d.rows.slice(0, 200)) body.append(el("tr", {}, ...row.map((v) => el("td", { class: typeof v === "number" ? "num" : "", text: fmt(v, 6) }))));
  table.append(body);
  const numeric = d.columns.map((_, i) => d.rows.length > 0 && d.rows.every((r) => r[i] === null || typeof r[i] === "number"));
  const x = d.rows.map((r) => r[0]);
  const traces = d.columns.map((c, i) => i > 0 && numeric[i] ? { x, y: d.rows.map((r) => r[i]), name: c, type: (d.chart && d.chart.type === "bar") ? "bar" : "scatter" } : null).filter(Boolean);
  if (traces.length) draw("query-chart", traces, { height: 260, margin: { t: 10, l: 60, r: 10, b: 40 }, legend: { orientation: "h" } });
  else Plotly.purge("query-chart");
  status(`${d.row_count} rows${d.truncated ? " (truncated)" : ""} · ${d.translator || ""}`);
});

if (token()) login(token());
