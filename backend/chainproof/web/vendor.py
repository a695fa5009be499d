"""Third-party browser code we serve, pinned: each vendored file with its SRI hash.

The pages hash files with npm ``hash-wasm`` (one maintained library for SHA-256, SM3 and
keccak-256, WebAssembly, streaming). Its UMD builds are copied from ``node_modules`` into
``static/vendor/hash-wasm/`` (``package.json`` pins the version exactly) so that a deployment
needs no bundler and no CDN. Every ``<script>`` tag of a vendored file carries the
``integrity`` below, so a browser refuses a file changed after it was recorded, and
tests/unit/test_vendor.py checks that the vendored files are byte for byte the pinned
package's and that these hashes are theirs.
"""

from __future__ import annotations

from typing import Final

__all__ = ["HASH_WASM_VERSION", "VENDORED", "integrity"]

HASH_WASM_VERSION: Final = "4.13.0"  # MIT licence, (c) Dani Biro; LICENSE beside the files

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
}


def integrity(path: str) -> str:
    """The ``integrity`` attribute's value for a vendored static path."""
    return VENDORED[path][1]
