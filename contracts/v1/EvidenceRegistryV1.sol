// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IEvidenceRegistryV1} from "./IEvidenceRegistryV1.sol";

/**
 * @title EvidenceRegistryV1
 * @notice Member organisations anchor Merkle roots of document digests; anyone verifies.
 * @dev Version 1, kept so that its deployments stay checkable and its receipts verifiable
 * after an upgrade to {EvidenceRegistry} (version 2). Its flaws, fixed in v2: the first
 * account to anchor a root owns it (another member's identical root is refused), and the
 * admin (the operator's online key) may revoke any root. Deploy v2 for new anchors.
 * One storage write per batch whatever its size: gas per document falls with the batch.
 * The anchor struct packs into two slots (submitter+timestamp+leafCount, blockNumber+revoked);
 * the metadata hash is only emitted, since no on-chain reader needs it.
 */
contract EvidenceRegistryV1 is IEvidenceRegistryV1, AccessControl, EIP712, Nonces {
    /// @notice Members: organisations allowed to anchor (入链成员).
    bytes32 public constant SUBMITTER_ROLE = keccak256("SUBMITTER_ROLE");

    bytes32 private constant ANCHOR_TYPEHASH = keccak256(
        "Anchor(bytes32 root,uint32 leafCount,bytes32 metadataHash,uint256 nonce,uint256 deadline)"
    );

    mapping(bytes32 root => Anchor) private _anchors;
    mapping(bytes32 root => mapping(bytes32 leaf => bool)) private _revokedLeaves;

    /// @param admin receives `DEFAULT_ADMIN_ROLE` (admits and removes members).
    constructor(address admin) EIP712("ChainProof EvidenceRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IEvidenceRegistryV1
    function anchor(bytes32 root, uint32 leafCount, bytes32 metadataHash)
        external
        onlyRole(SUBMITTER_ROLE)
    {
        _anchor(root, leafCount, metadataHash, _msgSender());
    }

    /// @inheritdoc IEvidenceRegistryV1
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
        address recovered = ECDSA.recover(_hashTypedDataV4(structHash), signature);
        if (recovered != signer) revert InvalidSigner(recovered, signer);
        _anchor(root, leafCount, metadataHash, signer);
    }

    /// @inheritdoc IEvidenceRegistryV1
    function getAnchor(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @inheritdoc IEvidenceRegistryV1
    function verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        Anchor storage a = _anchors[root];
        if (a.timestamp == 0 || a.revoked || _revokedLeaves[root][leaf]) return false;
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IEvidenceRegistryV1
    function isIncluded(bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return _anchors[root].timestamp != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IEvidenceRegistryV1
    function isLeafRevoked(bytes32 root, bytes32 leaf) external view returns (bool) {
        return _revokedLeaves[root][leaf];
    }

    /// @inheritdoc IEvidenceRegistryV1
    function isMember(address account) external view returns (bool) {
        return hasRole(SUBMITTER_ROLE, account);
    }

    /// @inheritdoc IEvidenceRegistryV1
    function revokeRoot(bytes32 root, bytes32 reasonHash) external {
        Anchor storage a = _requireRevoker(root);
        if (a.revoked) revert RootAlreadyRevoked(root);
        a.revoked = true;
        emit RootRevoked(root, _msgSender(), reasonHash);
    }

    /// @inheritdoc IEvidenceRegistryV1
    function revokeLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof, bytes32 reasonHash)
        external
    {
        _requireRevoker(root);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(root, leaf);
        if (_revokedLeaves[root][leaf]) revert LeafAlreadyRevoked(root, leaf);
        _revokedLeaves[root][leaf] = true;
        emit LeafRevoked(root, leaf, _msgSender(), reasonHash);
    }

    function _anchor(bytes32 root, uint32 leafCount, bytes32 metadataHash, address submitter) private {
        if (root == bytes32(0)) revert EmptyRoot();
        if (leafCount == 0) revert ZeroLeafCount();
        Anchor storage a = _anchors[root];
        if (a.timestamp != 0) revert RootAlreadyAnchored(root, a.timestamp);
        uint64 ts = uint64(block.timestamp);
        _anchors[root] = Anchor({
            submitter: submitter,
            timestamp: ts,
            leafCount: leafCount,
            blockNumber: uint64(block.number),
            revoked: false
        });
        emit Anchored(root, submitter, leafCount, metadataHash, ts);
    }

    function _requireRevoker(bytes32 root) private view returns (Anchor storage a) {
        a = _anchors[root];
        if (a.timestamp == 0) revert UnknownRoot(root);
        if (a.submitter != _msgSender() && !hasRole(DEFAULT_ADMIN_ROLE, _msgSender())) {
            revert NotSubmitterOrAdmin(root, _msgSender());
        }
    }
}
