/* global Chart, document, fetch, setInterval, window */
// The qopt dashboard: polls GET /api/v1/performance/dashboard and redraws Chart.js charts in place.
'use strict';

const REFRESH_MS = 3000;
const RECOMMENDATIONS_MS = 60000;
const SLOW_SHOWN = 8;
const TOP = 10;
const THROUGHPUT_POINTS = 40;
const COLORS = ['#4f9dff', '#f5a524', '#e5484d', '#2fbf71', '#a78bfa', '#22d3ee', '#f472b6', '#94a3b8', '#facc15', '#fb923c'];

Chart.defaults.color = '#8a93a6';
Chart.defaults.borderColor = '#263049';
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

function shortSql(text) {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 57)}…` : flat;
}

function makeChart(id, config) {
  return new Chart(document.getElementById(id), config);
}

const charts = {
  total: makeChart('chart-total', {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'total time (ms)', data: [], backgroundColor: COLORS[0] }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } } },
  }),
  latency: makeChart('chart-latency', {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: 'p50', data: [], backgroundColor: COLORS[3] },
        { label: 'p95', data: [], backgroundColor: COLORS[1] },
        { label: 'p99', data: [], backgroundColor: COLORS[2] },
      ],
    },
    options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms' } }, x: { ticks: { display: false } } } },
  }),
  throughput: makeChart('chart-throughput', {
    type: 'line',
    data: { labels: [], datasets: [{ label: 'queries / s', data: [], borderColor: COLORS[0], tension: 0.3, fill: false }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  }),
  cache: makeChart('chart-cache', {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'hit ratio (%)', data: [], backgroundColor: COLORS[3] }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100 } } },
  }),
};

let previous = null;

function setChart(id, chart, labels, series) {
  chart.data.labels = labels;
  series.forEach((values, index) => {
    chart.data.datasets[index].data = values;
  });
  chart.update();
  document.getElementById(id).dataset.points = String(labels.length);
}

function cell(text, numeric) {
  const td = document.createElement('td');
  if (numeric) td.className = 'num';
  td.textContent = text;
  return td;
}

function fillTable(id, headers, rows) {
  const table = document.getElementById(id);
  table.replaceChildren();
  const head = document.createElement('tr');
  for (const title of headers) {
    const th = document.createElement('th');
    th.textContent = title;
    head.append(th);
  }
  table.append(head);
  for (const row of rows) {
    const tr = document.createElement('tr');
    row.forEach((value, index) => tr.append(cell(String(value), index > 0 && typeof value === 'number')));
    table.append(tr);
  }
}

function fixed(value) {
  return Number(value).toFixed(value >= 100 ? 0 : 2);
}

function renderQueries(data) {
  const top = data.queries.slice(0, TOP);
  const labels = top.map((query) => shortSql(query.normalized));
  setChart('chart-total', charts.total, labels, [top.map((query) => query.total_ms)]);
  setChart('chart-latency', charts.latency, labels, [top.map((q) => q.p50_ms), top.map((q) => q.p95_ms), top.map((q) => q.p99_ms)]);
  fillTable(
    'queries',
    ['query', 'calls', 'total ms', 'p50', 'p95', 'p99', 'errors'],
    data.queries.map((q) => [shortSql(q.normalized), q.calls, Number(fixed(q.total_ms)), Number(fixed(q.p50_ms)), Number(fixed(q.p95_ms)), Number(fixed(q.p99_ms)), q.errors]),
  );
}

function renderThroughput(data) {
  const now = Date.parse(data.generated_at);
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    const rate = seconds > 0 ? Math.max(0, (data.totals.calls - previous.calls) / seconds) : 0;
    const chart = charts.throughput;
    const labels = [...chart.data.labels, new Date(now).toLocaleTimeString()].slice(-THROUGHPUT_POINTS);
    const values = [...chart.data.datasets[0].data, Number(rate.toFixed(1))].slice(-THROUGHPUT_POINTS);
    setChart('chart-throughput', chart, labels, [values]);
  }
  previous = { at: now, calls: data.totals.calls };
}

function renderCache(cache) {
  if (!cache || !Array.isArray(cache.tiers)) return;
  setChart('chart-cache', charts.cache, cache.tiers.map((tier) => tier.name), [cache.tiers.map((tier) => Number((tier.hit_ratio * 100).toFixed(1)))]);
}

function renderList(id, items, headers, toRow) {
  if (!Array.isArray(items)) return;
  fillTable(id, headers, items.map(toRow));
}

const EMPTY = {
  slow_queries: 'none over the slow-query threshold',
  alerts: 'no alert firing',
  recommendations: 'no index would pay for itself yet (asked once a minute)',
  rewrites: 'none yet: automatic rewriting applies proven rewrites of hot reads when it is on; POST /optimization/optimize-query proves them on demand',
};

function renderMissing(data) {
  const labels = { cache: 'cache', slow_queries: 'monitor', alerts: 'monitor', recommendations: 'advisor', rewrites: 'rewrite' };
  for (const element of document.querySelectorAll('.missing')) {
    const section = element.dataset.section;
    const value = data[section];
    if (value === null) element.textContent = `not in this build (no ${labels[section]} capability)`;
    else element.textContent = Array.isArray(value) && value.length === 0 ? EMPTY[section] : '';
  }
}

function render(data) {
  document.getElementById('totals').textContent = `${data.totals.fingerprints} fingerprints · ${data.totals.calls} queries · ${data.totals.errors} errors`;
  document.getElementById('updated').textContent = `updated ${new Date(data.generated_at).toLocaleTimeString()}`;
  renderQueries(data);
  renderThroughput(data);
  renderCache(data.cache);
  renderList('slow-queries', data.slow_queries?.slice(0, SLOW_SHOWN), ['query', 'ms', 'at'], (q) => [shortSql(q.normalized), Number(fixed(q.duration_ms)), new Date(q.at).toLocaleTimeString()]);
  renderList('alerts', data.alerts, ['alert', 'severity', 'since'], (a) => [a.message, a.severity, new Date(a.since).toLocaleTimeString()]);
  renderList('recommendations', data.recommendations, ['index', 'predicted gain'], (r) => [r.definition.replace(/^CREATE INDEX CONCURRENTLY /, ''), r.gain_percent === null ? '' : `${fixed(r.gain_percent)} %`]);
  renderList('rewrites', data.rewrites, ['query → rewrite', 'gain'], (r) => [
    `${shortSql(r.sql)} → ${r.rules.join(' + ')} (${r.source === 'automatic' ? r.state : 'proven'})`,
    r.gain_percent === null ? 'measuring' : r.source === 'automatic' ? `${fixed(r.gain_percent)} % (measured)` : `${fixed(r.gain_percent)} % (planner)`,
  ]);
  renderMissing(data);
}

async function refresh() {
  const status = document.getElementById('status');
  try {
    const response = await fetch('/api/v1/performance/dashboard?limit=50', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    status.textContent = 'live';
    status.className = 'pill ok';
  } catch (error) {
    status.textContent = `offline: ${error.message}`;
    status.className = 'pill bad';
  }
}

// The advisor plans every recorded query against hypothetical indexes: asked for once a minute (the
// service shares one run among all pages); the dashboard data then carries its latest answer.
async function refreshRecommendations() {
  try {
    await fetch('/api/v1/optimization/recommendations', { headers: { accept: 'application/json' } });
  } catch {
    // The next dashboard refresh reports the service offline.
  }
}

refresh();
refreshRecommendations().then(refresh);
setInterval(refresh, REFRESH_MS);
setInterval(refreshRecommendations, RECOMMENDATIONS_MS);
window.qoptDashboard = { refresh, refreshRecommendations, charts };
