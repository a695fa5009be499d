"""Merkle trees bit-for-bit compatible with OpenZeppelin's ``StandardMerkleTree``.

Same leaves (``keccak256(keccak256(abi.encode(types, values)))``), same sorted-pair node
hash, same sort of leaves by hash, same array layout (root at 0, children of ``i`` at
``2i+1``/``2i+2``, leaves at the end in reverse sorted order) and the same ``standard-v1``
JSON dump, so a tree built here loads in ``@openzeppelin/merkle-tree`` and the other way
round, and every proof checks with OpenZeppelin's ``MerkleProof`` on chain.

Speed: a batch of 100,000 documents is one tree, so building it is on the anchoring path.
Nodes are plain ``bytes`` in one list (no node objects), leaf hashes are computed once, and
the ABI encoding of flat leaves with elementary types (the evidence leaf is
``(string, bytes32, bytes32)``) is done here instead of through ``eth_abi.encode``, which
spends most of a leaf's time in validation and dispatch (docs/performance.md). Nested types
(arrays, tuples) still go through ``eth_abi``; the tests check both paths give
``eth_abi.encode``'s bytes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from eth_abi import encode as abi_encode
from eth_abi.exceptions import ABITypeError, EncodingError, ParseError
from eth_abi.grammar import ABIType, BasicType, TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_utils import is_checksum_address

from chainproof.digests import keccak256, parse_hex, to_hex
from chainproof.errors import InvalidInputError
from chainproof.vocabulary import Hash32

DUMP_FORMAT: Final = "standard-v1"
NODE_SIZE: Final = 32
# JSON numbers past 2**53 - 1 lose precision in JavaScript; such ints are dumped as strings.
_MAX_SAFE_INT: Final = 2**53 - 1
_ZERO_WORD: Final = bytes(32)

NodeLike = bytes | bytearray | str
Encoder = Callable[[Sequence[Any]], bytes]


# --- ABI encoding of leaf values ----------------------------------------------------------


# isinstance with a tuple is faster than with an X | Y union, and this runs per leaf value.
_BYTES_TYPES: Final = (bytes, bytearray, memoryview)
_SEQUENCE_TYPES: Final = (list, tuple)


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, _BYTES_TYPES):
        return bytes(value)
    if isinstance(value, str):
        return parse_hex(value, what=what)
    raise InvalidInputError(f"{what} must be bytes or a 0x hex string, got {type(value).__name__}")


def _as_int(value: Any, what: str) -> int:
    # bool is an int in Python but not an ABI integer: eth_abi refuses it too.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16) if text.lstrip("-")[:2] in ("0x", "0X") else int(text, 10)
        except ValueError:
            pass
    raise InvalidInputError(
        f"{what} must be an integer (or a decimal/0x string), got {value!r}", value=repr(value)
    )


def _fixed_bytes_word(size: int, what: str) -> Callable[[Any], bytes]:
    pad = _ZERO_WORD[size:]

    def encode(value: Any) -> bytes:
        if type(value) is bytes and len(value) == size:  # the common case, first
            return value + pad
        data = _as_bytes(value, what)
        # Stricter than eth_abi, which right-pads a short value: a 31-byte "digest" is a bug.
        if len(data) != size:
            raise InvalidInputError(f"{what} must be exactly {size} bytes, got {len(data)}")
        return data + pad

    return encode


def _uint_word(bits: int, what: str) -> Callable[[Any], bytes]:
    limit = 1 << bits

    def encode(value: Any) -> bytes:
        n = _as_int(value, what)
        if not 0 <= n < limit:
            raise InvalidInputError(f"{what} is out of range for uint{bits}: {n}")
        return n.to_bytes(32, "big")

    return encode


def _int_word(bits: int, what: str) -> Callable[[Any], bytes]:
    low, high = -(1 << (bits - 1)), 1 << (bits - 1)

    def encode(value: Any) -> bytes:
        n = _as_int(value, what)
        if not low <= n < high:
            raise InvalidInputError(f"{what} is out of range for int{bits}: {n}")
        return n.to_bytes(32, "big", signed=True)

    return encode


def _address_word(what: str) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        data = _as_bytes(value, what)
        if len(data) != 20:
            raise InvalidInputError(f"{what} must be a 20-byte address, got {len(data)} bytes")
        # Mixed case means an EIP-55 checksum; a wrong one is a typo, as eth_abi says too.
        if isinstance(value, str):
            letters = value[2:] if value[:2] in ("0x", "0X") else value
            mixed_case = letters not in (letters.lower(), letters.upper())
            if mixed_case and not is_checksum_address(value):
                raise InvalidInputError(f"{what} has a bad EIP-55 checksum: {value}")
        return _ZERO_WORD[:12] + data

    return encode


def _bool_word(what: str) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        if not isinstance(value, bool):
            raise InvalidInputError(f"{what} must be a boolean, got {value!r}")
        return _ZERO_WORD[:31] + (b"\x01" if value else b"\x00")

    return encode


def _dynamic_tail(data: bytes) -> bytes:
    return len(data).to_bytes(32, "big") + data + _ZERO_WORD[: -len(data) % 32]


def _string_tail(what: str) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        if not isinstance(value, str):
            raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
        try:
            data = value.encode("utf-8")
            return len(data).to_bytes(32, "big") + data + _ZERO_WORD[: -len(data) % 32]
        except UnicodeEncodeError as exc:
            raise InvalidInputError(f"{what} is not valid Unicode: {exc}") from exc

    return encode


def _bytes_tail(what: str) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        return _dynamic_tail(_as_bytes(value, what))

    return encode


_ELEMENTARY = re.compile(r"(?P<base>uint|int|bytes)(?P<sub>\d*)|address|bool|string")


def _elementary_encoder(abi_type: str, what: str) -> tuple[Callable[[Any], bytes], bool] | None:
    """(encoder, is_dynamic) for a flat elementary type, or None to let eth_abi handle it."""
    m = _ELEMENTARY.fullmatch(abi_type)
    if m is None:
        return None
    base, sub = m["base"], m["sub"]
    if abi_type == "address":
        return _address_word(what), False
    if abi_type == "bool":
        return _bool_word(what), False
    if abi_type == "string":
        return _string_tail(what), True
    if base == "bytes":
        if not sub:
            return _bytes_tail(what), True
        size = int(sub)
        return (_fixed_bytes_word(size, what), False) if 1 <= size <= 32 else None
    bits = int(sub) if sub else 256  # "uint"/"int" are aliases of the 256-bit types
    if not (8 <= bits <= 256 and bits % 8 == 0):
        return None
    return (_uint_word(bits, what) if base == "uint" else _int_word(bits, what)), False


def _normalise(typ: ABIType, value: Any, what: str) -> Any:
    """``value`` in the form eth_abi wants: hex strings to bytes, numeric strings to ints."""
    if typ.is_array:
        if not isinstance(value, list | tuple):
            raise InvalidInputError(f"{what} must be a list for {typ.to_type_str()}")
        item = typ.item_type
        return [_normalise(item, v, f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(typ, TupleType):
        if not isinstance(value, list | tuple) or len(value) != len(typ.components):
            raise InvalidInputError(
                f"{what} must be a list of {len(typ.components)} for {typ.to_type_str()}"
            )
        return tuple(
            _normalise(c, v, f"{what}[{i}]")
            for i, (c, v) in enumerate(zip(typ.components, value, strict=True))
        )
    assert isinstance(typ, BasicType)
    if typ.base == "bytes" and typ.sub is not None:
        data = _as_bytes(value, what)
        if len(data) != typ.sub:
            raise InvalidInputError(f"{what} must be exactly {typ.sub} bytes, got {len(data)}")
        return data
    if typ.base == "bytes":
        return _as_bytes(value, what)
    if typ.base in ("uint", "int"):
        return _as_int(value, what)
    return value


def _build_leaf_encoder(leaf_types: tuple[str, ...]) -> Encoder:
    """A function ABI-encoding a value list of ``leaf_types`` (the tuple ``abi.encode`` form).

    Cached as :func:`_leaf_encoder` (below) rather than decorated, so that mutation testing
    (``make mutation``), which leaves decorated functions alone, reaches the encoder too.
    """
    if not leaf_types:
        raise InvalidInputError("leaf types must not be empty")
    count = len(leaf_types)
    parts = [_elementary_encoder(t, f"leaf value {i} ({t})") for i, t in enumerate(leaf_types)]
    if any(p is None for p in parts):
        return _eth_abi_encoder(leaf_types)
    encoders = [p[0] for p in parts if p is not None]
    dynamic_at = [i for i, p in enumerate(parts) if p is not None and p[1]]
    head_size = 32 * count

    def encode(values: Sequence[Any]) -> bytes:
        # A list or tuple only: a number or null from a JSON dump has no len() (TypeError),
        # and a string or dict would be taken apart character by character or key by key.
        if not isinstance(values, _SEQUENCE_TYPES) or len(values) != count:
            raise InvalidInputError(f"a leaf needs {count} values for {list(leaf_types)}")
        words = [enc(value) for enc, value in zip(encoders, values)]  # noqa: B905 - length checked
        if not dynamic_at:
            return b"".join(words)
        # Dynamic values leave their offset (from the start of the encoding) in the head
        # and their length-prefixed, padded bytes in the tail, in order.
        offset = head_size
        tails: list[bytes] = []
        for i in dynamic_at:
            tail = words[i]
            words[i] = offset.to_bytes(32, "big")
            tails.append(tail)
            offset += len(tail)
        return b"".join(words) + b"".join(tails)

    return encode


_leaf_encoder: Final = functools.lru_cache(maxsize=64)(_build_leaf_encoder)


def _eth_abi_encoder(leaf_types: tuple[str, ...]) -> Encoder:
    try:
        parsed = [parse_abi_type(t) for t in leaf_types]
        for p in parsed:
            p.validate()
    except (ParseError, ABITypeError) as exc:
        raise InvalidInputError(f"invalid ABI type in {list(leaf_types)}: {exc}") from exc

    def encode(values: Sequence[Any]) -> bytes:
        if not isinstance(values, _SEQUENCE_TYPES) or len(values) != len(parsed):
            raise InvalidInputError(f"a leaf needs {len(parsed)} values for {list(leaf_types)}")
        normalised = [
            _normalise(t, v, f"leaf value {i} ({t.to_type_str()})")
            for i, (t, v) in enumerate(zip(parsed, values, strict=True))
        ]
        try:
            return abi_encode(list(leaf_types), normalised)
        except (EncodingError, ValueError, TypeError) as exc:
            raise InvalidInputError(f"cannot ABI-encode leaf {list(leaf_types)}: {exc}") from exc

    return encode


def encode_leaf(leaf_types: Sequence[str], values: Sequence[Any]) -> bytes:
    """``abi.encode(values...)`` with ``leaf_types``; bytes may be given as 0x hex strings."""
    return _leaf_encoder(tuple(leaf_types))(values)


def leaf_hash(leaf_types: Sequence[str], values: Sequence[Any]) -> Hash32:
    """The StandardMerkleTree leaf: ``keccak256(bytes.concat(keccak256(abi.encode(...))))``.

    Double hashing keeps a leaf's preimage from ever being 64 bytes, so an inner node
    (the hash of two 32-byte children) can never pass as a leaf.
    """
    return keccak256(keccak256(encode_leaf(leaf_types, values)))


# --- the evidence leaf -------------------------------------------------------------------

# A document's leaf: ``(string algorithm, bytes32 digest, bytes32 salt)``. The salt (32
# random bytes a document) keeps the chain from confirming a guessed document.
EVIDENCE_LEAF_TYPES: Final = ("string", "bytes32", "bytes32")


def evidence_leaf_frame(algorithm: str) -> tuple[bytes, bytes]:
    """The ABI encoding of an evidence leaf around its two words: ``head + digest + salt +
    tail`` is ``abi.encode(algorithm, digest, salt)``.

    The string is dynamic: its head word is the offset of its tail (3 words in), and the
    tail is its length then its UTF-8 bytes padded to a word. Only the two bytes32 vary
    between documents, so the rest is computed once per algorithm. A test checks it gives
    :func:`leaf_hash`'s bytes, the generic encoder being the reference."""
    data = algorithm.encode("utf-8")
    head = (3 * 32).to_bytes(32, "big")
    tail = len(data).to_bytes(32, "big") + data + bytes(-len(data) % 32)
    return head, tail


