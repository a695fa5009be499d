"""merkle.py: proofs always verify, tampering never does, OpenZeppelin's JS agrees bit for bit."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from eth_utils import keccak, to_checksum_address
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainproof.config import find_project_root
from chainproof.digests import ALGORITHMS, to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import (
    StandardMerkleTree,
    encode_leaf,
    leaf_hash,
    node_hash,
    process_proof,
    verify,
)

LEAF_TYPES = ["string", "bytes32", "bytes32"]  # the evidence leaf (receipts.LEAF_TYPES)
# The checkout (not this file's parents): `make mutation` runs a copy of the tests elsewhere.
REPO = find_project_root()
OZ_PACKAGE = REPO / "node_modules" / "@openzeppelin" / "merkle-tree"

evidence_values = st.tuples(
    st.sampled_from(ALGORITHMS),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
).map(list)
unique_leaves = st.lists(evidence_values, min_size=1, max_size=64, unique_by=lambda v: (v[1], v[2]))


def oracle_leaf_hash(types: list[str], values: list[Any]) -> bytes:
    """The definition, spelled with eth_abi and eth_utils only."""
    return keccak(keccak(eth_abi.encode(types, values)))


# --- leaf encoding and hashing --------------------------------------------------------------


@given(evidence_values)
def test_leaf_hash_is_double_keccak_of_abi_encode(values: list[Any]) -> None:
    assert leaf_hash(LEAF_TYPES, values) == oracle_leaf_hash(LEAF_TYPES, values)
    # 0x hex strings are the same bytes (the JSON form receipts carry).
    assert leaf_hash(LEAF_TYPES, [values[0], to_hex(values[1]), to_hex(values[2])]) == (
        leaf_hash(LEAF_TYPES, values)
    )


@st.composite
def abi_field(draw: st.DrawFn) -> tuple[str, Any, Any]:
    """(type, value as eth_abi takes it, value in JSON form) for a flat elementary type."""
    kind = draw(st.sampled_from(["uint", "int", "bytesN", "address", "bool", "string", "bytes"]))
    if kind in ("uint", "int"):
        bits = draw(st.sampled_from(range(8, 257, 8)))
        alias = bits == 256 and draw(st.booleans())  # "uint" means uint256
        low, high = (
            (0, 2**bits - 1) if kind == "uint" else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        )
        n = draw(st.integers(low, high))
        return (kind if alias else f"{kind}{bits}"), n, str(n)
    if kind == "bytesN":
        size = draw(st.integers(1, 32))
        data = draw(st.binary(min_size=size, max_size=size))
        return f"bytes{size}", data, to_hex(data)
    if kind == "address":
        address = to_checksum_address(draw(st.binary(min_size=20, max_size=20)))
        return "address", address, address.lower()
    if kind == "bool":
        b = draw(st.booleans())
        return "bool", b, b
    if kind == "string":
        text = draw(st.text(max_size=80))
        return "string", text, text
    data = draw(st.binary(max_size=100))
    return "bytes", data, to_hex(data)


@given(st.lists(abi_field(), min_size=1, max_size=8))
def test_fast_encoder_matches_eth_abi(fields: list[tuple[str, Any, Any]]) -> None:
    types = [f[0] for f in fields]
    expected = eth_abi.encode(types, [f[1] for f in fields])
    assert encode_leaf(types, [f[1] for f in fields]) == expected
    assert encode_leaf(types, [f[2] for f in fields]) == expected


NESTED_TYPES = ["uint256[]", "(address,bytes32)", "bytes32[2]", "string[]", "bool"]


@given(
    st.lists(st.integers(0, 2**256 - 1), max_size=4),
    st.binary(min_size=20, max_size=20),
    st.lists(st.binary(min_size=32, max_size=32), min_size=4, max_size=4),
    st.lists(st.text(max_size=10), max_size=3),
    st.booleans(),
)
def test_nested_types_go_through_eth_abi(
    numbers: list[int], address: bytes, words: list[bytes], texts: list[str], flag: bool
) -> None:
    native = [numbers, (to_checksum_address(address), words[0]), words[2:], texts, flag]
    as_json = [
        [str(n) for n in numbers],
        [to_hex(address), to_hex(words[0])],
        [to_hex(w) for w in words[2:]],
        texts,
        flag,
    ]
    expected = eth_abi.encode(NESTED_TYPES, native)
    assert encode_leaf(NESTED_TYPES, native) == expected
    assert encode_leaf(NESTED_TYPES, as_json) == expected


@pytest.mark.parametrize(
    ("types", "values", "message"),
    [
        (LEAF_TYPES, ["sha256", b"\x00" * 32], "a leaf needs 3 values"),
        (
            LEAF_TYPES,
            ["sha256", b"\x00" * 31, b"\x00" * 32],
            r"leaf value 1 \(bytes32\) must be exactly 32",
        ),
        (LEAF_TYPES, ["sha256", "0x1234", b"\x00" * 32], "must be exactly 32 bytes, got 2"),
        (LEAF_TYPES, ["sha256", "0xzz", b"\x00" * 32], "not hexadecimal"),
        (LEAF_TYPES, [b"sha256", b"\x00" * 32, b"\x00" * 32], "must be a string"),
        (["uint8"], [256], "out of range for uint8"),
        (["int8"], [-129], "out of range for int8"),
        (["uint256"], [True], "must be an integer"),
        (["uint256"], ["twelve"], "must be an integer"),
        (["bool"], [1], "must be a boolean"),
        (["address"], ["0xd8da6bf26964af9d7eed9e03e53415d37aa960"], "20-byte address"),
        (["address"], ["0xD8dA6BF26964aF9D7eEd9e03E53415D37aA96045"], "bad EIP-55 checksum"),
        (["uint7"], [1], "invalid ABI type"),
        (["uint256[2]"], [[1]], "cannot ABI-encode"),
        ([], [], "leaf types must not be empty"),
    ],
)
def test_bad_leaves_are_invalid_input(types: list[str], values: list[Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        leaf_hash(types, values)


def test_tree_of_names_the_bad_value() -> None:
    values = [["sha256", bytes(32), bytes(32)], ["sha256", bytes(31), bytes(32)]]
    with pytest.raises(InvalidInputError, match=r"values\[1\]: leaf value 1"):
        StandardMerkleTree.of(values, LEAF_TYPES)
    with pytest.raises(InvalidInputError, match="at least one value"):
        StandardMerkleTree.of([], LEAF_TYPES)


# --- proofs: properties ---------------------------------------------------------------------


@given(unique_leaves)
def test_every_proof_verifies(values: list[list[Any]]) -> None:
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    assert tree.leaf_count == len(values)
    for i, value in enumerate(values):
        proof = tree.get_proof(i)
        assert tree.leaf_hash_at(i) == oracle_leaf_hash(LEAF_TYPES, value)
        assert process_proof(tree.leaf_hash_at(i), proof) == tree.root
        assert verify(tree.root, LEAF_TYPES, value, proof)
        assert verify(to_hex(tree.root), LEAF_TYPES, value, [to_hex(p) for p in proof])
        assert tree.verify_proof(i, proof)
        # A complete tree: every leaf is within one level of the others.
        assert (len(values) - 1).bit_length() - 1 <= len(proof) <= (len(values) - 1).bit_length()


@given(unique_leaves, st.data())
def test_a_proof_never_proves_another_leaf(values: list[list[Any]], data: st.DataObject) -> None:
    assume(len(values) >= 2)
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    i = data.draw(st.integers(0, len(values) - 1))
    j = data.draw(st.integers(0, len(values) - 1).filter(lambda j: j != i))
    assert not verify(tree.root, LEAF_TYPES, values[j], tree.get_proof(i))


@given(unique_leaves, st.data())
def test_a_tampered_proof_never_verifies(values: list[list[Any]], data: st.DataObject) -> None:
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    i = data.draw(st.integers(0, len(values) - 1))
    proof = tree.get_proof(i)
    tampered = [bytearray(p) for p in proof]
    how = data.draw(st.sampled_from(["flip", "drop", "extend", "swap"] if proof else ["extend"]))
    if how == "flip":
        k = data.draw(st.integers(0, len(proof) - 1))
        tampered[k][data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "drop":
        del tampered[data.draw(st.integers(0, len(proof) - 1))]
    elif how == "extend":
        tampered.append(bytearray(data.draw(st.binary(min_size=32, max_size=32))))
    else:
        assume(len(proof) >= 2 and proof[0] != proof[1])
        tampered[0], tampered[1] = tampered[1], tampered[0]
    assert not verify(tree.root, LEAF_TYPES, values[i], [bytes(p) for p in tampered])


@given(unique_leaves, st.binary(min_size=32, max_size=32))
def test_a_changed_value_never_verifies(values: list[list[Any]], other: bytes) -> None:
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    assume(other != values[0][1])
    changed = [values[0][0], other, values[0][2]]
    assert not verify(tree.root, LEAF_TYPES, changed, tree.get_proof(0))


def test_malformed_proof_elements_are_invalid_input() -> None:
    tree = StandardMerkleTree.of(
        [["sm3", bytes(32), bytes(32)], ["sm3", bytes(32), b"\x01" * 32]], LEAF_TYPES
    )
    with pytest.raises(InvalidInputError, match=r"proof\[0\] must be 32 bytes"):
        process_proof(tree.root, [b"\x00" * 31])
    with pytest.raises(InvalidInputError, match="root must be 32 bytes"):
        verify(b"", LEAF_TYPES, ["sm3", bytes(32), bytes(32)], [])


# --- OpenZeppelin's layout ------------------------------------------------------------------


def _values(n: int, seed: int = 0) -> list[list[Any]]:
    rng = random.Random(seed * 1_000_003 + n)
    return [
        [rng.choice(ALGORITHMS), to_hex(rng.randbytes(32)), to_hex(rng.randbytes(32))]
        for _ in range(n)
    ]


def test_single_leaf_tree_is_its_leaf() -> None:
    [value] = _values(1)
    tree = StandardMerkleTree.of([value], LEAF_TYPES)
    assert tree.root == leaf_hash(LEAF_TYPES, value)
    assert tree.get_proof(0) == []
    assert tree.dump()["tree"] == [to_hex(tree.root)]
    assert tree.dump()["values"] == [{"value": value, "treeIndex": 0}]


def test_layout_matches_openzeppelin() -> None:
    values = _values(5)
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    hashes = [leaf_hash(LEAF_TYPES, v) for v in values]
    ordered = sorted(hashes)
    dumped = tree.dump()
    nodes = [bytes.fromhex(h[2:]) for h in dumped["tree"]]
    assert len(nodes) == 2 * 5 - 1
    assert nodes[4:] == ordered[::-1]  # leaves at the end, in reverse sorted order
    for i in range(4):
        assert nodes[i] == node_hash(nodes[2 * i + 1], nodes[2 * i + 2])
    for i, h in enumerate(hashes):
        assert nodes[tree.tree_index(i)] == h == tree.leaf_hash_at(i)
        assert dumped["values"][i] == {"value": values[i], "treeIndex": tree.tree_index(i)}


def test_node_hash_is_commutative() -> None:
    a, b = keccak(b"a"), keccak(b"b")
    assert node_hash(a, b) == node_hash(b, a) == keccak(min(a, b) + max(a, b))


def test_duplicate_values_keep_input_order_and_both_prove() -> None:
    [value] = _values(1)
    tree = StandardMerkleTree.of([value, value], LEAF_TYPES)
    assert tree.tree_index(0) == 2 and tree.tree_index(1) == 1  # stable sort, as in JS
    assert tree.get_proof(0) == [tree.leaf_hash_at(1)]
    assert tree.index_of(value) == 0


def test_index_lookup_and_bounds() -> None:
    values = _values(9)
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    assert [tree.index_of(v) for v in values] == list(range(9))
    with pytest.raises(InvalidInputError, match="not in the tree"):
        tree.index_of(_values(1, seed=7)[0])
    for bad in (-1, 9, True):
        with pytest.raises(InvalidInputError, match="out of range"):
            tree.get_proof(bad)


def test_bytes_values_dump_as_hex_and_reuse_is_safe() -> None:
    raw = [["sha256", bytes(range(32)), b"\xff" * 32]]
    tree = StandardMerkleTree.of(raw, LEAF_TYPES)
    raw[0][0] = "sm3"  # the caller reuses its lists: the tree must not change
    assert tree.values == [["sha256", to_hex(bytes(range(32))), "0x" + "ff" * 32]]
    assert StandardMerkleTree.load(tree.dump()).root == tree.root


def test_big_integers_dump_as_decimal_strings() -> None:
    tree = StandardMerkleTree.of([[2**255, 7]], ["uint256", "uint8"])
    assert tree.values == [[str(2**255), 7]]
    assert StandardMerkleTree.load(json.dumps(tree.dump())).root == tree.root


# --- dump / load ----------------------------------------------------------------------------


@given(unique_leaves)
@settings(max_examples=30)
def test_dump_load_round_trip(values: list[list[Any]]) -> None:
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    loaded = StandardMerkleTree.load(json.loads(json.dumps(tree.dump())))
    assert loaded.root == tree.root
    assert loaded.dump() == tree.dump()
    assert [loaded.get_proof(i) for i in range(len(values))] == [
        tree.get_proof(i) for i in range(len(values))
    ]


def _tampered(dump: dict[str, Any], change: str) -> Any:
    d = json.loads(json.dumps(dump))
    if change == "format":
        d["format"] = "simple-v1"
    elif change == "value":
        d["values"][0]["value"][0] = (
            "keccak256" if d["values"][0]["value"][0] != "keccak256" else "sm3"
        )
    elif change == "node":
        d["tree"][0] = "0x" + "00" * 32
    elif change == "treeIndex":
        d["values"][0]["treeIndex"] = 0
    elif change == "count":
        d["values"].pop()
    elif change == "shared":
        d["values"][1]["treeIndex"] = d["values"][0]["treeIndex"]
        d["values"][1]["value"] = d["values"][0]["value"]
    elif change == "encoding":
        d["leafEncoding"] = "string"
    elif change == "short_node":
        d["tree"][1] = "0x1234"
    return d


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("format", "unknown Merkle tree dump format"),
        ("value", r"values\[0\] does not hash to tree"),
        ("node", r"tree\[0\] is not its children's hash"),
        ("treeIndex", "is not a leaf"),
        ("count", "values need"),
        ("shared", "two values share a leaf"),
        ("encoding", "leafEncoding must be a list"),
        ("short_node", r"tree\[1\] must be 32 bytes"),
    ],
)
def test_load_rejects_tampered_dumps(change: str, message: str) -> None:
    dump = StandardMerkleTree.of(_values(4), LEAF_TYPES).dump()
    with pytest.raises(InvalidInputError, match=message):
        StandardMerkleTree.load(_tampered(dump, change))


def test_load_rejects_non_json() -> None:
    with pytest.raises(InvalidInputError, match="not JSON"):
        StandardMerkleTree.load("{nope")


# --- the JavaScript reference ---------------------------------------------------------------

OZ_SCRIPT = """
const fs = require("fs");
const [pkg, input] = process.argv.slice(2);
const { StandardMerkleTree } = require(pkg);
const cases = JSON.parse(fs.readFileSync(input, "utf8"));
const out = cases.map(({ types, values, dump }) => {
  const tree = dump ? StandardMerkleTree.load(dump) : StandardMerkleTree.of(values, types);
  const proofs = [...tree.entries()].map(([i]) => tree.getProof(i));
  const verified = [...tree.entries()].every(([i, v]) =>
    StandardMerkleTree.verify(tree.root, tree.leafEncoding, v, proofs[i]));
  return { root: tree.root, dump: tree.dump(), proofs, verified };
});
process.stdout.write(JSON.stringify(out));
"""

MIXED_TYPES = ["address", "uint256", "bool", "bytes", "int256", "string", "bytes4", "uint8"]


def _mixed_values(n: int) -> list[list[Any]]:
    rng = random.Random(n)
    return [
        [
            to_checksum_address(rng.randbytes(20)),
            str(rng.getrandbits(256)),
            bool(i % 2),
            to_hex(rng.randbytes(i * 7)),
            str(-rng.getrandbits(200)),
            "存证 é" * i,
            to_hex(rng.randbytes(4)),
            i,
        ]
        for i in range(n)
    ]


def run_openzeppelin(tmp_path: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs the cases through @openzeppelin/merkle-tree, or skips loudly if it is missing."""
    missing = None
    if shutil.which("node") is None:
        missing = "`node` is not on PATH"
    elif not (OZ_PACKAGE / "package.json").exists():
        missing = f"{OZ_PACKAGE} is missing (run `make install`)"
    if missing:
        if os.environ.get("CHAINPROOF_REQUIRE_ALL") == "1":
            pytest.fail(f"CHAINPROOF_REQUIRE_ALL=1 and {missing}: cannot cross-check OpenZeppelin")
        pytest.skip(
            f"SKIPPED LOUDLY: {missing}: Merkle trees NOT cross-checked against OpenZeppelin"
        )
    script, data = tmp_path / "oz.js", tmp_path / "cases.json"
    script.write_text(OZ_SCRIPT)
    data.write_text(json.dumps(cases))
    done = subprocess.run(
        ["node", str(script), str(OZ_PACKAGE), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def _cases() -> list[tuple[list[str], list[list[Any]]]]:
    cases = [(LEAF_TYPES, _values(n)) for n in (1, 2, 3, 7, 100)]
    cases.append((MIXED_TYPES, _mixed_values(9)))
    cases.append(
        (
            ["uint256[]", "(address,bytes32)"],
            [
                [[1, 2, 3], ["0x" + "11" * 20, "0x" + "22" * 32]],
                [[], ["0x" + "33" * 20, "0x" + "44" * 32]],
            ],
        )
    )
    return cases


def test_same_trees_as_openzeppelin_js(tmp_path: Path) -> None:
    cases = _cases()
    js = run_openzeppelin(tmp_path, [{"types": t, "values": v} for t, v in cases])
    for (types, values), theirs in zip(cases, js, strict=True):
        ours = StandardMerkleTree.of(values, types)
        label = f"{types} x {len(values)}"
        assert to_hex(ours.root) == theirs["root"], label
        assert ours.dump() == theirs["dump"], label
        assert [[to_hex(p) for p in ours.get_proof(i)] for i in range(len(values))] == theirs[
            "proofs"
        ], label
        assert theirs["verified"], label
        # Their dump loads here and proves the same.
        loaded = StandardMerkleTree.load(theirs["dump"])
        assert loaded.root == ours.root
        assert [[to_hex(p) for p in loaded.get_proof(i)] for i in range(len(values))] == theirs[
            "proofs"
        ]


def test_openzeppelin_js_loads_our_dumps(tmp_path: Path) -> None:
    trees = [StandardMerkleTree.of(v, t) for t, v in _cases()]
    js = run_openzeppelin(tmp_path, [{"dump": tree.dump()} for tree in trees])
    for tree, theirs in zip(trees, js, strict=True):
        assert theirs["root"] == to_hex(tree.root)
        assert theirs["dump"] == tree.dump()
        assert theirs["proofs"] == [
            [to_hex(p) for p in tree.get_proof(i)] for i in range(tree.leaf_count)
        ]
        assert theirs["verified"]


# --- size -----------------------------------------------------------------------------------
# Speed lives in `make bench` (benchmarks/), measured beside a baseline, never asserted here:
# a shared machine under load made a timed assertion fail for no fault of the code.


def test_a_large_batch_builds_and_every_sampled_proof_holds() -> None:
    rng = random.Random(1)
    big = [["sha256", rng.randbytes(32), rng.randbytes(32)] for _ in range(100_000)]
    tree = StandardMerkleTree.of(big, LEAF_TYPES)
    for i in rng.sample(range(len(big)), 50):
        proof = tree.get_proof(i)
        assert len(proof) <= 17  # ceil(log2(100,000))
        assert tree.verify_proof(i, proof)
        assert verify(tree.root, LEAF_TYPES, big[i], proof)


# --- issue 27: tests that notice the verifier going wrong ------------------------------------


def _forged(dump: dict[str, Any], k: int) -> dict[str, Any]:
    """``dump`` with ``tree[k]`` replaced and every ancestor of ``k`` recomputed from it, so
    that only node ``k`` itself disagrees with its children (or, for a leaf, with its value):
    what a forger who rewrites a subtree up to a root of their choosing would hand over."""
    d = json.loads(json.dumps(dump))
    nodes = [bytes.fromhex(h[2:]) for h in d["tree"]]
    nodes[k] = keccak(b"forged" + k.to_bytes(4, "big"))
    i = k
    while i > 0:
        i = (i - 1) // 2
        nodes[i] = node_hash(nodes[2 * i + 1], nodes[2 * i + 2])
    d["tree"] = [to_hex(n) for n in nodes]
    return d


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 8])
def test_load_checks_every_node_index(n: int) -> None:
    """Every index of the array is checked, each against what it must be: an inner node
    against its children, a leaf against its value (the message names that very index)."""
    tree = StandardMerkleTree.of(_values(n), LEAF_TYPES)
    dump = tree.dump()
    leaf_owner = {entry["treeIndex"]: j for j, entry in enumerate(dump["values"])}
    for k in range(2 * n - 1):
        forged = _forged(dump, k)
        with pytest.raises(InvalidInputError) as info:
            StandardMerkleTree.load(forged)
        if k < n - 1:
            assert info.value.message == f"Merkle tree dump: tree[{k}] is not its children's hash"
        else:
            assert info.value.message == (
                f"Merkle tree dump: values[{leaf_owner[k]}] does not hash to tree[{k}]"
            )
    assert StandardMerkleTree.load(dump).root == tree.root


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "values[1]: a leaf needs 3 values for ['string', 'bytes32', 'bytes32']"),
        (None, "values[1]: a leaf needs 3 values for ['string', 'bytes32', 'bytes32']"),
        (1.5, "values[1]: a leaf needs 3 values for ['string', 'bytes32', 'bytes32']"),
        ("abc", "values[1]: a leaf needs 3 values for ['string', 'bytes32', 'bytes32']"),
        ({"a": 1, "b": 2, "c": 3}, "values[1]: a leaf needs 3 values"),
        (["sha256", 5, "0x" + "00" * 32], "values[1]: leaf value 1 (bytes32) must be bytes"),
    ],
)
def test_malformed_dump_entries_are_invalid_input(value: Any, message: str) -> None:
    """A dump is attacker input: a malformed entry is InvalidInputError naming the entry, not
    a TypeError or KeyError (issue 27: an int value raised TypeError from len())."""
    dump = StandardMerkleTree.of(_values(3), LEAF_TYPES).dump()
    dump["values"][1]["value"] = value
    with pytest.raises(InvalidInputError) as info:
        StandardMerkleTree.load(dump)
    assert info.value.message.startswith(f"Merkle tree dump: {message}")


