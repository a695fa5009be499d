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
    if (record.business_type) { // typed evidence: the receipt's salt commits to these
      fill('business_type', record.business_type);
      fill('metadata', JSON.stringify(record.metadata, null, 2));
      for (const node of article.querySelectorAll('[data-cert-typed]')) node.hidden = false;
    }
    document.getElementById('cert-facts').hidden = false;
    court();
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

  // What a court asks (issue 19): the record before the chain, the time interval, the
  // TSA's time, the verification report. Text only (textContent): client-given names too.
  async function court() {
    let c;
    try { c = await C.api('GET', path + '/court'); } catch (e) { return; }
    const section = document.getElementById('cert-court');
    const put = (name, value) => {
      const node = section.querySelector('[data-court="' + name + '"]');
      if (node) node.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
    };
    for (const name of ['received_at', 'channel_label', 'uploader', 'client_name', 'client_size', 'client_type',
      'member_name', 'member_address', 'tsa_time', 'tsa_serial', 'genesis_hash', 'confirmations',
      'width', 'cli_command', 'bundle_path', 'anchor_url']) put(name, c[name]);
    put('member_signature', c.member_signature || '未签名 / not signed');
    put('interval', c.not_before !== null
      ? C.cstTime(c.not_before) + ' — ' + C.cstTime(c.not_after)
      : '不晚于 / not after ' + C.cstTime(c.not_after));
    const report = section.querySelector('[data-testid="cert-report"]');
    report.textContent = '';
    for (const check of c.checks) {
      const item = document.createElement('li');
      item.dataset.check = check.name;
      item.dataset.ok = check.ok ? 'true' : 'false';
      item.textContent = check.zh + ' / ' + check.en + ': ' + (check.ok ? '通过 / passed' : '未通过 / FAILED') + ' — ' + check.detail;
      report.appendChild(item);
    }
    section.hidden = false;
  }
  facts();
})();
