// The app page's pictures: the executor timeline (one link per executor, so
// every bar opens its lines and is reachable by keyboard) and the log-volume
// histogram by level (uPlot, loaded by index.html as the global uPlot).
import { el, fmtTime, logsHref } from './lib.js';

/** Level groups of the histogram, bottom to top: errors stay visible at the base of each bar. */
const GROUPS = [
  { name: 'ERROR', levels: ['ERROR', 'FATAL'], color: '#cf222e' },
  { name: 'WARN', levels: ['WARN'], color: '#d4a72c' },
  { name: 'INFO', levels: ['INFO'], color: '#54aeff' },
  { name: 'other', levels: ['DEBUG', 'TRACE', 'NONE'], color: '#afb8c1' },
];

/**
 * Log volume by level. onSelect(from, to) runs when a range is dragged over
 * the chart (ms, inclusive).
 */
export function histogramChart(h, { width, height = 150, onSelect }) {
  const root = el('figure', { class: 'histogram', id: 'histogram', 'data-total': h.total, 'data-interval': h.interval ?? '' });
  const perLevel = {};
  for (const b of h.buckets) for (const [l, n] of Object.entries(b.levels)) perLevel[l] = (perLevel[l] ?? 0) + n;
  const legend = el(
    'figcaption',
    { class: 'legend' },
    `${h.total.toLocaleString()} lines`,
    h.interval ? ` · ${fmtInterval(h.interval)} per bar · ` : ' ',
    h.levels.map((l) => el('span', { class: `lg lg-${l}`, 'data-level': l, 'data-count': perLevel[l] ?? 0 }, `${l} ${(perLevel[l] ?? 0).toLocaleString()}`)),
  );
  const readout = el('div', { class: 'readout muted', 'aria-live': 'off' }, 'Drag over the chart to show the lines of a range.');
  root.append(legend);
  if (!h.buckets.length || typeof uPlot === 'undefined') {
    root.append(el('p', { class: 'muted' }, h.buckets.length ? 'Chart library not loaded.' : 'No lines.'));
    return root;
  }
  const step = h.interval ?? 1000;
  // A bar is as wide as the gap to its neighbours: a lone bucket gets empty ones either side, or it would fill the chart.
  const buckets = h.buckets.length > 1 ? h.buckets : [{ t: h.buckets[0].t - step, total: 0, levels: {} }, h.buckets[0], { t: h.buckets[0].t + step, total: 0, levels: {} }];
  // Cumulative per group, drawn tallest first so each group shows as its own band.
  const xs = buckets.map((b) => b.t / 1000);
  let acc = buckets.map(() => 0);
  const stacked = GROUPS.map((g) => {
    acc = buckets.map((b, i) => acc[i] + g.levels.reduce((s, l) => s + (b.levels[l] ?? 0), 0));
    return acc;
  });
  const order = [...GROUPS.keys()].reverse();
  const bars = uPlot.paths.bars({ size: [0.92, Infinity], align: 1 });
  // The whole range asked for, widened when the hits fill only a few buckets (one bucket alone got a range of years).
  const lo = h.from ?? buckets[0].t;
  const hi = (h.to ?? buckets[buckets.length - 1].t) + step;
  const pad = hi - lo < 10 * step ? 5 * step : 0;
  const xRange = [(lo - pad) / 1000, (hi + pad) / 1000];
  const plot = new uPlot(
    {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: { x: { time: true, range: () => xRange } },
      axes: [{ stroke: '#6a737d', grid: { show: false } }, { stroke: '#6a737d', size: countAxisWidth, grid: { stroke: '#eaeef2' } }],
      series: [{}, ...order.map((i) => ({ label: GROUPS[i].name, fill: GROUPS[i].color, stroke: GROUPS[i].color, width: 0, paths: bars, points: { show: false } }))],
      hooks: {
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            if (i === null || i === undefined) return;
            const b = buckets[i];
            readout.textContent = `${fmtTime(b.t)}: ${b.total.toLocaleString()} lines${Object.entries(b.levels).map(([l, n]) => ` · ${l} ${n}`).join('')}`;
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const from = Math.floor(u.posToVal(u.select.left, 'x') * 1000);
            const to = Math.ceil(u.posToVal(u.select.left + u.select.width, 'x') * 1000);
            onSelect?.(Math.max(from, h.from ?? from), Math.min(to, (h.to ?? to) + (h.interval ?? 0)));
          },
        ],
      },
    },
    [xs, ...order.map((i) => stacked[i])],
    root,
  );
  root.append(readout);
  root.plot = plot;
  return root;
}

