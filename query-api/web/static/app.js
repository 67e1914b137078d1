// The sparklogs web page: plain ES module, no build step. Views by URL hash:
//   #/                                   recent apps
//   #/search?q=…                         search across apps
//   #/apps/<appId>                       an app and its executors
//   #/apps/<appId>/logs?executor=…&line=… the log viewer (paged; follow over SSE)
// Every text from the server goes in with textContent; only search highlights
// (HTML-escaped by the server, matches in <mark>) go in as HTML.

const PAGE = 500;
/** Lines kept in the DOM: older ones are dropped (and reloadable) so a long follow stays fast. */
const MAX_DOM_LINES = 5000;
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

const $main = document.getElementById('main');
const $toast = document.getElementById('toast');
let viewAbort = new AbortController();

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function toast(msg) {
  $toast.textContent = msg;
  $toast.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => ($toast.hidden = true), 5000);
}

function headers() {
  const t = localStorage.getItem('sparklogs-token');
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** fetch with the stored token; on 401/403 asks for one and tries again (Cancel gives the 401/403 back). */
async function authFetch(url, init = {}) {
  const res = await fetch(url, { ...init, headers: { ...init.headers, ...headers() } });
  if (res.status !== 401 && res.status !== 403) return res;
  const t = prompt(res.status === 401 ? 'This server needs an API token:' : 'The token was refused. API token:');
  if (!t) return res;
  localStorage.setItem('sparklogs-token', t.trim());
  return authFetch(url, init);
}

async function api(path, query = {}, signal = viewAbort.signal) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') u.searchParams.set(k, v);
  const res = await authFetch(u, { signal });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/**
 * A download link that works with API tokens on. A plain link cannot send the
 * Authorization header (and a token in its URL would end up in access logs and
 * history), so with a token stored the click fetches with the header and saves
 * what arrives as a file; without one the browser downloads natively.
 */
function downloadLink(path, label = 'Download') {
  const a = el('a', { class: 'button download', href: path }, label);
  a.addEventListener('click', async (e) => {
    if (!localStorage.getItem('sparklogs-token')) return;
    e.preventDefault();
    if (a.dataset.busy) return;
    a.dataset.busy = '1';
    try {
      await saveAuthorized(path, (bytes) => (a.textContent = `${label} (${(bytes / 1048576).toFixed(1)} MB…)`));
    } catch (err) {
      if (err.name !== 'AbortError') toast(`download failed: ${err.message}`);
    } finally {
      delete a.dataset.busy;
      a.textContent = label;
    }
  });
  return a;
}

async function saveAuthorized(path, progress) {
  const res = await authFetch(new URL(path, location.origin));
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error?.message ?? `HTTP ${res.status}`);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'sparklogs.log';
  const parts = [];
  let bytes = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    bytes += value.byteLength;
    progress(bytes);
  }
  // The browser keeps a large Blob on disk, not in the page's memory.
  const url = URL.createObjectURL(new Blob(parts, { type: 'text/plain' }));
  const save = el('a', { href: url, download: name, hidden: true });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const fmtTime = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : '–');
const appHref = (appId) => `#/apps/${encodeURIComponent(appId)}`;
const logsHref = (appId, q = {}) => `${appHref(appId)}/logs${Object.keys(q).length ? `?${new URLSearchParams(q)}` : ''}`;

function parseHash() {
  const h = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = h.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), q: new URLSearchParams(qs ?? '') };
}

async function route() {
  viewAbort.abort();
  viewAbort = new AbortController();
  const { parts, q } = parseHash();
  try {
    if (parts[0] === 'search') return await searchView(q.get('q') ?? '');
    if (parts[0] === 'apps' && parts[1] && parts[2] === 'logs') return await logsView(parts[1], q);
    if (parts[0] === 'apps' && parts[1]) return await appView(parts[1]);
    return await homeView();
  } catch (err) {
    if (err.name === 'AbortError') return;
    $main.replaceChildren(el('p', { class: 'error-count', id: 'error' }, err.message));
  }
}