def evidence_leaf_hasher(algorithm: str) -> Callable[[Hash32, Hash32], Hash32]:
    """``(digest, salt) -> leaf hash`` for documents hashed with ``algorithm``: the intake's
    fast path (10,000 leaves a request), one frame for all of them, no generic encoder."""
    head, tail = evidence_leaf_frame(algorithm)
    k = keccak256

    def hash_leaf(digest: Hash32, salt: Hash32) -> Hash32:
        return k(k(head + digest + salt + tail))

    return hash_leaf


# --- proofs ------------------------------------------------------------------------------


def _node(value: NodeLike, what: str) -> bytes:
    data = _as_bytes(value, what)
    if len(data) != NODE_SIZE:
        raise InvalidInputError(f"{what} must be {NODE_SIZE} bytes, got {len(data)}")
    return data


def node_hash(a: Hash32, b: Hash32) -> Hash32:
    """keccak256 of the pair in ascending order (OpenZeppelin ``Hashes.commutativeKeccak256``)."""
    return keccak256(a + b if a <= b else b + a)


def process_proof(leaf: NodeLike, proof: Sequence[NodeLike]) -> Hash32:
    """The root that ``proof`` leads to from ``leaf`` (``MerkleProof.processProof``)."""
    computed = _node(leaf, "leaf")
    for i, sibling in enumerate(proof):
        s = _node(sibling, f"proof[{i}]")
        computed = keccak256(computed + s if computed <= s else s + computed)
    return computed


