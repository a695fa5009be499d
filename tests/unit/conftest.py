"""The app on an in-process chain, for unit tests of what the API serves (its OpenAPI
document, HEAD): one per test module, no batcher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.merkle import _leaf_encoder


@pytest.fixture(scope="module")
def client(chain: ChainContext, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on the module's embedded chain (``tests/apps.py``), no batcher."""
    tmp: Path = tmp_path_factory.mktemp("app")
    settings = Settings(
        env="test", data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}", chain="embedded"
    )
    with TestClient(create_app(settings, chain=chain, run_batcher=False)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _fresh_leaf_encoders() -> None:
    """Each test builds the leaf encoders it uses, instead of finding them cached by an
    earlier test: `make mutation` maps each function to the tests that call it, and a test
    served from the cache would not count as exercising the encoder it relies on."""
    _leaf_encoder.cache_clear()
