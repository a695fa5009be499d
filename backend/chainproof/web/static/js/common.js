/* ChainProof pages: shared helpers (messages, DOM, API calls, local hashing, drop zones). */
(function () {
  'use strict';
  const body = document.body;
  const API = body.dataset.api || '/api/v1';
  const ROOT = body.dataset.root || '';
  const LANG = body.dataset.lang || 'zh-CN';
  const MESSAGES = JSON.parse(document.getElementById('i18n').textContent || '{}');
  // People sign in (accounts/): the session cookie is HttpOnly, so scripts never hold a
  // credential; state-changing calls carry the session's CSRF token (body data-csrf).
  const CSRF = body.dataset.csrf || '';
  const USER = body.dataset.user || '';

  function t(key, fields) {
    let text = Object.prototype.hasOwnProperty.call(MESSAGES, key) ? MESSAGES[key] : key;
    if (fields) for (const [k, v] of Object.entries(fields)) text = text.split('{' + k + '}').join(String(v));
    return text;
  }

  /* el('a', {href: '/x', class: 'y'}, 'text', child): text is always text, never HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function pad(n) { return String(n).padStart(2, '0'); }
  function cstTime(ts) {
    if (ts === null || ts === undefined) return '';
    const d = new Date((Number(ts) + 8 * 3600) * 1000);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' (UTC+8)';
  }
  function short(value) {
    if (!value) return '';
    return value.length <= 16 ? value : value.slice(0, 10) + '…' + value.slice(-4);
  }
  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  function formatSize(n) {
    if (n === null || n === undefined) return '';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0, x = Number(n);
    while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
    return (i ? x.toFixed(1) : String(x)) + ' ' + units[i];
  }
  function pagePath(path) { return ROOT + path; }

  // --- the API --------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  /* Who is signed in on this page ('' for nobody). */
  function signedIn() { return USER; }
  async function api(method, path, options) {
    const opts = options || {};
    const headers = new Headers(opts.headers || {});
    if (CSRF && !['GET', 'HEAD'].includes(method)) headers.set('X-CSRF-Token', CSRF);
    let payload = opts.body;
    if (opts.json !== undefined) { headers.set('Content-Type', 'application/json'); payload = JSON.stringify(opts.json); }
    headers.set('Accept', 'application/json');
    headers.set('X-ChainProof-Channel', 'web');  // the before-the-chain record's channel
    const response = await fetch(API + path, { method: method, headers: headers, body: payload, credentials: 'same-origin' });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code || 'http_' + response.status, err.message || response.statusText);
    }
    return data;
  }
  /* Saves what GET `path` of the API answers as `filename` (receipts are for those who may
     see the record: the session's cookie goes with the request). */
  async function download(path, filename) {
    const data = await api('GET', path);
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    const link = el('a', { href: url, download: filename });
    document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  function errorText(e) {
    if (e instanceof ApiError && e.status === 401) return t('need_signin');
    if (e instanceof ApiError && e.status === 403) return t('forbidden');
    return t('failed', { message: e && e.message ? e.message : String(e) });
  }

  // --- hashing ------------------------------------------------------------------------
  /* Files are hashed on this device, never uploaded: hash-wasm (WebAssembly, vendored and
   * pinned, see chainproof/web/vendor.py) in a Web Worker (js/hash-worker.js), read in slices
   * so a file of any size takes about one chunk of memory, on any origin (WebCrypto's subtle
   * is only in secure contexts; WebAssembly is everywhere). */
  const HASH_CHUNK = 8 << 20;
  // chainproof.vocabulary.ALGORITHMS, as the page serves them (base.html), in data-hash-wasm's order.
  const ALGORITHMS = (body.dataset.algorithms || '').split(' ').filter(Boolean);
  const HASH_WASM = (body.dataset.hashWasm || '').split(' ').filter(Boolean).map((u) => new URL(u, location.href).href);
  function browserCanHash(algorithm) {
    return ALGORITHMS.includes(algorithm) && typeof Worker === 'function' && typeof WebAssembly === 'object';
  }
  /* '0x…' digest of `file`; onProgress(done, total) after every chunk. */
  function hashFile(file, algorithm, onProgress) {
    return new Promise((resolve, reject) => {
      const worker = new Worker(body.dataset.hashWorker);
      const stop = (fn, value) => { worker.terminate(); fn(value); };
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'progress') { if (onProgress) onProgress(m.done, m.total); }
        else if (m.type === 'done') stop(resolve, m.digest);
        else stop(reject, new Error(m.message));
      };
      worker.onerror = (e) => { e.preventDefault(); stop(reject, new Error(e.message || 'hash worker failed')); };
      // The one build this algorithm needs (HASH_WASM is in ALGORITHMS' order, base.html).
      const scripts = [HASH_WASM[ALGORITHMS.indexOf(algorithm)]];
      worker.postMessage({ file: file, algorithm: algorithm, scripts: scripts, chunk: HASH_CHUNK });
    });
  }
  /* "Hashing 42% (126.0 MiB of 300.0 MiB)" for a progress callback. */
  function hashProgressText(done, total) {
    const pct = total ? Math.floor((100 * done) / total) : 100;
    return t('hashing_pct', { pct: pct, done: formatSize(done), total: formatSize(total) });
  }
  /* Synchronous hashers for small inputs on the page's thread (keys, leaves, code): the
   * page's vendored hash-wasm scripts must be loaded; resolves to {keccak256, sha256}, each
   * bytes -> Uint8Array. */
  let smallHashers = null;
  function hashers() {
    if (!smallHashers) {
      smallHashers = (async () => {
        const w = window.hashwasm;
        const out = {};
        if (w && w.createKeccak) { const k = await w.createKeccak(256); out.keccak256 = (b) => k.init().update(b).digest('binary'); }
        if (w && w.createSHA256) { const s = await w.createSHA256(); out.sha256 = (b) => s.init().update(b).digest('binary'); }
        return out;
      })();
    }
    return smallHashers;
  }
  function wireAlgorithmHint(select, hint) {
    function update() { hint.textContent = t('algo.' + select.value); }
    select.addEventListener('change', update);
    update();
  }

  // --- page furniture -------------------------------------------------------------------

  /* Files dropped on a [data-dropzone] go into its file input, as if chosen. */
  function wireDropzones() {
    for (const zone of document.querySelectorAll('[data-dropzone]')) {
      const input = zone.querySelector('input[type=file]');
      if (!input) continue;
      const on = (e) => { e.preventDefault(); zone.classList.add('dragging'); };
      const off = () => zone.classList.remove('dragging');
      zone.addEventListener('dragenter', on);
      zone.addEventListener('dragover', on);
      zone.addEventListener('dragleave', off);
      zone.addEventListener('drop', (e) => {
        e.preventDefault(); off();
        if (!e.dataTransfer || !e.dataTransfer.files.length) return;
        input.files = e.dataTransfer.files;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      });
    }
  }
  for (const button of document.querySelectorAll('[data-print]')) button.addEventListener('click', () => window.print());
  wireDropzones();

  window.ChainProof = {
    API, ROOT, LANG, t, el, cstTime, short, hex, formatSize, pagePath, api, ApiError,
    errorText, signedIn, browserCanHash, hashFile, hashProgressText, hashers, wireAlgorithmHint,
    download,
  };
})();
