/*
 * /tenders/{reference}: asks the chain's public node (JSON-RPC eth_getLogs) for the
 * TenderRegistry's BidCommitted and BidRevealed logs of this tender and says whether the page
 * shows exactly those commitments and openings, in the same blocks. Messages: i18n_draws.py.
 */
(function () {
  'use strict';
  const C = window.ChainProof;
  const { t } = C;
  const data = JSON.parse(document.getElementById('tender-data').textContent);
  const tender = data.tender;
  const status = document.getElementById('tender-check');
  // keccak256 of the event signatures, pinned by tests/e2e/test_tender_page.py.
  const COMMITTED = '0x54556341334696e3f730b456141d7dfd497332429848062d4ffe79fbc0ed0c2c'; // BidCommitted(bytes32,address,bytes32,address)
  const REVEALED = '0x115ac3cb1f8225fe262152d184f46347827fed9e4e3f9bfd0c1a3b870922d285'; // BidRevealed(bytes32,address,bytes32)

  function show(state, text) { status.dataset.state = state; status.textContent = text; }
  function address(topic) { return '0x' + topic.slice(26).toLowerCase(); }

  async function logs(topic) {
    const response = await fetch(data.rpc_url, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getLogs', params: [{ address: tender.registry, fromBlock: '0x0', toBlock: 'latest', topics: [topic, tender.tender_id] }] }),
    });
    const body = await response.json();
    if (!body || !Array.isArray(body.result)) throw new Error((body && body.error && body.error.message) || 'no result');
    return body.result.map((l) => [address(l.topics[2]), l.data.slice(0, 66).toLowerCase(), parseInt(l.blockNumber, 16)].join('|'));
  }
  function shown(list, field) {
    return list.map((e) => [e.bidder.toLowerCase(), e[field].toLowerCase(), e.block_number].join('|'));
  }

  (async () => {
    if (!data.rpc_url) { show('error', t('tender.no_node')); return; }
    try {
      const [committed, revealed] = await Promise.all([logs(COMMITTED), logs(REVEALED)]);
      const same = JSON.stringify(committed) === JSON.stringify(shown(tender.commitments, 'commitment'))
        && JSON.stringify(revealed) === JSON.stringify(shown(tender.openings, 'bidDigest'));
      show(same ? 'ok' : 'bad', t(same ? 'tender.ok' : 'tender.bad', { url: data.rpc_url }));
    } catch (e) {
      show('error', t('tender.unreachable', { url: data.rpc_url, message: (e && e.message) || String(e) }));
    }
  })();
})();