@pytest.mark.parametrize("value", [5, None, 1.5, "abc", b"abc"])
@pytest.mark.parametrize("types", [LEAF_TYPES, ["uint256[]"]])
def test_a_value_that_is_not_a_list_is_invalid_input(value: Any, types: list[str]) -> None:
    with pytest.raises(InvalidInputError, match=rf"a leaf needs {len(types)} values"):
        leaf_hash(types, value)
    with pytest.raises(InvalidInputError, match=r"values\[0\]: a leaf needs"):
        StandardMerkleTree.of([value], types)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("entry", "values[0] has no value"),
        ("no_value", "values[0] has no value"),
        ("index_str", "values[0].treeIndex is not an int"),
        ("index_bool", "values[0].treeIndex is not an int"),
        ("index_missing", "values[0].treeIndex is not an int"),
        ("index_inner", "values[0].treeIndex is not a leaf"),
        ("index_past_end", "values[0].treeIndex is not a leaf"),
        ("index_negative", "values[0].treeIndex is not a leaf"),
        ("values_empty", "tree and values must be non-empty lists"),
        ("values_dict", "tree and values must be non-empty lists"),
        ("tree_dict", "tree and values must be non-empty lists"),
        ("encoding_ints", "leafEncoding must be a list of ABI types"),
        ("encoding_missing", "leafEncoding must be a list of ABI types"),
        ("extra_node", "4 values need 7 nodes, got 8"),
    ],
)
def test_load_refuses_each_malformed_part(change: str, message: str) -> None:
    d = StandardMerkleTree.of(_values(4), LEAF_TYPES).dump()
    first = d["values"][0]
    if change == "entry":
        d["values"][0] = [first["value"], first["treeIndex"]]
    elif change == "no_value":
        del first["value"]
    elif change == "index_str":
        first["treeIndex"] = str(first["treeIndex"])
    elif change == "index_bool":
        first["treeIndex"] = True
    elif change == "index_missing":
        del first["treeIndex"]
    elif change == "index_inner":
        first["treeIndex"] = 2  # the last inner node of 4 leaves (3..6 are the leaves)
    elif change == "index_past_end":
        first["treeIndex"] = 7
    elif change == "index_negative":
        first["treeIndex"] = -1
    elif change == "values_empty":
        d["values"] = []
    elif change == "values_dict":
        d["values"] = {"0": first}
    elif change == "tree_dict":
        d["tree"] = {str(i): h for i, h in enumerate(d["tree"])}
    elif change == "encoding_ints":
        d["leafEncoding"] = ["string", 32, "bytes32"]
    elif change == "encoding_missing":
        del d["leafEncoding"]
    elif change == "extra_node":
        d["tree"].append(d["tree"][-1])
    with pytest.raises(InvalidInputError) as info:
        StandardMerkleTree.load(d)
    assert info.value.message == f"Merkle tree dump: {message}"


