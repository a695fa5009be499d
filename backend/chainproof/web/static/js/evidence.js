/* /evidence/{id}: refresh once a pending document is anchored; show the member's own
   metadata (file name, label) when the tab holds a key that may see it. */
(function () {
  'use strict';
  const C = window.ChainProof;
  const section = document.getElementById('evidence');
  if (!section) return;
  const id = section.dataset.evidenceId;
  const initial = section.dataset.status;

  async function ownerMeta() {
    const key = C.getKey();
    if (!key) return;
    let record;
    try { record = await C.api('GET', '/evidence/' + id, { key: key }); } catch (e) { return; }
    if (!record.filename && !record.label && record.size === undefined) return;
    const box = document.getElementById('owner-meta');
    const fill = (name, value) => { box.querySelector('[data-owner="' + name + '"]').textContent = value || '—'; };
    fill('filename', record.filename);
    fill('label', record.label);
    fill('size', C.formatSize(record.size));
    fill('created_at', record.created_at);
    box.hidden = false;
  }

  async function waitForAnchor() {
    if (initial !== 'queued' && initial !== 'batched') return;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        const record = await C.api('GET', '/evidence/' + id);
        if (record.status !== initial) { window.location.reload(); return; }
      } catch (e) { /* keep waiting: a restart of the server is not an answer */ }
    }
  }

  ownerMeta();
  waitForAnchor();
})();
