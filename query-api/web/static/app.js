// The sparklogs web page: plain ES modules, no build step. Views by URL hash
// (filters live in the hash, so any view can be shared as a link):
//   #/?name=…&status=…&sort=…&offset=…   apps with status, filters, sorting, paging
//   #/search?q=…                         search across apps, with its log volume
//   #/apps/<appId>                       timeline, log volume, exceptions, executors
//   #/apps/<appId>/logs?executor=…&line=…&from=…&to=…&level=…&stream=…&q=…  the log viewer
// Every text from the server goes in with textContent; only search highlights
// (HTML-escaped by the server, matches in <mark>) go in as HTML.
import { histogramChart, timelineChart } from './charts.js';
import { LEVELS, api, appHref, downloadLink, el, fmtDuration, fmtTime, headers, lineEl, logsHref, newView, toast, viewSignal } from './lib.js';

const PAGE = 500;
/** The container streams a line can be of (the `stream` filter). */
const STREAMS = ['stdout', 'stderr'];
/** Lines kept in the DOM: older ones are dropped (and reloadable) so a long follow stays fast. */
const MAX_DOM_LINES = 5000;
/** Lines shown under the app page's histogram for a selected range. */
const RANGE_LINES = 200;
const APPS_PAGE = 50;

const $main = document.getElementById('main');

function parseHash() {
  const h = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = h.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), q: new URLSearchParams(qs ?? '') };
}

/** The view's state into the URL without reloading the view (Back still leaves the view). */
function setHashQuery(path, q) {
  const p = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined && v !== ''));
  history.replaceState(null, '', `#${path}${[...p].length ? `?${p}` : ''}`);
}

async function route() {
  newView();
  const { parts, q } = parseHash();
  try {
    if (parts[0] === 'search') return await searchView(q.get('q') ?? '');
    if (parts[0] === 'apps' && parts[1] && parts[2] === 'logs') return await logsView(parts[1], q);
    if (parts[0] === 'apps' && parts[1]) return await appView(parts[1]);
    return await homeView(q);
  } catch (err) {
    if (err.name === 'AbortError') return;
    $main.replaceChildren(el('p', { class: 'error-count', id: 'error' }, err.message));
  }
}

