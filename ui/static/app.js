// berth's web UI: a client of the Docker Engine API on this origin (/v1.41/...) and of berth's
// own /berth/ endpoints. Plain ES module, no build step.

const V = '/v1.41';
const view = document.getElementById('view');
const statusEl = document.getElementById('status');

// ---------- helpers ----------
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const $ = (sel, root = view) => root.querySelector(sel);
const $$ = (sel, root = view) => [...root.querySelectorAll(sel)];

export function humanSize(n) { // go-units HumanSizeWithPrecision(n, 3): decimal units, as Docker prints
  if (n == null || n < 0) return '';
  const u = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0; let v = n;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(3))}${u[i]}`;
}
function ago(sec) {
  if (!(sec > 0)) return 'N/A';
  const d = Date.now() / 1000 - sec;
  if (d < 60) return 'Less than a minute ago';
  if (d < 3600) return `${Math.round(d / 60)} minutes ago`;
  if (d < 86400 * 2) return `${Math.round(d / 3600)} hours ago`;
  if (d < 86400 * 14) return `${Math.round(d / 86400)} days ago`;
  if (d < 86400 * 60) return `${Math.round(d / 604800)} weeks ago`;
  if (d < 86400 * 365 * 2) return `${Math.round(d / 2592000)} months ago`;
  return `${Math.round(d / 31536000)} years ago`;
}
const short = (id) => String(id || '').replace(/^sha256:/, '').slice(0, 12);
function say(msg) { statusEl.textContent = msg || ''; }

async function req(path, opts = {}) {
  const r = await fetch(path, { credentials: 'same-origin', ...opts });
  if (!r.ok && r.status !== 304) {
    let msg = `${r.status} ${r.statusText}`;
    try { const j = await r.json(); if (j.message) msg = j.message; } catch { /* not JSON */ }
    const e = new Error(msg); e.status = r.status; throw e;
  }
  return r;
}
const api = async (path, opts) => { const r = await req(V + path, opts); const t = await r.text(); return t ? JSON.parse(t) : null; };
const berth = async (path) => (await req('/berth' + path)).json();
const post = (path, body, extra = {}) => api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), ...extra });

// readLines calls fn with each JSON line of a streaming response (pull, push, events, stats).
async function readLines(resp, fn, signal) {
  const rd = resp.body.getReader(); const dec = new TextDecoder(); let buf = '';
  for (;;) {
    if (signal?.aborted) { rd.cancel(); return; }
    const { value, done } = await rd.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim(); buf = buf.slice(i + 1);
      if (line) { try { fn(JSON.parse(line)); } catch (e) { if (!(e instanceof SyntaxError)) throw e; } }
    }
  }
  if (buf.trim()) { try { fn(JSON.parse(buf)); } catch { /* partial */ } }
}

// demux splits Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0, size BE) into text.
function demuxer(onText) {
  let pending = new Uint8Array(0); const dec = [new TextDecoder(), new TextDecoder(), new TextDecoder()];
  return (chunk) => {
    const b = new Uint8Array(pending.length + chunk.length); b.set(pending); b.set(chunk, pending.length);
    let o = 0;
    while (b.length - o >= 8) {
      const n = (b[o + 4] << 24 | b[o + 5] << 16 | b[o + 6] << 8 | b[o + 7]) >>> 0;
      if (b.length - o < 8 + n) break;
      const s = b[o] <= 2 ? b[o] : 1;
      onText(dec[s].decode(b.subarray(o + 8, o + 8 + n), { stream: true }), s);
      o += 8 + n;
    }
    pending = b.slice(o);
  };
}

// fresh wraps a view's loader so that only the newest of overlapping loads (a click's and an
// event's) paints: an older answer arriving last would bring back what was just removed.
function fresh(fetcher, paint) {
  let seq = 0;
  return async () => { const my = ++seq; const d = await fetcher(); if (my === seq) paint(d); };
}

// ---------- live updates: one /events stream for the whole page ----------
const listeners = new Set();
let eventsAbort = null;
async function followEvents() {
  for (;;) {
    eventsAbort = new AbortController();
    try {
      const r = await req(`${V}/events?since=${Math.floor(Date.now() / 1000)}`, { signal: eventsAbort.signal });
      await readLines(r, (ev) => listeners.forEach((fn) => fn(ev)));
    } catch { /* not served yet, or the server went away */ }
    await new Promise((res) => setTimeout(res, 5000));
  }
}
function onEvents(types, fn) {
  let t = null;
  const l = (ev) => { if (types.includes(ev.Type)) { clearTimeout(t); t = setTimeout(fn, 150); } };
  listeners.add(l);
  return () => listeners.delete(l);
}

// ---------- router ----------
let cleanup = [];
function leave() { cleanup.forEach((f) => { try { f(); } catch { /* */ } }); cleanup = []; }
const routes = [
  [/^#\/images\/(.+)$/, (m) => imageDetail(decodeURIComponent(m[1]))],
  [/^#\/images$/, () => imagesView()],
  [/^#\/search$/, () => searchView()],
  [/^#\/run(?:\?(.*))?$/, (m) => runView(new URLSearchParams(m[1] || ''))],
  [/^#\/containers\/([^/]+)(?:\/(\w+))?$/, (m) => containerView(decodeURIComponent(m[1]), m[2] || 'logs')],
  [/^#\/containers$/, () => containersView()],
  [/^#\/compose$/, () => composeView()],
  [/^#\/volumes$/, () => volumesView()],
  [/^#\/networks$/, () => networksView()],
];
async function route() {
  leave(); say('');
  const h = location.hash || '#/images';
  const top = h.split('/')[1]?.split('?')[0];
  $$('nav a', document).forEach((a) => { if (a.dataset.nav === top) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current'); });
  for (const [re, fn] of routes) {
    const m = h.match(re);
    if (m) {
      try { await fn(m); } catch (e) { say(e.message); }
      document.body.dataset.view = top; // tests wait on this
      document.body.dataset.readyMs = String(Math.round(performance.now())); // bench/ui reads this
      return;
    }
  }
  location.hash = '#/images';
}

// ---------- images ----------
let imageState = { filter: 'all', text: '', sort: 'Created', desc: true };
async function imagesView() {
  view.innerHTML = `<h1>Images</h1>
  <div class="toolbar">
    <label>Show <select id="ifilter"><option value="all">all</option><option value="inuse">in use</option><option value="unused">unused</option><option value="dangling">dangling</option></select></label>
    <input id="itext" type="search" placeholder="Filter (press /)" aria-label="Filter images" class="grow">
    <button id="idelete" class="danger" disabled>Delete selected</button>
    <button id="iprune">Prune dangling</button>
    <label class="tag" tabindex="0" role="button">Load… <input id="iload" type="file" hidden accept=".tar,.tar.gz,application/x-tar"></label>
    <a href="#/search">Search &amp; pull</a>
  </div>
  <div class="totals" id="itotals"></div>
  <div class="scroll vscroll" id="iscroll" tabindex="-1"><table id="itable"><thead><tr>
    <th><input type="checkbox" id="iall" aria-label="Select all"></th>
    ${[['Repository', 'Repository'], ['Tag', 'Tag'], ['ID', 'Id'], ['Created', 'Created'], ['Size', 'Size', 1], ['Shared', 'SharedSize', 1], ['Unique', 'UniqueSize', 1], ['Containers', 'Containers', 1]]
    .map(([t, k, n]) => `<th class="${n ? 'num' : ''}${k === 'SharedSize' || k === 'Containers' ? ' hide-narrow' : ''}"><button data-sort="${k}">${t}</button></th>`).join('')}
    <th>Actions</th></tr></thead><tbody></tbody></table></div>`;
  const f = $('#ifilter'); f.value = imageState.filter;
  const t = $('#itext'); t.value = imageState.text;
  let data = null;
  // The table is windowed: only the rows in view (and a margin) are in the DOM, so 10,000
  // images cost what 50 do. Selection lives in a Set, not in the checkboxes.
  let rows = []; const selected = new Set(); const ROW = 34;
  const paint = () => {
    const sc = $('#iscroll'); if (!sc) return;
    const first = Math.max(0, Math.floor(sc.scrollTop / ROW) - 10);
    const last = Math.min(rows.length, first + Math.ceil((sc.clientHeight || 800) / ROW) + 20);
    const pad = (n) => (n > 0 ? `<tr aria-hidden="true" style="height:${n * ROW}px"><td colspan="10"></td></tr>` : '');
    $('tbody').innerHTML = pad(first) + rows.slice(first, last).map((r) => `<tr class="r" data-ref="${esc(r.Ref)}" data-id="${esc(r.Id)}">
      <td><input type="checkbox" class="isel" aria-label="Select ${esc(r.Ref)}"${selected.has(r.Ref) ? ' checked' : ''}></td>
      <td><a href="#/images/${encodeURIComponent(r.Ref)}">${esc(r.Repository)}</a></td><td>${esc(r.Tag)}</td>
      <td class="mono">${short(r.Id)}</td><td>${ago(r.Created)}</td>
      <td class="num">${humanSize(r.Size)}</td><td class="num hide-narrow">${humanSize(r.SharedSize)}</td><td class="num">${humanSize(r.UniqueSize)}</td>
      <td class="num hide-narrow">${r.Containers > 0 ? `<span class="tag">in use ${r.Containers}</span>` : ''}</td>
      <td><a href="#/run?image=${encodeURIComponent(r.Ref)}">Run</a> <button data-act="tag">Tag</button> <button data-act="push">Push</button>
      <a href="${V}/images/get?names=${encodeURIComponent(r.Ref)}" download="${esc(r.Ref.replace(/[/:]/g, '_'))}.tar">Save</a></td></tr>`).join('') + pad(rows.length - last);
  };
  const render = () => {
    const q = imageState.text.toLowerCase();
    rows = [];
    for (const im of data.images) {
      const tags = im.Dangling ? ['<none>:<none>'] : im.RepoTags;
      for (const rt of tags) {
        if (imageState.filter === 'inuse' && !(im.Containers > 0)) continue;
        if (imageState.filter === 'unused' && im.Containers > 0) continue;
        if (imageState.filter === 'dangling' && !im.Dangling) continue;
        if (q && !(rt.toLowerCase().includes(q) || im.Id.includes(q))) continue;
        const i = rt.lastIndexOf(':');
        rows.push({ ...im, Repository: rt.slice(0, i), Tag: rt.slice(i + 1), Ref: im.Dangling ? im.Id : rt });
      }
    }
    const k = imageState.sort; const d = imageState.desc ? -1 : 1;
    rows.sort((a, b) => (a[k] < b[k] ? -d : a[k] > b[k] ? d : 0));
    for (const r of [...selected]) if (!rows.some((x) => x.Ref === r)) selected.delete(r);
    paint();
    $('#itotals').textContent = `${data.count} images, ${humanSize(data.size)} on disk (as system df), ${data.active} in use, ${humanSize(data.reclaimable)} reclaimable · showing ${rows.length} rows`;
    $('#itotals').dataset.rows = rows.length;
    $('#idelete').disabled = !selected.size;
  };
  const load = fresh(() => berth('/images'), (d) => { data = d; render(); });
  await load();
  cleanup.push(onEvents(['image', 'container'], load));
  f.onchange = () => { imageState.filter = f.value; render(); };
  t.oninput = () => { imageState.text = t.value; render(); };
  const slash = (e) => { if (e.key === '/' && document.activeElement.tagName !== 'INPUT') { e.preventDefault(); t.focus(); } };
  document.addEventListener('keydown', slash); cleanup.push(() => document.removeEventListener('keydown', slash));
  $$('th button[data-sort]').forEach((b) => { b.onclick = () => { const k = b.dataset.sort; imageState.desc = imageState.sort === k ? !imageState.desc : true; imageState.sort = k; render(); }; });
  $('#iscroll').onscroll = () => requestAnimationFrame(paint);
  view.addEventListener('change', (e) => {
    if (e.target.id === 'iall') { selected.clear(); if (e.target.checked) rows.forEach((r) => selected.add(r.Ref)); paint(); }
    if (e.target.classList.contains('isel')) { const r = e.target.closest('tr').dataset.ref; if (e.target.checked) selected.add(r); else selected.delete(r); }
    $('#idelete').disabled = !selected.size;
  });
  $('#idelete').onclick = async () => {
    const refs = [...selected];
    if (!confirm(`Delete ${refs.length} image(s)?`)) return;
    const errs = [];
    for (const r of refs) { try { await api(`/images/${encodeURIComponent(r)}`, { method: 'DELETE' }); } catch (e) { errs.push(`${r}: ${e.message}`); } }
    selected.clear(); say(errs.join('\n')); await load();
  };
  $('#iprune').onclick = async () => {
    try { const r = await post(`/images/prune?filters=${encodeURIComponent('{"dangling":["true"]}')}`); say(`Reclaimed ${humanSize(r?.SpaceReclaimed || 0)}`); } catch (e) { say(e.message); }
    await load();
  };
  const loadLabel = $('#iload').parentElement;
  loadLabel.onkeydown = (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('#iload').click(); } };
  $('#iload').onchange = async (e) => {
    const file = e.target.files[0]; if (!file) return;
    say(`Loading ${file.name}…`);
    try {
      const r = await req(`${V}/images/load`, { method: 'POST', headers: { 'Content-Type': 'application/x-tar' }, body: file });
      const out = []; await readLines(r, (m) => { if (m.stream) out.push(m.stream.trim()); if (m.error) out.push(m.error); });
      say(out.join('\n'));
    } catch (er) { say(er.message); }
    await load();
  };
  $('tbody').onclick = async (e) => {
    const b = e.target.closest('button[data-act]'); if (!b) return;
    const ref = b.closest('tr').dataset.ref;
    if (b.dataset.act === 'tag') {
      const target = prompt(`Tag ${ref} as (REPOSITORY[:TAG])`); if (!target) return;
      const i = target.lastIndexOf(':'); const hasTag = i > target.lastIndexOf('/');
      const q = new URLSearchParams({ repo: hasTag ? target.slice(0, i) : target, tag: hasTag ? target.slice(i + 1) : 'latest' });
      try { await post(`/images/${encodeURIComponent(ref)}/tag?${q}`); } catch (er) { say(er.message); }
      await load();
    } else if (b.dataset.act === 'push') {
      say(`Pushing ${ref}…`);
      const i = ref.lastIndexOf(':'); const name = i > ref.lastIndexOf('/') ? ref.slice(0, i) : ref; const tag = i > ref.lastIndexOf('/') ? ref.slice(i + 1) : '';
      try {
        const r = await req(`${V}/images/${encodeURIComponent(name)}/push?tag=${encodeURIComponent(tag)}`, { method: 'POST', headers: { 'X-Registry-Auth': btoa('{}') } });
        let last = ''; await readLines(r, (m) => { if (m.error) throw new Error(m.error); if (m.status) last = m.status; });
        say(`Pushed ${ref}: ${last}`);
      } catch (er) { say(er.message); }
    }
  };
}

// ---------- search & pull ----------
async function searchView() {
  view.innerHTML = `<h1>Search &amp; pull</h1>
  <form id="sform" class="toolbar"><input id="sterm" class="grow" aria-label="Search term" placeholder="REGISTRY/TEXT, e.g. 127.0.0.1:5000/busybox" required>
  <button class="primary">Search</button></form>
  <p class="muted">Searches any registry: /v1/search where it answers it (berth's registry), its catalog otherwise.</p>
  <div id="sresults"></div><div id="pull"></div>`;
  $('#sterm').value = sessionStorage.getItem('berth-search') || '';
  $('#sform').onsubmit = async (e) => {
    e.preventDefault();
    const term = $('#sterm').value.trim(); sessionStorage.setItem('berth-search', term);
    $('#sresults').innerHTML = '<p class="muted">Searching…</p>';
    try {
      const r = await berth(`/search?term=${encodeURIComponent(term)}`);
      $('#sresults').innerHTML = `<p class="muted">${r.results.length} results from ${esc(r.registry)} (${r.method === 'search' ? '/v1/search' : 'catalog'})</p>
      <div class="scroll"><table><thead><tr><th>Name</th><th class="hide-narrow">Description</th><th class="num hide-narrow">Stars</th><th>Tag</th><th></th></tr></thead><tbody>
      ${r.results.map((x) => `<tr data-name="${esc(x.name)}"><td>${esc(x.name)}</td><td class="hide-narrow">${esc(x.description)}</td><td class="num hide-narrow">${x.star_count || 0}</td>
      <td><select aria-label="Tag of ${esc(x.name)}"><option>latest</option></select></td><td><button class="primary" data-pull>Pull</button></td></tr>`).join('')}</tbody></table></div>`;
      for (const tr of $$('#sresults tbody tr')) {
        berth(`/tags?repo=${encodeURIComponent(tr.dataset.name)}`).then((t) => {
          if (t.tags.length) $('select', tr).innerHTML = t.tags.map((g) => `<option${g === 'latest' ? ' selected' : ''}>${esc(g)}</option>`).join('');
        }).catch(() => {});
      }
    } catch (er) { $('#sresults').innerHTML = `<p class="err">${esc(er.message)}</p>`; }
  };
  $('#sresults').onclick = (e) => {
    const b = e.target.closest('button[data-pull]'); if (!b) return;
    const tr = b.closest('tr'); pull(tr.dataset.name, $('select', tr).value);
  };
  if ($('#sterm').value) $('#sform').requestSubmit();
}

// pull shows the Engine API's pull stream as per-layer bars, as the CLI shows it.
async function pull(name, tag) {
  const box = $('#pull');
  box.innerHTML = `<h2>Pulling ${esc(name)}:${esc(tag)}</h2><div id="layers"></div><p id="pullstate" class="muted">Starting…</p>`;
  const rows = new Map();
  const ac = new AbortController(); cleanup.push(() => ac.abort());
  try {
    const r = await req(`${V}/images/create?fromImage=${encodeURIComponent(name)}&tag=${encodeURIComponent(tag)}`, { method: 'POST', signal: ac.signal });
    await readLines(r, (m) => {
      if (m.error) throw new Error(m.error);
      if (m.id && m.status && !m.status.startsWith('Pulling from')) {
        let row = rows.get(m.id);
        if (!row) {
          row = document.createElement('div'); row.className = 'progress-row'; row.dataset.layer = m.id;
          row.innerHTML = '<span class="mono"></span><progress max="1" value="0"></progress><span></span>';
          $('#layers').append(row); rows.set(m.id, row);
        }
        row.children[0].textContent = m.id;
        const d = m.progressDetail || {};
        if (d.total) { row.children[1].max = d.total; row.children[1].value = d.current || 0; }
        if (/complete|Already exists/i.test(m.status)) { row.children[1].max = 1; row.children[1].value = 1; }
        row.children[2].textContent = m.status + (d.total ? ` ${humanSize(d.current)}/${humanSize(d.total)}` : '');
        row.dataset.status = m.status;
      } else if (m.status) { $('#pullstate').textContent = m.status; }
    }, ac.signal);
    box.dataset.done = 'true';
    $('#pullstate').innerHTML += ` — <a href="#/images/${encodeURIComponent(`${name}:${tag}`)}">open image</a> · <a href="#/run?image=${encodeURIComponent(`${name}:${tag}`)}">run</a>`;
  } catch (er) { $('#pullstate').innerHTML = `<span class="err">${esc(er.message)}</span>`; box.dataset.done = 'error'; }
}

// ---------- image detail & layer browser ----------
async function imageDetail(ref) {
  const [im, hist] = await Promise.all([api(`/images/${encodeURIComponent(ref)}/json`), api(`/images/${encodeURIComponent(ref)}/history`).catch(() => [])]);
  const c = im.Config || {};
  const kv = (k, v) => (v == null || v === '' || (Array.isArray(v) && !v.length) ? '' : `<dt>${k}</dt><dd class="mono">${esc(Array.isArray(v) ? JSON.stringify(v) : v)}</dd>`);
  view.innerHTML = `<h1>${esc(ref)}</h1>
  <div class="toolbar"><a href="#/run?image=${encodeURIComponent(ref)}">Run</a> <a href="${V}/images/get?names=${encodeURIComponent(ref)}" download>Save</a></div>
  <div class="grid2"><section><h2>Config</h2><dl class="kv">
    ${kv('ID', im.Id)}${kv('Tags', (im.RepoTags || []).join(', '))}${kv('Created', im.Created)}${kv('Size', humanSize(im.Size))}
    ${kv('Entrypoint', c.Entrypoint)}${kv('Cmd', c.Cmd)}${kv('WorkingDir', c.WorkingDir)}${kv('User', c.User)}
    ${kv('Ports', Object.keys(c.ExposedPorts || {}).join(', '))}${(c.Env || []).map((e) => kv('Env', e)).join('')}
    ${Object.entries(c.Labels || {}).map(([k, v]) => kv('Label', `${k}=${v}`)).join('')}</dl></section>
  <section><h2>History</h2><div class="scroll"><table><thead><tr><th>Created by</th><th class="num">Size</th></tr></thead><tbody>
    ${(hist || []).map((h) => `<tr><td class="mono">${esc(h.CreatedBy)}</td><td class="num">${humanSize(h.Size)}</td></tr>`).join('')}</tbody></table></div></section></div>
  <h2>Layers</h2><div id="analysis" class="muted">Reading layers…</div>
  <div class="grid2"><div id="layers"></div><section><div class="toolbar"><input id="ffind" class="grow" type="search" placeholder="Find a file" aria-label="Find a file in the layer">
    <label><input id="fchanged" type="checkbox" checked> changed only</label></div>
    <div class="muted">Marks: <span class="st-added">+ added</span> <span class="st-modified">~ modified</span> <span class="st-removed">- removed</span></div>
    <div id="tree" class="tree mono" tabindex="0" aria-label="Files of the layer"></div></section></div>`;
  let rep;
  try { rep = await berth(`/analysis?ref=${encodeURIComponent(im.Id)}`); } catch (e) { $('#analysis').textContent = e.message; return; }
  const pct = (x) => (x == null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  $('#analysis').innerHTML = `<p>Efficiency <b>${pct(rep.efficiency)}</b> · wasted <b>${humanSize(rep.wastedBytes)}</b> · user wasted ${pct(rep.userWastedPercent)} · reclaimable ${humanSize(rep.reclaimableBytes)}</p>
    ${rep.wasted.length ? `<details><summary>Top wasted paths (${rep.wasted.length})</summary><table><tbody>${rep.wasted.slice(0, 20).map((w) => `<tr><td class="mono">${esc(w.path)}</td><td class="num">${humanSize(w.bytes)}</td><td>${esc(w.action)} by layer ${w.removedBy}</td></tr>`).join('')}</tbody></table></details>` : ''}
    ${rep.suggestions.length ? `<details open><summary>Suggestions</summary><ul>${rep.suggestions.map((s) => `<li>${esc(s.message)}</li>`).join('')}</ul></details>` : ''}`;
  $('#layers').innerHTML = rep.layers.map((l) => `<div class="layer" role="button" tabindex="0" aria-pressed="false" data-index="${l.index}">
    <b>${l.index}</b> <span class="num">${humanSize(l.size)}</span> <span class="st-added">+${l.added}</span> <span class="st-modified">~${l.modified}</span> <span class="st-removed">-${l.removed}</span>
    <div class="mono muted">${esc(l.createdBy)}</div></div>`).join('');
  let current = rep.layers.length - 1; let tree = null;
  const mark = { added: '+', modified: '~', removed: '-', unchanged: '=' };
  const draw = () => {
    const q = $('#ffind').value.toLowerCase(); const out = []; let n = 0;
    const walk = (node, depth) => {
      for (const ch of node.children || []) {
        if (n > 5000) return;
        const hit = !q || ch.path.toLowerCase().includes(q);
        if (hit) { n++; out.push(`<div class="st-${ch.status || 'none'}" data-path="${esc(ch.path)}" data-status="${ch.status || ''}">${mark[ch.status] || ' '} ${'  '.repeat(q ? 0 : depth)}${esc(q ? ch.path : ch.name)}${ch.type === 'dir' ? '/' : ''}${ch.linkname ? ` → ${esc(ch.linkname)}` : ''} <span class="muted">${ch.type === 'file' ? humanSize(ch.size) : ''}</span></div>`); }
        walk(ch, depth + 1);
      }
    };
    walk(tree, 0);
    $('#tree').innerHTML = out.join('') || '<span class="muted">Nothing here.</span>';
  };
  const show = async (i) => {
    current = i;
    $$('.layer').forEach((d) => d.setAttribute('aria-pressed', String(Number(d.dataset.index) === i)));
    tree = await berth(`/files?ref=${encodeURIComponent(im.Id)}&layer=${i}&changed=${$('#fchanged').checked ? 1 : 0}`);
    draw(); $('#tree').dataset.layer = i;
  };
  $('#layers').onclick = (e) => { const d = e.target.closest('.layer'); if (d) show(Number(d.dataset.index)); };
  $('#layers').onkeydown = (e) => { const d = e.target.closest('.layer'); if (d && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); show(Number(d.dataset.index)); } };
  $('#ffind').oninput = draw; $('#fchanged').onchange = () => show(current);
  await show(current);
}

// ---------- run ----------
async function runView(q) {
  view.innerHTML = `<h1>Run a container</h1><form class="run" id="rform">
  <label for="rimage">Image</label><input id="rimage" required value="${esc(q.get('image') || '')}">
  <label for="rname">Name</label><input id="rname" placeholder="optional">
  <label for="rports">Ports (HOST:CONTAINER[/tcp], one per line)</label><textarea id="rports" rows="2" placeholder="8080:80"></textarea>
  <label for="renv">Environment (KEY=VALUE, one per line)</label><textarea id="renv" rows="2"></textarea>
  <label for="rvols">Volumes (SOURCE:TARGET[:ro], one per line)</label><textarea id="rvols" rows="2"></textarea>
  <label for="rcmd">Command (as a shell would split it)</label><input id="rcmd" placeholder="default: the image's">
  <p><label><input type="checkbox" id="rtty"> TTY</label></p>
  <p><button class="primary">Run</button></p></form>`;
  $('#rform').onsubmit = async (e) => {
    e.preventDefault();
    const lines = (id) => $(id).value.split('\n').map((s) => s.trim()).filter(Boolean);
    const body = { Image: $('#rimage').value.trim(), Env: lines('#renv'), Tty: $('#rtty').checked, OpenStdin: $('#rtty').checked,
      ExposedPorts: {}, HostConfig: { PortBindings: {}, Binds: lines('#rvols') } };
    for (const p of lines('#rports')) {
      const m = p.match(/^(?:([\d.]+):)?(\d*):(\d+)(\/\w+)?$/) || p.match(/^()()(\d+)(\/\w+)?$/);
      if (!m) { say(`invalid port ${p}: want HOST:CONTAINER`); return; }
      const k = `${m[3]}${m[4] || '/tcp'}`; body.ExposedPorts[k] = {};
      (body.HostConfig.PortBindings[k] ||= []).push({ HostIp: m[1] || '', HostPort: m[2] || '' });
    }
    const cmd = $('#rcmd').value.trim(); if (cmd) body.Cmd = splitWords(cmd);
    try {
      const name = $('#rname').value.trim();
      const c = await post(`/containers/create${name ? `?name=${encodeURIComponent(name)}` : ''}`, body);
      await post(`/containers/${c.Id}/start`);
      location.hash = `#/containers/${c.Id}`;
    } catch (er) { say(er.message); }
  };
}
export function splitWords(s) {
  const out = []; let cur = ''; let q = null; let any = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) { if (ch === q) q = null; else if (ch === '\\' && q === '"' && i + 1 < s.length) cur += s[++i]; else cur += ch; continue; }
    if (ch === '"' || ch === "'") { q = ch; any = true; } else if (ch === '\\' && i + 1 < s.length) { cur += s[++i]; any = true; } else if (/\s/.test(ch)) { if (any || cur) out.push(cur); cur = ''; any = false; } else cur += ch;
  }
  if (any || cur) out.push(cur);
  return out;
}
const shq = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, "'\\''")}'`);
// runCommand rebuilds `docker run` from a container's inspect document.
export function runCommand(c) {
  const a = ['docker', 'run', '-d']; const hc = c.HostConfig || {}; const cfg = c.Config || {};
  if (c.Name) a.push('--name', c.Name.replace(/^\//, ''));
  if (cfg.Tty) a.push('-t'); if (cfg.OpenStdin) a.push('-i');
  for (const [p, bs] of Object.entries(hc.PortBindings || {})) for (const b of bs || []) a.push('-p', `${b.HostIp ? `${b.HostIp}:` : ''}${b.HostPort || ''}:${p.replace(/\/tcp$/, '')}`);
  for (const b of hc.Binds || []) a.push('-v', b);
  if (hc.NetworkMode && !['default', 'bridge'].includes(hc.NetworkMode)) a.push('--network', hc.NetworkMode);
  if (hc.RestartPolicy?.Name && hc.RestartPolicy.Name !== 'no') a.push('--restart', hc.RestartPolicy.Name);
  const imgEnv = new Set(c.ImageConfigEnv || []);
  for (const e of cfg.Env || []) if (!imgEnv.has(e) && !e.startsWith('PATH=')) a.push('-e', e);
  for (const [k, v] of Object.entries(cfg.Labels || {})) if (!k.startsWith('com.docker.compose')) a.push('--label', `${k}=${v}`);
  if (cfg.Entrypoint?.length && c.ImageEntrypoint !== JSON.stringify(cfg.Entrypoint)) a.push('--entrypoint', cfg.Entrypoint[0]);
  a.push(cfg.Image || c.Image);
  for (const x of cfg.Cmd || []) a.push(x);
  return a.map(shq).join(' ');
}

// ---------- containers ----------
const stateOf = (c) => c.State || '';
async function containersView() {
  view.innerHTML = `<h1>Containers</h1><div class="toolbar">
    <label><input type="checkbox" id="call" checked> show stopped</label>
    <input id="ctext" type="search" class="grow" placeholder="Filter" aria-label="Filter containers">
    <a href="#/run">Run…</a></div>
    <div class="scroll"><table><thead><tr><th>Name</th><th>Image</th><th>State</th><th>Status</th><th class="hide-narrow">Ports</th><th>Actions</th></tr></thead><tbody></tbody></table></div>`;
  let list = [];
  const render = () => {
    const q = $('#ctext').value.toLowerCase();
    $('tbody').innerHTML = list.filter((c) => !q || JSON.stringify([c.Names, c.Image, c.Id]).toLowerCase().includes(q)).map((c) => {
      const name = (c.Names?.[0] || '').replace(/^\//, '');
      return `<tr data-id="${esc(c.Id)}"><td><a href="#/containers/${esc(c.Id)}">${esc(name || short(c.Id))}</a></td><td>${esc(c.Image)}</td>
      <td><span class="tag">${esc(stateOf(c))}</span></td><td>${esc(c.Status)}</td>
      <td class="hide-narrow mono">${(c.Ports || []).filter((p) => p.PublicPort).map((p) => `${esc(p.IP || '')}:${p.PublicPort}→${p.PrivatePort}/${p.Type}`).join(' ')}</td>
      <td>${actionButtons(stateOf(c))}</td></tr>`;
    }).join('');
  };
  const load = fresh(() => api(`/containers/json?all=${$('#call').checked ? 1 : 0}`), (d) => { list = d; render(); });
  await load();
  cleanup.push(onEvents(['container'], load));
  $('#call').onchange = load; $('#ctext').oninput = render;
  $('tbody').onclick = async (e) => { const b = e.target.closest('button[data-act]'); if (b) { await containerAction(b.closest('tr').dataset.id, b.dataset.act); await load(); } };
}
function actionButtons(state) {
  const running = state === 'running'; const paused = state === 'paused';
  return [[!running && !paused, 'start', 'Start'], [running, 'stop', 'Stop'], [running || paused, 'restart', 'Restart'], [running, 'pause', 'Pause'],
    [paused, 'unpause', 'Unpause'], [running, 'kill', 'Kill'], [true, 'remove', 'Remove']]
    .filter(([ok]) => ok).map(([, a, t]) => `<button data-act="${a}"${a === 'remove' || a === 'kill' ? ' class="danger"' : ''}>${t}</button>`).join(' ');
}
async function containerAction(id, act) {
  try {
    if (act === 'remove') {
      if (!confirm('Remove this container?')) return false;
      await api(`/containers/${id}?force=1`, { method: 'DELETE' });
    } else await post(`/containers/${id}/${act}`);
    return true;
  } catch (e) { say(e.message); return false; }
}

async function containerView(id, tab) {
  const c = await api(`/containers/${encodeURIComponent(id)}/json`);
  const name = c.Name.replace(/^\//, '');
  view.innerHTML = `<h1>${esc(name)} <span class="tag">${esc(c.State.Status)}</span></h1>
  <div class="toolbar">${actionButtons(c.State.Status)} <button id="copyrun">Copy docker run command</button>
   <span class="muted mono">${esc(c.Config.Image)} · ${short(c.Id)}</span></div>
  <div class="tabs" role="tablist">${['logs', 'stats', 'inspect', 'terminal', 'files'].map((t) => `<button role="tab" aria-selected="${t === tab}" data-tab="${t}">${t[0].toUpperCase() + t.slice(1)}</button>`).join('')}</div>
  <section id="tab"></section>`;
  $('.toolbar').onclick = async (e) => {
    const b = e.target.closest('button[data-act]'); if (!b) return;
    if (await containerAction(c.Id, b.dataset.act)) location.hash = b.dataset.act === 'remove' ? '#/containers' : `#/containers/${c.Id}/${tab}`;
    if (b.dataset.act !== 'remove') route();
  };
  $('#copyrun').onclick = async () => {
    let img = {}; try { img = await api(`/images/${encodeURIComponent(c.Image)}/json`); } catch { /* gone */ }
    const cmd = runCommand({ ...c, ImageConfigEnv: img.Config?.Env, ImageEntrypoint: JSON.stringify(img.Config?.Entrypoint || null) });
    try { await navigator.clipboard.writeText(cmd); say(`Copied: ${cmd}`); } catch { say(cmd); }
    statusEl.dataset.runcmd = cmd;
  };
  $('.tabs').onclick = (e) => { const b = e.target.closest('button[data-tab]'); if (b) location.hash = `#/containers/${c.Id}/${b.dataset.tab}`; };
  await ({ logs: logsTab, stats: statsTab, inspect: inspectTab, terminal: terminalTab, files: filesTab }[tab] || logsTab)(c);
}

const MAX_LINES = 5000; // the bounded buffer: older lines leave the page, the download has them all
function logsTab(c) {
  $('#tab').innerHTML = `<div class="toolbar"><input id="lsearch" type="search" class="grow" placeholder="Search the logs" aria-label="Search the logs">
    <label><input type="checkbox" id="lts"> timestamps</label>
    <label>tail <input id="ltail" size="5" value="500" aria-label="Tail"></label>
    <label>since <input id="lsince" size="10" placeholder="10m, RFC 3339" aria-label="Since"></label>
    <label><input type="checkbox" id="lfollow" checked> follow</label>
    <button id="ldl">Download</button></div>
    <pre class="logs" id="logs" tabindex="0" aria-label="Logs"></pre><div class="muted" id="lcount"></div>`;
  let lines = []; let partial = ''; let ac = null; let dirty = false; let dropped = 0;
  const paint = () => {
    dirty = false;
    const q = $('#lsearch').value;
    const shown = q ? lines.filter((l) => l.includes(q)) : lines;
    const pre = $('#logs'); if (!pre) return;
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 20;
    pre.innerHTML = q ? shown.map((l) => esc(l).split(esc(q)).join(`<mark>${esc(q)}</mark>`)).join('\n') : esc(shown.join('\n'));
    if (atEnd) pre.scrollTop = pre.scrollHeight;
    $('#lcount').textContent = `${shown.length} lines shown${dropped ? `, ${dropped} older lines dropped from the page` : ''}`;
  };
  const add = (text) => {
    const parts = (partial + text).split('\n'); partial = parts.pop();
    lines.push(...parts);
    if (lines.length > MAX_LINES) { dropped += lines.length - MAX_LINES; lines = lines.slice(-MAX_LINES); }
    if (!dirty) { dirty = true; requestAnimationFrame(paint); }
  };
  const params = (follow) => {
    const p = new URLSearchParams({ stdout: 1, stderr: 1, timestamps: $('#lts').checked ? 1 : 0 });
    if (follow) p.set('follow', $('#lfollow').checked ? 1 : 0);
    const t = $('#ltail').value.trim(); if (t && follow) p.set('tail', t);
    const s = $('#lsince').value.trim();
    if (s) { const m = s.match(/^(\d+)([smh])$/); p.set('since', m ? String(Math.floor(Date.now() / 1000) - m[1] * { s: 1, m: 60, h: 3600 }[m[2]]) : String(Math.floor(Date.parse(s) / 1000) || s)); }
    return p;
  };
  const start = async () => {
    ac?.abort(); ac = new AbortController(); lines = []; partial = ''; dropped = 0; paint();
    try {
      const r = await req(`${V}/containers/${c.Id}/logs?${params(true)}`, { signal: ac.signal });
      const rd = r.body.getReader(); const dec = new TextDecoder();
      const feed = c.Config.Tty ? (b) => add(dec.decode(b, { stream: true })) : demuxer((t) => add(t));
      for (;;) { const { value, done } = await rd.read(); if (done) break; feed(value); }
      if (partial) { lines.push(partial); partial = ''; paint(); }
    } catch (e) { if (e.name !== 'AbortError') say(e.message); }
  };
  cleanup.push(() => ac?.abort());
  ['#lts', '#lfollow'].forEach((s) => { $(s).onchange = start; });
  ['#ltail', '#lsince'].forEach((s) => { $(s).onchange = start; });
  $('#lsearch').oninput = paint;
  $('#ldl').onclick = async () => {
    const r = await req(`${V}/containers/${c.Id}/logs?${params(false)}`); const b = new Uint8Array(await r.arrayBuffer());
    let text = ''; if (c.Config.Tty) text = new TextDecoder().decode(b); else demuxer((t) => { text += t; })(b);
    const a = document.createElement('a'); a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    a.download = `${c.Name.replace(/^\//, '')}.log`; a.click(); setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  start();
}

function statsTab(c) {
  $('#tab').innerHTML = `<div id="stats"><span class="stat">CPU<b id="scpu">…</b></span><span class="stat">Memory<b id="smem">…</b></span>
    <span class="stat">Network rx/tx<b id="snet">…</b></span><span class="stat">PIDs<b id="spids">…</b></span></div>`;
  const ac = new AbortController(); cleanup.push(() => ac.abort());
  (async () => {
    try {
      const r = await req(`${V}/containers/${c.Id}/stats?stream=1`, { signal: ac.signal });
      await readLines(r, (s) => {
        const cpuD = (s.cpu_stats?.cpu_usage?.total_usage || 0) - (s.precpu_stats?.cpu_usage?.total_usage || 0);
        const sysD = (s.cpu_stats?.system_cpu_usage || 0) - (s.precpu_stats?.system_cpu_usage || 0);
        const n = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
        $('#scpu').textContent = sysD > 0 ? `${((cpuD / sysD) * n * 100).toFixed(2)}%` : '0.00%';
        const m = s.memory_stats || {}; const used = (m.usage || 0) - (m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? 0);
        $('#smem').textContent = `${humanSize(used)} / ${humanSize(m.limit)}`;
        let rx = 0; let tx = 0; for (const v of Object.values(s.networks || {})) { rx += v.rx_bytes; tx += v.tx_bytes; }
        $('#snet').textContent = `${humanSize(rx)} / ${humanSize(tx)}`;
        $('#spids').textContent = s.pids_stats?.current ?? '';
        $('#stats').dataset.samples = String(Number($('#stats').dataset.samples || 0) + 1);
      }, ac.signal);
    } catch (e) { if (e.name !== 'AbortError') say(e.message); }
  })();
}

function inspectTab(c) { $('#tab').innerHTML = `<pre class="json" tabindex="0">${esc(JSON.stringify(c, null, 2))}</pre>`; }

// importAgain retries a module whose fetch failed (a dropped keep-alive connection): a failed
// import stays failed for its URL, so each try asks under another query.
async function importAgain(path) {
  for (let i = 0; ; i++) {
    try { return await import(i ? `${path}?try=${i}` : path); } catch (e) { if (i === 2) throw e; await new Promise((r) => setTimeout(r, 200)); }
  }
}

async function terminalTab(c) {
  if (c.State.Status !== 'running') { $('#tab').innerHTML = '<p class="muted">Start the container to open a terminal.</p>'; return; }
  $('#tab').innerHTML = '<link rel="stylesheet" href="/static/vendor/xterm/xterm.css"><div class="toolbar"><label>Shell <input id="tshell" value="sh" size="12"></label><button id="tstart" class="primary">Connect</button></div><div id="term" class="term"></div>';
  const [{ Terminal }, { FitAddon }] = await Promise.all([importAgain('./vendor/xterm/xterm.mjs'), importAgain('./vendor/xterm/addon-fit.mjs')]);
  const connect = async () => {
    $('#term').innerHTML = '';
    const term = new Terminal({ cursorBlink: true, fontSize: 13 }); const fit = new FitAddon(); term.loadAddon(fit);
    term.open($('#term')); fit.fit(); term.focus();
    const ex = await post(`/containers/${c.Id}/exec`, { AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Cmd: splitWords($('#tshell').value || 'sh'), Env: ['TERM=xterm-256color'], ConsoleSize: [term.rows, term.cols] });
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/berth/exec/${ex.Id}/ws`);
    ws.binaryType = 'arraybuffer';
    const enc = new TextEncoder();
    const resize = () => {
      try { fit.fit(); } catch { /* hidden */ }
      const size = `${term.cols}x${term.rows}`;
      post(`/exec/${ex.Id}/resize?h=${term.rows}&w=${term.cols}`).then(() => { view.dataset.termSize = size; }).catch((e) => say(`resize: ${e.message}`));
    };
    // The exec runs once the socket's first bytes arrive: resize then, not at open.
    let started = false;
    ws.onopen = () => { view.dataset.terminal = 'open'; };
    ws.onmessage = (e) => { term.write(new Uint8Array(e.data)); if (!started) { started = true; resize(); } };
    ws.onclose = () => { term.write('\r\n[session ended]\r\n'); view.dataset.terminal = 'closed'; };
    const sub = term.onData((d) => { if (ws.readyState === 1) ws.send(enc.encode(d)); });
    const ro = new ResizeObserver(() => { if (started) resize(); }); ro.observe($('#term'));
    window.berthTerm = term; // tests read the screen
    cleanup.push(() => { ro.disconnect(); sub.dispose(); ws.close(); term.dispose(); });
  };
  const start = () => connect().catch((e) => say(e.message));
  $('#tstart').onclick = start;
  start();
}

// tarEntries lists the entries of a tar archive (the Engine API's archive endpoint).
export function tarEntries(b) {
  const out = []; let o = 0; let longName = null;
  const str = (s, e) => { let end = s; while (end < e && b[end]) end++; return new TextDecoder().decode(b.subarray(s, end)); };
  while (o + 512 <= b.length) {
    if (b.subarray(o, o + 512).every((x) => x === 0)) break;
    const size = parseInt(str(o + 124, o + 136).trim() || '0', 8); const type = String.fromCharCode(b[o + 156] || 48);
    let name = str(o, o + 100); const prefix = str(o + 345, o + 500); if (prefix) name = `${prefix}/${name}`;
    const body = o + 512; o = body + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = str(body, body + size); continue; }
    if (type === 'x' || type === 'g') { const m = str(body, body + size).match(/\d+ path=([^\n]*)\n/); if (m && type === 'x') longName = m[1]; continue; }
    out.push({ name: longName || name, size, type, link: str(body - 512 + 157, body - 512 + 257) }); longName = null;
  }
  return out;
}
async function filesTab(c) {
  $('#tab').innerHTML = `<form id="fform" class="toolbar"><input id="fpath" class="grow mono" value="/" aria-label="Path in the container"><button>Open</button></form><div id="flist"></div>`;
  const open = async (p) => {
    $('#fpath').value = p; $('#flist').innerHTML = '<p class="muted">Reading…</p>';
    try {
      const r = await req(`${V}/containers/${c.Id}/archive?path=${encodeURIComponent(p)}`);
      const stat = JSON.parse(atob(r.headers.get('X-Docker-Container-Path-Stat') || 'e30=') || '{}');
      const buf = new Uint8Array(await r.arrayBuffer());
      const ents = tarEntries(buf); const base = ents[0]?.name.replace(/\/$/, '') || '';
      const kids = ents.slice(1).filter((e) => { const rest = e.name.replace(/\/$/, '').slice(base.length + 1); return rest && !rest.includes('/'); });
      const dl = `${V}/containers/${c.Id}/archive?path=${encodeURIComponent(p)}`;
      $('#flist').innerHTML = `<p class="muted">${esc(stat.name || p)} · <a href="${dl}" download="${esc((p.split('/').filter(Boolean).pop() || 'root'))}.tar">download as tar</a></p>
        <table><tbody>${p !== '/' ? '<tr><td><a href="#" data-p="..">..</a></td><td></td></tr>' : ''}
        ${kids.map((e) => { const nm = e.name.replace(/\/$/, '').slice(base.length + 1); const full = `${p.replace(/\/$/, '')}/${nm}`; return `<tr><td>${e.type === '5' ? `<a href="#" data-p="${esc(full)}">${esc(nm)}/</a>` : esc(nm) + (e.type === '2' ? ` → ${esc(e.link)}` : '')}</td><td class="num">${e.type === '0' ? humanSize(e.size) : ''}</td><td><a href="${V}/containers/${c.Id}/archive?path=${encodeURIComponent(full)}" download="${esc(nm)}.tar">download</a></td></tr>`; }).join('')}</tbody></table>`;
    } catch (e) { $('#flist').innerHTML = `<p class="err">${esc(e.message)}</p>`; }
  };
  $('#fform').onsubmit = (e) => { e.preventDefault(); open($('#fpath').value); };
  $('#flist').onclick = (e) => { const a = e.target.closest('a[data-p]'); if (!a) return; e.preventDefault(); const p = a.dataset.p === '..' ? $('#fpath').value.replace(/\/[^/]*\/?$/, '') || '/' : a.dataset.p; open(p); };
  open('/');
}

// ---------- compose, volumes, networks ----------
async function composeView() {
  view.innerHTML = '<h1>Compose projects</h1><div id="projects"></div>';
  const load = async () => {
    const list = await api('/containers/json?all=1&filters=' + encodeURIComponent('{"label":["com.docker.compose.project"]}'));
    const groups = {};
    for (const c of list) (groups[c.Labels['com.docker.compose.project']] ||= []).push(c);
    const names = Object.keys(groups).sort();
    $('#projects').innerHTML = names.length ? names.map((p) => `<section data-project="${esc(p)}"><h2>${esc(p)}
      <button data-act="up">Up</button> <button data-act="stop">Stop</button> <button data-act="down" class="danger">Down</button></h2>
      <table><tbody>${groups[p].map((c) => `<tr><td>${esc(c.Labels['com.docker.compose.service'] || '')}</td><td><a href="#/containers/${c.Id}">${esc((c.Names[0] || '').replace(/^\//, ''))}</a></td><td>${esc(c.State)}</td><td>${esc(c.Status)}</td></tr>`).join('')}</tbody></table></section>`).join('')
      : '<p class="muted">No containers with a com.docker.compose.project label.</p>';
    $('#projects').onclick = async (e) => {
      const b = e.target.closest('button[data-act]'); if (!b) return;
      const project = b.closest('section').dataset.project;
      try {
        if (b.dataset.act === 'stop') {
          for (const c of groups[project]) if (c.State === 'running') await post(`/containers/${c.Id}/stop`);
        } else {
          // Compose's own up -d / down, from the project's files (berth's compose package).
          b.disabled = true; say(`compose ${b.dataset.act} ${project}…`);
          const r = await (await req(`/berth/compose/${encodeURIComponent(project)}/${b.dataset.act}`, { method: 'POST' })).json();
          say(r.Steps.join(' · '));
        }
      } catch (er) { say(er.message); }
      load();
    };
  };
  await load(); cleanup.push(onEvents(['container'], load));
}

async function volumesView() {
  view.innerHTML = `<h1>Volumes</h1><form id="vform" class="toolbar"><input id="vname" placeholder="name" aria-label="New volume name"><button>Create</button></form><div class="scroll"><table><thead><tr><th>Name</th><th>Driver</th><th class="hide-narrow">Mountpoint</th><th></th></tr></thead><tbody></tbody></table></div>`;
  const load = fresh(() => api('/volumes'), (r) => {
    $('tbody').innerHTML = (r.Volumes || []).map((v) => `<tr data-name="${esc(v.Name)}"><td class="mono">${esc(v.Name)}</td><td>${esc(v.Driver)}</td><td class="hide-narrow mono">${esc(v.Mountpoint)}</td><td><button class="danger" data-rm>Remove</button></td></tr>`).join('');
  });
  $('#vform').onsubmit = async (e) => { e.preventDefault(); try { await post('/volumes/create', { Name: $('#vname').value.trim() }); } catch (er) { say(er.message); } load(); };
  $('tbody').onclick = async (e) => { if (!e.target.closest('[data-rm]')) return; try { await api(`/volumes/${encodeURIComponent(e.target.closest('tr').dataset.name)}`, { method: 'DELETE' }); } catch (er) { say(er.message); } load(); };
  await load(); cleanup.push(onEvents(['volume'], load));
}

async function networksView() {
  view.innerHTML = `<h1>Networks</h1><form id="nform" class="toolbar"><input id="nname" placeholder="name" aria-label="New network name" required><button>Create</button></form><div class="scroll"><table><thead><tr><th>Name</th><th>ID</th><th>Driver</th><th class="hide-narrow">Subnet</th><th></th></tr></thead><tbody></tbody></table></div>`;
  const load = fresh(() => api('/networks'), (r) => {
    $('tbody').innerHTML = (r || []).map((n) => `<tr data-id="${esc(n.Id)}"><td>${esc(n.Name)}</td><td class="mono">${short(n.Id)}</td><td>${esc(n.Driver)}</td><td class="hide-narrow mono">${esc((n.IPAM?.Config || []).map((c) => c.Subnet).join(', '))}</td><td>${['bridge', 'host', 'none'].includes(n.Name) ? '' : '<button class="danger" data-rm>Remove</button>'}</td></tr>`).join('');
  });
  $('#nform').onsubmit = async (e) => { e.preventDefault(); try { await post('/networks/create', { Name: $('#nname').value.trim() }); } catch (er) { say(er.message); } load(); };
  $('tbody').onclick = async (e) => { if (!e.target.closest('[data-rm]')) return; try { await api(`/networks/${e.target.closest('tr').dataset.id}`, { method: 'DELETE' }); } catch (er) { say(er.message); } load(); };
  await load(); cleanup.push(onEvents(['network'], load));
}

// ---------- start ----------
const theme = localStorage.getItem('berth-theme'); if (theme) document.documentElement.dataset.theme = theme;
document.getElementById('theme').onclick = () => {
  const dark = document.documentElement.dataset.theme ? document.documentElement.dataset.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset.theme = dark ? 'light' : 'dark'; localStorage.setItem('berth-theme', document.documentElement.dataset.theme);
};
window.addEventListener('hashchange', route);
window.berthRoute = route;
route();
followEvents();
