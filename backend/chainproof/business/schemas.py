"""Business types' metadata schemas, taken from admins but treated as hostile input.

A schema is JSON Schema draft 2020-12, compiled by jsonschema-rs, and refused unless it is:

- small: at most :data:`SCHEMA_MAX` characters of JSON, nested at most :data:`DEPTH_MAX` deep;
- closed: no ``$ref``/``$dynamicRef``/``$recursiveRef`` (nothing fetched, ever, and no
  reference graph whose expansion is exponential, "billion laughs" style: without references a
  validation visits each schema node at most once per instance node, so its cost is bounded
  by the two sizes), and no ``$id``/``$anchor`` that references would name;
- linear-time: ``pattern`` and ``patternProperties`` compile with the Rust ``regex`` engine
  (``RegexOptions``: finite automata, no backtracking, so no ReDoS; lookaround and
  backreferences are refused), its compiled and DFA sizes capped;
- valid against the 2020-12 meta-schema, with ``"type": "object"`` at the top.

Metadata is checked against it after its own bounds (:data:`METADATA_DEPTH_MAX`, and the
committed text's length in ``receipts/metadata.py``); the first failure names its field
(``metadata.amount``, ``metadata.parties[0].name``). docs/business-types.md, docs/security.md F49.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

import jsonschema_rs

from chainproof.errors import InvalidInputError

SCHEMA_MAX: Final = 16384
DEPTH_MAX: Final = 32
METADATA_DEPTH_MAX: Final = 16
DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
# Keywords that reference other schemas (or name targets for references): refused anywhere.
_REFERENCING: Final = frozenset(
    {"$ref", "$dynamicRef", "$recursiveRef", "$id", "$anchor", "$dynamicAnchor"}
)
_REGEX_SIZE: Final = 1 << 20  # bytes of one compiled pattern
_DFA_SIZE: Final = 1 << 20


class MetadataError(InvalidInputError):
    """Metadata (or a schema) that fails; ``field`` names where, ``metadata.<path>``."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field


def _depth(value: Any) -> int:
    """The nesting depth of a JSON value (iterative: a hostile value cannot blow the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _referencing_keyword(value: Any) -> str | None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found = _REFERENCING.intersection(node)
            if found:
                return min(found)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def _compile(schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        schema,
        offline=True,  # belt and braces: references are refused before this
        pattern_options=jsonschema_rs.RegexOptions(
            size_limit=_REGEX_SIZE, dfa_size_limit=_DFA_SIZE
        ),
    )


def check_schema(schema: Any) -> dict[str, Any]:
    """``schema`` if it is one this server takes (see the module docstring); else
    MetadataError naming ``schema`` or the keyword at fault."""
    if not isinstance(schema, dict):
        raise MetadataError("must be a JSON object", field="schema")
    text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    if len(text) > SCHEMA_MAX:
        raise MetadataError(f"{len(text)} characters, at most {SCHEMA_MAX}", field="schema")
    if _depth(schema) > DEPTH_MAX:
        raise MetadataError(f"nested deeper than {DEPTH_MAX}", field="schema")
    keyword = _referencing_keyword(schema)
    if keyword is not None:
        raise MetadataError(
            f"{keyword} is not allowed: a business type's schema is self-contained",
            field=f"schema.{keyword}",
        )
    if schema.get("$schema", DRAFT) != DRAFT:
        raise MetadataError(f"$schema must be {DRAFT} (or absent)", field="schema.$schema")
    if schema.get("type") != "object":
        raise MetadataError('must say "type": "object" (metadata is an object)', field="schema")
    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as exc:
        where = ".".join(str(p) for p in exc.instance_path)
        raise MetadataError(exc.message, field="schema" + (f".{where}" if where else "")) from None
    try:
        _compile(schema)
    except jsonschema_rs.ValidationError as exc:
        # A pattern the linear-time engine refuses (lookaround, backreferences, too large).
        where = ".".join(str(p) for p in exc.instance_path)
        raise MetadataError(
            f"{exc.message} (patterns use a linear-time engine: no lookaround or backreferences)",
            field="schema" + (f".{where}" if where else ""),
        ) from None
    return schema


@functools.lru_cache(maxsize=256)
def _validator(schema_text: str) -> jsonschema_rs.Draft202012Validator:
    return _compile(json.loads(schema_text))


def _field(path: list[str | int]) -> str:
    out = "metadata"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_metadata(schema: dict[str, Any], metadata: Any) -> dict[str, Any]:
    """``metadata`` if it meets ``schema`` (a schema :func:`check_schema` accepted); else
    MetadataError naming the first failing field."""
    if not isinstance(metadata, dict):
        raise MetadataError("must be a JSON object", field="metadata")
    if _depth(metadata) > METADATA_DEPTH_MAX:
        raise MetadataError(f"nested deeper than {METADATA_DEPTH_MAX}", field="metadata")
    validator = _validator(json.dumps(schema, sort_keys=True, separators=(",", ":")))
    try:
        # validate() stops at the first error; iter_errors() collects them all first.
        validator.validate(metadata)
    except jsonschema_rs.ValidationError as error:
        path: list[str | int] = list(error.instance_path)
        missing = getattr(error.kind, "property", None)
        if isinstance(missing, str) and error.schema_path and error.schema_path[-1] == "required":
            path.append(missing)  # "amount is a required property" is about metadata.amount
        raise MetadataError(error.message, field=_field(path)) from None
    return metadata


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    """The metadata of a form field (JSON text), or None when absent."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MetadataError("is not JSON", field="metadata") from None
    if not isinstance(value, dict):
        raise MetadataError("must be a JSON object", field="metadata")
    return value