/** A time typed by a person: 15m / 2h / 7d back from now, epoch ms, or ISO (UTC unless it names a zone, as the page shows times). */
function timeParam(raw) {
  const s = raw.trim();
  if (!s || /^\d+[smhd]$/.test(s) || /^\d+$/.test(s)) return s;
  const iso = s.replace(' ', 'T');
  const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${s} (use 2024-11-21 06:20:00, or 15m, 2h, 7d back from now)`);
  return String(ms);
}
const timeText = (v) => (/^\d{10,}$/.test(v ?? '') ? fmtTime(Number(v)) : (v ?? ''));

// ---- Apps ------------------------------------------------------------------

const COLUMNS = [
  ['App', 'name'], ['Status', 'status'], ['Type', 'type'], ['Namespace', 'namespace'], ['Start', 'start'], ['Duration', 'duration'],
  ['Last activity', 'end'], ['Executors', 'executors'], ['Errors', 'errors'],
];

async function homeView(q) {
  const f = Object.fromEntries(['name', 'namespace', 'appType', 'status', 'from', 'to', 'sort', 'order', 'offset', 'size'].map((k) => [k, q.get(k) ?? '']));
  const sort = f.sort || 'end';
  const order = f.order || 'desc';
  const offset = Number(f.offset) || 0;
  const size = Math.min(500, Number(f.size) || APPS_PAGE);
  const go = (over) => {
    const next = { ...f, ...over };
    const p = new URLSearchParams(Object.entries(next).filter(([, v]) => v !== '' && v !== undefined));
    location.hash = `#/${[...p].length ? `?${p}` : ''}`;
  };
  const input = (name, label, attrs = {}) => el('label', {}, label, el('input', { name, value: timeText(f[name]), ...attrs }));
  const form = el(
    'form',
    { class: 'filters toolbar', id: 'app-filters', role: 'search', 'aria-label': 'Filter apps' },
    input('name', 'Name', { type: 'search', placeholder: 'part of id or name', size: 16 }),
    input('namespace', 'Namespace', { placeholder: 'any', size: 10 }),
    el('label', {}, 'Type', el('select', { name: 'appType' }, ['', 'spark', 'flink', 'flume'].map((t) => el('option', { value: t, selected: t === f.appType }, t || 'any')))),
    el('label', {}, 'Status', el('select', { name: 'status' }, ['', 'running', 'failed', 'succeeded', 'unknown'].map((s) => el('option', { value: s, selected: s === f.status }, s || 'any')))),
    input('from', 'Active from', { placeholder: '7d or 2024-11-21 06:00', size: 16 }),
    input('to', 'to', { placeholder: 'now', size: 16 }),
    el('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(form));
    try {
      go({ ...d, from: timeParam(d.from), to: timeParam(d.to), offset: '' });
    } catch (err) {
      toast(err.message);
    }
  });
  $main.replaceChildren(el('h1', {}, 'Apps'), form, el('p', { class: 'muted' }, 'Loading…'));
  const r = await api('/api/v1/app-list', { name: f.name, namespace: f.namespace, appType: f.appType, status: f.status, from: f.from, to: f.to, sort, order, offset, size });
  const head = COLUMNS.map(([label, key]) => {
    const on = sort === key;
    const next = on && order === 'desc' ? 'asc' : 'desc';
    return el('th', { 'aria-sort': on ? (order === 'asc' ? 'ascending' : 'descending') : undefined }, el('button', { class: 'sort', 'data-sort': key, onclick: () => go({ sort: key, order: next, offset: '' }) }, label, on ? (order === 'asc' ? ' ▲' : ' ▼') : ''));
  });
  const rows = r.apps.map((a) =>
    el(
      'tr',
      { 'data-app': a.appId, 'data-status': a.status },
      el('td', {}, el('a', { href: appHref(a.appId), class: 'app-link' }, a.appId), a.appName ? el('div', { class: 'muted small' }, a.appName) : null),
      el('td', {}, el('span', { class: `badge st-${a.status}` }, a.status), a.oomKilled ? el('span', { class: 'badge oom', title: 'executors OOMKilled' }, `${a.oomKilled} OOM`) : null),
      el('td', {}, a.appType),
      el('td', {}, a.namespace ?? '–'),
      el('td', {}, fmtTime(a.start)),
      el('td', { class: 'num' }, fmtDuration(a.duration)),
      el('td', {}, fmtTime(a.end)),
      el('td', { class: 'num' }, a.executors.toLocaleString(), a.failedExecutors ? el('span', { class: 'error-count' }, ` (${a.failedExecutors} failed)`) : null),
      el('td', { class: `num ${a.errors ? 'error-count' : ''}` }, a.errors.toLocaleString()),
    ),
  );
  const last = Math.min(offset + r.apps.length, r.total);
  const pager = el(
    'div',
    { class: 'toolbar pager', id: 'apps-pager' },
    el('button', { id: 'apps-prev', disabled: offset === 0, onclick: () => go({ offset: String(Math.max(0, offset - size)) }) }, '◀ Previous'),
    el('span', { id: 'apps-range' }, r.total ? `${offset + 1}–${last} of ${r.total.toLocaleString()}${r.truncated ? ' most recent' : ''}` : ''),
    el('button', { id: 'apps-next', disabled: last >= r.total, onclick: () => go({ offset: String(offset + size) }) }, 'Next ▶'),
  );
  $main.replaceChildren(
    el('h1', {}, 'Apps'),
    form,
    r.apps.length ? el('table', { id: 'apps' }, el('thead', {}, el('tr', {}, head)), el('tbody', {}, rows)) : el('p', { class: 'muted' }, r.total === 0 && !['name', 'namespace', 'appType', 'status', 'from', 'to'].some((k) => f[k]) ? 'No apps stored yet.' : 'No app matches.'),
    pager,
  );
}

// ---- Search ----------------------------------------------------------------