def test_load_accepts_every_leaf_index_and_the_json_text_forms() -> None:
    tree = StandardMerkleTree.of(_values(4), LEAF_TYPES)
    text = json.dumps(tree.dump())
    for form in (text, text.encode()):
        loaded = StandardMerkleTree.load(form)
        assert loaded.root == tree.root
        assert [loaded.tree_index(i) for i in range(4)] == [tree.tree_index(i) for i in range(4)]
        assert sorted(loaded.tree_index(i) for i in range(4)) == [3, 4, 5, 6]
    with pytest.raises(InvalidInputError, match=r"^Merkle tree dump must be a JSON object$"):
        StandardMerkleTree.load("[1, 2]")
    with pytest.raises(InvalidInputError, match=r"^unknown Merkle tree dump format None$"):
        StandardMerkleTree.load("{}")


INT_BITS = list(range(8, 257, 8))


@pytest.mark.parametrize("bits", INT_BITS)
def test_each_uint_type_accepts_its_range_and_refuses_one_past(bits: int) -> None:
    typ = f"uint{bits}"
    for n in (0, 1, 2**bits - 1):
        assert encode_leaf([typ], [n]) == eth_abi.encode([typ], [n])
        assert encode_leaf([typ], [str(n)]) == encode_leaf([typ], [hex(n)]) == n.to_bytes(32, "big")
    for n in (2**bits, -1):
        with pytest.raises(InvalidInputError) as info:
            encode_leaf([typ], [n])
        assert info.value.message == f"leaf value 0 ({typ}) is out of range for {typ}: {n}"


