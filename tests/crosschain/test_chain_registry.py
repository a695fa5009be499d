"""ChainRegistry on a real main chain (Anvil): registration, rotation, retirement, and
checkpoints refused when forged (wrong signer, wrong root), non-contiguous or overlapping."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from chainproof.chain.deployments import genesis_hash
from chainproof.crosschain.ranges import (
    checkpoint_typed_data,
    leaf_proof,
    range_tree,
    sign_checkpoint,
)
from chainproof.errors import ContractRevertError
from tests.crosschain.conftest import SUB_CHAIN_ID, TwoChains


def _register(chains: TwoChains, signers: Sequence[LocalAccount], threshold: int) -> None:
    chains.client().register(
        chains.admin_sender(),
        chain_id=SUB_CHAIN_ID,
        genesis_hash=genesis_hash(chains.sub_w3),
        name="南宁 city chain",
        registries=[chains.accounts[9].address],
        signers=[s.address for s in signers],
        threshold=threshold,
    )


def _hashes(chains: TwoChains, first: int, last: int) -> list[str]:
    return [
        HexBytes(chains.sub_w3.eth.get_block(h)["hash"]).to_0x_hex() for h in range(first, last + 1)
    ]


def _post(
    chains: TwoChains,
    first: int,
    last: int,
    signers: Sequence[LocalAccount],
    *,
    root: str | None = None,
    signed_root: str | None = None,
    epoch: int = 1,
) -> None:
    chains.mine_sub(last)
    if root is None:
        root = HexBytes(range_tree(first, _hashes(chains, first, last)).root).to_0x_hex()
    typed = checkpoint_typed_data(
        main_chain_id=chains.main_w3.eth.chain_id,
        registry=chains.registry.address,
        sub_chain_id=SUB_CHAIN_ID,
        genesis_hash=genesis_hash(chains.sub_w3),
        from_block=first,
        to_block=last,
        root=signed_root or root,
        epoch=epoch,
    )
    client = chains.client()
    fn = client.checkpoint_call(SUB_CHAIN_ID, first, last, root, sign_checkpoint(signers, typed))
    client.transact(chains.admin_sender(), fn)


def test_checkpoint_by_threshold_signers_proves_a_block_on_chain(chains: TwoChains) -> None:
    a, b, c = chains.accounts[1:4]
    _register(chains, [a, b, c], 2)
    _post(chains, 0, 5, [a, c])
    client = chains.client()
    assert client.checkpoint_count(SUB_CHAIN_ID) == 1
    record = client.chain_of(SUB_CHAIN_ID)
    assert (record.next_height, record.epoch, record.threshold) == (6, 1, 2)
    hashes = _hashes(chains, 0, 5)
    tree = range_tree(0, hashes)
    proof = leaf_proof(tree, 3, hashes[3])
    assert client.verify_block(SUB_CHAIN_ID, 3, hashes[3], proof)
    assert not client.verify_block(SUB_CHAIN_ID, 3, hashes[4], proof)  # another block's hash
    assert not client.verify_block(SUB_CHAIN_ID, 7, hashes[3], proof)  # not checkpointed
    found = client.checkpoint_for(SUB_CHAIN_ID, 5)
    assert found is not None and found.root == HexBytes(tree.root).to_0x_hex()


def test_forged_checkpoints_are_refused(chains: TwoChains) -> None:
    a, b, c, stranger = chains.accounts[1:5]
    _register(chains, [a, b, c], 2)
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 0, 4, [a, stranger])  # a key not registered for the sub-chain
    assert exc.value.error_name == "NotSigner"
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 0, 4, [a])  # below the threshold
    assert exc.value.error_name == "TooFewSignatures"
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 0, 4, [a, a])  # one key counted twice
    assert exc.value.error_name == "SignaturesNotSorted"
    # Signed over one root, submitted with another: the signatures recover other addresses.
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 0, 4, [a, b], root="0x" + "11" * 32, signed_root="0x" + "22" * 32)
    assert exc.value.error_name == "NotSigner"
    # A signature of the right keys over the wrong epoch (a replay after rotation) too.
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 0, 4, [a, b], epoch=2)
    assert exc.value.error_name == "NotSigner"
    assert chains.client().checkpoint_count(SUB_CHAIN_ID) == 0


def test_ranges_are_contiguous_and_never_overlap(chains: TwoChains) -> None:
    a = chains.accounts[1]
    _register(chains, [a], 1)
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 1, 4, [a])  # the first range starts at the registered height, 0
    assert exc.value.error_name == "RangeNotContiguous"
    _post(chains, 0, 4, [a])
    for first, last in ((0, 4), (3, 8), (6, 8)):  # again, overlapping, a gap
        with pytest.raises(ContractRevertError) as exc:
            _post(chains, first, last, [a])
        assert exc.value.error_name == "RangeNotContiguous"
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 9, 5, [a], root="0x" + "33" * 32)
    assert exc.value.error_name == "BadRange"
    _post(chains, 5, 8, [a])
    assert chains.client().checkpoint_count(SUB_CHAIN_ID) == 2


def test_rotation_retires_old_keys_and_retirement_stops_checkpoints(chains: TwoChains) -> None:
    old, new = chains.accounts[1], chains.accounts[2]
    _register(chains, [old], 1)
    client = chains.client()
    client.rotate_signers(chains.admin_sender(), SUB_CHAIN_ID, [new.address], 1)
    assert client.signers_of(SUB_CHAIN_ID, 1) == [old.address]  # history kept
    assert client.signers_of(SUB_CHAIN_ID, 2) == [new.address]
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 0, 3, [old], epoch=2)
    assert exc.value.error_name == "NotSigner"
    _post(chains, 0, 3, [new], epoch=2)
    client.retire(chains.admin_sender(), SUB_CHAIN_ID)
    with pytest.raises(ContractRevertError) as exc:
        _post(chains, 4, 6, [new], epoch=2)
    assert exc.value.error_name == "ChainRetired"
    assert client.checkpoint_count(SUB_CHAIN_ID) == 1  # what was anchored stays


def test_only_the_admin_registers(chains: TwoChains) -> None:
    from chainproof.chain.sender import TxSender

    client = chains.client()
    with pytest.raises(ContractRevertError) as exc:
        client.register(
            TxSender(chains.main_w3, chains.accounts[5]),
            chain_id=SUB_CHAIN_ID,
            genesis_hash=genesis_hash(chains.sub_w3),
            name="x",
            registries=[],
            signers=[chains.accounts[5].address],
            threshold=1,
        )
    assert exc.value.error_name == "OwnableUnauthorizedAccount"
    _register(chains, [chains.accounts[1]], 1)
    with pytest.raises(ContractRevertError) as exc:
        _register(chains, [chains.accounts[1]], 1)
    assert exc.value.error_name == "ChainKnown"
    with pytest.raises(ContractRevertError) as exc:
        client.rotate_signers(chains.admin_sender(), SUB_CHAIN_ID, [chains.accounts[1].address], 2)
    assert exc.value.error_name == "BadThreshold"
