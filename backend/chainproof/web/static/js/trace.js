// The scan page checks the server in the browser (Web Crypto):
// 1. each event hash = SHA-256 of its canonical pre-hash string (CBV 2.0);
// 2. the item's chain: link_n = SHA-256(link_{n-1} ‖ event digest_n), link_0 = 32 zero bytes;
// 3. the chain's end against the head read from TraceRegistry (chain id + contract shown,
//    so anyone can ask a node for headOf(itemKey) themselves).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const tr = JSON.parse(document.getElementById("trace-i18n").textContent);
  const hex = (buf) => Array.from(new Uint8Array(buf)).map((b) => b.toString(16).padStart(2, "0")).join("");
  const bytes = (h) => new Uint8Array(h.replace(/^0x/, "").match(/../g).map((x) => parseInt(x, 16)));
  const sha256 = (u8) => crypto.subtle.digest("SHA-256", u8);

  function setBadge(badge, reason) {
    const el = document.getElementById("trace-badge");
    el.className = "trace-badge trace-badge-" + badge;
    el.dataset.badge = badge;
    el.dataset.checked = "browser";
    el.querySelector(".trace-badge-label").textContent = tr["badge." + badge];
    el.querySelector(".trace-badge-reason").textContent = reason;
  }

  async function check() {
    if (!(window.crypto && crypto.subtle)) {
      setBadge("unverifiable", "Web Crypto unavailable (needs HTTPS)");
      return;
    }
    const items = document.querySelectorAll("[data-testid=trace-event]");
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
      const onchainCount = data.onchain.available ? data.onchain.count : 0;
      const mark = items[i].querySelector("[data-check]");
      mark.textContent = ok ? (i < onchainCount ? "✓ " + tr.event_ok : "✓ " + tr.event_ok + " · " + tr.event_pending) : "✗ " + tr.event_bad;
      mark.classList.add(ok ? "ok" : "bad");
      allOk = allOk && ok;
    }
    const computed = links.length ? links[links.length - 1] : "0x" + "00".repeat(32);
    document.getElementById("trace-computed-head").textContent = computed;
    if (data.recalls.length) { setBadge("recalled", data.badge_reason); return; }
    if (!allOk) { setBadge("incomplete", tr.event_bad); return; }
    if (!data.onchain.available || data.onchain.count === 0) { setBadge("unverifiable", data.badge_reason); return; }
    const n = data.onchain.count;
    if (n > links.length || links[n - 1] !== data.onchain.head) {
      setBadge("incomplete", data.onchain.count + " / " + links.length + " — " + tr.onchain_head + " ≠ " + tr.computed_head);
      return;
    }
    setBadge("verified", data.badge_reason);
  }
  check().catch((err) => setBadge("unverifiable", String(err)));
})();