async function homeView() {
  $main.replaceChildren(el('h1', {}, 'Recent apps'), el('p', { class: 'muted' }, 'Loading…'));
  const { apps } = await api('/api/v1/apps', { size: 100 });
  const rows = apps.map((a) =>
    el('tr', {}, el('td', {}, el('a', { href: appHref(a.appId), class: 'app-link' }, a.appId)), el('td', {}, a.appName ?? '–'), el('td', {}, a.appType), el('td', {}, a.namespace ?? '–'), el('td', {}, fmtTime(a.firstSeen)), el('td', {}, fmtTime(a.lastSeen))),
  );
  $main.replaceChildren(
    el('h1', {}, 'Recent apps'),
    apps.length ? el('table', { id: 'apps' }, el('thead', {}, el('tr', {}, ['App id', 'Name', 'Type', 'Namespace', 'First seen', 'Last seen'].map((h) => el('th', {}, h)))), el('tbody', {}, rows)) : el('p', { class: 'muted' }, 'No apps stored yet.'),
  );
}

async function searchView(text) {
  document.getElementById('search').value = text;
  $main.replaceChildren(el('h1', {}, 'Search ', el('small', {}, text)), el('p', { class: 'muted' }, 'Searching…'));
  if (!text) return;
  const { hits } = await api('/api/v1/search', { q: text, size: 200 });
  const list = hits.map((h) => {
    const frag = el('div', { class: 'frag' });
    // Server-escaped fragments: the only markup in them is <mark>.
    frag.innerHTML = h.highlights.length ? h.highlights.join(' … ') : '';
    if (!h.highlights.length) frag.textContent = h.line.message.split('\n')[0];
    const l = h.line;
    return el(
      'div',
      { class: 'hit' },
      el('div', { class: 'meta' }, el('a', { href: appHref(l.appId) }, l.appId), ' · ', el('a', { href: logsHref(l.appId, { executor: l.executorId }) }, `executor ${l.executorId}`), ` · ${fmtTime(l.time)} · ${l.level ?? ''} · `, el('a', { href: logsHref(l.appId, { line: l.cursor }) }, 'in context')),
      frag,
    );
  });
  $main.replaceChildren(el('h1', {}, 'Search ', el('small', {}, `${text} — ${hits.length}${hits.length === 200 ? '+' : ''} hits, newest first`)), el('div', { id: 'hits' }, list.length ? list : el('p', { class: 'muted' }, 'Nothing found.')));
}

/** " (Error, exit 52: JVM out of memory (OutOfMemoryError))" */
function statusDetail(l) {
  if (!l?.reason) return '';
  const exit = l.exitCode !== undefined ? `, exit ${l.exitCode}${l.exitMeaning ? `: ${l.exitMeaning}` : ''}` : '';
  return ` (${l.reason}${exit})`;
}

async function appView(appId) {
  $main.replaceChildren(el('h1', {}, appId), el('p', { class: 'muted' }, 'Loading…'));
  const app = await api(`/api/v1/apps/${encodeURIComponent(appId)}`);
  const rows = app.executors.map((e) =>
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
      el('td', { class: `status-${e.status}`, title: e.lifecycle?.finishedAt ? `ended ${fmtTime(e.lifecycle.finishedAt)}` : undefined }, e.status, statusDetail(e.lifecycle)),
    ),
  );
  $main.replaceChildren(
    el('h1', {}, appId, ' ', el('small', {}, [app.appName, app.appType, app.namespace].filter(Boolean).join(' · '))),
    el('p', {}, el('a', { class: 'button', href: logsHref(appId) }, 'All executors, interleaved'), ' ', downloadLink(`/api/v1/apps/${encodeURIComponent(appId)}/download`)),
    el('table', { id: 'executors' }, el('thead', {}, el('tr', {}, ['Executor', 'Role', 'Pod', 'Node', 'Lines', 'WARN', 'ERROR', 'First line', 'Last line', 'Status'].map((h) => el('th', {}, h)))), el('tbody', {}, rows)),
  );
}

