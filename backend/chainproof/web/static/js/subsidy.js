/* The subsidy pages (/applications, /review, /applications/{id}[/check|/report]).
 *
 * The HTML routes render the frame; this script calls /api/v1/subsidy as the signed-in
 * person (the session cookie, with the page's CSRF token on changes) and renders the answers. Files dropped on
 * the check page are hashed here with Web Crypto; only their digests are sent. */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t, el } = C;
  const marker = document.getElementById('subsidy-page');
  if (!marker) return;
  const PAGE = marker.dataset.page;
  const APP_ID = marker.dataset.application ? Number(marker.dataset.application) : null;
  const message = document.getElementById('sub-message');
  const TONE = { match: 'good', unknown: 'bad', other_application: 'warn', anchored_elsewhere: 'warn' };
  const STORE = 'chainproof.integrity.';

  // --- helpers ---------------------------------------------------------------------------
  function say(text, tone) {
    if (!message) return;
    message.hidden = !text;
    message.textContent = text || '';
    message.className = 'notice' + (tone ? ' notice-' + tone : '');
  }
  function fail(e) {
    if (e instanceof C.ApiError && e.status === 404) say(t('sub.not_found'), 'bad');
    else say(C.errorText(e), 'bad');
  }
  function heads(table) { return Array.from(table.querySelectorAll('thead th'), (th) => th.textContent); }
  function cells(table, values) {
    const h = heads(table);
    return values.map((v, i) => el('td', { 'data-label': h[i], class: 'wrap' }, v));
  }
  function when(iso) { return iso ? String(iso).replace('T', ' ').slice(0, 19) + ' UTC' : ''; }
  function statusBadge(status) {
    return el('span', { class: 'badge badge-info sub-status', dataset: { status: status } }, t('sub.status.' + status));
  }
  function badge(ok, yes, no) {
    if (ok === null || ok === undefined) return el('span', { class: 'badge badge-warn' }, t('sub.undecided'));
    return el('span', { class: 'badge badge-' + (ok ? 'good' : 'bad') }, ok ? yes || t('sub.ok') : no || t('sub.fail'));
  }
  function needSignIn() {
    const who = C.signedIn();
    if (!who) say(t('need_signin'), 'warn');
    return who;
  }
  function call(method, path, options) {
    return C.api(method, '/subsidy' + path, options || {});
  }
  /* An anchor: block time, block and tx links, and the evidence page. */
  function anchorCell(anchor, evidenceId) {
    const out = el('span', { class: 'anchor' });
    if (anchor) {
      out.append(C.cstTime(anchor.block_timestamp), el('br'),
        el('a', { href: C.pagePath('/explorer/block/' + anchor.block_number) }, t('block', { n: anchor.block_number })));
      if (anchor.tx_hash) out.append(' · ', el('a', { class: 'mono', href: C.pagePath('/explorer/tx/' + anchor.tx_hash), title: anchor.tx_hash }, C.short(anchor.tx_hash)));
    }
    if (evidenceId) {
      if (anchor) out.append(el('br'));
      // The receipt is fetched with the tab's key: a plain link would carry none.
      const receipt = el('button', { type: 'button', class: 'link-button' }, t('sub.receipt'));
      receipt.addEventListener('click', () => C.download('/evidence/' + evidenceId + '/receipt',
        'chainproof-receipt-' + evidenceId + '.json').catch((e) => { receipt.replaceWith(C.errorText(e)); }));
      out.append(el('a', { href: C.pagePath('/evidence/' + evidenceId) }, t('open_evidence')), ' · ', receipt);
    }
    return out;
  }
  function docName(d) {
    return el('span', {}, el('span', { class: 'doc-name' }, d.filename || '—'), el('br'),
      el('code', { class: 'mono digest', title: d.digest }, C.short(d.digest)));
  }
  function docStatus(d) {
    const tone = d.status === 'anchored' ? 'good' : d.status === 'revoked' ? 'bad' : 'warn';
    const out = el('span', {}, el('span', { class: 'badge badge-' + tone, dataset: { docStatus: d.status } }, d.status === 'revoked' ? t('status.revoked') : t('step.' + d.status)));
    if (d.late) out.append(' ', el('span', { class: 'badge badge-warn' }, t('sub.late')));
    return out;
  }
  function refList(refs) {
    return refs.map((r) => (r.id ? '#' + r.id : '') + (r.project_name ? ' ' + r.project_name : '') + (r.applicant ? '（' + r.applicant + '）' : '')).join('；');
  }

  // --- listings (/applications, /review) -----------------------------------------------
  const listTable = document.getElementById('applications');
  async function loadList(status) {
    if (!needSignIn()) return;
    const q = status ? '?status=' + encodeURIComponent(status) : '';
    try {
      const apps = await call('GET', '/applications' + q);
      const body = listTable.querySelector('tbody');
      body.replaceChildren(...apps.map((a) => {
        const links = el('span', {}, el('a', { href: C.pagePath('/applications/' + a.id), dataset: { testid: 'open-' + a.id } }, a.project_name));
        if (PAGE === 'review') {
          links.append(el('br'), el('a', { href: C.pagePath('/applications/' + a.id + '/check') }, t('sub.check')), ' · ',
            el('a', { href: C.pagePath('/applications/' + a.id + '/report') }, t('sub.report')));
        }
        return el('tr', { dataset: { application: a.id } }, cells(listTable, ['#' + a.id, links, a.applicant || '—', statusBadge(a.status), when(a.updated_at)]));
      }));
      listTable.hidden = apps.length === 0;
      document.getElementById('applications-empty').hidden = apps.length !== 0;
      say(apps.length ? t('sub.loaded', { n: apps.length }) : t('sub.none'), apps.length ? 'good' : '');
    } catch (e) { fail(e); }
  }

  if (PAGE === 'list') {
    document.getElementById('load-applications').addEventListener('click', () => loadList(''));
    const form = document.getElementById('new-application');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!needSignIn()) return;
      const data = new FormData(form);
      const [category, field] = String(data.get('scope')).split('|');
      const body = {
        round: data.get('round'), scope_category: category, scope_field: field,
        project_name: String(data.get('project_name')).trim(), summary: String(data.get('summary') || ''),
        requests: data.getAll('requests'), packages: data.getAll('packages'),
      };
      if (data.get('self_investment_wan')) body.self_investment_wan = String(data.get('self_investment_wan'));
      if (data.get('headcount')) body.headcount = Number(data.get('headcount'));
      try {
        const created = await call('POST', '/applications', { json: body });
        say(t('sub.created', { id: created.id }), 'good');
        window.location.assign(C.pagePath('/applications/' + created.id));
      } catch (err) { fail(err); }
    });
    if (C.signedIn()) loadList('');
  }

  if (PAGE === 'review') {
    const form = document.getElementById('queue-form');
    form.addEventListener('submit', (e) => { e.preventDefault(); loadList(document.getElementById('queue-status').value); });
    if (C.signedIn()) loadList(document.getElementById('queue-status').value);
  }

  // --- shared by the detail and the report pages ---------------------------------------
  function renderDocuments(docs) {
    const table = document.getElementById('documents');
    table.querySelector('tbody').replaceChildren(...docs.map((d) => el('tr', { dataset: { document: d.id } },
      cells(table, [d.kind, docName(d), docStatus(d), anchorCell(d.anchor, d.evidence_id)]))));
  }
  function renderManifests(manifests) {
    document.getElementById('manifests').replaceChildren(...manifests.map((m) => el('li', {},
      m.phase + ' · ', el('code', { class: 'mono', title: m.digest }, C.short(m.digest)),
      m.verdict ? [' · ', badge(m.verdict === 'anchored', t('verdict.anchored'), t('verdict.' + m.verdict))] : null,
      m.body_ok === undefined ? null : [' · ', m.body_ok ? t('sub.body_ok') : t('sub.body_bad')],
      m.evidence_id ? [' · ', anchorCell(m.anchor || null, m.evidence_id)] : null)));
  }
  function renderTrail(trail) {
    const table = document.getElementById('trail');
    const summary = [badge(trail.ok, t('sub.trail_ok'), t('sub.trail_bad'))];
    if (trail.reasons && trail.reasons.length) summary.push(el('span', { class: 'wrap' }, ' ' + trail.reasons.join('；')));
    document.getElementById('trail-summary').replaceChildren(...summary);
    table.querySelector('tbody').replaceChildren(...trail.entries.map((e) => el('tr', { dataset: { seq: e.seq, ok: String(e.ok) } },
      cells(table, [
        el('span', {}, t('sub.status.' + e.from_status), ' → ', t('sub.status.' + e.to_status)),
        (e.actor || '—') + ' (' + e.role + ')', when(e.at), e.comment || '',
        el('span', {}, badge(e.ok, t('sub.entry_ok'), t('sub.entry_bad')), e.reason ? ' ' + e.reason : '', el('br'), anchorCell(e.anchor, e.evidence_id)),
      ]))));
  }
  function renderAcceptance(acc) {
    const parts = [badge(acc.passed, t('sub.passed'), t('sub.failed_rule'))];
    if (acc.cash_subsidy_wan !== null) parts.push(' ' + t('sub.cash', { n: acc.cash_subsidy_wan }));
    if (acc.required_wan !== null) parts.push('，' + t('sub.required', { n: acc.required_wan }));
    parts.push('，' + t('sub.proven', { n: acc.proven_wan }));
    document.getElementById('acceptance-summary').replaceChildren(...parts, el('br'), el('span', { class: 'hint' }, acc.reasons.join('；')));
    const table = document.getElementById('acceptance-docs');
    table.querySelector('tbody').replaceChildren(...acc.documents.map((d) => {
      const result = el('span', {}, el('span', { class: 'badge badge-' + (d.counted ? 'good' : 'warn') }, d.counted ? t('sub.counted') : t('sub.not_counted')));
      if (d.duplicate_of) result.append(' ', t('sub.duplicate_of', { id: d.duplicate_of }));
      if (d.reused && d.reused.length) result.append(' ', el('span', { class: 'badge badge-bad', dataset: { reused: 'true' } }, t('sub.reused', { apps: refList(d.reused) })));
      result.append(el('br'), anchorCell(d.anchor, d.evidence_id));
      return el('tr', { dataset: { document: d.id } }, cells(table, [d.kind + ' · ' + (d.filename || ''), (d.invoice_number || '') + ' / ' + (d.issuer || ''), d.amount_wan, result]));
    }));
  }

  // --- detail (/applications/{id}) -------------------------------------------------------
  if (PAGE === 'detail') {
    const facts = document.getElementById('app-fields');
    let polls = 0;
    const fact = (k, v) => [el('dt', {}, k), el('dd', { class: 'wrap' }, v)];
    async function load() {
      if (!needSignIn()) return;
      try {
        const app = await call('GET', '/applications/' + APP_ID);
        document.getElementById('app-status').replaceChildren(t('sub.status.' + app.status));
        document.getElementById('app-status').dataset.status = app.status;
        facts.replaceChildren(
          ...fact(t('sub.f.applicant'), app.applicant || '—'),
          ...fact(t('sub.f.project'), app.project_name),
          ...fact(t('sub.f.status'), statusBadge(app.status)),
          ...fact(t('sub.f.scope'), app.scope_category + ' · ' + app.scope_field),
          ...fact(t('sub.f.requests'), app.requests.join(', ')),
          ...fact(t('sub.f.investment'), app.self_investment_wan === null ? '—' : String(app.self_investment_wan)),
          ...fact(t('sub.f.headcount'), app.headcount === null ? '—' : String(app.headcount)),
          ...fact(t('sub.f.packages'), app.packages.join(', ') || '—'),
          ...fact(t('sub.f.summary'), app.summary || '—'));
        renderDocuments(app.documents.filter((d) => d.phase === 'application'));
        renderManifests(app.manifests);
        document.getElementById('attach-form').hidden = app.status !== 'draft' || !app.allowed_transitions.includes('submitted');
        const moves = document.getElementById('moves');
        moves.replaceChildren(...app.allowed_transitions.map((to) => el('button', { type: 'button', class: 'button' + (to === 'submitted' ? ' primary' : ''), dataset: { to: to } },
          to === 'submitted' ? t('sub.submit') : to === 'acceptance_submitted' ? t('sub.acceptance_submit') : t('sub.move', { status: t('sub.status.' + to) }))));
        document.getElementById('moves-card').hidden = app.allowed_transitions.length === 0;
        const inAcceptance = ['approved', 'acceptance_submitted', 'accepted', 'acceptance_failed'].includes(app.status);
        document.getElementById('acceptance-card').hidden = !inAcceptance;
        document.getElementById('acceptance-form').hidden = !(app.status === 'approved' && app.allowed_transitions.includes('acceptance_submitted'));
        const [trail, acc] = await Promise.all([
          call('GET', '/applications/' + APP_ID + '/transitions'),
          inAcceptance ? call('GET', '/applications/' + APP_ID + '/acceptance') : Promise.resolve(null),
        ]);
        renderTrail(trail);
        if (acc) renderAcceptance(acc);
        // Documents anchor within a batch interval: look again until they are (bounded).
        if (app.documents.some((d) => d.status === 'queued' || d.status === 'batched') && polls++ < 60) setTimeout(load, 1000);
      } catch (e) { fail(e); }
    }
    document.getElementById('moves').addEventListener('click', async (e) => {
      const button = e.target.closest('button[data-to]');
      if (!button) return;
      const to = button.dataset.to;
      const comment = document.getElementById('move-comment').value.trim();
      const json = comment ? { comment: comment } : {};
      try {
        if (to === 'submitted') await call('POST', '/applications/' + APP_ID + '/submit', { json: json });
        else if (to === 'acceptance_submitted') await call('POST', '/applications/' + APP_ID + '/acceptance/submit', { json: json });
        else await call('POST', '/applications/' + APP_ID + '/transitions', { json: Object.assign({ to: to }, json) });
        say(to === 'submitted' ? t('sub.submitted') : t('sub.moved', { status: t('sub.status.' + to) }), 'good');
        polls = 0;
        await load();
      } catch (err) { fail(err); }
    });
    const attach = document.getElementById('attach-form');
    attach.addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = document.getElementById('attach-files');
      const data = new FormData();
      data.append('kind', document.getElementById('attach-kind').value);
      for (const f of input.files) data.append('file', f, f.name);
      try {
        const docs = await call('POST', '/applications/' + APP_ID + '/documents', { body: data });
        say(t('sub.uploaded', { n: docs.length }), 'good');
        input.value = '';
        polls = 0;
        await load();
      } catch (err) { fail(err); }
    });
    const accForm = document.getElementById('acceptance-form');
    accForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(accForm);
      try {
        await call('POST', '/applications/' + APP_ID + '/acceptance/documents', { body: data });
        say(t('sub.uploaded', { n: 1 }), 'good');
        accForm.reset();
        polls = 0;
        await load();
      } catch (err) { fail(err); }
    });
    load();
  }

  // --- integrity results (check and report pages) ---------------------------------------
  const integrity = document.getElementById('integrity');
  function stored() {
    try { return JSON.parse(sessionStorage.getItem(STORE + APP_ID) || '[]'); } catch (e) { return []; }
  }
  function store(rows) {
    try { sessionStorage.setItem(STORE + APP_ID, JSON.stringify(stored().concat(rows).slice(-500))); } catch (e) { /* storage off */ }
  }
  function integrityRow(r) {
    const h = heads(integrity);
    const tone = r.result === 'match' && r.verdict !== 'anchored' ? 'warn' : TONE[r.result] || 'warn';
    let detail = '';
    if (r.result === 'match' && r.document) {
      detail = t('sub.detail.match', { kind: r.document.kind, file: r.document.filename || '—', time: r.anchor ? C.cstTime(r.anchor.block_timestamp) : '—', block: r.anchor ? r.anchor.block_number : '—', member: r.application && r.application.applicant ? r.application.applicant : '' });
    } else if (r.result === 'other_application') {
      detail = r.application && r.application.id
        ? t('sub.detail.other', { id: r.application.id, project: r.application.project_name ? ' ' + r.application.project_name + (r.application.applicant ? '（' + r.application.applicant + '）' : '') : '' })
        : t('sub.detail.other_hidden');
    } else if (r.result === 'unknown') {
      detail = t('sub.detail.unknown');
    }
    if (r.reason && r.result !== 'unknown') detail += (detail ? ' ' : '') + r.reason;
    const block = el('td', { 'data-label': h[3] });
    if (r.anchor) {
      block.append(el('a', { href: C.pagePath('/explorer/block/' + r.anchor.block_number) }, String(r.anchor.block_number)));
      if (r.anchor.tx_hash) block.append(el('br'), el('a', { class: 'mono', href: C.pagePath('/explorer/tx/' + r.anchor.tx_hash), title: r.anchor.tx_hash }, C.short(r.anchor.tx_hash)));
    }
    return el('tr', { class: 'result verdict-' + tone, dataset: { result: r.result, verdict: r.verdict } },
      el('td', { 'data-label': h[0] }, el('span', { class: 'doc-name wrap' }, r.name), el('br'), el('code', { class: 'mono wrap digest' }, r.digest)),
      el('td', { 'data-label': h[1], class: 'verdict' }, el('span', { class: 'badge badge-' + tone, role: 'status' }, t('sub.result.' + r.result)),
        detail ? el('span', { class: 'verdict-detail wrap' }, detail) : null),
      el('td', { 'data-label': h[2] }, r.anchor ? C.cstTime(r.anchor.block_timestamp) : ''),
      block,
      el('td', { 'data-label': h[4], class: 'wrap' }, r.application && r.application.applicant ? r.application.applicant : ''));
  }
  function showIntegrity(rows) {
    const summary = document.getElementById('check-summary');
    const empty = document.getElementById('results-empty');
    if (!rows.length) { summary.textContent = t('sub.integrity_none'); integrity.hidden = true; return; }
    integrity.hidden = false;
    if (empty) empty.hidden = true;
    integrity.querySelector('tbody').replaceChildren(...rows.slice().reverse().map(integrityRow));
    const bad = rows.filter((r) => !(r.result === 'match' && r.verdict === 'anchored')).length;
    summary.replaceChildren(badge(bad === 0, t('sub.integrity_all', { n: rows.length }), t('sub.integrity_some', { bad: bad, n: rows.length })));
  }

  if (PAGE === 'check') {
    const input = document.getElementById('check-files');
    input.addEventListener('change', async () => {
      const files = Array.from(input.files || []);
      if (!files.length || !needSignIn()) return;
      try {
        let answer;
        if (C.browserCanHash('sha256')) {
          const digests = [];
          const summary = document.getElementById('check-summary');
          for (const f of files) {
            digests.push({ name: f.name, digest: await C.hashFile(f, 'sha256', (done, total) => { summary.textContent = f.name + ' · ' + C.hashProgressText(done, total); }) });
          }
          answer = await call('POST', '/applications/' + APP_ID + '/integrity-check', { json: { algorithm: 'sha256', files: digests } });
        } else {
          // No Web Worker or WebAssembly (a very old browser): the server hashes them, never stores them.
          const data = new FormData();
          for (const f of files) data.append('file', f, f.name);
          answer = await call('POST', '/applications/' + APP_ID + '/integrity-check?algorithm=sha256', { body: data });
        }
        store(answer.rows);
        showIntegrity(stored());
      } catch (e) {
        document.getElementById('check-summary').textContent = C.errorText(e);
      }
      input.value = '';
    });
    showIntegrity(stored());
  }

  // --- report (/applications/{id}/report) ------------------------------------------------
  if (PAGE === 'report') {
    async function loadReport() {
      if (!needSignIn()) return;
      try {
        const r = await call('GET', '/applications/' + APP_ID + '/report');
        const app = r.application;
        const fact = (k, v) => [el('dt', {}, k), el('dd', { class: 'wrap' }, v)];
        document.getElementById('report-facts').replaceChildren(
          ...fact(t('sub.f.applicant'), app.applicant || '—'),
          ...fact(t('sub.f.project'), app.project_name),
          ...fact(t('sub.f.status'), statusBadge(app.status)),
          ...fact(t('sub.f.round'), r.round.name + (r.late ? ' · ' + t('sub.late') : '')),
          ...fact(t('sub.f.scope'), app.scope_category + ' · ' + app.scope_field),
          ...fact(t('sub.f.investment'), app.self_investment_wan === null ? '—' : String(app.self_investment_wan)),
          ...fact(t('sub.f.generated'), when(r.generated_at)));
        const rules = document.getElementById('rules');
        rules.querySelector('tbody').replaceChildren(...r.rule_checks.map((c) => el('tr', { dataset: { rule: c.name } }, cells(rules, [
          el('span', {}, el('strong', {}, c.rule), ' ', c.name, c.blocking ? el('span', { class: 'hint' }, ' · ' + t('sub.blocking')) : null),
          badge(c.ok), el('ul', { class: 'reasons' }, c.reasons.map((x) => el('li', {}, x)))]))));
        if (r.acceptance) renderAcceptance(r.acceptance);
        else document.getElementById('acceptance-summary').textContent = t('sub.na');
        const reused = [];
        for (const d of r.documents.concat(r.acceptance ? r.acceptance.documents : [])) {
          if (d.reused && d.reused.length) reused.push(el('li', { dataset: { reused: 'true' } }, d.kind + ' ' + (d.invoice_number || d.filename || '') + ' — ' + t('sub.reused', { apps: refList(d.reused) })));
        }
        document.getElementById('reused').replaceChildren(...(reused.length ? reused : [el('li', {}, t('sub.no_reuse'))]));
        renderDocuments(r.documents);
        renderManifests(r.manifests);
        renderTrail(r.trail);
        showIntegrity(stored());
        document.getElementById('report-body').hidden = false;
        say('', '');
      } catch (e) { fail(e); }
    }
    loadReport();
  }
})();
