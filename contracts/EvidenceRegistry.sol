// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IEvidenceRegistry} from "./IEvidenceRegistry.sol";

/**
 * @title EvidenceRegistry (version 2)
 * @notice Member organisations anchor Merkle roots of document digests; anyone verifies.
 * @dev Anchors are keyed by (submitter, root), so nobody can squat another member's root.
 * Roles:
 * - `DEFAULT_ADMIN_ROLE`: one account, meant to be an offline key, moved only by
 *   OpenZeppelin's two-step transfer with a delay (`beginDefaultAdminTransfer`, then
 *   `acceptDefaultAdminTransfer` by the new admin once the delay has passed). It grants and
 *   revokes `MEMBER_ADMIN_ROLE`. It cannot revoke anyone's anchor.
 * - `MEMBER_ADMIN_ROLE`: the operator's online key; admits and removes members
 *   (`SUBMITTER_ROLE`). Its compromise can admit a rogue member, who anchors only as itself,
 *   or stop members anchoring new roots; it cannot touch an existing anchor.
 * - `SUBMITTER_ROLE`: members; anchor as themselves and revoke their own anchors.
 * One storage write per batch whatever its size; the anchor struct packs into two slots.
 */
contract EvidenceRegistry is IEvidenceRegistry, AccessControlDefaultAdminRules, EIP712, Nonces {
    /// @notice Members: organisations allowed to anchor (入链成员).
    bytes32 public constant SUBMITTER_ROLE = keccak256("SUBMITTER_ROLE");
    /// @notice Admits and removes members; held by the operator's online key.
    bytes32 public constant MEMBER_ADMIN_ROLE = keccak256("MEMBER_ADMIN_ROLE");

    bytes32 private constant ANCHOR_TYPEHASH = keccak256(
        "Anchor(bytes32 root,uint32 leafCount,bytes32 metadataHash,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant REVOKE_LEAF_TYPEHASH = keccak256(
        "RevokeLeaf(bytes32 root,bytes32 leaf,bytes32 reasonHash,uint256 nonce,uint256 deadline)"
    );

    mapping(address submitter => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(address submitter => mapping(bytes32 root => mapping(bytes32 leaf => bool)))
        private _revokedLeaves;
    mapping(address signer => uint256) private _revocationNonces;

    /**
     * @param adminDelay seconds a default-admin transfer waits between its two steps.
     * @param admin receives `DEFAULT_ADMIN_ROLE` (an offline key).
     * @param memberAdmin receives `MEMBER_ADMIN_ROLE` (the operator's online key).
     */
    constructor(uint48 adminDelay, address admin, address memberAdmin)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("ChainProof EvidenceRegistry", "2")
    {
        _setRoleAdmin(SUBMITTER_ROLE, MEMBER_ADMIN_ROLE);
        _grantRole(MEMBER_ADMIN_ROLE, memberAdmin);
    }

    /// @inheritdoc IEvidenceRegistry
    function version() external pure returns (uint256) {
        return 2;
    }

    /// @inheritdoc IEvidenceRegistry
    function anchor(bytes32 root, uint32 leafCount, bytes32 metadataHash)
        external
        onlyRole(SUBMITTER_ROLE)
    {
        _anchor(root, leafCount, metadataHash, _msgSender());
    }

    /// @inheritdoc IEvidenceRegistry
    function anchorWithSignature(
        bytes32 root,
        uint32 leafCount,
        bytes32 metadataHash,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        if (!hasRole(SUBMITTER_ROLE, signer)) revert NotMember(signer);
        bytes32 structHash = keccak256(
            abi.encode(ANCHOR_TYPEHASH, root, leafCount, metadataHash, _useNonce(signer), deadline)
        );
        _requireSigner(structHash, signature, signer);
        _anchor(root, leafCount, metadataHash, signer);
    }

    /// @inheritdoc IEvidenceRegistry
    function getAnchor(address submitter, bytes32 root) external view returns (Anchor memory) {
        return _anchors[submitter][root];
    }

    /// @inheritdoc IEvidenceRegistry
    function verify(address submitter, bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        Anchor storage a = _anchors[submitter][root];
        if (a.timestamp == 0 || a.revoked || _revokedLeaves[submitter][root][leaf]) return false;
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IEvidenceRegistry
    function isIncluded(address submitter, bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return _anchors[submitter][root].timestamp != 0
            && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IEvidenceRegistry
    function isLeafRevoked(address submitter, bytes32 root, bytes32 leaf)
        external
        view
        returns (bool)
    {
        return _revokedLeaves[submitter][root][leaf];
    }

    /// @inheritdoc IEvidenceRegistry
    function isMember(address account) external view returns (bool) {
        return hasRole(SUBMITTER_ROLE, account);
    }

    /// @inheritdoc IEvidenceRegistry
    function revocationNonce(address signer) external view returns (uint256) {
        return _revocationNonces[signer];
    }

    /// @inheritdoc IEvidenceRegistry
    function revokeRoot(bytes32 root, bytes32 reasonHash) external {
        address submitter = _msgSender();
        Anchor storage a = _requireAnchor(submitter, root);
        if (a.revoked) revert RootAlreadyRevoked(submitter, root);
        a.revoked = true;
        emit RootRevoked(root, submitter, reasonHash);
    }

    /// @inheritdoc IEvidenceRegistry
    function revokeLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof, bytes32 reasonHash)
        external
    {
        _revokeLeaf(_msgSender(), root, leaf, proof, reasonHash);
    }

    /// @inheritdoc IEvidenceRegistry
    function revokeLeafWithSignature(
        bytes32 root,
        bytes32 leaf,
        bytes32[] calldata proof,
        bytes32 reasonHash,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        bytes32 structHash = keccak256(
            abi.encode(
                REVOKE_LEAF_TYPEHASH, root, leaf, reasonHash, _revocationNonces[signer]++, deadline
            )
        );
        _requireSigner(structHash, signature, signer);
        _revokeLeaf(signer, root, leaf, proof, reasonHash);
    }

    function _anchor(bytes32 root, uint32 leafCount, bytes32 metadataHash, address submitter)
        private
    {
        if (root == bytes32(0)) revert EmptyRoot();
        if (leafCount == 0) revert ZeroLeafCount();
        Anchor storage a = _anchors[submitter][root];
        if (a.timestamp != 0) revert RootAlreadyAnchored(submitter, root, a.timestamp);
        uint64 ts = uint64(block.timestamp);
        _anchors[submitter][root] = Anchor({
            submitter: submitter,
            timestamp: ts,
            leafCount: leafCount,
            blockNumber: uint64(block.number),
            revoked: false
        });
        emit Anchored(root, submitter, leafCount, metadataHash, ts);
    }

    function _revokeLeaf(
        address submitter,
        bytes32 root,
        bytes32 leaf,
        bytes32[] calldata proof,
        bytes32 reasonHash
    ) private {
        _requireAnchor(submitter, root);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(root, leaf);
        if (_revokedLeaves[submitter][root][leaf]) revert LeafAlreadyRevoked(submitter, root, leaf);
        _revokedLeaves[submitter][root][leaf] = true;
        emit LeafRevoked(root, leaf, submitter, reasonHash);
    }

    function _requireAnchor(address submitter, bytes32 root)
        private
        view
        returns (Anchor storage a)
    {
        a = _anchors[submitter][root];
        if (a.timestamp == 0) revert UnknownRoot(submitter, root);
    }

    function _requireSigner(bytes32 structHash, bytes calldata signature, address signer)
        private
        view
    {
        address recovered = ECDSA.recover(_hashTypedDataV4(structHash), signature);
        if (recovered != signer) revert InvalidSigner(recovered, signer);
    }
}
