"""business/schemas.py: a business type's schema is hostile input (bounded, self-contained,
linear-time patterns), and metadata failing it names its field."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chainproof.business.schemas import (
    DEPTH_MAX,
    METADATA_DEPTH_MAX,
    SCHEMA_MAX,
    MetadataError,
    check_metadata,
    check_schema,
)


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ([], "schema"),
        ({"type": "string"}, "schema"),  # metadata is an object
        ({"type": "object", "$ref": "http://127.0.0.1:9/remote.json"}, "schema.$ref"),
        ({"type": "object", "properties": {"a": {"$ref": "#"}}}, "schema.$ref"),
        ({"type": "object", "$defs": {"a": {"$dynamicRef": "#a"}}}, "schema.$dynamicRef"),
        ({"type": "object", "$id": "https://example.com/s"}, "schema.$id"),
        (
            {"type": "object", "$schema": "http://json-schema.org/draft-04/schema#"},
            "schema.$schema",
        ),
        ({"type": "object", "properties": {"a": {"type": "nonsense"}}}, "schema.properties.a.type"),
        # Backreferences and lookaround need a backtracking engine: refused, never run.
        ({"type": "object", "properties": {"a": {"pattern": "^(a+)\\1$"}}}, "schema"),
        ({"type": "object", "properties": {"a": {"pattern": "^(?=a)a$"}}}, "schema"),
        ({"type": "object", "patternProperties": {"^(?!x)": {}}}, "schema"),
        # A pattern whose automaton is huge is refused at compile time (size limit).
        ({"type": "object", "properties": {"a": {"pattern": "(\\w{1000}){1000}"}}}, "schema"),
        (_nested(DEPTH_MAX // 2), "schema"),  # two levels a step: 33
        ({"type": "object", "description": "x" * SCHEMA_MAX}, "schema"),
    ],
)
def test_hostile_schemas_are_refused_naming_the_place(schema: Any, field: str) -> None:
    with pytest.raises(MetadataError) as raised:
        check_schema(schema)
    assert raised.value.field.startswith(field), raised.value.message
    assert raised.value.message.startswith(raised.value.field + ":")


def test_a_reasonable_schema_is_taken_as_it_is() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "contract_no": {"type": "string", "pattern": "^HT-[0-9]{4}-[0-9]{3}$"},
            "amount_wan": {"type": "number", "minimum": 0},
        },
        "patternProperties": {"^x-": {"type": "string"}},
        "required": ["contract_no"],
    }
    assert check_schema(schema) is schema
    assert check_schema(_nested(DEPTH_MAX // 2 - 1))


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"amount_wan": 1}, "metadata.contract_no"),  # a missing required field is named
        ({"contract_no": "HT-2023-001", "amount_wan": -1}, "metadata.amount_wan"),
        ({"contract_no": "x"}, "metadata.contract_no"),
        ({"contract_no": "HT-2023-001", "items": [{"n": 1}, {"n": "two"}]}, "metadata.items[1].n"),
        ("not an object", "metadata"),
    ],
)
def test_metadata_failures_name_the_field(metadata: Any, field: str) -> None:
    schema = check_schema(
        {
            "type": "object",
            "properties": {
                "contract_no": {"type": "string", "pattern": "^HT-[0-9]{4}-[0-9]{3}$"},
                "amount_wan": {"type": "number", "minimum": 0},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"n": {"type": "integer"}}},
                },
            },
            "required": ["contract_no"],
        }
    )
    with pytest.raises(MetadataError) as raised:
        check_metadata(schema, metadata)
    assert raised.value.field == field, raised.value.message


def test_metadata_nesting_is_bounded_before_validation() -> None:
    deep: Any = 1
    for _ in range(METADATA_DEPTH_MAX):
        deep = {"a": deep}
    with pytest.raises(MetadataError, match="nested deeper"):
        check_metadata({"type": "object"}, deep)


def test_catastrophic_patterns_run_in_linear_time() -> None:
    """``(a+)+$``-style patterns backtrack exponentially in Python's ``re``; here they run on
    finite automata, so the largest schema and metadata the bounds allow answer at once. The
    bound (2 s, for a loaded machine) is a DoS bound, not a speed measurement."""
    evil = ["^(a+)+$", "^(a|a)*$", "^(a|aa)+$", "^(\\w+\\s?)*$", "^([a-z]+)*[0-9]$"]
    branches = [{"type": "string", "pattern": p} for p in evil] * 40
    schema = check_schema(
        {"type": "object", "properties": {"x": {"type": "array", "items": {"anyOf": branches}}}}
    )
    assert len(json.dumps(schema)) <= SCHEMA_MAX
    metadata = {"x": ["a" * 60 + "!"] * 120}  # every string fails every pattern, ~7.5 KB
    started = time.monotonic()
    with pytest.raises(MetadataError) as raised:
        check_metadata(schema, metadata)
    assert time.monotonic() - started < 2.0
    assert raised.value.field == "metadata.x[0]"