def verify(
    root: NodeLike, leaf_types: Sequence[str], leaf_values: Sequence[Any], proof: Sequence[NodeLike]
) -> bool:
    """True when ``proof`` proves the leaf of ``leaf_values`` is in the tree of ``root``.

    Same contract as ``StandardMerkleTree.verify`` in JS. Malformed input (a root or proof
    element that is not 32 bytes, values that do not encode) raises InvalidInputError.
    """
    expected = _node(root, "root")
    return process_proof(leaf_hash(leaf_types, leaf_values), proof) == expected


# --- the tree ----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """A value in its dump (JSON) form: bytes as 0x hex, tuples as lists, big ints as text."""
    if isinstance(value, _BYTES_TYPES):
        return to_hex(bytes(value))
    if isinstance(value, _SEQUENCE_TYPES):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_SAFE_INT:
        return str(value)
    return value


def build_layout(sorted_leaves: list[bytes]) -> list[bytes]:
    """OpenZeppelin's array layout over leaf hashes sorted ascending: ``tree[len-1-i]`` is
    the i-th sorted leaf, ``tree[i]`` hashes its children ``2i+1``/``2i+2`` (sorted pair),
    root at 0. The one tree builder: :class:`StandardMerkleTree` and the batcher's stored
    trees (:func:`packed_tree`) both come from here."""
    n = len(sorted_leaves)
    if not n:
        raise InvalidInputError("a Merkle tree needs at least one leaf")
    tree = [b""] * (n - 1) + sorted_leaves[::-1]
    k = keccak256
    for i in range(n - 2, -1, -1):
        a, b = tree[2 * i + 1], tree[2 * i + 2]
        tree[i] = k(a + b if a <= b else b + a)
    return tree


