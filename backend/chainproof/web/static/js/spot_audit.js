/*
 * The review queue's spot audit: POST /api/v1/subsidy/spot-audits as the signed-in reviewer
 * (session cookie + CSRF, common.js), then a link to the public draw page /draws/{id}.
 * Messages: web/i18n_draws.py (js.spot.*).
 */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t } = C;
  const form = document.getElementById('spot-form');
  const result = document.getElementById('spot-result');
  if (!form) return;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    result.textContent = '';
    try {
      const draw = await C.api('POST', '/subsidy/spot-audits', {
        json: {
          status: form.status.value,
          count: parseInt(form.count.value, 10),
          blocks_ahead: parseInt(form.blocks_ahead.value, 10),
        },
      });
      result.append(t('spot.committed', { block: draw.target_block }) + ' ');
      const link = document.createElement('a');
      link.href = C.pagePath('/draws/' + draw.id);
      link.textContent = draw.id;
      link.dataset.testid = 'spot-link';
      result.append(link);
    } catch (err) {
      result.textContent = t('spot.failed', { message: (err && err.message) || String(err) });
    }
  });
})();
