/* /evidence/{id}: the server renders id and status only. Signed in as a person who may
   see the record (its member, an admin, a reviewer of its application) this fills in the digest,
   member, chain data and proof from the API; refreshes once a pending document is anchored. */
(function () {
  'use strict';
  const C = window.ChainProof;
  const section = document.getElementById('evidence');
  if (!section) return;
  const id = section.dataset.evidenceId;
  const initial = section.dataset.status;
  const path = '/evidence/' + encodeURIComponent(id);

  function fill(name, value) {
    for (const node of document.querySelectorAll('[data-owner="' + name + '"]')) {
      node.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
    }
  }
  function show(elementId) { const node = document.getElementById(elementId); if (node) node.hidden = false; }

  async function privateFacts() {
    const who = C.signedIn();
    if (!who) return;
    let record;
    try { record = await C.api('GET', path); } catch (e) { return; }
    if (!record.digest) return;  // this person may not see the record: id and status only
    document.getElementById('private-hint').hidden = true;
    for (const name of ['algorithm', 'digest', 'member', 'filename', 'label', 'created_at']) fill(name, record[name]);
    fill('size', C.formatSize(record.size));
    if (record.business_type) { // typed evidence (业务类型): committed in the leaf's salt
      fill('business_type', record.business_type);
      fill('metadata', JSON.stringify(record.metadata, null, 2));
      for (const node of document.querySelectorAll('[data-owner-typed]')) node.hidden = false;
    }
    show('owner-meta');
    const verify = document.querySelector('[data-owner-link="verify"]');
    verify.href += '?' + new URLSearchParams({ digest: record.digest, algorithm: record.algorithm });
    show('owner-actions');
    const a = record.anchor;
    if (!a) return;
    fill('time', C.cstTime(a.block_timestamp));
    for (const name of ['block_number', 'block_hash', 'tx_hash', 'chain_id', 'contract', 'submitter']) fill(name, a[name]);
    show('owner-chain');
    let receipt;
    try { receipt = await C.api('GET', path + '/receipt'); } catch (e) { return; }
    for (const name of ['salt', 'leaf_hash', 'root']) fill(name, receipt[name]);
    const list = document.querySelector('[data-owner-list="proof"]');
    list.replaceChildren(...receipt.proof.map((p) => C.el('li', { class: 'wrap' }, p)));
    document.querySelector('[data-owner-empty="proof"]').hidden = receipt.proof.length > 0;
    show('owner-proof');
    const download = document.querySelector('[data-owner-download="receipt"]');
    download.hidden = false;
    download.addEventListener('click', () => C.download(path + '/receipt', 'chainproof-receipt-' + id + '.json'));
  }

  async function waitForAnchor() {
    if (initial !== 'queued' && initial !== 'batched') return;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        const record = await C.api('GET', path);
        if (record.status !== initial) { window.location.reload(); return; }
      } catch (e) { /* keep waiting: a restart of the server is not an answer */ }
    }
  }

  privateFacts();
  waitForAnchor();
})();