@pytest.mark.parametrize("bits", INT_BITS)
def test_each_int_type_accepts_its_range_and_refuses_one_past(bits: int) -> None:
    typ = f"int{bits}"
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    for n in (low, -1, 0, high):
        assert encode_leaf([typ], [n]) == eth_abi.encode([typ], [n])
        assert encode_leaf([typ], [str(n)]) == n.to_bytes(32, "big", signed=True)
    for n in (low - 1, high + 1):
        with pytest.raises(InvalidInputError) as info:
            encode_leaf([typ], [n])
        assert info.value.message == f"leaf value 0 ({typ}) is out of range for {typ}: {n}"


def test_uint_and_int_mean_the_256_bit_types() -> None:
    assert encode_leaf(["uint"], [2**256 - 1]) == encode_leaf(["uint256"], [2**256 - 1])
    assert encode_leaf(["int"], [-(2**255)]) == encode_leaf(["int256"], [-(2**255)])
    with pytest.raises(
        InvalidInputError, match=r"^leaf value 0 \(uint\) is out of range for uint256"
    ):
        encode_leaf(["uint"], [2**256])
    with pytest.raises(
        InvalidInputError, match=r"^leaf value 0 \(int\) is out of range for int256"
    ):
        encode_leaf(["int"], [2**255])


