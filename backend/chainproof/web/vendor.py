"""Third-party browser code we serve, pinned: each vendored file with its SRI hash.

The pages hash files with npm ``hash-wasm`` (one maintained library for SHA-256, SM3 and
keccak-256, WebAssembly, streaming). Its UMD builds are copied from ``node_modules`` into
``static/vendor/hash-wasm/`` (``package.json`` pins the version exactly) so that a deployment
needs no bundler and no CDN. Every ``<script>`` tag of a vendored file carries the
``integrity`` below, so a browser refuses a file changed after it was recorded, and
tests/unit/test_vendor.py checks that the vendored files are byte for byte the pinned
package's and that these hashes are theirs.

The licence page (``/l/{id}``) recovers the issuer's EIP-712 signer with npm
``@noble/secp256k1`` (Paul Miller's audited, dependency-free secp256k1 in one ES module),
vendored the same way into ``static/vendor/noble-secp256k1/``. The page loads it with a
``<script type="module" integrity=…>`` tag before its own script imports it by the same URL,
so the one fetch of it is the integrity-checked one (the module map holds one entry per URL).
"""

from __future__ import annotations

from typing import Final

__all__ = ["HASH_WASM_VERSION", "NOBLE_SECP256K1_VERSION", "PACKAGES", "VENDORED", "integrity"]

HASH_WASM_VERSION: Final = "4.13.0"  # MIT licence, (c) Dani Biro; LICENSE beside the files
NOBLE_SECP256K1_VERSION: Final = "2.3.0"  # MIT licence, (c) Paul Miller; LICENSE beside it
#: npm package -> the exact version package.json pins and the files are copied from
PACKAGES: Final = {"hash-wasm": HASH_WASM_VERSION, "@noble/secp256k1": NOBLE_SECP256K1_VERSION}

#: static path -> (node_modules source, SRI hash of the file)
VENDORED: Final[dict[str, tuple[str, str]]] = {
    "vendor/hash-wasm/sha256.umd.min.js": (
        "hash-wasm/dist/sha256.umd.min.js",
        "sha384-FgJNAi92KAbxrxtVZ9XZ2RA0z94jsIXv2EeC2aiPjwfnGR7tigG8I3EPNXpIwAVO",
    ),
    "vendor/hash-wasm/sm3.umd.min.js": (
        "hash-wasm/dist/sm3.umd.min.js",
        "sha384-im3+FYzl/u3WdC6M0LEfbCzP7UIQZ3Bcb8WOKvsPxdnD2/IeyF7sdSWlaVqwkPvf",
    ),
    "vendor/hash-wasm/keccak.umd.min.js": (
        "hash-wasm/dist/keccak.umd.min.js",
        "sha384-XZBm+gpSAHMBhu1c9CunKb+u0ylAqtGLyPzXojQu+qL56X5sag+Vkh5h7FH1Iaft",
    ),
    "vendor/noble-secp256k1/index.js": (
        "@noble/secp256k1/index.js",
        "sha384-M6L/tDiFgrNu3z915ERsRi64XMKxGXMvSbvoe/L5UzOyyeJJyN4qdfMp5mv0gwJO",
    ),
}


def integrity(path: str) -> str:
    """The ``integrity`` attribute's value for a vendored static path."""
    return VENDORED[path][1]