async function searchView(text) {
  document.getElementById('search').value = text;
  $main.replaceChildren(el('h1', {}, 'Search ', el('small', {}, text)), el('p', { class: 'muted' }, 'Searching…'));
  if (!text) return;
  const [{ hits }, h] = await Promise.all([api('/api/v1/search', { q: text, size: 200 }), api('/api/v1/search/histogram', { q: text })]);
  const list = hits.map((hit) => {
    const frag = el('div', { class: 'frag' });
    // Server-escaped fragments: the only markup in them is <mark>.
    frag.innerHTML = hit.highlights.length ? hit.highlights.join(' … ') : '';
    if (!hit.highlights.length) frag.textContent = hit.line.message.split('\n')[0];
    const l = hit.line;
    return el(
      'div',
      { class: 'hit' },
      el(
        'div',
        { class: 'meta' },
        el('a', { href: appHref(l.appId) }, l.appId), ' · ',
        el('a', { href: logsHref(l.appId, { executor: l.executorId }) }, `executor ${l.executorId}`),
        l.log ? [' ', el('span', { class: `cap cap-${l.log}`, title: `the container's ${l.log} (whole-stream capture)` }, l.log)] : null,
        ` · ${fmtTime(l.time)} · ${l.level ?? ''} · `,
        el('a', { class: 'ctx-app', href: logsHref(l.appId, { line: l.cursor }) }, 'in context'),
        hit.executorCursor ? [' · ', el('a', { class: 'ctx-exec', href: logsHref(l.appId, { executor: l.executorId, line: hit.executorCursor }) }, 'in its executor')] : null,
      ),
      frag,
    );
  });
  const chart = el('div', { class: 'chart-box' });
  $main.replaceChildren(
    el('h1', {}, 'Search ', el('small', {}, `${text} — ${h.total.toLocaleString()} matching lines${hits.length < h.total ? `, newest ${hits.length} below` : ''}`)),
    chart,
    el('div', { id: 'hits' }, list.length ? list : el('p', { class: 'muted' }, 'Nothing found.')),
  );
  chart.append(histogramChart(h, { width: chartWidth(chart) }));
}

const chartWidth = (box) => Math.max(320, Math.floor(box.getBoundingClientRect().width || $main.clientWidth - 32));

// ---- An app ----------------------------------------------------------------

/** " (Error, exit 52: JVM out of memory (OutOfMemoryError))" */
function statusDetail(l) {
  if (!l?.reason) return '';
  const exit = l.exitCode !== undefined ? `, exit ${l.exitCode}${l.exitMeaning ? `: ${l.exitMeaning}` : ''}` : '';
  return ` (${l.reason}${exit})`;
}