@pytest.mark.parametrize("size", range(1, 33))
def test_each_fixed_bytes_type_takes_exactly_its_size(size: int) -> None:
    typ = f"bytes{size}"
    data = bytes(range(1, size + 1))
    assert encode_leaf([typ], [data]) == eth_abi.encode([typ], [data])
    assert encode_leaf([typ], [bytearray(data)]) == encode_leaf([typ], [to_hex(data)])
    for wrong in (data[:-1], data + b"\x00"):
        with pytest.raises(InvalidInputError) as info:
            encode_leaf([typ], [wrong])
        assert info.value.message == (
            f"leaf value 0 ({typ}) must be exactly {size} bytes, got {len(wrong)}"
        )


@pytest.mark.parametrize(
    "typ", ["bytes0", "bytes33", "uint0", "uint7", "uint12", "uint264", "int4", "int260"]
)
def test_types_solidity_lacks_are_refused(typ: str) -> None:
    """Outside the fast encoder's ranges (bytes1..32, (u)int8..256 in steps of 8) a type goes
    to eth_abi, which refuses it: the fast path must not quietly accept bytes33 or uint12."""
    with pytest.raises(InvalidInputError) as info:
        encode_leaf([typ], [1])
    assert info.value.message.startswith(f"invalid ABI type in ['{typ}']: ")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0x12", None),
        (" 18 ", None),
        ("-0x12", None),
        ("1e3", "leaf value 0 (int16) must be an integer (or a decimal/0x string), got '1e3'"),
        (1.0, "leaf value 0 (int16) must be an integer (or a decimal/0x string), got 1.0"),
        (False, "leaf value 0 (int16) must be an integer (or a decimal/0x string), got False"),
    ],
)
def test_integer_forms(value: Any, message: str | None) -> None:
    if message is None:
        expected = int(value.strip(), 0) if "x" in value else int(value)
        assert encode_leaf(["int16"], [value]) == expected.to_bytes(32, "big", signed=True)
        return
    with pytest.raises(InvalidInputError) as info:
        encode_leaf(["int16"], [value])
    assert info.value.message == message
    assert info.value.details == {"value": repr(value)}