async function logsView(appId, q) {
  const executor = q.get('executor') ?? '';
  const target = q.get('line') ?? '';
  const base = executor ? `/api/v1/apps/${encodeURIComponent(appId)}/executors/${encodeURIComponent(executor)}` : `/api/v1/apps/${encodeURIComponent(appId)}`;
  const state = { prev: undefined, next: undefined, follow: undefined, level: q.get('level') ?? '', grep: q.get('q') ?? '' };

  const $viewer = el('div', { class: 'viewer', id: 'viewer', tabindex: 0 });
  const $older = el('button', { id: 'older', onclick: () => older() }, '▲ Older');
  const $newer = el('button', { id: 'newer', onclick: () => newer() }, '▼ Newer');
  const $latest = el('button', { id: 'latest', onclick: () => reload() }, 'Latest');
  const $follow = el('button', { id: 'follow', 'aria-pressed': 'false', onclick: () => toggleFollow() }, 'Follow');
  const $level = el('select', { id: 'level', onchange: () => { state.level = $level.value; reload(); } }, el('option', { value: '' }, 'all levels'), LEVELS.map((l) => el('option', { value: l, selected: l === state.level }, `≥ ${l}`)));
  const $grep = el('input', { id: 'grep', type: 'search', placeholder: 'filter (words)', value: state.grep, onchange: () => { state.grep = $grep.value.trim(); reload(); } });
  const $status = el('span', { class: 'muted', id: 'status' });
  $main.replaceChildren(
    el('h1', {}, el('a', { href: appHref(appId) }, appId), ' ', el('small', {}, executor ? `executor ${executor}` : 'all executors')),
    el('div', { class: 'toolbar' }, $older, $newer, $latest, $follow, $level, $grep, downloadLink(`${base}/download`), $status),
    $viewer,
  );
  const filters = () => ({ level: state.level || undefined, q: state.grep || undefined });

  function lineEl(l) {
    const [head, ...rest] = l.message.split('\n');
    const msg = rest.length
      ? el('details', {}, el('summary', {}, (l.logger ? `${l.logger}: ` : '') + head), el('pre', {}, rest.join('\n')))
      : (l.logger ? `${l.logger}: ` : '') + head;
    const link = logsHref(appId, { ...(executor ? { executor } : {}), line: l.cursor });
    return el(
      'div',
      { class: `line lvl-${l.level ?? 'NONE'}${executor ? ' exec-hidden' : ''}`, 'data-cursor': l.cursor },
      el('a', { class: 'ln', href: link, title: 'link to this line' }, '#'),
      el('span', { class: 't' }, fmtTime(l.time)),
      el('span', { class: 'l' }, l.level ?? ''),
      executor ? null : el('span', { class: 'x' }, `[${l.executorId}]`),
      el('span', { class: 'm' }, msg),
    );
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
    $viewer.append(...lines.map(lineEl));
    state.next = lines[lines.length - 1].cursor;
    state.prev ??= lines[0].cursor;
    trim(true);
    if (stick) $viewer.scrollTop = $viewer.scrollHeight;
  }

  async function reload() {
    stopFollow();
    $viewer.replaceChildren();
    state.prev = state.next = undefined;
    const r = await api(`${base}/logs`, { ...filters(), tail: PAGE });
    append(r.lines);
    $viewer.scrollTop = $viewer.scrollHeight;
    $status.textContent = r.lines.length ? `${r.lines.length} latest lines` : 'No lines.';
  }

  async function older() {
    if (!state.prev) return;
    const r = await api(`${base}/logs`, { ...filters(), size: PAGE, before: state.prev });
    if (!r.lines.length) return ($status.textContent = 'This is the first line.');
    const h = $viewer.scrollHeight;
    $viewer.prepend(...r.lines.map(lineEl));
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

  function stopFollow() {
    state.follow?.abort();
    state.follow = undefined;
    $follow.classList.remove('follow-on');
    $follow.setAttribute('aria-pressed', 'false');
    $follow.textContent = 'Follow';
  }

  async function toggleFollow() {
    if (state.follow) return stopFollow();
    // Follow starts from the newest lines, so the view jumps to them first.
    await reload();
    const ctl = new AbortController();
    viewAbort.signal.addEventListener('abort', () => ctl.abort());
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
      for (const [k, v] of Object.entries(filters())) if (v) u.searchParams.set(k, v);
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
    // A link to a line: some context before it, the line, and what follows.
    const before = await api(`${base}/logs`, { ...filters(), size: 20, before: target });
    const from = await api(`${base}/logs`, { ...filters(), size: PAGE, ...(before.lines.length ? { after: before.lines[before.lines.length - 1].cursor } : {}) });
    append([...before.lines, ...from.lines]);
    const hit = $viewer.querySelector(`.line[data-cursor="${CSS.escape(target)}"]`);
    hit?.classList.add('target');
    hit?.scrollIntoView({ block: 'center' });
    $status.textContent = 'Linked line highlighted.';
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
