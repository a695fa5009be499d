/* /evidence/{id}/certificate: the server renders the number, status and QR code; for a
   signed-in person who may see the record this fills in its facts and offers the PDF
   (fetched with the session cookie: the PDF route renders only for those who may see it). */
(function () {
  'use strict';
  const C = window.ChainProof;
  const article = document.querySelector('[data-testid="certificate"]');
  if (!article) return;
  const id = article.dataset.evidenceId;
  const path = '/evidence/' + encodeURIComponent(id);

  function fill(name, value) {
    const node = article.querySelector('[data-cert="' + name + '"]');
    if (node) node.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
  }

  async function facts() {
    const who = C.signedIn();
    if (!who) return;
    let record, receipt;
    try {
      record = await C.api('GET', path);
      if (!record.digest || !record.anchor) return;
      receipt = await C.api('GET', path + '/receipt');
    } catch (e) { return; }
    const a = record.anchor;
    fill('member', record.member);
    fill('algorithm', String(record.algorithm).toUpperCase());
    fill('digest', record.digest);
    fill('time', C.cstTime(a.block_timestamp));
    for (const name of ['block_number', 'block_hash', 'tx_hash', 'chain_id', 'contract', 'submitter']) fill(name, a[name]);
    fill('root', receipt.root);
    document.getElementById('cert-facts').hidden = false;
    document.getElementById('private-hint').hidden = true;
    const pdf = document.querySelector('[data-cert-pdf]');
    pdf.hidden = false;
    pdf.addEventListener('click', async () => {
      const response = await fetch(C.pagePath(path + '/certificate.pdf'), { credentials: 'same-origin' });
      if (!response.ok) return;
      const url = URL.createObjectURL(await response.blob());
      window.open(url, '_blank', 'noopener');
    });
  }

  facts();
})();
