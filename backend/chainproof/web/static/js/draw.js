/*
 * /draws/{id}: recomputes the published draw in this browser (docs/draws.md is the spec;
 * chainproof/draws/selection.py the reference): candidates_hash = keccak256(JCS(candidates)),
 * secret_commitment = keccak256(secret), record_digest = keccak256(JCS(record)),
 * seed = keccak256(blockhash ‖ secret), forward Fisher–Yates driven by
 * keccak256(seed ‖ uint256(i)) with rejection sampling. For an array of strings, and for the
 * record with its keys in sorted order, JCS is exactly JSON.stringify. Then it asks the
 * chain's public node for the target block's hash. The record's receipt is checked against
 * the pinned registry by /receipt or `chainproof draw verify`. Messages: web/i18n_draws.py.
 */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t } = C;
  const data = JSON.parse(document.getElementById('draw-data').textContent);
  const draw = data.draw;
  const status = document.getElementById('draw-check');
  const node = document.getElementById('draw-node');
  const enc = new TextEncoder();
  const SPACE = 1n << 256n;

  function toHex(bytes) { return '0x' + C.hex(bytes); }
  function fromHex(h) {
    const body = h.slice(2);
    const out = new Uint8Array(body.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(body.substr(2 * i, 2), 16);
    return out;
  }
  function concat(a, b) { const out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; }
  function word(n) { return fromHex('0x' + n.toString(16).padStart(64, '0')); }
  function show(state, text) { status.dataset.state = state; status.textContent = text; }

  function recompute(K) {
    const cHash = toHex(K(enc.encode(JSON.stringify(draw.candidates))));
    if (cHash !== draw.commitments.candidates_hash) return { reason: 'candidates_hash' };
    const secret = fromHex(draw.secret);
    const commitment = toHex(K(secret));
    if (commitment !== draw.commitments.secret_commitment) return { reason: 'secret_commitment' };
    const record = {
      candidates_hash: cHash, chain_id: draw.chain_id, count: draw.count, format: 'chainproof-draw/1',
      id: draw.id, secret_commitment: commitment, target_block: draw.target_block, title: draw.title,
    };
    if (toHex(K(enc.encode(JSON.stringify(record)))) !== draw.commitments.record_digest) return { reason: 'record_digest' };
    const seed = K(concat(fromHex(draw.block_hash), secret));
    let counter = 0n;
    function below(m) {
      const limit = SPACE - (SPACE % m);
      for (;;) {
        const x = BigInt(toHex(K(concat(seed, word(counter)))));
        counter += 1n;
        if (x < limit) return Number(x % m);
      }
    }
    const a = draw.candidates.slice();
    for (let k = 0; k < draw.count; k++) {
      const j = k + below(BigInt(a.length - k));
      const tmp = a[k]; a[k] = a[j]; a[j] = tmp;
    }
    return { selected: a.slice(0, draw.count) };
  }

  async function askNode() {
    if (!data.rpc_url) return;
    try {
      const response = await fetch(data.rpc_url, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBlockByNumber', params: ['0x' + draw.target_block.toString(16), false] }),
      });
      const body = await response.json();
      const hash = body && body.result && body.result.hash;
      node.textContent = hash === draw.block_hash ? t('draw.node_ok', { url: data.rpc_url }) : t('draw.node_bad', { url: data.rpc_url, hash: String(hash) });
      node.dataset.state = hash === draw.block_hash ? 'ok' : 'bad';
    } catch (e) {
      node.textContent = t('draw.node_unreachable', { url: data.rpc_url, message: (e && e.message) || String(e) });
    }
  }

  C.hashers().then((h) => {
    if (!h.keccak256) { show('error', t('draw.no_hash')); return; }
    if (draw.status !== 'drawn') { show('pending', t('draw.pending')); return; }
    const result = recompute(h.keccak256);
    const same = result.selected && JSON.stringify(result.selected) === JSON.stringify(draw.selected);
    if (same) show('ok', t('draw.ok', { selected: result.selected.join(', ') }));
    else show('bad', t('draw.bad', { reason: result.reason || 'selected' }));
    askNode();
  });
})();