async function appView(appId) {
  $main.replaceChildren(el('h1', {}, appId), el('p', { class: 'muted' }, 'Loading…'));
  const path = `/api/v1/apps/${encodeURIComponent(appId)}`;
  // The timeline carries what the executors table shows: one aggregation over the lines, not two.
  const [t, h, ex] = await Promise.all([api(`${path}/timeline`), api(`${path}/histogram`), api(`${path}/exceptions`)]);
  const rows = t.executors.map((e) =>
    el(
      'tr',
      { 'data-executor': e.executorId },
      el('td', {}, el('a', { href: logsHref(appId, { executor: e.executorId }), class: 'exec-link' }, e.executorId)),
      el('td', {}, e.role ?? '–'),
      el('td', {}, e.pod ?? '–'),
      el('td', {}, e.node ?? '–'),
      el('td', { class: 'num' }, e.lines.toLocaleString()),
      el('td', { class: `num ${e.warn ? 'warn-count' : ''}` }, e.warn.toLocaleString()),
      el('td', { class: `num ${e.error ? 'error-count' : ''}` }, e.error.toLocaleString()),
      el('td', {}, fmtTime(e.firstLine)),
      el('td', {}, fmtTime(e.lastLine)),
      el('td', { class: `status-${e.status}`, title: e.reason && e.end ? `ended ${fmtTime(e.end)}` : undefined }, e.status, statusDetail(e)),
    ),
  );
  const exceptions = ex.exceptions.length
    ? el(
        'table',
        { id: 'exceptions' },
        el('thead', {}, el('tr', {}, ['Exception', 'Count', 'Executors', 'First', 'Last', 'First event'].map((x) => el('th', {}, x)))),
        el(
          'tbody',
          {},
          ex.exceptions.map((g) =>
            el(
              'tr',
              { 'data-exception': g.exception },
              el('td', { class: 'mono' }, g.exception),
              el('td', { class: 'num error-count' }, g.count.toLocaleString()),
              el('td', { class: 'num' }, g.executors.toLocaleString()),
              el('td', {}, fmtTime(g.first.time)),
              el('td', {}, fmtTime(g.last)),
              el('td', {}, el('a', { class: 'first-event', href: logsHref(appId, { line: g.first.cursor }) }, `[${g.first.executorId}] ${g.first.message.slice(0, 120)}`)),
            ),
          ),
        ),
      )
    : el('p', { class: 'muted', id: 'exceptions' }, 'No exceptions.');

  const rangeBox = el('section', { id: 'range', 'aria-live': 'polite' });
  const rangeForm = el(
    'form',
    { class: 'toolbar', id: 'range-form', 'aria-label': 'Lines of a time range' },
    el('label', {}, 'Lines from', el('input', { name: 'from', id: 'range-from', size: 22, placeholder: 'drag over the chart, or type' })),
    el('label', {}, 'to', el('input', { name: 'to', id: 'range-to', size: 22 })),
    el('button', { type: 'submit' }, 'Show lines'),
  );
  rangeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    try {
      const from = timeParam(rangeForm.elements.from.value);
      const to = timeParam(rangeForm.elements.to.value);
      showRange(from ? Number(from) : h.from, to ? Number(to) : h.to);
    } catch (err) {
      toast(err.message);
    }
  });

  async function showRange(from, to) {
    rangeForm.elements.from.value = fmtTime(from);
    rangeForm.elements.to.value = fmtTime(to);
    rangeBox.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    const [lines, count] = await Promise.all([api(`${path}/logs`, { from, to, size: RANGE_LINES }), api(`${path}/histogram`, { from, to, buckets: 10 })]);
    const viewer = el('div', { class: 'viewer short', id: 'range-lines', tabindex: 0 }, lines.lines.map((l) => lineEl(l, { appId })));
    rangeBox.replaceChildren(
      el(
        'p',
        { id: 'range-summary', 'data-from': from, 'data-to': to, 'data-count': count.total },
        `${count.total.toLocaleString()} lines from ${fmtTime(from)} to ${fmtTime(to)}${count.total > lines.lines.length ? `, the first ${lines.lines.length} below` : ''} · `,
        el('a', { href: logsHref(appId, { from, to }), id: 'range-open' }, 'open in the log viewer'),
      ),
      viewer,
    );
  }

  const failed = t.executors.filter((e) => e.status === 'failed').length;
  const chartBox = el('div', { class: 'chart-box' });
  $main.replaceChildren(
    el('h1', {}, appId, ' ', el('span', { class: `badge st-${t.status}`, id: 'app-status' }, t.status), ' ', el('small', {}, [t.appName, t.appType, t.namespace].filter(Boolean).join(' · '))),
    el(
      'p',
      { class: 'summary' },
      t.from !== undefined ? `${fmtTime(t.from)} – ${fmtTime(t.to)} (${fmtDuration(t.to - t.from)}) · ` : '',
      `${t.executors.length} pods · ${h.total.toLocaleString()} lines`,
      failed ? el('span', { class: 'error-count' }, ` · ${failed} failed`) : '',
      ' · ', el('a', { class: 'button', href: logsHref(appId) }, 'All executors, interleaved'), ' ', downloadLink(`${path}/download`),
    ),
    el('h2', {}, 'Executors over time'),
    timelineChart(t, { appId }),
    el('h2', {}, 'Log volume by level'),
    chartBox,
    rangeForm,
    rangeBox,
    el('h2', {}, 'Exceptions ', el('small', {}, ex.distinct ? `${ex.distinct} classes` : '')),
    exceptions,
    el('h2', {}, 'Executors'),
    el('table', { id: 'executors' }, el('thead', {}, el('tr', {}, ['Executor', 'Role', 'Pod', 'Node', 'Lines', 'WARN', 'ERROR', 'First line', 'Last line', 'Status'].map((x) => el('th', {}, x)))), el('tbody', {}, rows)),
  );
  chartBox.append(histogramChart(h, { width: chartWidth(chartBox), onSelect: (from, to) => showRange(from, to).catch((err) => err.name !== 'AbortError' && toast(err.message)) }));
}

// ---- The log viewer ----------------------------------------------------------