def test_address_bool_string_and_bytes_messages() -> None:
    cases: list[tuple[str, Any, str]] = [
        (
            "address",
            "0x" + "11" * 19,
            "leaf value 0 (address) must be a 20-byte address, got 19 bytes",
        ),
        ("address", 5, "leaf value 0 (address) must be bytes or a 0x hex string, got int"),
        ("bool", "true", "leaf value 0 (bool) must be a boolean, got 'true'"),
        ("string", b"x", "leaf value 0 (string) must be a string, got bytes"),
        ("string", "\ud800", "leaf value 0 (string) is not valid Unicode: "),
        ("bytes", 7, "leaf value 0 (bytes) must be bytes or a 0x hex string, got int"),
    ]
    for typ, value, message in cases:
        with pytest.raises(InvalidInputError) as info:
            encode_leaf([typ], [value])
        assert info.value.message.startswith(message), (typ, value)


def test_addresses_in_every_case_form() -> None:
    raw = bytes.fromhex("d8da6bf26964af9d7eed9e03e53415d37aa96045")
    word = bytes(12) + raw
    checksummed = to_checksum_address(raw)
    for form in (raw, checksummed, checksummed.lower(), "0x" + raw.hex().upper(), raw.hex()):
        assert encode_leaf(["address"], [form]) == word, form
    assert encode_leaf(["address"], ["0X" + raw.hex()]) == word
    # Mixed case without the 0x is still a checksum claim, and a wrong one is refused.
    with pytest.raises(InvalidInputError, match="bad EIP-55 checksum"):
        encode_leaf(["address"], [checksummed[2:].swapcase()])
    assert encode_leaf(["bool", "bool"], [True, False]) == eth_abi.encode(
        ["bool", "bool"], [True, False]
    )


