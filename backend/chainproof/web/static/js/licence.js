/*
 * /l/{id}: checks an e-licence (电子证照) in this browser, against the chain, trusting neither
 * this server nor its answers (docs/licences.md, "The page"). The same checks, names and
 * verdict as chainproof.licences.credential.check with the chain's status
 * (chainproof.licences.status.read_chain_status):
 *   format          the licence's parts are there and well formed
 *   signature       the EIP-712 Licence message recomputed here, its signer recovered with
 *                   the vendored @noble/secp256k1, equal to the issuer DID's address
 *   trusted_issuer  the DID is one the reader pinned (prefilled, editable)
 *   claim:<name>    each claim shown: its leaf (string name, string value, bytes32 salt),
 *                   double keccak, folded with its proof, reaches the signed claims root
 *   validity        validFrom <= now < validUntil
 *   anchored        the claims root's receipt: anchored by the issuer, checked on the RPC
 *                   node against the pinned trust anchor (receipt.js, every check)
 *   status          the latest status record: recomputed SHA-256, its receipt anchored by
 *                   the issuer and not revoked (revoked: "stale", the issuer changed it since)
 * The claims shown come from the URL's fragment (#v1.<base64url JSON>, which no browser sends
 * to any server) or from a file read with the File API. From this server the page reads only
 * the licence's public part (/api/v1/licences/{id}/public: no claim in it); everything else
 * it asks is plain JSON-RPC to the node the reader chose. Messages: web/i18n_licences.py.
 */
