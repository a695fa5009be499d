/* /anchor: hash files on this device (common.js's worker) and send only their digests
   (POST /api/v1/evidence/digests) as the signed-in person, then follow each one
   queued → batched → anchored by polling GET /api/v1/evidence/{id}. The files never leave. */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t, el } = C;
  const form = document.getElementById('anchor-form');
  const select = document.getElementById('algorithm');
  const input = document.getElementById('files');
  const message = document.getElementById('anchor-message');
  const list = document.getElementById('anchor-list');
  const empty = document.getElementById('anchor-empty');
  const submit = document.getElementById('anchor-submit');
  const STEPS = ['queued', 'batched', 'anchored'];
  const POLL_MS = 600;
  const tracked = new Map(); // evidence id -> {item, status}
  let polling = false;

  C.wireAlgorithmHint(select, document.getElementById('algorithm-hint'));

  function say(text, tone) {
    message.hidden = !text;
    message.textContent = text || '';
    message.className = 'notice' + (tone ? ' notice-' + tone : '');
  }

  function addItem(accepted, file) {
    empty.hidden = true;
    const steps = el('ol', { class: 'stepper' }, STEPS.map((s) => el('li', { dataset: { step: s } }, t('step.' + s))));
    const links = el('p', { class: 'anchor-links' });
    const state = el('p', { class: 'anchor-state', role: 'status' });
    const item = el('li', { class: 'anchor-item', dataset: { evidenceId: accepted.id, status: accepted.status } },
      el('p', { class: 'anchor-name wrap' }, el('strong', {}, file ? file.name : '#' + accepted.id),
        file ? el('span', { class: 'hint' }, ' ' + C.formatSize(file.size)) : null),
      el('code', { class: 'mono wrap digest' }, accepted.digest), steps, state, links);
    list.prepend(item);
    const entry = { item, steps, links, state, status: null };
    tracked.set(accepted.id, entry);
    show(entry, accepted.id, { status: accepted.status });
  }

  function receiptButton(id) {
    const button = el('button', { type: 'button', class: 'link-button' }, t('receipt'));
    button.addEventListener('click', () => C.download('/evidence/' + id + '/receipt', 'chainproof-receipt-' + id + '.json')
      .catch((e) => { button.replaceWith(C.errorText(e)); }));
    return button;
  }

  function show(entry, id, record) {
    if (entry.status === record.status) return;
    entry.status = record.status;
    entry.item.dataset.status = record.status;
    const reached = record.status === 'revoked' ? STEPS.length : STEPS.indexOf(record.status) + 1;
    entry.steps.querySelectorAll('li').forEach((li, i) => {
      li.classList.toggle('done', i < reached);
      if (i === reached - 1) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
    });
    entry.state.textContent = record.status === 'revoked' ? t('status.revoked') : t('step.' + record.status) +
      (record.anchor ? ' · ' + t('block', { n: record.anchor.block_number }) + ' · ' + C.cstTime(record.anchor.block_timestamp) : '');
    if (record.status === 'anchored' || record.status === 'revoked') {
      entry.links.replaceChildren(
        el('a', { href: C.pagePath('/evidence/' + id) }, t('open_evidence')), ' · ',
        el('a', { href: C.pagePath('/evidence/' + id + '/certificate') }, t('certificate')), ' · ',
        receiptButton(id));
    }
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      for (;;) {
        const pending = Array.from(tracked.entries()).filter(([, e]) => e.status !== 'anchored' && e.status !== 'revoked');
        if (!pending.length) return;
        for (const [id, entry] of pending) {
          try {
            show(entry, id, await C.api('GET', '/evidence/' + id));
          } catch (e) {
            entry.state.textContent = C.errorText(e);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      polling = false;
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const who = C.signedIn();
    const files = Array.from(input.files || []);
    if (!who) { say(t('need_signin'), 'bad'); return; }
    if (!files.length) { say(t('no_files'), 'bad'); input.focus(); return; }
    const algorithm = select.value;
    const label = document.getElementById('label').value.trim();
    submit.disabled = true;
    try {
      const digests = [];
      for (let i = 0; i < files.length; i++) {
        digests.push(await C.hashFile(files[i], algorithm, (done, total) =>
          say(t('hashing_file', { i: i + 1, n: files.length, name: files[i].name }) + ' · ' + C.hashProgressText(done, total))));
      }
      const body = await C.api('POST', '/evidence/digests', { json: { algorithm: algorithm, digests: digests, label: label || null } });
      body.items.forEach((item, i) => addItem(item, files[i]));
      say(t('accepted', { n: body.items.length }), 'good');
      form.reset();
      poll();
    } catch (err) {
      say(C.errorText(err), 'bad');
    } finally {
      submit.disabled = false;
    }
  });
})();
