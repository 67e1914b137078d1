// What every view of the page shares: DOM building, the API with the stored
// token, times, links, and how one log line is drawn. Every text from the
// server goes in with textContent.

export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

const $toast = document.getElementById('toast');
let viewAbort = new AbortController();

/** A new view starts: requests of the one before are cancelled. */
export function newView() {
  viewAbort.abort();
  viewAbort = new AbortController();
  return viewAbort.signal;
}
export const viewSignal = () => viewAbort.signal;

export function el(tag, attrs = {}, ...children) {
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

export function toast(msg) {
  $toast.textContent = msg;
  $toast.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => ($toast.hidden = true), 5000);
}

export function headers() {
  const t = localStorage.getItem('sparklogs-token');
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** The token question being asked: requests refused meanwhile wait for its answer instead of asking again. */
let asking;

/** fetch with the stored token; on 401/403 asks for one (once for requests in parallel) and tries again (Cancel gives the 401/403 back). */
export async function authFetch(url, init = {}) {
  const sent = localStorage.getItem('sparklogs-token');
  const res = await fetch(url, { ...init, headers: { ...init.headers, ...headers() } });
  if (res.status !== 401 && res.status !== 403) return res;
  if (asking) await asking;
  else if (localStorage.getItem('sparklogs-token') === sent) {
    asking = new Promise((resolve) => {
      const t = prompt(res.status === 401 ? 'This server needs an API token:' : 'The token was refused. API token:');
      if (t) localStorage.setItem('sparklogs-token', t.trim());
      resolve();
    }).finally(() => (asking = undefined));
    await asking;
  }
  // Still the token this request was refused with (none given): the refusal stands.
  if (localStorage.getItem('sparklogs-token') === sent) return res;
  return authFetch(url, init);
}

export async function api(path, query = {}, signal = viewAbort.signal) {
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
export function downloadLink(path, label = 'Download') {
  const a = el('a', { class: 'button download', href: path }, label);
  a.addEventListener('click', async (e) => {
    if (!localStorage.getItem('sparklogs-token')) return;
    e.preventDefault();
    if (a.dataset.busy) return;
    a.dataset.busy = '1';
    try {
      // The link as it is now (a view may have set a filter on it since).
      await saveAuthorized(a.getAttribute('href'), (bytes) => (a.textContent = `${label} (${(bytes / 1048576).toFixed(1)} MB…)`));
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

export const fmtTime = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : '–');

export function fmtDuration(ms) {
  if (ms === undefined || ms === null) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export const appHref = (appId) => `#/apps/${encodeURIComponent(appId)}`;
export const logsHref = (appId, q = {}) => {
  const p = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined && v !== ''));
  return `${appHref(appId)}/logs${[...p].length ? `?${p}` : ''}`;
};

/**
 * One log line: permalink, time, level, executor (when several), message with its stack trace folded.
 * A line of a whole-stream capture (`log`: the container's stdout or stderr, not its log file) is
 * marked with a badge naming the stream, so println output stands out from the log.
 */
export function lineEl(l, { appId, executor }) {
  const [head, ...rest] = l.message.split('\n');
  const text = (l.logger ? `${l.logger}: ` : '') + head;
  const cap = l.log ? el('span', { class: `cap cap-${l.log}`, title: `the container's ${l.log} (whole-stream capture), not its log file` }, l.log) : null;
  const msg = rest.length ? el('details', {}, el('summary', {}, cap, text), el('pre', {}, rest.join('\n'))) : [cap, text];
  const link = logsHref(appId, { executor, line: l.cursor });
  return el(
    'div',
    { class: `line lvl-${l.level ?? 'NONE'}${executor ? ' exec-hidden' : ''}${l.log ? ' captured' : ''}`, 'data-cursor': l.cursor, 'data-time': l.time, 'data-log': l.log, 'data-stream': l.stream },
    el('a', { class: 'ln', href: link, title: 'permalink to this line', 'aria-label': 'permalink to this line' }, '#'),
    el('span', { class: 't' }, fmtTime(l.time)),
    el('span', { class: 'l' }, l.level ?? ''),
    executor ? null : el('a', { class: 'x', href: logsHref(appId, { executor: l.executorId }), title: `executor ${l.executorId}` }, `[${l.executorId}]`),
    el('span', { class: 'm' }, msg),
  );
}