def test_dynamic_values_sit_after_the_head_in_order() -> None:
    """Two dynamic values between static ones: offsets from the start, tails in order, each
    padded to a word (lengths 0, 1, 31, 32 and 33 cross every padding case)."""
    for a_len, b_len in [(0, 33), (1, 32), (31, 0), (32, 1), (33, 31)]:
        types = ["uint8", "bytes", "bool", "string", "bytes32"]
        values = [7, b"\xaa" * a_len, True, "b" * b_len, b"\x01" * 32]
        assert encode_leaf(types, values) == eth_abi.encode(types, values), (a_len, b_len)


def test_nested_type_messages() -> None:
    cases: list[tuple[list[str], list[Any], str]] = [
        (["uint8[]"], [5], "leaf value 0 (uint8[]) must be a list for uint8[]"),
        (
            ["(uint8,bool)"],
            [[1]],
            "leaf value 0 ((uint8,bool)) must be a list of 2 for (uint8,bool)",
        ),
        (["(uint8,bool)"], [5], "leaf value 0 ((uint8,bool)) must be a list of 2 for (uint8,bool)"),
        (["bytes4[]"], [["0x1234"]], "leaf value 0 (bytes4[])[0] must be exactly 4 bytes, got 2"),
        (["uint8[]"], [["x"]], "leaf value 0 (uint8[])[0] must be an integer"),
        (["(bytes,bool)[]"], [[["0x12", 1]]], "cannot ABI-encode leaf ['(bytes,bool)[]']"),
        (["uint8[]", "bool"], [[1]], "a leaf needs 2 values for ['uint8[]', 'bool']"),
    ]
    for types, values, message in cases:
        with pytest.raises(InvalidInputError) as info:
            encode_leaf(types, values)
        assert info.value.message.startswith(message), (types, values)
    # hex strings become bytes and numeric strings ints at every depth
    assert encode_leaf(["(bytes,uint16)[]"], [[["0x1234", "0x10"]]]) == eth_abi.encode(
        ["(bytes,uint16)[]"], [[(b"\x12\x34", 16)]]
    )


def test_tree_accessors() -> None:
    values = _values(3)
    tree = StandardMerkleTree.of(values, LEAF_TYPES)
    assert list(tree.entries()) == list(enumerate(values))
    assert len(tree) == tree.leaf_count == 3
    assert tree.leaf_types == tuple(LEAF_TYPES)
    copy = tree.values
    copy.append("mine")
    assert tree.values == values  # a copy: the caller cannot change the tree's values
    assert repr(tree) == f"StandardMerkleTree(root={to_hex(tree.root)}, leaves=3)"
    with pytest.raises(InvalidInputError) as info:
        tree.index_of(_values(1, seed=9)[0])
    assert info.value.message == "value is not in the tree"
    with pytest.raises(InvalidInputError) as info:
        tree.leaf_hash_at(3)
    assert info.value.message == "value index 3 out of range 0..2"
    assert [tree.tree_index(i) for i in range(3)] == [
        tree.dump()["values"][i]["treeIndex"] for i in range(3)
    ]
    loaded = StandardMerkleTree.load(tree.dump())
    assert list(loaded.entries()) == list(enumerate(values))
    assert loaded.index_of(values[2]) == 2


