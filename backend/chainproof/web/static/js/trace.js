// The scan page checks the server in the browser (hash-wasm, vendored; any origin, no Web
// Crypto needed):
// 1. each event hash = SHA-256 of its canonical pre-hash string (CBV 2.0);
// 2. the item's chain: link_n = SHA-256(link_{n-1} ‖ event digest_n), link_0 = 32 zero bytes;
// 3. the chain's end against the head on chain: read by this browser straight from a node
//    of the chain (eth_call headOf(itemKey) at the JSON-RPC URL the page names) so a server
//    that hides events cannot also fake the head; only when no node answers the browser
//    (no public RPC URL, CORS, HTTPS page and HTTP node) does it show the head the server
//    reports, says so, and says "unverifiable": the server's word is never a verdict;
// 4. the item's salted key = keccak256(salt ‖ canonical URI), computed here from the code
//    scanned and the salt shown (hash-wasm's keccak-256), not taken from the server: the head is read
//    at this key, and a server whose key differs is answering for another item.
// The page arrives saying "checking"; only this script says "verified".
// Messages come from the page's shared catalogue (web/i18n_trace.py, `js.trace.*`), read
// through common.js, so the browser's verdict is in the page's language.
(function () {
  "use strict";
  const { t, hex, hashers } = window.ChainProof;
  let H = null; // {keccak256, sha256}: bytes -> Uint8Array, set by check()
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const DL_PATH = /^01\/\d{14}\/(21|10)\/[^/?#]+$/;
  const PLATFORM = /^CP[0-9A-HJKMNP-TV-Z]{12}$/;
  // headOf(bytes32) → (bytes32 head, uint32 count, uint64 updatedAt): keccak256 selector,
  // pinned by tests/unit/test_trace_scan.py against the contract's ABI.
  const HEAD_OF = "0x65c7d79d";
  const RPC_TIMEOUT_MS = 5000;

  function setBadge(badge, code, params) {
    const el = document.getElementById("trace-badge");
    el.className = "trace-badge trace-badge-" + badge;
    el.dataset.badge = badge;
    el.dataset.reason = code;
    el.dataset.checked = "browser";
    el.querySelector(".trace-badge-label").textContent = t("trace.badge." + badge);
    el.querySelector(".trace-badge-reason").textContent = t("trace.reason." + code, params || {});
  }

  async function rpc(url, method, params) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), RPC_TIMEOUT_MS);
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        signal: ctl.signal,
        credentials: "omit",
      });
      const body = await r.json();
      if (body.error) throw new Error(body.error.message || "JSON-RPC error");
      return body.result;
    } finally {
      clearTimeout(timer);
    }
  }

  function fromHex(h) {
    const s = h.replace(/^0x/, "");
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }

  // The code this page was opened for, when the address names it in a canonical spelling
  // (a platform code, or the Digital Link path 01/{GTIN}/21|10/{value}).
  function scannedCode() {
    let path;
    try {
      path = decodeURIComponent(location.pathname.replace(/^.*?\/t\//, ""));
    } catch (err) {
      return null;
    }
    if (PLATFORM.test(path.toUpperCase())) return path.toUpperCase();
    return DL_PATH.test(path) ? path : null;
  }

  // keccak256(salt ‖ canonical URI) of the code scanned, or null when the server's answer is
  // for another code or its salt is not 32 bytes.
  function itemKey() {
    const code = data.code;
    const scanned = scannedCode();
    let same;
    try {
      same = scanned === null || decodeURIComponent(code) === scanned;
    } catch (err) {
      same = false;
    }
    if (!same || !/^0x[0-9a-fA-F]{64}$/.test(data.salt || "")) return null;
    let uri;
    if (DL_PATH.test(code)) uri = "https://id.gs1.org/" + code;
    else if (PLATFORM.test(code) && (data.kind === "item" || data.kind === "lot")) {
      uri = "urn:chainproof:" + data.kind + ":" + code;
    } else return null;
    const text = new TextEncoder().encode(uri);
    const joined = new Uint8Array(32 + text.length);
    joined.set(fromHex(data.salt), 0);
    joined.set(text, 32);
    return "0x" + hex(H.keccak256(joined));
  }

  // The head as the chain holds it: {source: "chain", head, count} from a node, or the
  // server's report ({source: "server"}) when no node can be asked from here.
  async function onchainHead(oc, key) {
    const server = { source: "server", head: oc.head, count: oc.count };
    if (!oc.rpc_url) return server;
    let chainId, out;
    try {
      chainId = parseInt(await rpc(oc.rpc_url, "eth_chainId", []), 16);
      out = await rpc(oc.rpc_url, "eth_call", [
        { to: oc.contract, data: HEAD_OF + key.slice(2) }, "latest",
      ]);
    } catch (err) {
      return server;
    }
    if (chainId !== oc.chain_id) return { source: "chain", otherChain: chainId };
    if (typeof out !== "string" || out.length < 2 + 64 * 3) return server;
    return {
      source: "chain",
      head: "0x" + out.slice(2, 66).toLowerCase(),
      count: parseInt(out.slice(66, 130), 16),
    };
  }

  function showSource(read, oc) {
    const el = document.getElementById("trace-head-source");
    if (!el) return;
    el.dataset.source = read.source;
    el.textContent = t("trace.head_source." + read.source, { rpc: oc.rpc_url || "" });
    if (read.source !== "chain" || read.otherChain !== undefined) return;
    // Show what the chain says, and what the server claimed when the two differ.
    const count = document.getElementById("trace-onchain-count");
    const head = document.getElementById("trace-onchain-head");
    if (count) count.textContent = String(read.count);
    if (head) head.textContent = read.head;
    if (read.count !== oc.count || read.head !== String(oc.head).toLowerCase()) {
      const note = document.createElement("div");
      note.className = "trace-check bad";
      note.dataset.testid = "trace-server-claim";
      note.textContent = t("trace.server_claimed", { count: oc.count, head: oc.head });
      el.append(note);
    }
  }

  async function check() {
    try {
      H = await hashers();
    } catch (err) {
      H = {};
    }
    if (!H.keccak256 || !H.sha256) {
      setBadge("unverifiable", "no_webcrypto");
      return;
    }
    const oc = data.onchain;
    const key = itemKey();
    document.getElementById("trace-computed-key").textContent = key || "—";
    if (key === null || key !== String(data.item_key).toLowerCase()) {
      setBadge("incomplete", "key_mismatch");
      return;
    }
    const read = oc.available ? await onchainHead(oc, key) : null;
    if (read) showSource(read, oc);
    const items = document.querySelectorAll("[data-testid=trace-event]");
    const onchainCount = read && !read.otherChain ? read.count : 0;
    let link = new Uint8Array(32);
    const links = [];
    let allOk = true;
    for (let i = 0; i < data.events.length; i++) {
      const e = data.events[i];
      const digest = H.sha256(new TextEncoder().encode(e.prehash));
      const claimed = e.event_hash.replace("ni:///sha-256;", "").split("?")[0];
      const ok = hex(digest) === claimed;
      const joined = new Uint8Array(64);
      joined.set(link, 0);
      joined.set(digest, 32);
      link = H.sha256(joined);
      links.push("0x" + hex(link));
      const mark = items[i] && items[i].querySelector("[data-check]");
      if (mark) {
        let text = (ok ? "✓ " : "✗ ") + t(ok ? "trace.event_ok" : "trace.event_bad");
        if (ok && i >= onchainCount) text += " · " + t("trace.event_pending");
        mark.textContent = text;
        mark.classList.add(ok ? "ok" : "bad");
      }
      allOk = allOk && ok;
    }
    const computed = links.length ? links[links.length - 1] : "0x" + "00".repeat(32);
    document.getElementById("trace-computed-head").textContent = computed;
    // A recall in force is the server's word plus an on-chain flag: the browser cannot clear it.
    if (data.recalls.some((r) => !r.lifted_at)) { setBadge("recalled", "recalled"); return; }
    if (!allOk) { setBadge("incomplete", "hash_mismatch"); return; }
    if (!read) { setBadge("unverifiable", "chain_unavailable"); return; }
    // No node answered this browser: what the server says of the chain is no verdict.
    if (read.source !== "chain") { setBadge("unverifiable", "server_only"); return; }
    if (read.otherChain !== undefined) {
      setBadge("unverifiable", "other_chain", { got: read.otherChain, want: oc.chain_id });
      return;
    }
    if (onchainCount === 0) { setBadge("unverifiable", "no_head"); return; }
    if (onchainCount > links.length || links[onchainCount - 1] !== read.head) {
      setBadge("incomplete", "head_mismatch", { n: onchainCount, shown: links.length });
      return;
    }
    const pending = links.length - onchainCount;
    if (pending > 0) setBadge("verified", "pending", { pending });
    else setBadge("verified", "covered");
  }
  check().catch((err) => {
    setBadge("unverifiable", "chain_unavailable");
    console.error(err);
  });
})();
