// The scan page checks the server in the browser (Web Crypto):
// 1. each event hash = SHA-256 of its canonical pre-hash string (CBV 2.0);
// 2. the item's chain: link_n = SHA-256(link_{n-1} ‖ event digest_n), link_0 = 32 zero bytes;
// 3. the chain's end against the head read from TraceRegistry (chain id + contract shown,
//    so anyone can ask a node for headOf(itemKey) themselves).
// Messages come from the page's shared catalogue (web/i18n_trace.py, `js.trace.*`), read
// through common.js, so the browser's verdict is in the page's language.
(function () {
  "use strict";
  const { t, hex } = window.ChainProof;
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const sha256 = (u8) => crypto.subtle.digest("SHA-256", u8);

  function setBadge(badge, code, params) {
    const el = document.getElementById("trace-badge");
    el.className = "trace-badge trace-badge-" + badge;
    el.dataset.badge = badge;
    el.dataset.reason = code;
    el.dataset.checked = "browser";
    el.querySelector(".trace-badge-label").textContent = t("trace.badge." + badge);
    el.querySelector(".trace-badge-reason").textContent = t("trace.reason." + code, params || {});
  }

  async function check() {
    if (!(window.crypto && crypto.subtle)) {
      setBadge("unverifiable", "no_webcrypto");
      return;
    }
    const items = document.querySelectorAll("[data-testid=trace-event]");
    const onchainCount = data.onchain.available ? data.onchain.count : 0;
    let link = new Uint8Array(32);
    const links = [];
    let allOk = true;
    for (let i = 0; i < data.events.length; i++) {
      const e = data.events[i];
      const digest = new Uint8Array(await sha256(new TextEncoder().encode(e.prehash)));
      const claimed = e.event_hash.replace("ni:///sha-256;", "").split("?")[0];
      const ok = hex(digest) === claimed;
      const joined = new Uint8Array(64);
      joined.set(link, 0);
      joined.set(digest, 32);
      link = new Uint8Array(await sha256(joined));
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
    // A recall is the server's word plus an on-chain flag: the browser cannot clear it.
    if (data.recalls.length) { setBadge("recalled", "recalled"); return; }
    if (!allOk) { setBadge("incomplete", "hash_mismatch"); return; }
    if (!data.onchain.available) { setBadge("unverifiable", "chain_unavailable"); return; }
    if (onchainCount === 0) { setBadge("unverifiable", "no_head"); return; }
    if (onchainCount > links.length || links[onchainCount - 1] !== data.onchain.head) {
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
