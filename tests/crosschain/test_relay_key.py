"""The relay's key (CHAINPROOF_RELAY_KEY) in the settings: a key of its own in production."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from chainproof.config import RELAY_DEV_KEY, Settings
from chainproof.devchain import DEV_PRIVATE_KEYS

PRODUCTION = {
    "env": "production",
    "operator_key": "0x" + secrets.token_hex(32),
    "secret_key": secrets.token_urlsafe(32),
    "public_rpc_url": "https://rpc.example.org",
    "public_url": "https://proof.example.org",
    "main_chain": "https://main.example.org",
}


def test_production_refuses_a_relay_without_a_key_of_its_own() -> None:
    with pytest.raises(ValidationError, match="CHAINPROOF_RELAY_KEY is not set"):
        Settings(**PRODUCTION)
    with pytest.raises(ValidationError, match="CHAINPROOF_RELAY_KEY is the operator key"):
        Settings(**PRODUCTION, relay_key=PRODUCTION["operator_key"].upper().replace("0X", "0x"))
    with pytest.raises(ValidationError, match="public development key"):
        Settings(**PRODUCTION, relay_key=DEV_PRIVATE_KEYS[8])
    own = "0x" + secrets.token_hex(32)
    assert Settings(**PRODUCTION, relay_key=own).resolved_relay_key == own
    # No main chain: no relay, no key asked.
    assert Settings(**{**PRODUCTION, "main_chain": None})


def test_development_relays_with_another_dev_key_than_the_operator() -> None:
    settings = Settings(env="development")
    assert settings.resolved_relay_key == RELAY_DEV_KEY
    assert settings.resolved_relay_key != settings.operator_key.get_secret_value()
