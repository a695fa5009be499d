/* /admin: members and API keys through the admin API, with the tab's admin key. */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t, el } = C;
  const message = document.getElementById('admin-message');
  const keyInput = document.getElementById('api-key');
  const membersBody = document.querySelector('#members tbody');
  const keysBody = document.querySelector('#keys tbody');
  const memberHeads = Array.from(document.querySelectorAll('#members thead th'), (th) => th.textContent);
  const keyHeads = Array.from(document.querySelectorAll('#keys thead th'), (th) => th.textContent);

  function say(text, tone) {
    message.hidden = !text;
    message.textContent = text || '';
    message.className = 'notice' + (tone ? ' notice-' + tone : '');
  }
  function when(iso) { return iso ? iso.replace('T', ' ').slice(0, 19) : t('admin.never'); }
  /* Names and addresses wrap anywhere (long Chinese names); short codes never break. */
  function cells(heads, values, wrapped) {
    return values.map((v, i) => el('td', { 'data-label': heads[i], class: wrapped.includes(i) ? 'wrap' : 'nowrap' }, v));
  }

  let generation = 0;
  async function load() {
    const key = C.getKey();
    const mine = ++generation; // a slower earlier load must not overwrite a later one
    if (!key) { membersBody.replaceChildren(); keysBody.replaceChildren(); say(t('need_key'), 'warn'); return; }
    try {
      const [members, keys] = await Promise.all([
        C.api('GET', '/members', { key: key }),
        C.api('GET', '/keys', { key: key }),
      ]);
      if (mine !== generation) return;
      membersBody.replaceChildren(...members.map((m) => el('tr', {}, cells(memberHeads, [String(m.id), m.name,
        m.chain_address ? el('a', { class: 'mono', href: C.pagePath('/explorer/address/' + m.chain_address) }, m.chain_address) : '—',
        when(m.created_at)], [1, 2]))));
      keysBody.replaceChildren(...keys.map((k) => {
        const status = k.revoked_at
          ? el('span', { class: 'badge badge-bad' }, t('admin.revoked', { when: when(k.revoked_at) }))
          : el('span', {}, el('span', { class: 'badge badge-good' }, t('admin.active')), ' ',
            el('button', { type: 'button', class: 'button small', dataset: { revoke: k.id, prefix: k.prefix } }, t('admin.revoke')));
        return el('tr', { dataset: { keyId: k.id } }, cells(keyHeads, [String(k.id), k.org, k.role,
          el('code', { class: 'mono' }, k.prefix + '…'), when(k.last_used_at), status], [1]));
      }));
      say(t('admin.loaded', { members: members.length, keys: keys.length }), 'good');
    } catch (e) {
      if (mine !== generation) return;
      membersBody.replaceChildren();
      keysBody.replaceChildren();
      say(C.errorText(e), 'bad');
    }
  }

  let timer = null;
  keyInput.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(load, 400); });

  keysBody.addEventListener('click', async (e) => {
    const button = e.target.closest('[data-revoke]');
    if (!button) return;
    const id = button.dataset.revoke;
    if (!window.confirm(t('admin.confirm_revoke', { id: id, prefix: button.dataset.prefix }))) return;
    try {
      await C.api('DELETE', '/keys/' + id, { key: C.getKey() });
      await load();
      say(t('admin.revoked_key', { id: id }), 'good');
    } catch (err) { say(C.errorText(err), 'bad'); }
  });

  document.getElementById('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const org = document.getElementById('key-org').value.trim();
    const role = document.getElementById('key-role').value;
    try {
      const created = await C.api('POST', '/keys', { key: C.getKey(), json: { org: org, role: role } });
      await load();
      document.getElementById('new-key-value').textContent = created.key;
      document.getElementById('new-key').hidden = false;
      say(t('admin.created_key', { org: created.org, role: created.role, id: created.id }), 'good');
    } catch (err) { say(C.errorText(err), 'bad'); }
  });

  document.getElementById('member-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = document.getElementById('member-name').value.trim();
    try {
      const member = await C.api('POST', '/members', { key: C.getKey(), json: { name: name } });
      e.target.reset();
      await load();
      say(t('admin.created_member', { name: member.name }), 'good');
    } catch (err) { say(C.errorText(err), 'bad'); }
  });

  load();
})();