def test_nested_values_are_normalised_at_every_depth_with_their_path() -> None:
    # Integer strings inside arrays and tuples, signed and unsigned, become ints.
    assert encode_leaf(["int8[]", "(uint16,int16)"], [["-5", "0x7f"], ["65535", "-0x10"]]) == (
        eth_abi.encode(["int8[]", "(uint16,int16)"], [[-5, 127], (65535, -16)])
    )
    cases: list[tuple[list[str], list[Any], str]] = [
        (
            ["(bytes4,bool)"],
            [["0x1234", True]],
            "leaf value 0 ((bytes4,bool))[0] must be exactly 4 bytes, got 2",
        ),
        (
            ["(bool,bytes4)"],
            [[True, 5]],
            "leaf value 0 ((bool,bytes4))[1] must be bytes or a 0x hex string, got int",
        ),
        (
            ["bytes[]"],
            [["0x12", 7]],
            "leaf value 0 (bytes[])[1] must be bytes or a 0x hex string, got int",
        ),
        (
            ["(uint8,int8)[]"],
            [[[1, "x"]]],
            "leaf value 0 ((uint8,int8)[])[0][1] must be an integer",
        ),
    ]
    for types, values, message in cases:
        with pytest.raises(InvalidInputError) as info:
            encode_leaf(types, values)
        assert info.value.message.startswith(message), (types, values, info.value.message)


def test_integers_past_javascripts_safe_range_dump_as_text() -> None:
    safe, unsafe = 2**53 - 1, 2**53
    tree = StandardMerkleTree.of([[safe, -safe], [unsafe, -unsafe]], ["uint256", "int256"])
    assert tree.values == [[safe, -safe], [str(unsafe), str(-unsafe)]]


def test_load_then_dump_gives_back_the_same_document() -> None:
    """Values are kept exactly as the dump had them (a big integer given as a JSON number
    stays a number): loading checks a dump, it does not rewrite it."""
    dump = StandardMerkleTree.of([[2**60, True], [3, False]], ["uint256", "bool"]).dump()
    for entry in dump["values"]:
        entry["value"][0] = int(entry["value"][0])  # 2**60 as a number, as some writers do
    loaded = StandardMerkleTree.load(json.loads(json.dumps(dump)))
    assert loaded.dump() == dump
    assert loaded.values == [entry["value"] for entry in dump["values"]]


def test_load_messages_word_for_word() -> None:
    dump = StandardMerkleTree.of(_values(4), LEAF_TYPES).dump()
    with pytest.raises(InvalidInputError) as info:
        StandardMerkleTree.load({**dump, "format": "simple-v1"})
    assert info.value.message == "unknown Merkle tree dump format 'simple-v1'"
    with pytest.raises(InvalidInputError) as info:
        StandardMerkleTree.load(_tampered(dump, "shared"))
    assert info.value.message == "Merkle tree dump: two values share a leaf"


@pytest.mark.parametrize("prefix", ["0x", "0X", ""])
def test_one_capital_anywhere_is_a_checksum_claim(prefix: str) -> None:
    """EIP-55: any mixed case claims a checksum, even a single capital right after the prefix
    or at the very start; a wrong claim is refused, all one case is not a claim."""
    body = "d8da6bf26964af9d7eed9e03e53415d37aa96045"
    assert to_checksum_address(body)[2:4] == "d8"  # so "D8…" is a wrong checksum
    for claimed in ("D" + body[1:], "d8dA" + body[4:]):
        with pytest.raises(InvalidInputError, match="bad EIP-55 checksum"):
            encode_leaf(["address"], [prefix + claimed])
    word = bytes(12) + bytes.fromhex(body)
    assert encode_leaf(["address"], [prefix + body.upper()]) == word


def test_encoder_messages_name_the_value() -> None:
    with pytest.raises(InvalidInputError) as info:
        leaf_hash(LEAF_TYPES, ["sha256", "0xzz", bytes(32)])
    assert info.value.message == (
        "leaf value 1 (bytes32) is not hexadecimal (digits 0-9 and a-f, optional 0x): '0xzz'"
    )
    with pytest.raises(InvalidInputError) as info:
        leaf_hash([], [])
    assert info.value.message == "leaf types must not be empty"
    assert encode_leaf(["uint16", "int16"], ["0X7F", "-0X10"]) == eth_abi.encode(
        ["uint16", "int16"], [127, -16]
    )


def test_proof_and_integer_messages_name_the_part() -> None:
    with pytest.raises(InvalidInputError) as info:
        process_proof(b"\x01" * 5, [])
    assert info.value.message == "leaf must be 32 bytes, got 5"
    with pytest.raises(InvalidInputError) as info:
        process_proof(5, [])  # type: ignore[arg-type]
    assert info.value.message == "leaf must be bytes or a 0x hex string, got int"
    with pytest.raises(InvalidInputError) as info:
        process_proof(bytes(32), [bytes(32), None])  # type: ignore[list-item]
    assert info.value.message == "proof[1] must be bytes or a 0x hex string, got NoneType"
    with pytest.raises(InvalidInputError) as info:
        encode_leaf(["uint8"], ["abc"])
    assert info.value.message == (
        "leaf value 0 (uint8) must be an integer (or a decimal/0x string), got 'abc'"
    )


def test_an_empty_tree_is_refused_in_words() -> None:
    with pytest.raises(InvalidInputError) as info:
        StandardMerkleTree.of([], LEAF_TYPES)
    assert info.value.message == "a Merkle tree needs at least one value"
