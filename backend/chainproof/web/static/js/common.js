/* ChainProof pages: shared helpers (messages, DOM, API calls, hashing, drop zones). */
(function () {
  'use strict';
  const body = document.body;
  const API = body.dataset.api || '/api/v1';
  const ROOT = body.dataset.root || '';
  const LANG = body.dataset.lang || 'zh-CN';
  const MESSAGES = JSON.parse(document.getElementById('i18n').textContent || '{}');
  const KEY_STORE = 'chainproof.apiKey';
  const CHUNK = 4 << 20;

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
  function getKey() { try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (e) { return ''; } }
  function setKey(value) {
    try { if (value) sessionStorage.setItem(KEY_STORE, value); else sessionStorage.removeItem(KEY_STORE); } catch (e) { /* storage off */ }
  }
  async function api(method, path, options) {
    const opts = options || {};
    const headers = new Headers(opts.headers || {});
    if (opts.key) headers.set('Authorization', 'Bearer ' + opts.key);
    let payload = opts.body;
    if (opts.json !== undefined) { headers.set('Content-Type', 'application/json'); payload = JSON.stringify(opts.json); }
    headers.set('Accept', 'application/json');
    const response = await fetch(API + path, { method: method, headers: headers, body: payload });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code || 'http_' + response.status, err.message || response.statusText);
    }
    return data;
  }
  /* With the tab's key when there is one; a key the server refuses falls back to anonymous. */
  async function apiMaybeKey(method, path, options) {
    const key = getKey();
    if (!key) return api(method, path, options);
    try { return await api(method, path, Object.assign({}, options, { key: key })); } catch (e) {
      if (e instanceof ApiError && e.status === 401) return api(method, path, options);
      throw e;
    }
  }
  /* Saves what GET `path` of the API answers, fetched with the tab's key, as `filename`:
     a plain link would carry no key, and receipts are for those who may see the record. */
  async function downloadWithKey(path, filename) {
    const data = await api('GET', path, { key: getKey() });
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    const link = el('a', { href: url, download: filename });
    document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  function errorText(e) {
    if (e instanceof ApiError && e.status === 401) return t('bad_key');
    if (e instanceof ApiError && e.status === 403) return t('forbidden');
    return t('failed', { message: e && e.message ? e.message : String(e) });
  }

  // --- hashing --------------------------------------------------------------------------
  function browserCanHash(algorithm) {
    if (algorithm === 'sha256') return !!(window.crypto && window.crypto.subtle);
    return algorithm === 'sm3' && typeof window.ChainProofSM3 === 'function';
  }
  async function hashFile(file, algorithm) {
    if (algorithm === 'sha256') {
      return '0x' + hex(await window.crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
    }
    if (algorithm === 'sm3') {
      const h = new window.ChainProofSM3();
      for (let off = 0; off < file.size; off += CHUNK) {
        h.update(new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer()));
      }
      return '0x' + h.hex();
    }
    throw new Error('no browser implementation of ' + algorithm);
  }
  function wireAlgorithmHint(select, hint) {
    function update() {
      const a = select.value;
      hint.textContent = a === 'sha256' && !browserCanHash('sha256') ? t('algo.sha256_server') : t('algo.' + a);
    }
    select.addEventListener('change', update);
    update();
  }

  // --- page furniture -------------------------------------------------------------------
  function wireKeyField() {
    const input = document.querySelector('[data-api-key]');
    if (!input) return;
    input.value = getKey();
    input.addEventListener('input', () => setKey(input.value.trim()));
    const forget = document.querySelector('[data-forget-key]');
    if (forget) forget.addEventListener('click', () => { setKey(''); input.value = ''; input.focus(); input.dispatchEvent(new Event('input')); });
  }
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
  wireKeyField();
  wireDropzones();

  window.ChainProof = {
    API, ROOT, LANG, t, el, cstTime, short, hex, formatSize, pagePath, api, apiMaybeKey, ApiError,
    errorText, getKey, setKey, browserCanHash, hashFile, wireAlgorithmHint, downloadWithKey,
  };
})();