async function logsView(appId, q) {
  const executor = q.get('executor') ?? '';
  const target = q.get('line') ?? '';
  const base = executor ? `/api/v1/apps/${encodeURIComponent(appId)}/executors/${encodeURIComponent(executor)}` : `/api/v1/apps/${encodeURIComponent(appId)}`;
  const stream = q.get('stream') ?? '';
  const state = { prev: undefined, next: undefined, follow: undefined, level: q.get('level') ?? '', stream: STREAMS.includes(stream) ? stream : '', grep: q.get('q') ?? '', from: q.get('from') ?? '', to: q.get('to') ?? '' };
  const hashPath = `/apps/${encodeURIComponent(appId)}/logs`;
  const keepInUrl = () => setHashQuery(hashPath, { executor, level: state.level, stream: state.stream, q: state.grep, from: state.from, to: state.to });

  const $viewer = el('div', { class: 'viewer', id: 'viewer', tabindex: 0, 'aria-label': 'log lines' });
  const $older = el('button', { id: 'older', onclick: () => older() }, '▲ Older');
  const $newer = el('button', { id: 'newer', onclick: () => newer() }, '▼ Newer');
  const $latest = el('button', { id: 'latest', onclick: () => reload() }, 'Latest');
  const $first = el('button', { id: 'first-error', onclick: () => firstError() }, 'First error');
  const $follow = el('button', { id: 'follow', 'aria-pressed': 'false', onclick: () => toggleFollow() }, 'Follow');
  const $level = el('select', { id: 'level', 'aria-label': 'minimum level', onchange: () => { state.level = $level.value; refilter(); } }, el('option', { value: '' }, 'all levels'), LEVELS.map((l) => el('option', { value: l, selected: l === state.level }, `≥ ${l}`)));
  // All lines, or only the container's stdout or stderr (an executor's whole-stream capture, or a CRI file's lines of that stream).
  const $stream = el(
    'select',
    { id: 'stream', 'aria-label': 'stream', title: "All lines, or only the container's stdout or stderr", onchange: () => { state.stream = $stream.value; refilter(); } },
    el('option', { value: '' }, 'all streams'), STREAMS.map((s) => el('option', { value: s, selected: s === state.stream }, s)),
  );
  const $grep = el('input', { id: 'grep', type: 'search', 'aria-label': 'words', placeholder: 'filter (words)', value: state.grep, onchange: () => { state.grep = $grep.value.trim(); refilter(); } });
  const $from = el('input', { id: 'from', 'aria-label': 'from', placeholder: 'from (1h, 2024-11-21 06:00)', size: 20, value: timeText(state.from) });
  const $to = el('input', { id: 'to', 'aria-label': 'to', placeholder: 'to', size: 20, value: timeText(state.to) });
  const setRange = () => {
    try {
      state.from = timeParam($from.value);
      state.to = timeParam($to.value);
      refilter();
    } catch (err) {
      toast(err.message);
    }
  };
  $from.addEventListener('change', setRange);
  $to.addEventListener('change', setRange);
  const $status = el('span', { class: 'muted', id: 'status', 'aria-live': 'polite' });
  const downloadHref = () => `${base}/download${state.stream ? `?stream=${state.stream}` : ''}`;
  const $download = downloadLink(downloadHref());
  $main.replaceChildren(
    el('h1', {}, el('a', { href: appHref(appId) }, appId), ' ', el('small', {}, executor ? `executor ${executor}` : 'all executors')),
    el('div', { class: 'toolbar' }, $older, $newer, $latest, $first, $follow, $level, $stream, $grep, $from, $to, $download, $status),
    $viewer,
  );
  const filters = () => ({ level: state.level || undefined, stream: state.stream || undefined, q: state.grep || undefined, from: state.from || undefined, to: state.to || undefined });
  const lineOf = (l) => lineEl(l, { appId, executor: executor || undefined });

  function refilter() {
    keepInUrl();
    $download.setAttribute('href', downloadHref());
    reload().catch((err) => err.name !== 'AbortError' && toast(err.message));
  }

  function trim(fromTop) {
    const lines = $viewer.querySelectorAll('.line');
    const extra = lines.length - MAX_DOM_LINES;
    if (extra <= 0) return;
    const drop = fromTop ? [...lines].slice(0, extra) : [...lines].slice(-extra);
    drop.forEach((n) => n.remove());
    const all = $viewer.querySelectorAll('.line');
    state.prev = all[0]?.dataset.cursor;
    state.next = all[all.length - 1]?.dataset.cursor;
  }

  const atBottom = () => $viewer.scrollHeight - $viewer.scrollTop - $viewer.clientHeight < 40;

  function append(lines) {
    if (!lines.length) return;
    const stick = atBottom();
    $viewer.append(...lines.map(lineOf));
    state.next = lines[lines.length - 1].cursor;
    state.prev ??= lines[0].cursor;
    trim(true);
    if (stick) $viewer.scrollTop = $viewer.scrollHeight;
  }

  async function reload() {
    stopFollow();
    // Filters changed again while a reload was under way (from, then to): only the newest one's lines are shown.
    const gen = (state.gen = (state.gen ?? 0) + 1);
    $viewer.replaceChildren();
    state.prev = state.next = undefined;
    // A range reads from its start; otherwise the newest lines.
    const r = await api(`${base}/logs`, { ...filters(), ...(state.from ? { size: PAGE } : { tail: PAGE }) });
    if (gen !== state.gen) return;
    append(r.lines);
    $viewer.scrollTop = state.from ? 0 : $viewer.scrollHeight;
    $status.textContent = r.lines.length ? `${r.lines.length} ${state.from ? 'first' : 'latest'} lines` : 'No lines.';
  }

  async function older() {
    if (!state.prev) return;
    const r = await api(`${base}/logs`, { ...filters(), size: PAGE, before: state.prev });
    if (!r.lines.length) return ($status.textContent = 'This is the first line.');
    const h = $viewer.scrollHeight;
    $viewer.prepend(...r.lines.map(lineOf));
    state.prev = r.lines[0].cursor;
    $viewer.scrollTop += $viewer.scrollHeight - h;
    trim(false);
    $status.textContent = `${$viewer.querySelectorAll('.line').length} lines loaded`;
  }

  async function newer() {
    const r = await api(`${base}/logs`, { ...filters(), size: PAGE, after: state.next });
    if (!r.lines.length) return ($status.textContent = 'No newer lines (yet).');
    append(r.lines);
    $status.textContent = `${$viewer.querySelectorAll('.line').length} lines loaded`;
  }

  /** The first ERROR or FATAL line (within the time range and words), shown with the lines around it. */
  async function firstError() {
    const r = await api(`${base}/logs`, { ...filters(), level: 'ERROR', size: 1 });
    if (!r.lines.length) return toast('No ERROR or FATAL line here.');
    location.hash = logsHref(appId, { executor, line: r.lines[0].cursor });
  }

  function stopFollow() {
    state.follow?.abort();
    state.follow = undefined;
    $follow.classList.remove('follow-on');
    $follow.setAttribute('aria-pressed', 'false');
    $follow.textContent = 'Follow';
  }

  async function toggleFollow() {
    if (state.follow) return stopFollow();
    // Follow starts from the newest lines, so the view jumps to them first (a range's end does not hold).
    state.to = '';
    $to.value = '';
    keepInUrl();
    await reload();
    const ctl = new AbortController();
    viewSignal().addEventListener('abort', () => ctl.abort());
    state.follow = ctl;
    $follow.classList.add('follow-on');
    $follow.setAttribute('aria-pressed', 'true');
    $follow.textContent = 'Following…';
    $viewer.scrollTop = $viewer.scrollHeight;
    followLoop(ctl).catch((err) => {
      if (err.name !== 'AbortError') toast(`follow stopped: ${err.message}`);
      if (state.follow === ctl) stopFollow();
    });
  }

  async function followLoop(ctl) {
    let lastId;
    for (let attempt = 0; !ctl.signal.aborted; attempt++) {
      const u = new URL(`${base}/follow`, location.origin);
      const { level, stream: only, q: words } = filters();
      for (const [k, v] of Object.entries({ level, stream: only, q: words })) if (v) u.searchParams.set(k, v);
      const res = await fetch(u, { headers: { ...headers(), ...(lastId ? { 'last-event-id': lastId } : {}) }, signal: ctl.signal });
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error?.message ?? `HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const ev = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data += line.slice(6);
            else if (line.startsWith('id: ')) lastId = line.slice(4);
          }
          if (ev.event === 'lines') append(JSON.parse(ev.data).lines);
          if (ev.event === 'end') {
            toast('The app has finished: follow ended.');
            return stopFollow();
          }
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
    }
  }

  if (target) {
    // A link to a line: the lines around it, before and after (Older / Newer read further).
    const around = { ...filters(), from: undefined, to: undefined };
    const before = await api(`${base}/logs`, { ...around, size: 50, before: target });
    const from = await api(`${base}/logs`, { ...around, size: 51, ...(before.lines.length ? { after: before.lines[before.lines.length - 1].cursor } : {}) });
    append([...before.lines, ...from.lines]);
    const hit = $viewer.querySelector(`.line[data-cursor="${CSS.escape(target)}"]`);
    hit?.classList.add('target');
    hit?.setAttribute('tabindex', '-1');
    hit?.scrollIntoView({ block: 'center' });
    hit?.focus({ preventScroll: true });
    $status.textContent = hit ? `Linked line highlighted, with ${before.lines.length} lines before it.` : 'The linked line is not stored (or no longer).';
  } else {
    await reload();
  }
}

document.getElementById('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = document.getElementById('search').value.trim();
  if (q) location.hash = `#/search?${new URLSearchParams({ q })}`;
});
window.addEventListener('hashchange', route);
route();