(function () {
  'use strict';
  const C = window.ChainProof;
  const R = window.ChainProofReceipt;
  const { t, el } = C;
  const app = document.getElementById('licence-app');
  if (!app || !R) return;
  const K = JSON.parse(document.getElementById('licence-constants').textContent);
  const LICENCE = app.dataset.licence;
  // The vendored module, already fetched (integrity-checked) by its own <script> tag: the
  // module map holds one entry per URL, so this import gets that very fetch.
  const secp = import(new URL(app.dataset.secp, location.href).href);
  let H = null;
  const ready = Promise.all([R.ready, C.hashers().then((h) => { H = h; })]);
  const MAX_FRAGMENT = 32768;
  const HEX32 = /^0x[0-9a-fA-F]{64}$/;
  const PRINTABLE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/; // ASCII, no quote or backslash
  const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
  const enc = new TextEncoder();

  // --- bytes ---------------------------------------------------------------------------
  function fromHex(h) {
    const body = h.startsWith('0x') ? h.slice(2) : h;
    const out = new Uint8Array(body.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(body.substr(2 * i, 2), 16);
    return out;
  }
  const toHex = (b) => '0x' + C.hex(b);
  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }
  const word = (n) => fromHex(BigInt(n).toString(16).padStart(64, '0'));
  const padded = (b) => { const out = new Uint8Array(Math.ceil(b.length / 32) * 32); out.set(b); return out; };
  const keccak = (b) => H.keccak256(b);

  // --- the claim leaf and the EIP-712 message (chainproof.licences.credential) ---------
  function claimLeaf(name, value, salt) {
    const n = enc.encode(name), v = enc.encode(value);
    const nTail = concat([word(n.length), padded(n)]);
    const vTail = concat([word(v.length), padded(v)]);
    return toHex(keccak(keccak(concat([word(96), word(96 + nTail.length), fromHex(salt), nTail, vTail]))));
  }
  function encodeType(name) {
    return name + '(' + K.TYPES[name].map((f) => f.type + ' ' + f.name).join(',') + ')';
  }
  function encodeValue(type, value) {
    if (type === 'string') return keccak(enc.encode(value));
    if (type === 'bytes32') return fromHex(value);
    return word(value); // uint256, uint64
  }
  function hashStruct(name, data) {
    return keccak(concat([keccak(enc.encode(encodeType(name)))].concat(K.TYPES[name].map((f) => encodeValue(f.type, data[f.name])))));
  }
  async function recoverSigner(message, chainId, signature) {
    const domain = Object.assign({}, K.DOMAIN, { chainId: chainId });
    const digest = keccak(concat([Uint8Array.of(0x19, 0x01), hashStruct('EIP712Domain', domain), hashStruct(K.PRIMARY_TYPE, message)]));
    const sig = fromHex(signature);
    if (sig.length !== 65) throw new Error(t('lic.sig.length', { n: sig.length }));
    const lib = await secp;
    const v = sig[64] >= 27 ? sig[64] - 27 : sig[64];
    const point = lib.Signature.fromCompact(sig.slice(0, 64)).addRecoveryBit(v).recoverPublicKey(digest);
    return R.checksum(toHex(keccak(point.toRawBytes(false).slice(1)).slice(12)));
  }

  // --- what is shown -------------------------------------------------------------------
  class Bad extends Error {}
  /* The claims in the fragment: {name: {value, salt, proof}}; null when there is none. */
  function fragmentClaims() {
    const h = location.hash.slice(1);
    if (!h) return null;
    if (!h.startsWith('v1.') || h.length > MAX_FRAGMENT) throw new Bad(t('lic.fragment.bad'));
    let data;
    try {
      const b64 = h.slice(3).replace(/-/g, '+').replace(/_/g, '/');
      const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
      data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    } catch (e) { throw new Bad(t('lic.fragment.bad')); }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Bad(t('lic.fragment.bad'));
    const out = {};
    for (const [name, c] of Object.entries(data)) {
      if (!Array.isArray(c) || c.length !== 3) throw new Bad(t('lic.fragment.bad'));
      out[name] = { value: c[0], salt: c[1], proof: c[2] };
    }
    return out;
  }
  /* The licence inside a credential or presentation document (credential_of). */
  function credentialOf(doc) {
    if (doc && Array.isArray(doc.type) && doc.type.includes('VerifiablePresentation')) {
      if (!Array.isArray(doc.verifiableCredential) || doc.verifiableCredential.length !== 1) throw new Bad(t('lic.format.one'));
      doc = doc.verifiableCredential[0];
    }
    if (!doc || !Array.isArray(doc.type) || !doc.type.includes(K.VC_TYPE)) throw new Bad(t('lic.format.not_licence'));
    return doc;
  }
  function parseDid(did) {
    const parts = typeof did === 'string' ? did.split(':') : [];
    if (parts.length !== 5 || parts[0] !== 'did' || parts[1] !== 'pkh' || parts[2] !== 'eip155' || !/^\d+$/.test(parts[3]) || !/^0x[0-9a-fA-F]{40}$/.test(parts[4])) throw new Bad(t('lic.format.did', { did: String(did) }));
    return { chainId: Number(parts[3]), address: parts[4] };
  }
  function checkClaims(claims) {
    const names = Object.keys(claims);
    if (names.length > K.MAX_CLAIMS) throw new Bad(t('lic.format.claims', { max: K.MAX_CLAIMS }));
    for (const n of names) {
      const c = claims[n];
      if (!c || typeof c.value !== 'string' || typeof c.salt !== 'string' || !HEX32.test(c.salt) || !Array.isArray(c.proof) || c.proof.length > K.MAX_PROOF || !c.proof.every((p) => typeof p === 'string' && HEX32.test(p))) {
        throw new Bad(t('lic.format.claim', { name: n }));
      }
    }
  }

  // --- the chain (receipt.js's checks) -------------------------------------------------
  async function onChain(raw, digest, what, issuer, url, anchor) {
    if (!raw) return { state: 'missing', why: t('lic.chain.no_receipt', { what: what }) };
    let r;
    try { r = R.parseReceipt(JSON.stringify(raw)); } catch (e) { return { state: 'invalid', why: e.message }; }
    if (r.digest !== digest.toLowerCase() || r.algorithm !== 'sha256') return { state: 'invalid', why: t('lic.chain.not_its', { what: what, digest: r.digest }) };
    if (r.submitter.toLowerCase() !== issuer.address.toLowerCase()) return { state: 'invalid', why: t('lic.chain.submitter', { what: what, submitter: r.submitter }) };
    if (r.chain_id !== issuer.chainId) return { state: 'invalid', why: t('lic.chain.chain', { chain: r.chain_id, did: issuer.chainId }) };
    if (!anchor) return { state: 'unpinned', why: t('receipt_page.verdict.unpinned') };
    const result = await R.verify(r, url, null, anchor, () => {});
    if (result.valid) return { state: 'valid', why: t('lic.chain.block', { n: r.block_number, time: C.cstTime(r.block_timestamp) }) };
    return { state: result.revoked ? 'revoked' : 'invalid', why: result.reason };
  }
  function recordOk(rec) {
    if (!rec || typeof rec !== 'object' || Object.keys(rec).sort().join() !== [...K.RECORD_KEYS].sort().join()) return false;
    if (!Number.isSafeInteger(rec.seq) || rec.seq < 0 || !(rec.action in K.STATUS_OF_ACTION)) return false;
    for (const k of ['licence', 'reason_hash', 'claims_root']) if (typeof rec[k] !== 'string' || rec[k].length > 100 || !PRINTABLE.test(rec[k])) return false;
    return rec.prev === null || (typeof rec.prev === 'string' && rec.prev.length <= 100 && PRINTABLE.test(rec.prev));
  }
  /* SHA-256 of the record's canonical JSON: sorted keys, no spaces (status.record_digest). */
  function recordDigest(rec) {
    const ordered = {};
    for (const k of [...K.RECORD_KEYS].sort()) ordered[k] = rec[k];
    return toHex(H.sha256(enc.encode(JSON.stringify(ordered))));
  }
  async function chainStatus(cred, status, issuer, url, anchor) {
    const root = String(cred.credentialSubject.claimsRoot).toLowerCase();
    const rootSaid = await onChain(status.receipt, root, t('lic.what.root'), issuer, url, anchor);
    const anchored = rootSaid.state === 'valid' || rootSaid.state === 'revoked';
    if (rootSaid.state === 'revoked') return { anchored: true, anchoredWhy: rootSaid.why, status: 'revoked', statusWhy: rootSaid.why };
    const rec = status.statusRecord;
    if (!rec) return { anchored: anchored, anchoredWhy: rootSaid.why, status: 'unknown', statusWhy: t('lic.status.none') };
    if (!recordOk(rec)) return { anchored: anchored, anchoredWhy: rootSaid.why, status: 'unknown', statusWhy: t('lic.status.malformed') };
    if (rec.licence !== String(cred.id).replace(/^urn:uuid:/, '') || rec.claims_root.toLowerCase() !== root) {
      return { anchored: anchored, anchoredWhy: rootSaid.why, status: 'unknown', statusWhy: t('lic.status.other') };
    }
    const said = await onChain(status.statusReceipt, recordDigest(rec), t('lic.what.record'), issuer, url, anchor);
    const what = t('lic.status.record', { seq: rec.seq, action: rec.action });
    if (said.state === 'valid') return { anchored: anchored, anchoredWhy: rootSaid.why, status: K.STATUS_OF_ACTION[rec.action], statusWhy: what + ', ' + said.why };
    if (said.state === 'revoked') return { anchored: anchored, anchoredWhy: rootSaid.why, status: 'stale', statusWhy: what + ': ' + t('lic.status.stale') };
    return { anchored: anchored, anchoredWhy: rootSaid.why, status: 'unknown', statusWhy: what + ': ' + said.why };
  }

  // --- the page ------------------------------------------------------------------------
  const verdictBox = document.getElementById('licence-verdict');
  const list = document.getElementById('licence-checks');
  const facts = document.getElementById('licence-facts');
  const fieldsBody = document.querySelector('#licence-fields tbody');
  const urlInput = document.getElementById('rpc-url');
  const anchorInput = document.getElementById('trust-anchor');
  const anchorSource = document.getElementById('trust-source');
  const issuersInput = document.getElementById('trusted-issuers');
  const fileInput = document.getElementById('licence-file');
  const ANCHOR_URL = new URL('/.well-known/chainproof.json', location.href).href;

  function setVerdict(word, detail) {
    const tone = word === 'valid' ? 'good' : word === 'working' ? 'warn' : 'bad';
    verdictBox.dataset.verdict = word;
    verdictBox.className = 'card notice notice-' + tone + ' receipt-verdict';
    verdictBox.replaceChildren(
      el('p', { class: 'receipt-verdict-title' }, el('span', { class: 'badge badge-' + tone }, t('lic.verdict.' + word))),
      detail ? el('p', { class: 'wrap', 'data-testid': 'licence-reason' }, detail) : null);
  }
  const checkLabel = (name) => (name.startsWith('claim:') ? t('lic.check.claim', { name: name.slice(6) }) : t('lic.check.' + name));
  function addCheck(name, ok, detail) {
    const label = checkLabel(name);
    list.append(el('li', { class: 'receipt-check ' + (ok ? 'ok' : 'bad'), dataset: { check: name, ok: String(ok) } },
      el('span', { class: 'receipt-mark', 'aria-hidden': 'true' }, ok ? '✓' : '✗'),
      el('span', { class: 'receipt-check-body' }, el('strong', {}, label), el('span', { class: 'receipt-detail wrap' }, detail))));
  }
  async function prefillAnchor() {
    try {
      const response = await fetch(ANCHOR_URL, { credentials: 'omit', cache: 'no-cache' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const text = await response.text();
      if (!anchorInput.value.trim()) anchorInput.value = JSON.stringify(JSON.parse(text), null, 2);
      anchorSource.textContent = t('receipt_page.trust.prefilled', { url: ANCHOR_URL });
    } catch (e) {
      anchorSource.textContent = t('receipt_page.trust.prefill_failed', { url: ANCHOR_URL, message: (e && e.message) || String(e) });
    }
  }
  /* The licence's public part from this server (no claim in it; checked like the rest). */
  async function publicPart() {
    const response = await fetch(C.pagePath('/api/v1/licences/' + encodeURIComponent(LICENCE) + '/public'), { credentials: 'omit', cache: 'no-store' });
    if (response.status === 404) throw new Bad(t('lic.not_found', { id: LICENCE }));
    if (!response.ok) throw new Bad(t('lic.public_failed', { status: response.status }));
    return (await response.json()).credential;
  }

  async function run() {
    await ready;
    list.replaceChildren(); fieldsBody.replaceChildren(); facts.hidden = true;
    setVerdict('working', null);
    const checks = [];
    const record = (name, ok, detail) => { checks.push([name, ok]); addCheck(name, ok, detail); };
    let cred, issuer;
    try {
      const skeleton = await publicPart();
      const file = fileInput.files && fileInput.files[0];
      if (file) {
        cred = credentialOf(JSON.parse(await file.text()));
        // The file's signed parts; the freshest status there is (checked on chain all the same).
        cred = Object.assign({}, cred, { credentialStatus: Object.assign({}, cred.credentialStatus || {}, skeleton.credentialStatus || {}) });
      } else {
        cred = credentialOf(skeleton);
        const shown = fragmentClaims() || {};
        cred = Object.assign({}, cred, { credentialSubject: Object.assign({}, cred.credentialSubject, { claims: shown }) });
      }
      if (String(cred.id).replace(/^urn:uuid:/, '') !== LICENCE) throw new Bad(t('lic.format.other_id'));
      issuer = parseDid(cred.issuer);
      if (!HEX32.test(cred.credentialSubject.claimsRoot)) throw new Bad(t('lic.format.root'));
      if (!RFC3339.test(cred.validFrom) || !RFC3339.test(cred.validUntil)) throw new Bad(t('lic.format.dates'));
      if (!cred.proof || typeof cred.proof.proofValue !== 'string' || !/^0x[0-9a-fA-F]*$/.test(cred.proof.proofValue)) throw new Bad(t('lic.format.proof'));
      checkClaims(cred.credentialSubject.claims || {});
    } catch (e) {
      const why = e instanceof Bad ? e.message : t('lic.format.malformed', { message: (e && e.message) || String(e) });
      record('format', false, why);
      setVerdict('invalid', why);
      return;
    }
    const subject = cred.credentialSubject;
    const root = subject.claimsRoot.toLowerCase();
    const start = Math.floor(Date.parse(cred.validFrom) / 1000);
    const end = Math.floor(Date.parse(cred.validUntil) / 1000);
    facts.replaceChildren(...[
      [t('lic.fact.type'), subject.licenceType], [t('lic.fact.id'), cred.id], [t('lic.fact.issuer'), cred.issuer],
      [t('lic.fact.valid'), C.cstTime(start) + ' – ' + C.cstTime(end)],
    ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', { class: 'wrap' }, String(v))]));
    facts.hidden = false;

    let signer;
    try {
      signer = await recoverSigner({ id: String(cred.id), licenceType: String(subject.licenceType), claimsRoot: root, validFrom: start, validUntil: end }, issuer.chainId, cred.proof.proofValue);
    } catch (e) { signer = t('lic.sig.nobody', { message: (e && e.message) || String(e) }); }
    const signed = signer.toLowerCase() === issuer.address.toLowerCase();
    record('signature', signed, t('lic.sig.by', { signer: signer }));
    const pinned = issuersInput.value.split(/\s+/).filter(Boolean).map((d) => d.toLowerCase());
    const trusted = pinned.includes(String(cred.issuer).toLowerCase());
    record('trusted_issuer', trusted, cred.issuer);
    const shown = [];
    let claimsOk = true;
    for (const [name, c] of Object.entries(subject.claims || {})) {
      const ok = R.processProof(claimLeaf(name, c.value, c.salt.toLowerCase()), c.proof.map((p) => p.toLowerCase())) === root;
      claimsOk = claimsOk && ok;
      record('claim:' + name, ok, t(ok ? 'lic.claim.ok' : 'lic.claim.bad'));
      if (ok) shown.push([name, c.value]);
    }
    const now = Date.now() / 1000;
    const inDates = start <= now && now < end;
    record('validity', inDates, C.cstTime(start) + ' – ' + C.cstTime(end));

    let anchor = null;
    try { anchor = R.parseAnchor(anchorInput.value); } catch (e) { anchor = null; }
    const url = urlInput.value.trim();
    let said;
    try {
      said = await chainStatus(cred, cred.credentialStatus || {}, issuer, url, anchor);
    } catch (e) {
      said = { anchored: false, anchoredWhy: (e && e.message) || String(e), status: 'unknown', statusWhy: (e && e.message) || String(e) };
    }
    record('anchored', said.anchored, root + ' (' + said.anchoredWhy + ')');
    record('status', said.status === 'active', said.status + ' (' + said.statusWhy + ')');

    let word = 'valid';
    if (!said.anchored) word = 'not_anchored';
    if (said.status !== 'active') word = said.status;
    if (!(signed && trusted && claimsOk)) word = 'invalid';
    else if (!inDates && word === 'valid') word = now >= end ? 'expired' : 'not_yet_valid';
    const valid = word === 'valid' && checks.every((c) => c[1]);
    if (!valid && word === 'valid') word = 'invalid';
    // As the API: the values are shown only when every check holds.
    if (valid) for (const [name, value] of shown) fieldsBody.append(el('tr', { dataset: { field: name } }, el('th', { scope: 'row' }, name), el('td', { class: 'wrap' }, value)));
    const failed = checks.find((c) => !c[1]);
    setVerdict(word, valid ? t('lic.valid_detail', { n: shown.length }) : t('lic.failed_detail', { check: failed ? checkLabel(failed[0]) : '' }));
  }

  document.getElementById('licence-form').addEventListener('submit', (e) => { e.preventDefault(); run(); });
  window.addEventListener('hashchange', () => run());
  prefillAnchor().then(run);
})();
