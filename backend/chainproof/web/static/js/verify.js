/* /verify: hash dropped files on this device (common.js's worker, never uploaded), ask POST /api/v1/verify, one row per file. */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t, el } = C;
  const select = document.getElementById('algorithm');
  const input = document.getElementById('files');
  const table = document.getElementById('results');
  const tbody = table.querySelector('tbody');
  const empty = document.getElementById('results-empty');
  const form = document.getElementById('digest-form');
  const DIGEST = /^(0x)?[0-9a-fA-F]{64}$/;
  const TONE = { anchored: 'good', not_found: 'bad', revoked: 'bad', pending: 'warn', chain_mismatch: 'warn', error: 'warn' };
  const headers = Array.from(table.querySelectorAll('thead th'), (th) => th.textContent);

  C.wireAlgorithmHint(select, document.getElementById('algorithm-hint'));

  function addRow(title, subtitle) {
    table.hidden = false; empty.hidden = true;
    const doc = el('td', { 'data-label': headers[0] }, el('span', { class: 'doc-name wrap' }, title),
      subtitle ? el('span', { class: 'hint' }, ' ' + subtitle) : null);
    const digest = el('code', { class: 'mono wrap digest' });
    doc.append(el('br'), digest);
    const verdict = el('td', { 'data-label': headers[1], class: 'verdict' }, el('span', { class: 'hint' }, t('hashing')));
    const time = el('td', { 'data-label': headers[2] });
    const block = el('td', { 'data-label': headers[3] });
    const member = el('td', { 'data-label': headers[4], class: 'wrap' });
    const row = el('tr', { class: 'result', dataset: { verdict: 'working' } }, doc, verdict, time, block, member);
    tbody.prepend(row);
    return {
      row,
      status(text) { verdict.replaceChildren(el('span', { class: 'hint' }, text)); },
      digest(value) { digest.textContent = value; },
      show(v) {
        const kind = v.verdict;
        row.dataset.verdict = kind;
        row.className = 'result verdict-' + (TONE[kind] || 'warn');
        digest.textContent = v.digest || digest.textContent;
        const detail = kind === 'anchored' ? t('detail.anchored') : kind === 'not_found' ? t('detail.not_found') : (v.reason || '');
        verdict.replaceChildren(
          el('span', { class: 'badge badge-' + (TONE[kind] || 'warn'), role: 'status' }, t('verdict.' + kind)),
          detail ? el('span', { class: 'verdict-detail wrap' }, detail) : null);
        time.replaceChildren(v.block_timestamp ? document.createTextNode(C.cstTime(v.block_timestamp)) : '');
        block.replaceChildren();
        if (v.block_number !== undefined && v.block_number !== null) {
          block.append(el('a', { href: C.pagePath('/explorer/block/' + v.block_number) }, String(v.block_number)));
          if (v.tx_hash) block.append(el('br'), el('a', { class: 'mono', href: C.pagePath('/explorer/tx/' + v.tx_hash), title: v.tx_hash }, C.short(v.tx_hash)));
        }
        member.textContent = v.member || '';
        if (v.evidence_id) member.append(el('br'), el('a', { href: C.pagePath('/evidence/' + v.evidence_id) }, t('open_evidence')));
      },
      fail(e) {
        row.dataset.verdict = 'error';
        row.className = 'result verdict-warn';
        verdict.replaceChildren(el('span', { class: 'badge badge-warn', role: 'status' }, t('verdict.error')),
          el('span', { class: 'verdict-detail wrap' }, C.errorText(e)));
      },
    };
  }

  async function verifyFile(file, algorithm) {
    const row = addRow(file.name, C.formatSize(file.size));
    try {
      // Hashed here for every algorithm; only the digest goes to the server, never the file.
      const digest = await C.hashFile(file, algorithm, (done, total) => row.status(C.hashProgressText(done, total)));
      row.digest(digest);
      row.status(t('checking'));
      const verdict = await C.api('POST', '/verify', { json: { algorithm: algorithm, digest: digest } });
      row.show(verdict);
    } catch (e) {
      row.fail(e);
    }
  }

  input.addEventListener('change', async () => {
    const files = Array.from(input.files || []);
    const algorithm = select.value;
    // One at a time, in order: a folder of large files must not be read into memory at once.
    for (const file of files) await verifyFile(file, algorithm);
    input.value = '';
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const field = document.getElementById('digest');
    const algorithm = document.getElementById('digest-algorithm').value;
    const value = field.value.trim();
    if (!DIGEST.test(value)) {
      field.setAttribute('aria-invalid', 'true');
      const row = addRow(value || '—', algorithm);
      row.fail(new Error(t('digest_invalid')));
      return;
    }
    field.removeAttribute('aria-invalid');
    const row = addRow(value.startsWith('0x') ? value : '0x' + value, algorithm);
    row.status(t('checking'));
    try {
      row.show(await C.api('POST', '/verify', { json: { algorithm: algorithm, digest: value } }));
    } catch (err) {
      row.fail(err);
    }
  });

  if (form.dataset.autorun === 'true') form.requestSubmit();
})();