def packed_tree(leaves: list[bytes]) -> bytes:
    """The tree over ``leaves`` (leaf hashes, any order) in :func:`build_layout`'s layout,
    concatenated, ``NODE_SIZE`` bytes a node: what a batch stores (``batch_tree.nodes``)."""
    return b"".join(build_layout(sorted(leaves)))


def packed_root(nodes: bytes) -> Hash32:
    """The root of a :func:`packed_tree` (its first node)."""
    return nodes[:NODE_SIZE]


def sibling_path(node: int) -> Iterator[int]:
    """The array positions of the siblings on the way from tree position ``node`` up to
    (not including) the root: a proof is the nodes at these positions, in this order."""
    while node > 0:
        # Odd positions are left children: their sibling is the next node.
        yield node + 1 if node % 2 else node - 1
        node = (node - 1) // 2


def packed_proof(nodes: bytes, leaf: Hash32) -> list[Hash32] | None:
    """The proof of ``leaf`` in a :func:`packed_tree`, or None when it is not a leaf.

    No hashing: a binary search among the sorted leaves (leaf i sits at node ``last - i``)
    and :func:`sibling_path`, both plain slicing, so it costs microseconds."""
    size = NODE_SIZE
    total = len(nodes) // size
    n = (total + 1) // 2
    last = total - 1
    lo, hi = 0, n  # the first sorted leaf i with leaf_i >= leaf
    while lo < hi:
        mid = (lo + hi) // 2
        at = (last - mid) * size
        if nodes[at : at + size] < leaf:
            lo = mid + 1
        else:
            hi = mid
    node = last - lo
    if lo == n or nodes[node * size : node * size + size] != leaf:
        return None
    return [nodes[i * size : i * size + size] for i in sibling_path(node)]


