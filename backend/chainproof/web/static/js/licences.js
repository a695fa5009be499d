/* /licences: an issuer org issues and changes its licences; a holder org makes presentations.
 * Every call is the JSON API with the session's cookie and CSRF token (common.js C.api). */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t, el } = C;

  const form = document.getElementById('licence-issue');
  if (form) {
    const type = document.getElementById('issue-type');
    const box = document.getElementById('issue-fields');
    const result = document.getElementById('issue-result');
    const showFields = () => {
      const fields = JSON.parse(type.selectedOptions[0].dataset.fields || '[]');
      box.replaceChildren(...fields.map((name, i) => el('div', { class: 'field' },
        el('label', { for: 'claim-' + i }, name),
        el('input', { type: 'text', id: 'claim-' + i, 'data-claim': name, required: true, maxlength: 900 }))));
    };
    type.addEventListener('change', showFields);
    showFields();
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const claims = {};
      for (const input of box.querySelectorAll('[data-claim]')) claims[input.dataset.claim] = input.value;
      const body = { type: type.value, holder: form.elements.holder.value, claims: claims };
      if (form.elements.holder_org.value.trim()) body.holder_org = form.elements.holder_org.value.trim();
      try {
        const made = await C.api('POST', '/licences', { json: body });
        result.textContent = t('lics.issued_ok', { id: made.id });
        setTimeout(() => location.reload(), 800);
      } catch (err) { result.textContent = C.errorText(err); }
    });
  }

  for (const row of document.querySelectorAll('tr[data-licence]')) {
    const id = row.dataset.licence;
    const out = row.querySelector('.licence-result');
    for (const button of row.querySelectorAll('button[data-action]')) {
      button.addEventListener('click', async () => {
        const action = button.dataset.action;
        const reason = (row.querySelector('.licence-reason') || {}).value || '';
        try {
          if (action === 'renew') await C.api('POST', '/licences/' + id + '/renew', { json: {} });
          else await C.api('POST', '/licences/' + id + '/status', { json: { action: action, reason: reason } });
          out.textContent = t('lics.done');
          setTimeout(() => location.reload(), 800);
        } catch (err) { out.textContent = C.errorText(err); }
      });
    }
  }

  for (const card of document.querySelectorAll('[data-held]')) {
    const present = card.querySelector('form.licence-present');
    const qr = card.querySelector('.licence-qr');
    present.addEventListener('submit', async (e) => {
      e.preventDefault();
      const fields = [...present.querySelectorAll('input[name=field]:checked')].map((i) => i.value);
      try {
        const made = await C.api('POST', '/licences/' + card.dataset.held + '/presentation', { json: { fields: fields } });
        // The server's SVG as an image (never markup in this page), and the link it encodes.
        const img = el('img', { alt: t('lics.qr_alt'), width: 240, src: 'data:image/svg+xml;base64,' + btoa(made.qr_svg) });
        qr.replaceChildren(img, el('p', { class: 'wrap' }, el('a', { href: made.url, 'data-testid': 'presentation-link' }, t('lics.open_link'))));
      } catch (err) { qr.replaceChildren(el('p', {}, C.errorText(err))); }
    });
  }
})();
