/*
 * /receipt: verifies a ChainProof receipt entirely in this browser, without our server.
 *
 * The same checks, in the same order and with the same names, as chainproof.receipts.
 * verify_receipt (docs/receipt.md, steps 1, 2 and 3a–3h), stopping at the first failure:
 *   document        (only when the document is given) its digest, recomputed here
 *   offline         leaf values repeat algorithm/digest/salt; leaf_hash =
 *                   keccak256(keccak256(abi.encode(string, bytes32, bytes32))); the proof,
 *                   folded with sorted pairs, reaches root; a typed receipt's salt is
 *                   keccak256(nonce ‖ keccak256(utf8(metadata.text))) (its metadata, proven)
 *   chain_id … contract_verify
 *                   plain JSON-RPC requests to the RPC URL the person chose, nothing else;
 *                   chain_id, genesis, registry and contract_code compare the node and the
 *                   receipt with the trust anchor (chainproof.trust, docs/receipt.md)
 * The trust anchor is prefilled from this site's /.well-known/chainproof.json when the page
 * opens (shown and editable: the person compares it with one got out of band); without one
 * the page never says "valid". The receipt and the document are read with the File API and
 * never leave the machine; while verifying, the only network requests are POSTs to the RPC
 * URL. Messages: web/i18n_receipt.py.
 */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t, el } = C;
  // hash-wasm's keccak-256 (vendored), instantiated once; synchronous after `ready`.
  let K256 = null;
  const ready = C.hashers().then((h) => { K256 = h.keccak256; });

  // The check names of chainproof.receipts.ONLINE_CHECKS (a unit test keeps them equal).
  const CHECKS = ['offline', 'chain_id', 'genesis', 'registry', 'contract_code', 'transaction', 'anchored_event', 'block', 'anchor', 'leaf_revocation', 'contract_verify'];
  // The registry's topic and selectors (chainproof.chain.abi.receipt_page_constants, from the
  // compiled interfaces) and the algorithms and leaf layout of a receipt, as the page serves
  // them: never copied here. *_V1: the version 1 registry (one anchor per root).
  const K = JSON.parse(document.getElementById('receipt-constants').textContent);
  const { ANCHORED_TOPIC, VERSION, GET_ANCHOR, IS_LEAF_REVOKED, VERIFY, GET_ANCHOR_V1, IS_LEAF_REVOKED_V1, VERIFY_V1, ALGORITHMS, LEAF_TYPES, METADATA_TEXT_MAX } = K;
  const RPC_TIMEOUT_MS = 15000;
  const KEYS = ['version', 'algorithm', 'digest', 'salt', 'leaf_types', 'leaf_values', 'leaf_hash', 'proof', 'root', 'chain_id', 'contract', 'tx_hash', 'block_number', 'block_hash', 'block_timestamp', 'submitter', 'issued_at', 'evidence_id', 'label', 'checkpoint', 'other_anchors', 'tsa_token', 'metadata'];
  const REQUIRED = KEYS.slice(0, 16);
  const ANCHOR_FORMAT = 'chainproof-trust-anchor/1';
  const ANCHOR_URL = '/.well-known/chainproof.json';
  const ANCHOR_KEYS = ['format', 'chain_id', 'genesis_hash', 'registry', 'registry_code_hash', 'registry_version', 'trace_registry', 'trace_registry_code_hash', 'rpc_url', 'past_registries'];
  // Optional: the main chain a sub-chain deployment is checkpointed into (docs/crosschain.md).
  // This page verifies against the receipt's own chain; the checkpoint is the CLI's path.
  // The TenderRegistry (docs/tenders.md) is `tender verify`'s, not this page's. Other chains a
  // root is also anchored on (dual anchoring) are `verify-receipt --policy`'s: this page checks
  // the receipt's own chain.
  // Virtual channels' own registries (docs/channels.md) are honoured like the registry.
  const OPTIONAL_ANCHOR_KEYS = ['main_chain', 'other_chains', 'tender_registry', 'tender_registry_code_hash', 'channel_registries'];
  const MAX_CHANNEL_REGISTRIES = 64; // chainproof.trust.MAX_CHANNEL_REGISTRIES

  // --- bytes and hex ------------------------------------------------------------------
  const enc = new TextEncoder();
  function toHex(bytes) { return '0x' + C.hex(bytes); }
  function fromHex(h) {
    const body = h.startsWith('0x') ? h.slice(2) : h;
    const out = new Uint8Array(body.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(body.substr(2 * i, 2), 16);
    return out;
  }
  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }
  function word(n) { // a uint256 as 32 big-endian bytes
    return fromHex(BigInt(n).toString(16).padStart(64, '0'));
  }
  function keccak(bytes) { return K256(bytes); }
  function keccakHex(bytes) { return toHex(keccak(bytes)); }

  /* EIP-55: the checksummed form of a 20-byte hex address. */
  function checksum(address) {
    const lower = address.slice(2).toLowerCase();
    const h = C.hex(keccak(enc.encode(lower)));
    let out = '0x';
    for (let i = 0; i < 40; i++) out += parseInt(h[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
    return out;
  }

  // --- reading a receipt (the rules of chainproof.receipts.Receipt) --------------------
  class NotAReceipt extends Error {}
  class NotAnAnchor extends Error {}
  const HEX = /^0x[0-9a-fA-F]*$/;

  /* Field checks shared by the receipt and the trust anchor; each reports through bad(). */
  function fieldChecks(bad) {
    const hex32 = (key, value) => {
      if (typeof value !== 'string' || !HEX.test(value) || value.length !== 66) { bad(key, t('receipt_page.field.hex32')); return null; }
      return value.toLowerCase();
    };
    const address = (key, value) => {
      if (typeof value !== 'string' || !HEX.test(value) || value.length !== 42) { bad(key, t('receipt_page.field.address')); return null; }
      const body = value.slice(2);
      const fixed = checksum(value);
      if (body !== body.toLowerCase() && body !== body.toUpperCase() && value !== fixed) { bad(key, t('receipt_page.field.checksum')); return null; }
      return fixed;
    };
    const count = (key, value, min) => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) { bad(key, t('receipt_page.field.integer', { min: min })); return null; }
      return value;
    };
    return { hex32, address, count };
  }

  function shownProblems(problems) {
    return problems.slice(0, 5).join('; ') + (problems.length > 5 ? '; ' + t('receipt_page.field.more', { n: problems.length - 5 }) : '');
  }

  function parseReceipt(text) {
    let data;
    try { data = JSON.parse(text); } catch (e) { throw new NotAReceipt(t('receipt_page.not_json')); }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new NotAReceipt(t('receipt_page.not_object'));
    const problems = [];
    const bad = (key, why) => problems.push(key + ': ' + why);
    for (const key of Object.keys(data)) if (!KEYS.includes(key)) bad(key, t('receipt_page.field.unknown'));
    for (const key of REQUIRED) if (!(key in data)) bad(key, t('receipt_page.field.missing'));
    const r = {};
    const { hex32, address, count } = fieldChecks(bad);
    if ('version' in data && data.version !== 1) bad('version', t('receipt_page.field.version', { version: JSON.stringify(data.version) }));
    r.version = 1;
    if ('algorithm' in data) {
      if (!ALGORITHMS.includes(data.algorithm)) bad('algorithm', t('receipt_page.field.algorithm'));
      r.algorithm = data.algorithm;
    }
    for (const key of ['digest', 'salt', 'leaf_hash', 'root', 'tx_hash', 'block_hash']) if (key in data) r[key] = hex32(key, data[key]);
    if ('leaf_types' in data) {
      const lt = data.leaf_types;
      if (!Array.isArray(lt) || lt.join(',') !== LEAF_TYPES.join(',') || lt.length !== LEAF_TYPES.length) bad('leaf_types', t('receipt_page.field.leaf_types'));
      r.leaf_types = lt;
    }
    if ('leaf_values' in data) {
      const lv = data.leaf_values;
      if (!Array.isArray(lv) || lv.length !== 3) bad('leaf_values', t('receipt_page.field.leaf_values'));
      else {
        if (!ALGORITHMS.includes(lv[0])) bad('leaf_values.0', t('receipt_page.field.algorithm'));
        r.leaf_values = [lv[0], hex32('leaf_values.1', lv[1]), hex32('leaf_values.2', lv[2])];
      }
    }
    if ('proof' in data) {
      if (!Array.isArray(data.proof)) bad('proof', t('receipt_page.field.proof'));
      else r.proof = data.proof.map((p, i) => hex32('proof.' + i, p));
    }
    if ('chain_id' in data) r.chain_id = count('chain_id', data.chain_id, 1);
    if ('block_number' in data) r.block_number = count('block_number', data.block_number, 0);
    if ('block_timestamp' in data) r.block_timestamp = count('block_timestamp', data.block_timestamp, 0);
    for (const key of ['contract', 'submitter']) if (key in data) r[key] = address(key, data[key]);
    if ('issued_at' in data && data.issued_at !== null) {
      const v = data.issued_at;
      if (typeof v !== 'string' || !/(Z|[+-]\d\d:?\d\d)$/i.test(v) || Number.isNaN(Date.parse(v))) bad('issued_at', t('receipt_page.field.issued_at'));
    }
    if ('evidence_id' in data && data.evidence_id !== null) {
      const v = data.evidence_id;
      if (!(Number.isInteger(v) || (typeof v === 'string' && v.length <= 128))) bad('evidence_id', t('receipt_page.field.evidence_id'));
      r.evidence_id = v;
    }
    if ('label' in data && data.label !== null) {
      if (typeof data.label !== 'string' || data.label.length > 1024) bad('label', t('receipt_page.field.label'));
      r.label = data.label;
    }
    if ('metadata' in data && data.metadata !== null) r.metadata = parseMetadata(data.metadata, bad, hex32);
    if (problems.length) throw new NotAReceipt(t('receipt_page.not_receipt', { problems: shownProblems(problems) }));
    return r;
  }

  /* A typed receipt's metadata section (chainproof.receipts.MetadataSection): the committed
     text, exactly {"business_type": string, "metadata": object}, and its nonce. */
  function parseMetadata(m, bad, hex32) {
    if (!m || typeof m !== 'object' || Array.isArray(m) || Object.keys(m).some((k) => k !== 'text' && k !== 'nonce')) { bad('metadata', t('receipt_page.field.metadata')); return null; }
    const nonce = hex32('metadata.nonce', m.nonce);
    if (typeof m.text !== 'string' || m.text.length > METADATA_TEXT_MAX) { bad('metadata.text', t('receipt_page.field.metadata')); return null; }
    let typed;
    try { typed = JSON.parse(m.text); } catch (e) { typed = null; }
    const keys = typed && typeof typed === 'object' && !Array.isArray(typed) ? Object.keys(typed).sort().join(',') : '';
    if (keys !== 'business_type,metadata' || typeof typed.business_type !== 'string' || !typed.metadata || typeof typed.metadata !== 'object' || Array.isArray(typed.metadata)) {
      bad('metadata.text', t('receipt_page.field.metadata')); return null;
    }
    return { text: m.text, nonce: nonce, business_type: typed.business_type, values: typed.metadata };
  }

  // --- reading a trust anchor (the rules of chainproof.trust.TrustAnchor) ---------------
  /* null for an empty text (no anchor); else the anchor, with honoured: address -> {code_hash, version}. */
  function parseAnchor(text) {
    if (!text.trim()) return null;
    let data;
    try { data = JSON.parse(text); } catch (e) { throw new NotAnAnchor(t('receipt_page.trust.not_json')); }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new NotAnAnchor(t('receipt_page.trust.not_object'));
    if (data.format !== ANCHOR_FORMAT) throw new NotAnAnchor(t('receipt_page.trust.format', { format: JSON.stringify(data.format === undefined ? null : data.format), want: ANCHOR_FORMAT }));
    const problems = [];
    const bad = (key, why) => problems.push(key + ': ' + why);
    for (const key of Object.keys(data)) if (!ANCHOR_KEYS.includes(key) && !OPTIONAL_ANCHOR_KEYS.includes(key)) bad(key, t('receipt_page.field.unknown'));
    for (const key of ANCHOR_KEYS) if (!(key in data)) bad(key, t('receipt_page.field.missing'));
    const { hex32, address, count } = fieldChecks(bad);
    const a = {
      chain_id: count('chain_id', data.chain_id, 1),
      genesis_hash: hex32('genesis_hash', data.genesis_hash),
      registry: address('registry', data.registry),
      registry_code_hash: hex32('registry_code_hash', data.registry_code_hash),
      registry_version: count('registry_version', data.registry_version, 1),
      honoured: new Map(),
    };
    if (data.trace_registry != null) address('trace_registry', data.trace_registry);
    if (data.trace_registry_code_hash != null) hex32('trace_registry_code_hash', data.trace_registry_code_hash);
    if ((data.trace_registry == null) !== (data.trace_registry_code_hash == null)) bad('trace_registry', t('receipt_page.trust.trace_pair'));
    if (data.rpc_url != null && typeof data.rpc_url !== 'string') bad('rpc_url', t('receipt_page.trust.rpc_url'));
    const past = data.past_registries;
    if (!Array.isArray(past)) bad('past_registries', t('receipt_page.trust.past'));
    else past.forEach((p, i) => {
      if (!p || typeof p !== 'object' || Array.isArray(p)) { bad('past_registries.' + i, t('receipt_page.trust.past')); return; }
      const at = address('past_registries.' + i + '.address', p.address);
      const hash = hex32('past_registries.' + i + '.code_hash', p.code_hash);
      const version = count('past_registries.' + i + '.version', p.version, 1);
      if (at) a.honoured.set(at, { code_hash: hash, version: version });
    });
    const channels = data.channel_registries;
    if (channels != null && (!Array.isArray(channels) || channels.length > MAX_CHANNEL_REGISTRIES)) bad('channel_registries', t('receipt_page.trust.channels'));
    else (channels || []).forEach((c, i) => {
      const key = 'channel_registries.' + i;
      if (!c || typeof c !== 'object' || Array.isArray(c) || Object.keys(c).some((k) => !['address', 'code_hash', 'channel', 'version'].includes(k))) { bad(key, t('receipt_page.trust.channels')); return; }
      const at = address(key + '.address', c.address);
      const hash = hex32(key + '.code_hash', c.code_hash);
      const version = count(key + '.version', c.version, 1);
      if (typeof c.channel !== 'string' || !c.channel.length || c.channel.length > 100) bad(key + '.channel', t('receipt_page.trust.channels'));
      // One pin per address, as chainproof.trust.TrustAnchor: never a second hash for one.
      if (at && (a.honoured.has(at) || at === a.registry)) bad(key + '.address', t('receipt_page.trust.duplicate'));
      else if (at) a.honoured.set(at, { code_hash: hash, version: version, channel: c.channel });
    });
    if (problems.length) throw new NotAnAnchor(t('receipt_page.trust.invalid', { problems: shownProblems(problems) }));
    a.honoured.set(a.registry, { code_hash: a.registry_code_hash, version: a.registry_version });
    return a;
  }

  // --- the leaf and the proof (docs/receipt.md, step 2) --------------------------------
  function encodeLeaf(algorithm, digest, salt) {
    const s = enc.encode(algorithm);
    const padded = new Uint8Array(Math.ceil(s.length / 32) * 32);
    padded.set(s);
    return concat([word(0x60), fromHex(digest), fromHex(salt), word(s.length), padded]);
  }
  function leafHash(values) {
    return keccakHex(keccak(encodeLeaf(values[0], values[1], values[2])));
  }
  function processProof(leaf, proof) {
    let h = leaf;
    // Equal-length lowercase hex compares as the 32-byte big-endian numbers do.
    for (const p of proof) h = keccakHex(fromHex(h < p ? h + p.slice(2) : p + h.slice(2)));
    return h;
  }

  // --- the checks ---------------------------------------------------------------------
  class Failed extends Error { // a check found the receipt wrong
    constructor(message, revoked) { super(message); this.revoked = !!revoked; }
  }
  class RpcTrouble extends Error {} // the node could not be asked (already a full message)

  async function rpc(url, method, params) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), RPC_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: method, params: params }),
        signal: ctl.signal,
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      if (e && e.name === 'AbortError') throw new RpcTrouble(t('receipt_page.rpc.timeout', { url: url, seconds: RPC_TIMEOUT_MS / 1000 }));
      const mixed = location.protocol === 'https:' && /^http:/i.test(url);
      throw new RpcTrouble(t(mixed ? 'receipt_page.rpc.mixed' : 'receipt_page.rpc.unreachable', { url: url, message: (e && e.message) || String(e) }));
    } finally {
      clearTimeout(timer);
    }
    let body;
    try { body = await response.json(); } catch (e) { body = undefined; }
    if (!response.ok && !(body && body.error)) throw new RpcTrouble(t('receipt_page.rpc.http', { url: url, status: response.status }));
    if (!body || typeof body !== 'object') throw new RpcTrouble(t('receipt_page.rpc.not_jsonrpc', { url: url }));
    if (body.error) throw new RpcTrouble(t('receipt_page.rpc.error', { method: method, message: body.error.message || JSON.stringify(body.error) }));
    if (!('result' in body)) throw new RpcTrouble(t('receipt_page.rpc.not_jsonrpc', { url: url }));
    return body.result;
  }

  function words(data, n) { // the first n 32-byte words of an ABI answer, as BigInts
    if (typeof data !== 'string' || !HEX.test(data) || data.length < 2 + 64 * n) {
      throw new RpcTrouble(t('receipt_page.rpc.short', { n: n, got: String(data).slice(0, 80) }));
    }
    const out = [];
    for (let i = 0; i < n; i++) out.push(BigInt('0x' + data.slice(2 + 64 * i, 2 + 64 * (i + 1))));
    return out;
  }
  const num = (h) => BigInt(h);
  const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
  const addressWord = (w) => checksum('0x' + w.toString(16).padStart(40, '0'));

  function checks(r, url, doc, a) {
    const state = {};
    const call = (data) => rpc(url, 'eth_call', [{ to: r.contract, data: data }, 'latest']);
    // The registry's version(): 1 when the call reverts or answers nothing (v1 has none).
    async function version() {
      if (state.version === undefined) {
        let answer;
        try { answer = await call(VERSION); } catch (e) { if (!(e instanceof RpcTrouble)) throw e; answer = '0x'; }
        state.version = typeof answer === 'string' && answer.length >= 66 ? Number(words(answer, 1)[0]) : 1;
      }
      return state.version;
    }
    // The anchor's key as calldata words: (submitter, root) in v2, the root alone in v1.
    async function key() {
      if ((await version()) >= 2) return C.hex(word(BigInt(r.submitter))) + r.root.slice(2);
      return r.root.slice(2);
    }
    const v2 = async () => (await version()) >= 2;
    return {
      async document() {
        const { file, algorithm } = doc;
        // Hashed on this device in the shared worker, in chunks, on any origin.
        const digest = await C.hashFile(file, algorithm);
        if (digest !== r.digest) throw new Failed(t('receipt_page.doc.bad', { algorithm: algorithm, actual: digest, digest: r.digest }));
        return t('receipt_page.doc.ok', { algorithm: algorithm, name: file.name });
      },
      async offline() {
        const problems = [];
        const names = ['algorithm', 'digest', 'salt'];
        const want = [r.algorithm, r.digest, r.salt];
        for (let i = 0; i < 3; i++) {
          if (r.leaf_values[i] !== want[i]) problems.push(t('receipt_page.offline.value', { i: i, value: r.leaf_values[i], name: names[i], want: want[i] }));
        }
        const computed = leafHash(r.leaf_values);
        if (computed !== r.leaf_hash) problems.push(t('receipt_page.offline.leaf', { leaf: r.leaf_hash, computed: computed }));
        const reached = processProof(computed, r.proof);
        if (reached !== r.root) problems.push(t('receipt_page.offline.root', { reached: reached, root: r.root }));
        if (r.metadata) { // the salt commits to the metadata text (receipts/metadata.py)
          const committed = keccakHex(concat([fromHex(r.metadata.nonce), keccak(enc.encode(r.metadata.text))]));
          if (committed !== r.salt) problems.push(t('receipt_page.offline.metadata', { committed: committed, salt: r.salt }));
        }
        if (problems.length) throw new Failed(problems.join('; '));
        return t('receipt_page.offline.ok');
      },
      async chain_id() {
        const actual = Number(num(await rpc(url, 'eth_chainId', [])));
        if (actual !== r.chain_id) throw new Failed(t('receipt_page.chain_id.bad', { actual: actual, chain: r.chain_id }));
        if (a && actual !== a.chain_id) throw new Failed(t('receipt_page.chain_id.pinned', { actual: actual, pinned: a.chain_id }));
        return t(a ? 'receipt_page.chain_id.ok' : 'receipt_page.chain_id.unpinned', { actual: actual });
      },
      async genesis() {
        const block = await rpc(url, 'eth_getBlockByNumber', ['0x0', false]);
        const found = block && typeof block.hash === 'string' ? block.hash.toLowerCase() : 'nothing';
        if (!a) return t('receipt_page.genesis.unpinned', { found: found });
        if (found !== a.genesis_hash) throw new Failed(t('receipt_page.genesis.bad', { found: found, pinned: a.genesis_hash }));
        return t('receipt_page.genesis.ok', { found: found });
      },
      async registry() {
        if (!a) return t('receipt_page.registry.unpinned', { contract: r.contract });
        const entry = a.honoured.get(r.contract);
        if (!entry) throw new Failed(t(a.honoured.size > 1 ? 'receipt_page.registry.bad_past' : 'receipt_page.registry.bad', { contract: r.contract, registry: a.registry }));
        if (r.contract !== a.registry && entry.channel) return t('receipt_page.registry.channel', { contract: r.contract, channel: entry.channel, version: entry.version });
        return t(r.contract === a.registry ? 'receipt_page.registry.ok' : 'receipt_page.registry.past', { contract: r.contract, version: entry.version });
      },
      async contract_code() {
        const code = await rpc(url, 'eth_getCode', [r.contract, 'latest']);
        if (typeof code !== 'string' || !HEX.test(code) || code.length <= 2) throw new Failed(t('receipt_page.code.bad', { contract: r.contract }));
        const hash = keccakHex(fromHex(code));
        const n = (code.length - 2) / 2;
        if (!a) return t('receipt_page.code.unpinned', { n: n, contract: r.contract, hash: hash });
        const pinned = a.honoured.get(r.contract).code_hash;
        if (hash !== pinned) throw new Failed(t('receipt_page.code.pinned', { contract: r.contract, hash: hash, pinned: pinned }));
        return t('receipt_page.code.ok', { n: n, contract: r.contract, hash: hash });
      },
      async transaction() {
        const tx = await rpc(url, 'eth_getTransactionReceipt', [r.tx_hash]);
        if (!tx) throw new Failed(t('receipt_page.tx.missing', { tx: r.tx_hash }));
        state.tx = tx;
        const block = Number(num(tx.blockNumber));
        if (block !== r.block_number || !same(tx.blockHash, r.block_hash)) {
          throw new Failed(t('receipt_page.tx.block', { tx: r.tx_hash, block: block, hash: String(tx.blockHash).toLowerCase(), want: r.block_number, want_hash: r.block_hash }));
        }
        if (Number(num(tx.status)) !== 1) throw new Failed(t('receipt_page.tx.failed', { tx: r.tx_hash, status: Number(num(tx.status)) }));
        if (!same(tx.to, r.contract)) throw new Failed(t('receipt_page.tx.to', { tx: r.tx_hash, to: String(tx.to), contract: r.contract }));
        return t('receipt_page.tx.ok', { tx: r.tx_hash, block: r.block_number });
      },
      async anchored_event() {
        const anchored = (state.tx.logs || []).filter((log) => same(log.address, r.contract) && log.topics && log.topics.length && same(log.topics[0], ANCHORED_TOPIC));
        if (!anchored.length) throw new Failed(t('receipt_page.event.none', { tx: r.tx_hash, contract: r.contract }));
        const mine = anchored.filter((log) => same(log.topics[1], r.root));
        if (!mine.length) throw new Failed(t('receipt_page.event.root', { tx: r.tx_hash, roots: anchored.map((l) => String(l.topics[1]).toLowerCase()).join(', '), root: r.root }));
        const log = mine[0];
        const submitter = addressWord(words(log.topics[2], 1)[0]);
        if (submitter !== r.submitter) throw new Failed(t('receipt_page.event.submitter', { root: r.root, submitter: submitter, want: r.submitter }));
        const [leafCount, , timestamp] = words(log.data, 3);
        if (timestamp !== BigInt(r.block_timestamp)) throw new Failed(t('receipt_page.event.time', { timestamp: timestamp, want: r.block_timestamp }));
        return t('receipt_page.event.ok', { submitter: submitter, count: leafCount, timestamp: timestamp });
      },
      async block() {
        const block = await rpc(url, 'eth_getBlockByNumber', ['0x' + r.block_number.toString(16), false]);
        if (!block) throw new Failed(t('receipt_page.block.missing', { n: r.block_number }));
        if (!same(block.hash, r.block_hash)) throw new Failed(t('receipt_page.block.hash', { n: r.block_number, hash: String(block.hash).toLowerCase(), want: r.block_hash }));
        const ts = num(block.timestamp);
        if (ts !== BigInt(r.block_timestamp)) throw new Failed(t('receipt_page.block.time', { n: r.block_number, timestamp: ts, want: r.block_timestamp }));
        const latest = Number(num(await rpc(url, 'eth_blockNumber', [])));
        return t('receipt_page.block.ok', { n: r.block_number, time: C.cstTime(r.block_timestamp), depth: latest - r.block_number + 1 });
      },
      async anchor() {
        const [submitterWord, timestamp, leafCount, blockNumber, revoked] = words(await call(((await v2()) ? GET_ANCHOR : GET_ANCHOR_V1) + (await key())), 5);
        const submitter = addressWord(submitterWord);
        if (timestamp === 0n) throw new Failed(t('receipt_page.anchor.missing', { root: r.root, contract: r.contract }));
        if (timestamp !== BigInt(r.block_timestamp) || blockNumber !== BigInt(r.block_number)) {
          throw new Failed(t('receipt_page.anchor.mismatch', { root: r.root, timestamp: timestamp, block: blockNumber, want: r.block_timestamp, want_block: r.block_number }));
        }
        if (submitter !== r.submitter) throw new Failed(t('receipt_page.anchor.submitter', { root: r.root, submitter: submitter, want: r.submitter }));
        if (revoked !== 0n) throw new Failed(t('receipt_page.anchor.revoked', { root: r.root, contract: r.contract }), true);
        return t('receipt_page.anchor.ok', { submitter: submitter, count: leafCount });
      },
      async leaf_revocation() {
        const [revoked] = words(await call(((await v2()) ? IS_LEAF_REVOKED : IS_LEAF_REVOKED_V1) + (await key()) + r.leaf_hash.slice(2)), 1);
        if (revoked !== 0n) throw new Failed(t('receipt_page.leaf.revoked', { leaf: r.leaf_hash, root: r.root }), true);
        return t('receipt_page.leaf.ok');
      },
      async contract_verify() {
        const isV2 = await v2(); // v2's proof offset counts the submitter's word too
        const data = (isV2 ? VERIFY : VERIFY_V1) + (await key()) + r.leaf_hash.slice(2) + C.hex(word(isV2 ? 0x80 : 0x60)) + C.hex(word(r.proof.length)) + r.proof.map((p) => p.slice(2)).join('');
        const [ok] = words(await call(data), 1);
        if (ok !== 1n) throw new Failed(t('receipt_page.verify.bad', { leaf: r.leaf_hash, root: r.root }));
        return t('receipt_page.verify.ok');
      },
    };
  }

  function checkUrl(url) {
    if (!url) throw new RpcTrouble(t('receipt_page.rpc.empty'));
    let parsed;
    try { parsed = new URL(url); } catch (e) { parsed = null; }
    if (!parsed || !/^https?:$/.test(parsed.protocol)) throw new RpcTrouble(t('receipt_page.rpc.bad_url', { url: url }));
  }

  /*
   * Runs the checks in order against the trust anchor a (null: none), calling
   * onCheck(name, ok, detail) for each; stops at the first failure. Resolves to
   * {valid, pinned, revoked, reason, checks}: it never rejects, and valid is never true
   * without an anchor (every check passed, pinned false: "not pinned").
   */
  async function verify(r, url, doc, a, onCheck) {
    const run = checks(r, url, doc, a);
    const names = (doc ? ['document'] : []).concat(CHECKS);
    const done = [];
    for (const name of names) {
      let ok = true, detail, revoked = false;
      try {
        if (name === 'chain_id') checkUrl(url);
        detail = await run[name]();
      } catch (e) {
        ok = false;
        revoked = e instanceof Failed && e.revoked;
        if (e instanceof Failed) detail = e.message;
        else if (e instanceof RpcTrouble) detail = t('receipt_page.could_not_run', { check: t('receipt_page.check.' + name), message: e.message });
        else detail = t('receipt_page.could_not_run', { check: t('receipt_page.check.' + name), message: (e && e.name ? e.name + ': ' : '') + ((e && e.message) || String(e)) });
      }
      done.push([name, ok, detail]);
      onCheck(name, ok, detail);
      if (!ok) return { valid: false, pinned: !!a, revoked: revoked, reason: detail, checks: done };
    }
    if (!a) return { valid: false, pinned: false, revoked: false, reason: t('receipt_page.unpinned_detail', { chain: r.chain_id, contract: r.contract }), checks: done };
    return { valid: true, pinned: true, revoked: false, reason: null, checks: done };
  }

  // --- the page -----------------------------------------------------------------------
  const form = document.getElementById('receipt-form');
  if (!form) {
    // Loaded elsewhere (tests): expose the pure parts only.
    window.ChainProofReceipt = { ready, parseReceipt, parseAnchor, leafHash, processProof, checksum, verify, CHECKS };
    return;
  }
  const receiptInput = document.getElementById('receipt-file');
  const docInput = document.getElementById('document-file');
  const urlInput = document.getElementById('rpc-url');
  const anchorInput = document.getElementById('trust-anchor');
  const anchorSource = document.getElementById('trust-source');
  const button = document.getElementById('receipt-run');
  const verdictBox = document.getElementById('receipt-verdict');
  const list = document.getElementById('receipt-checks');
  const empty = document.getElementById('receipt-empty');
  const summary = document.getElementById('receipt-summary');
  const chosen = { receipt: document.getElementById('receipt-chosen'), document: document.getElementById('document-chosen') };

  function showChosen(input, out) {
    const file = input.files && input.files[0];
    out.textContent = file ? t('receipt_page.chosen', { name: file.name, size: C.formatSize(file.size) }) : '';
  }
  receiptInput.addEventListener('change', () => showChosen(receiptInput, chosen.receipt));
  docInput.addEventListener('change', () => showChosen(docInput, chosen.document));
  const clearDoc = document.getElementById('document-clear');
  clearDoc.addEventListener('click', () => { docInput.value = ''; showChosen(docInput, chosen.document); docInput.focus(); });

  /* The anchor this site publishes, fetched once when the page opens: prefilled, shown, and
   * left for the person to compare or replace (it is only as good as where it came from). */
  async function prefillAnchor() {
    anchorInput.dataset.state = 'loading';
    try {
      const response = await fetch(ANCHOR_URL, { credentials: 'omit', cache: 'no-cache' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const text = await response.text();
      if (!anchorInput.value.trim()) anchorInput.value = JSON.stringify(JSON.parse(text), null, 2);
      anchorSource.textContent = t('receipt_page.trust.prefilled', { url: new URL(ANCHOR_URL, location.href).href });
      anchorInput.dataset.state = 'loaded';
    } catch (e) {
      anchorSource.textContent = t('receipt_page.trust.prefill_failed', { url: new URL(ANCHOR_URL, location.href).href, message: (e && e.message) || String(e) });
      anchorInput.dataset.state = 'failed';
    }
  }

  function setVerdict(kind, title, reason) {
    verdictBox.hidden = false;
    verdictBox.dataset.verdict = kind;
    const tone = { valid: 'good', revoked: 'bad', invalid: 'bad', bad_anchor: 'bad', working: 'info' }[kind] || 'warn';
    verdictBox.className = 'card notice notice-' + (tone === 'info' ? 'warn' : tone) + ' receipt-verdict';
    verdictBox.replaceChildren(
      el('p', { class: 'receipt-verdict-title' }, el('span', { class: 'badge badge-' + tone }, title)),
      reason ? el('p', { class: 'wrap', 'data-testid': 'receipt-reason' }, reason) : null);
  }

  function addCheck(name, ok, detail) {
    list.hidden = false; empty.hidden = true;
    list.append(el('li', { class: 'receipt-check ' + (ok ? 'ok' : 'bad'), dataset: { check: name, ok: String(ok) } },
      el('span', { class: 'receipt-mark', 'aria-hidden': 'true' }, ok ? '✓' : '✗'),
      el('span', { class: 'receipt-check-body' },
        el('strong', {}, t('receipt_page.check.' + name)),
        el('span', { class: 'visually-hidden' }, ' ' + (ok ? t('receipt_page.passed') : t('receipt_page.failed_check'))),
        el('code', { class: 'hint receipt-check-name' }, ' ' + name),
        el('span', { class: 'receipt-detail wrap' }, detail))));
  }

  function showSummary(r) {
    const rows = [
      [t('receipt_page.sum.digest', { algorithm: r.algorithm }), r.digest, 'mono'],
      [t('receipt_page.sum.time'), C.cstTime(r.block_timestamp), ''],
      [t('receipt_page.sum.chain'), String(r.chain_id), ''],
      [t('receipt_page.sum.block'), String(r.block_number), ''],
      [t('receipt_page.sum.submitter'), r.submitter, 'mono'],
      [t('receipt_page.sum.contract'), r.contract, 'mono'],
    ];
    if (r.label) rows.push([t('receipt_page.sum.label'), r.label, '']);
    if (r.metadata) {
      rows.push([t('receipt_page.sum.business_type'), r.metadata.business_type, '']);
      rows.push([t('receipt_page.sum.metadata'), JSON.stringify(r.metadata.values, null, 2), 'mono receipt-metadata']);
    }
    summary.replaceChildren(...rows.flatMap(([k, v, cls]) => [el('dt', {}, k), el('dd', { class: 'wrap ' + cls }, v)]));
    summary.hidden = false;
  }

  async function run() {
    await ready;
    list.replaceChildren(); list.hidden = true; empty.hidden = false;
    summary.hidden = true;
    const file = receiptInput.files && receiptInput.files[0];
    if (!file) { setVerdict('invalid', t('receipt_page.verdict.invalid'), t('receipt_page.no_file')); receiptInput.focus(); return; }
    let r;
    try {
      r = parseReceipt(await file.text());
    } catch (e) {
      const message = e instanceof NotAReceipt ? e.message : t('receipt_page.unreadable', { message: (e && e.message) || String(e) });
      setVerdict('invalid', t('receipt_page.verdict.not_receipt'), message);
      verdictBox.dataset.verdict = 'not_receipt';
      return;
    }
    let anchor;
    try {
      anchor = parseAnchor(anchorInput.value);
    } catch (e) {
      if (!(e instanceof NotAnAnchor)) throw e;
      setVerdict('bad_anchor', t('receipt_page.verdict.bad_anchor'), e.message);
      anchorInput.focus();
      return;
    }
    showSummary(r);
    const docFile = docInput.files && docInput.files[0];
    setVerdict('working', t('receipt_page.verdict.working'), null);
    const url = urlInput.value.trim();
    const result = await verify(r, url, docFile ? { file: docFile, algorithm: r.algorithm } : null, anchor, addCheck);
    if (result.valid) setVerdict('valid', t('receipt_page.verdict.valid'), t('receipt_page.valid_detail', { time: C.cstTime(r.block_timestamp), chain: r.chain_id }));
    else if (result.revoked) setVerdict('revoked', t('receipt_page.verdict.revoked'), result.reason);
    else if (!result.pinned && result.checks.every((c) => c[1])) setVerdict('unpinned', t('receipt_page.verdict.unpinned'), result.reason);
    else setVerdict('invalid', t('receipt_page.verdict.invalid'), result.reason);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    try { await run(); } catch (err) {
      setVerdict('invalid', t('receipt_page.verdict.invalid'), t('receipt_page.unreadable', { message: (err && err.message) || String(err) }));
    } finally {
      button.disabled = false;
    }
  });
  prefillAnchor();
  window.ChainProofReceipt = { ready, parseReceipt, parseAnchor, leafHash, processProof, checksum, verify, CHECKS };
})();