class StandardMerkleTree:
    """A Merkle tree over ABI-encoded values, as ``@openzeppelin/merkle-tree`` builds it.

    Build with :meth:`of` or :meth:`load`. Indices (``get_proof(i)``, ``leaf_hash_at(i)``)
    are positions in the values as given, not in the tree, exactly as in the JS library.
    """

    __slots__ = ("_hash_lookup", "_json_values", "_leaf_types", "_tree", "_tree_indices", "_values")

    def __init__(
        self,
        tree: list[bytes],
        values: list[Any],
        tree_indices: list[int],
        leaf_types: tuple[str, ...],
        *,
        json_ready: bool,
    ) -> None:
        # Private: use of() or load(), which guarantee the parts agree.
        self._tree = tree
        self._values = values
        self._tree_indices = tree_indices
        self._leaf_types = leaf_types
        self._hash_lookup: dict[bytes, int] | None = None
        # Converting 100k values to JSON form costs as much as hashing them, and most
        # trees are only asked for proofs: convert on the first dump() or values.
        self._json_values: list[Any] | None = values if json_ready else None

    @classmethod
    def of(cls, values: Iterable[Sequence[Any]], leaf_types: Sequence[str]) -> StandardMerkleTree:
        """The tree of ``values`` (each a list matching ``leaf_types``), leaves sorted by hash.

        Bytes values may be ``bytes`` or 0x hex strings; integers may be ints or decimal
        strings. The dump keeps each value in JSON form (bytes become 0x hex).
        """
        types = tuple(leaf_types)
        encode = _leaf_encoder(types)
        k = keccak256
        originals = list(values)
        if not originals:
            raise InvalidInputError("a Merkle tree needs at least one value")
        try:
            hashes = [k(k(encode(v))) for v in originals]
        except InvalidInputError:
            # Rare path: find the culprit so the message says which value is wrong.
            for i, v in enumerate(originals):
                try:
                    encode(v)
                except InvalidInputError as exc:
                    raise InvalidInputError(f"values[{i}]: {exc.message}") from exc
            raise
        # sorted() is stable like JS Array.prototype.sort, so equal leaves keep input order.
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        tree = build_layout([hashes[i] for i in order])
        last = len(tree) - 1
        tree_indices = [0] * len(order)
        for position, value_index in enumerate(order):
            tree_indices[value_index] = last - position
        # tuple(): a caller reusing its value lists after of() must not change our values.
        return cls(tree, [tuple(v) for v in originals], tree_indices, types, json_ready=False)

    @classmethod
    def load(cls, data: Mapping[str, Any] | str | bytes) -> StandardMerkleTree:
        """A tree from a ``standard-v1`` dump (a dict, or its JSON text), fully re-checked."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise InvalidInputError(f"Merkle tree dump is not JSON: {exc}") from exc
        if not isinstance(data, Mapping):
            raise InvalidInputError("Merkle tree dump must be a JSON object")
        if data.get("format") != DUMP_FORMAT:
            raise InvalidInputError(f"unknown Merkle tree dump format {data.get('format')!r}")
        types, raw_tree, raw_values = data.get("leafEncoding"), data.get("tree"), data.get("values")
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise InvalidInputError("Merkle tree dump: leafEncoding must be a list of ABI types")
        if not isinstance(raw_tree, list) or not isinstance(raw_values, list) or not raw_values:
            raise InvalidInputError("Merkle tree dump: tree and values must be non-empty lists")
        # Stricter than the JS loader: a tree whose leaves are not exactly its values is not
        # one we built, and proving against it would be proving something else.
        if len(raw_tree) != 2 * len(raw_values) - 1:
            raise InvalidInputError(
                f"Merkle tree dump: {len(raw_values)} values need {2 * len(raw_values) - 1} "
                f"nodes, got {len(raw_tree)}"
            )
        tree = [_node(node, f"tree[{i}]") for i, node in enumerate(raw_tree)]
        encode = _leaf_encoder(tuple(types))
        first_leaf = len(raw_values) - 1
        values: list[Any] = []
        tree_indices: list[int] = []
        for i, entry in enumerate(raw_values):
            if not isinstance(entry, Mapping) or "value" not in entry:
                raise InvalidInputError(f"Merkle tree dump: values[{i}] has no value")
            index = entry.get("treeIndex")
            if not isinstance(index, int) or isinstance(index, bool):
                raise InvalidInputError(f"Merkle tree dump: values[{i}].treeIndex is not an int")
            if not first_leaf <= index < len(tree):
                raise InvalidInputError(f"Merkle tree dump: values[{i}].treeIndex is not a leaf")
            try:
                leaf = keccak256(keccak256(encode(entry["value"])))
            except InvalidInputError as exc:
                raise InvalidInputError(f"Merkle tree dump: values[{i}]: {exc.message}") from exc
            if leaf != tree[index]:
                raise InvalidInputError(
                    f"Merkle tree dump: values[{i}] does not hash to tree[{index}]"
                )
            values.append(entry["value"])
            tree_indices.append(index)
        if len(set(tree_indices)) != len(tree_indices):
            raise InvalidInputError("Merkle tree dump: two values share a leaf")
        for i in range(first_leaf):
            if tree[i] != node_hash(tree[2 * i + 1], tree[2 * i + 2]):
                raise InvalidInputError(f"Merkle tree dump: tree[{i}] is not its children's hash")
        return cls(tree, values, tree_indices, tuple(types), json_ready=True)

    @property
    def root(self) -> Hash32:
        return self._tree[0]

    @property
    def leaf_count(self) -> int:
        return len(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def leaf_types(self) -> tuple[str, ...]:
        return self._leaf_types

    def _json(self) -> list[Any]:
        if self._json_values is None:
            self._json_values = [_jsonable(v) for v in self._values]
        return self._json_values

    @property
    def values(self) -> list[Any]:
        """The values in input order, in JSON form (bytes as 0x hex; a copy)."""
        return list(self._json())

    def entries(self) -> Iterator[tuple[int, Any]]:
        """(index, value) pairs in input order, values in JSON form, like JS ``entries()``."""
        return enumerate(list(self._json()))

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not 0 <= index < len(self._values):
            raise InvalidInputError(f"value index {index} out of range 0..{len(self._values) - 1}")
        return self._tree_indices[index]

    def tree_index(self, index: int) -> int:
        """Where value ``index``'s leaf sits in the tree array (``treeIndex`` in the dump)."""
        return self._check_index(index)

    def leaf_hash_at(self, index: int) -> Hash32:
        """The leaf hash of value ``index``."""
        return self._tree[self._check_index(index)]

    def get_proof(self, index: int) -> list[Hash32]:
        """Sibling hashes from value ``index``'s leaf up to (not including) the root."""
        tree = self._tree
        return [tree[i] for i in sibling_path(self._check_index(index))]

    def index_of(self, value: Sequence[Any]) -> int:
        """The index of ``value`` (first one, if it appears twice); InvalidInputError if absent."""
        if self._hash_lookup is None:
            lookup: dict[bytes, int] = {}
            for i, t in enumerate(self._tree_indices):
                lookup.setdefault(self._tree[t], i)
            self._hash_lookup = lookup
        found = self._hash_lookup.get(leaf_hash(self._leaf_types, value))
        if found is None:
            raise InvalidInputError("value is not in the tree")
        return found

    def verify_proof(self, index: int, proof: Sequence[NodeLike]) -> bool:
        """True when ``proof`` leads from value ``index``'s leaf to this tree's root."""
        return process_proof(self.leaf_hash_at(index), proof) == self.root

    def dump(self) -> dict[str, Any]:
        """The ``standard-v1`` description that ``StandardMerkleTree.load`` (JS) accepts."""
        return {
            "format": DUMP_FORMAT,
            "leafEncoding": list(self._leaf_types),
            "tree": [to_hex(node) for node in self._tree],
            "values": [
                {"value": value, "treeIndex": index}
                for value, index in zip(self._json(), self._tree_indices, strict=True)
            ],
        }

    def __repr__(self) -> str:
        return f"StandardMerkleTree(root={to_hex(self.root)}, leaves={self.leaf_count})"
