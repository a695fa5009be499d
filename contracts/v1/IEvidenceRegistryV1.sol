// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IEvidenceRegistryV1
 * @notice Anchors Merkle roots of document digests (存证) so that anyone can later prove a
 * document existed at the anchoring block's time, and that a member organisation submitted it.
 *
 * Leaves follow OpenZeppelin's `StandardMerkleTree` format: a leaf is
 * `keccak256(bytes.concat(keccak256(abi.encode(values...))))` and pairs are hashed sorted, so
 * any OpenZeppelin-compatible verifier checks our proofs. Only roots go on chain; documents,
 * names and amounts stay off chain.
 */
interface IEvidenceRegistryV1 {
    /// @notice What the registry knows about an anchored root.
    struct Anchor {
        address submitter; // the member whose key (or EIP-712 signature) anchored the root
        uint64 timestamp; // block timestamp of the anchoring transaction
        uint32 leafCount; // number of leaves in the tree, as declared by the submitter
        uint64 blockNumber; // block of the anchoring transaction
        bool revoked; // the whole root was revoked
    }

    /// @notice Emitted right after `root` is stored.
    event Anchored(
        bytes32 indexed root,
        address indexed submitter,
        uint32 leafCount,
        bytes32 metadataHash,
        uint64 timestamp
    );

    /// @notice Emitted right after `root` is marked revoked.
    event RootRevoked(bytes32 indexed root, address indexed revoker, bytes32 reasonHash);

    /// @notice Emitted right after `leaf` of `root` is marked revoked.
    event LeafRevoked(
        bytes32 indexed root,
        bytes32 indexed leaf,
        address indexed revoker,
        bytes32 reasonHash
    );

    /// @notice The root is zero: nothing to anchor.
    error EmptyRoot();
    /// @notice A tree has at least one leaf.
    error ZeroLeafCount();
    /// @notice `root` was anchored before, at `anchoredAt` (anchoring is idempotent-by-refusal).
    error RootAlreadyAnchored(bytes32 root, uint64 anchoredAt);
    /// @notice `root` was never anchored.
    error UnknownRoot(bytes32 root);
    /// @notice Only the root's submitter or an admin may revoke; `caller` is neither.
    error NotSubmitterOrAdmin(bytes32 root, address caller);
    /// @notice `root` is revoked already.
    error RootAlreadyRevoked(bytes32 root);
    /// @notice `leaf` of `root` is revoked already.
    error LeafAlreadyRevoked(bytes32 root, bytes32 leaf);
    /// @notice `proof` does not prove `leaf` is in `root`.
    error InvalidProof(bytes32 root, bytes32 leaf);
    /// @notice The signature's deadline `deadline` is before the block time `nowTs`.
    error SignatureExpired(uint256 deadline, uint256 nowTs);
    /// @notice The signature recovers to `recovered`, not to the claimed `signer`.
    error InvalidSigner(address recovered, address signer);
    /// @notice `account` is not a member (lacks the submitter role).
    error NotMember(address account);

    /**
     * @notice Anchors `root`, a Merkle root over `leafCount` leaves, as the caller.
     * @param metadataHash hash of off-chain batch metadata (emitted, not stored).
     *
     * Requirements:
     * - the caller has `SUBMITTER_ROLE`;
     * - `root` is not zero and was never anchored;
     * - `leafCount` is not zero.
     *
     * Emits {Anchored}.
     */
    function anchor(bytes32 root, uint32 leafCount, bytes32 metadataHash) external;

    /**
     * @notice Anchors `root` on behalf of `signer`, who signed it with EIP-712 (typed data
     * `Anchor(bytes32 root,uint32 leafCount,bytes32 metadataHash,uint256 nonce,uint256 deadline)`).
     * Anyone may relay: the signature proves the member, the chain proves the time.
     *
     * Requirements:
     * - `signer` has `SUBMITTER_ROLE`;
     * - `block.timestamp <= deadline`;
     * - the signature recovers to `signer` over `signer`'s current nonce (no replay);
     * - the same as {anchor} for `root` and `leafCount`.
     *
     * Emits {Anchored} with `signer` as the submitter.
     */
    function anchorWithSignature(
        bytes32 root,
        uint32 leafCount,
        bytes32 metadataHash,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice The anchor of `root`; all zero when it was never anchored.
    function getAnchor(bytes32 root) external view returns (Anchor memory);

    /// @notice True when `root` is anchored, neither it nor `leaf` is revoked, and `proof`
    /// proves `leaf` (the double-hashed StandardMerkleTree leaf) is in `root`.
    function verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /// @notice True when `proof` proves `leaf` is in `root` and `root` is anchored, whatever
    /// the revocations (to tell "revoked" from "not found").
    function isIncluded(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /// @notice True when `leaf` of `root` was revoked by itself.
    function isLeafRevoked(bytes32 root, bytes32 leaf) external view returns (bool);

    /// @notice True when `account` holds the submitter role.
    function isMember(address account) external view returns (bool);

    /**
     * @notice Revokes the whole `root` with a hash of the reason.
     *
     * Requirements:
     * - `root` is anchored and not revoked;
     * - the caller is the root's submitter or has `DEFAULT_ADMIN_ROLE`.
     *
     * Emits {RootRevoked}.
     */
    function revokeRoot(bytes32 root, bytes32 reasonHash) external;

    /**
     * @notice Revokes one `leaf` of `root`, proven by `proof`, with a hash of the reason.
     *
     * Requirements:
     * - `root` is anchored and `proof` proves `leaf` is in it;
     * - the leaf is not revoked already;
     * - the caller is the root's submitter or has `DEFAULT_ADMIN_ROLE`.
     *
     * Emits {LeafRevoked}.
     */
    function revokeLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof, bytes32 reasonHash)
        external;
}