const measure = document.createElement('canvas').getContext('2d');

/**
 * Width of the count axis: its widest label, the tick and the gap. A fixed
 * 50 px holds four digits: 40,000 was drawn as "0,000", cut at the canvas's
 * edge. Never narrower than 50 px: the time axis centres its first label, the
 * date under it too, on the plot's left edge.
 */
function countAxisWidth(u, values, axisIdx) {
  const axis = u.axes[axisIdx];
  measure.font = axis.font[0];
  const widest = Math.max(0, ...(values ?? []).map((v) => measure.measureText(v).width / uPlot.pxRatio));
  return Math.max(50, Math.ceil(widest + axis.ticks.size + axis.gap));
}

function fmtInterval(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${ms / 1000} s`;
  if (ms < 3_600_000) return `${ms / 60_000} min`;
  if (ms < 86_400_000) return `${ms / 3_600_000} h`;
  return `${ms / 86_400_000} d`;
}

const STATUS_TEXT = { running: 'running', succeeded: 'succeeded', failed: 'failed', removed: 'removed (let go or deleted)', unknown: 'end not known' };

/** One bar per executor from its start to its end, coloured by how it ended; OOMKilled marked. */
export function timelineChart(t, { appId }) {
  const span = Math.max(1, (t.to ?? 0) - (t.from ?? 0));
  const compact = t.executors.length > 40;
  const counts = {};
  for (const e of t.executors) counts[e.status] = (counts[e.status] ?? 0) + 1;
  const oom = t.executors.filter((e) => e.oomKilled).length;
  const rows = t.executors.map((e) => {
    const start = e.start ?? t.from;
    const end = e.end ?? start;
    const left = ((start - t.from) / span) * 100;
    const width = Math.max(0.3, ((end - start) / span) * 100);
    const how = [STATUS_TEXT[e.status] ?? e.status, e.reason && `${e.reason}${e.exitCode !== undefined ? `, exit ${e.exitCode}` : ''}`, e.exitMeaning].filter(Boolean).join(' · ');
    const title = `${e.executorId === 'driver' ? 'driver' : `executor ${e.executorId}`}: ${how}\n${fmtTime(start)} – ${fmtTime(end)}\n${e.lines.toLocaleString()} lines, ${e.error.toLocaleString()} errors`;
    return el(
      'div',
      { class: 'tl-row', role: 'listitem' },
      el('span', { class: 'tl-id' }, e.executorId),
      el(
        'div',
        { class: 'tl-track' },
        el('a', {
          class: `bar st-${e.status}${e.oomKilled ? ' oom' : ''}${e.error ? ' has-errors' : ''}`,
          href: logsHref(appId, { executor: e.executorId }),
          style: `left:${left.toFixed(3)}%;width:${Math.min(width, 100 - left).toFixed(3)}%`,
          title,
          'aria-label': title.replaceAll('\n', ', '),
          'data-executor': e.executorId,
          'data-status': e.status,
        }),
      ),
    );
  });
  const list = el('div', { class: `tl-rows${compact ? ' compact' : ''}`, role: 'list', onkeydown: arrowKeys });
  list.append(...rows);
  return el(
    'figure',
    { class: 'timeline', id: 'timeline' },
    el(
      'figcaption',
      { class: 'legend' },
      `${t.executors.length} pods, at most ${peak(t.executors)} at once · `,
      Object.entries(counts).map(([s, n]) => el('span', { class: `lg st-${s}`, 'data-status': s, 'data-count': n }, `${s} ${n}`)),
      oom ? el('span', { class: 'lg oom', 'data-status': 'oom', 'data-count': oom }, `OOMKilled ${oom}`) : null,
    ),
    el('div', { class: 'tl-axis muted' }, el('span', {}, fmtTime(t.from)), el('span', {}, fmtTime(t.from + span / 2)), el('span', {}, fmtTime(t.to))),
    list,
  );
}

/** Up/down between bars: 200 executors are 200 tab stops otherwise. */
function arrowKeys(ev) {
  if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
  const bars = [...ev.currentTarget.querySelectorAll('a.bar')];
  const i = bars.indexOf(document.activeElement);
  const next = bars[Math.max(0, Math.min(bars.length - 1, i + (ev.key === 'ArrowDown' ? 1 : -1)))];
  if (next) {
    ev.preventDefault();
    next.focus();
  }
}

/** Most executors alive at one time: how far dynamic allocation scaled. */
function peak(executors) {
  const edges = [];
  for (const e of executors) if (e.start !== undefined) edges.push([e.start, 1], [e.end ?? e.start, -1]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}
