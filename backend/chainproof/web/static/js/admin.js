/* /admin: members, API keys, people's invitations and subsidy rounds through the admin API, as the signed-in admin. */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t, el } = C;
  const message = document.getElementById('admin-message');
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
    const who = C.signedIn();
    const mine = ++generation; // a slower earlier load must not overwrite a later one
    if (!who) { membersBody.replaceChildren(); keysBody.replaceChildren(); say(t('need_signin'), 'warn'); return; }
    try {
      const [members, keys] = await Promise.all([
        C.api('GET', '/members'),
        C.api('GET', '/keys'),
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


  keysBody.addEventListener('click', async (e) => {
    const button = e.target.closest('[data-revoke]');
    if (!button) return;
    const id = button.dataset.revoke;
    if (!window.confirm(t('admin.confirm_revoke', { id: id, prefix: button.dataset.prefix }))) return;
    try {
      await C.api('DELETE', '/keys/' + id);
      await load();
      say(t('admin.revoked_key', { id: id }), 'good');
    } catch (err) { say(C.errorText(err), 'bad'); }
  });

  document.getElementById('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const org = document.getElementById('key-org').value.trim();
    const role = document.getElementById('key-role').value;
    try {
      const created = await C.api('POST', '/keys', { json: { org: org, role: role } });
      await load();
      document.getElementById('new-key-value').textContent = created.key;
      document.getElementById('new-key').hidden = false;
      say(t('admin.created_key', { org: created.org, role: created.role, id: created.id }), 'good');
    } catch (err) { say(C.errorText(err), 'bad'); }
  });

  // --- people: invitations (POST /api/v1/users), shown once ---------------------------
  const peopleBody = document.querySelector('#people tbody');
  const peopleHeads = Array.from(document.querySelectorAll('#people thead th'), (th) => th.textContent);
  async function loadPeople() {
    if (!C.signedIn()) return;
    try {
      const people = await C.api('GET', '/users');
      peopleBody.replaceChildren(...people.map((p) => el('tr', { dataset: { person: p.email } },
        cells(peopleHeads, [String(p.id), p.email, p.org, p.role, p.active ? t('admin.active') : '…'], [1, 2]))));
    } catch (err) { say(C.errorText(err), 'bad'); }
  }
  document.getElementById('invite-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      email: document.getElementById('invite-email').value.trim(),
      org: document.getElementById('invite-org').value.trim(),
      role: document.getElementById('invite-role').value,
    };
    try {
      const made = await C.api('POST', '/users', { json: body });
      document.getElementById('invite-link').textContent = made.invite_url;
      document.getElementById('invite-result').hidden = false;
      e.target.reset();
      await loadPeople();
    } catch (err) { say(C.errorText(err), 'bad'); }
  });

  document.getElementById('member-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = document.getElementById('member-name').value.trim();
    try {
      const member = await C.api('POST', '/members', { json: { name: name } });
      e.target.reset();
      await load();
      say(t('admin.created_member', { name: member.name }), 'good');
    } catch (err) { say(C.errorText(err), 'bad'); }
  });

  // --- rounds (申报批次): GET is public, POST and PATCH need an admin ---------------------
  /* Deadlines are typed and shown in Beijing time (UTC+8): the program is in Guangxi, so the
     browser's own time zone plays no part. The API takes and gives RFC 3339 with an offset. */
  const CST_MS = 8 * 3600 * 1000;
  const roundsBody = document.querySelector('#rounds tbody');
  const roundHeads = Array.from(document.querySelectorAll('#rounds thead th'), (th) => th.textContent);
  const roundsMessage = document.getElementById('rounds-message');
  const roundForm = document.getElementById('round-form');
  const codeInput = document.getElementById('round-code');
  const editForm = document.getElementById('round-edit-form');
  const editCode = document.getElementById('round-edit-code');
  const editName = document.getElementById('round-edit-name');
  const editDeadline = document.getElementById('round-edit-deadline');
  const byCode = new Map();

  function sayRounds(text, tone) {
    roundsMessage.hidden = !text;
    roundsMessage.textContent = text || '';
    roundsMessage.className = 'notice' + (tone ? ' notice-' + tone : '');
  }
  /* Milliseconds since the epoch of an API time (at most milliseconds kept: Date.parse). */
  function instant(iso) { return Date.parse(String(iso).replace(/(\.\d{3})\d+/, '$1')); }
  function deadlineText(iso) { return C.cstTime(instant(iso) / 1000); }
  /* A datetime-local value (YYYY-MM-DDTHH:MM[:SS]) read as UTC+8 → RFC 3339, or null. */
  function cstToRfc3339(value) {
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(value || '');
    return m ? m[1] + 'T' + m[2] + (m[3] || ':00') + '+08:00' : null;
  }
  /* An API time → the datetime-local value that shows it in UTC+8. */
  function cstInputValue(iso) {
    const d = new Date(instant(iso) + CST_MS);
    const p = (n) => String(n).padStart(2, '0');
    return d.getUTCFullYear() + '-' + p(d.getUTCMonth() + 1) + '-' + p(d.getUTCDate()) + 'T' +
      p(d.getUTCHours()) + ':' + p(d.getUTCMinutes()) + ':' + p(d.getUTCSeconds());
  }
  function stateText(r) { return r.closed ? t('admin.round_closed') : t('admin.round_open'); }

  function fillEdit(code) {
    const r = byCode.get(code);
    editCode.value = r ? r.code : '';
    editName.value = r ? r.name : '';
    editDeadline.value = r ? cstInputValue(r.deadline) : '';
  }

  let roundsGeneration = 0;
  async function loadRounds() {
    const mine = ++roundsGeneration;
    try {
      const rounds = await C.api('GET', '/subsidy/rounds');
      if (mine !== roundsGeneration) return;
      byCode.clear();
      for (const r of rounds) byCode.set(r.code, r);
      roundsBody.replaceChildren(...rounds.map((r) => el('tr', { dataset: { round: r.code, closed: String(r.closed) } },
        cells(roundHeads, [
          el('code', { class: 'mono' }, r.code),
          r.name,
          el('span', { dataset: { deadline: r.deadline } }, deadlineText(r.deadline)),
          el('span', { class: 'badge ' + (r.closed ? 'badge-bad' : 'badge-good') }, stateText(r)),
          el('button', { type: 'button', class: 'button small', dataset: { editRound: r.code },
            'aria-label': t('admin.round_change_label', { code: r.code }) }, t('admin.round_change')),
        ], [0, 1]))));
      const chosen = editCode.value;
      editCode.replaceChildren(editCode.options[0],
        ...rounds.map((r) => el('option', { value: r.code }, r.code + ' · ' + r.name)));
      editCode.value = byCode.has(chosen) ? chosen : '';
    } catch (e) {
      if (mine !== roundsGeneration) return;
      sayRounds(t('admin.rounds_failed', { message: e && e.message ? e.message : String(e) }), 'bad');
    }
  }

  /* Who is signed in, or '' after saying that signing in is needed. */
  function signedInOrSay() {
    const who = C.signedIn();
    if (!who) { sayRounds(t('need_signin'), 'warn'); }
    return who;
  }

  codeInput.addEventListener('input', () => codeInput.removeAttribute('aria-invalid'));
  roundForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!signedInOrSay()) return;
    const body = {
      code: codeInput.value.trim(),
      name: document.getElementById('round-name').value.trim(),
      deadline: cstToRfc3339(document.getElementById('round-deadline').value),
    };
    try {
      const created = await C.api('POST', '/subsidy/rounds', { json: body });
      roundForm.reset();
      await loadRounds();
      sayRounds(t('admin.created_round', { code: created.code, deadline: deadlineText(created.deadline) }), 'good');
    } catch (err) {
      sayRounds(C.errorText(err), 'bad');
      // 409: the code is taken; 422 about the code: not a valid code. Either way, fix the code.
      if (err instanceof C.ApiError && (err.status === 409 || (err.status === 422 && /\bcode\b/.test(err.message)))) {
        codeInput.setAttribute('aria-invalid', 'true');
        codeInput.focus();
      }
    }
  });

  roundsBody.addEventListener('click', (e) => {
    const button = e.target.closest('[data-edit-round]');
    if (!button) return;
    fillEdit(button.dataset.editRound);
    sayRounds('');
    editName.focus();
    editForm.scrollIntoView({ block: 'nearest' });
  });
  editCode.addEventListener('change', () => fillEdit(editCode.value));

  editForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = byCode.get(editCode.value);
    if (!r) { sayRounds(t('admin.round_pick_first'), 'warn'); editCode.focus(); return; }
    const patch = {};
    const name = editName.value.trim();
    if (name && name !== r.name) patch.name = name;
    if (editDeadline.value && cstToRfc3339(editDeadline.value) !== cstToRfc3339(cstInputValue(r.deadline))) {
      patch.deadline = cstToRfc3339(editDeadline.value);
    }
    if (!Object.keys(patch).length) { sayRounds(t('admin.round_unchanged'), 'warn'); return; }
    if (!signedInOrSay()) return;
    try {
      const changed = await C.api('PATCH', '/subsidy/rounds/' + encodeURIComponent(r.code), { json: patch });
      await loadRounds();
      fillEdit(changed.code);
      sayRounds(t('admin.updated_round', { code: changed.code, name: changed.name,
        deadline: deadlineText(changed.deadline), state: stateText(changed) }), 'good');
    } catch (err) { sayRounds(C.errorText(err), 'bad'); }
  });

  load();
  loadPeople();
  loadRounds();
})();
