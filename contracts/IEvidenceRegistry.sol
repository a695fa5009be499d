// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IEvidenceRegistry (version 2)
 * @notice Anchors Merkle roots of document digests (存证) so that anyone can later prove a
 * document existed at the anchoring block's time, and that a member organisation submitted it.
 *
 * An anchor is keyed by its submitter and its root: a root anchored by one member never
 * blocks another member anchoring the same root, and only the submitter's key revokes its
 * own anchor (or a leaf of it). No key, admin or not, can revoke another member's anchor.
 *
 * Leaves follow OpenZeppelin's `StandardMerkleTree` format: a leaf is
 * `keccak256(bytes.concat(keccak256(abi.encode(values...))))` and pairs are hashed sorted, so
 * any OpenZeppelin-compatible verifier checks our proofs. Only roots go on chain; documents,
 * names and amounts stay off chain.
 */
interface IEvidenceRegistry {
    /// @notice What the registry knows about one submitter's anchor of a root.
    struct Anchor {
        address submitter; // the member whose key (or EIP-712 signature) anchored the root
        uint64 timestamp; // block timestamp of the anchoring transaction
        uint32 leafCount; // number of leaves in the tree, as declared by the submitter
        uint64 blockNumber; // block of the anchoring transaction
        bool revoked; // the whole root was revoked by its submitter
    }

    /// @notice Emitted right after `submitter`'s anchor of `root` is stored.
    event Anchored(
        bytes32 indexed root,
        address indexed submitter,
        uint32 leafCount,
        bytes32 metadataHash,
        uint64 timestamp
    );

    /// @notice Emitted right after `revoker`'s anchor of `root` is marked revoked (the
    /// revoker is always the anchor's submitter).
    event RootRevoked(bytes32 indexed root, address indexed revoker, bytes32 reasonHash);

    /// @notice Emitted right after `leaf` of `revoker`'s anchor of `root` is marked revoked
    /// (the revoker is always the anchor's submitter).
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
    /// @notice `submitter` anchored `root` before, at `anchoredAt` (idempotent-by-refusal).
    error RootAlreadyAnchored(address submitter, bytes32 root, uint64 anchoredAt);
    /// @notice `submitter` never anchored `root`.
    error UnknownRoot(address submitter, bytes32 root);
    /// @notice `submitter`'s anchor of `root` is revoked already.
    error RootAlreadyRevoked(address submitter, bytes32 root);
    /// @notice `leaf` of `submitter`'s anchor of `root` is revoked already.
    error LeafAlreadyRevoked(address submitter, bytes32 root, bytes32 leaf);
    /// @notice `proof` does not prove `leaf` is in `root`.
    error InvalidProof(bytes32 root, bytes32 leaf);
    /// @notice The signature's deadline `deadline` is before the block time `nowTs`.
    error SignatureExpired(uint256 deadline, uint256 nowTs);
    /// @notice The signature recovers to `recovered`, not to the claimed `signer`.
    error InvalidSigner(address recovered, address signer);
    /// @notice `account` is not a member (lacks the submitter role).
    error NotMember(address account);

    /// @notice The interface version: 2 (version 1 had no such getter).
    function version() external pure returns (uint256);

    /**
     * @notice Anchors `root`, a Merkle root over `leafCount` leaves, as the caller.
     * @param metadataHash hash of off-chain batch metadata (emitted, not stored).
     *
     * Requirements:
     * - the caller has `SUBMITTER_ROLE`;
     * - `root` is not zero and the caller never anchored it (other members' anchors of the
     *   same root do not matter);
     * - `leafCount` is not zero.
     *
     * Emits {Anchored}.
     */
    function anchor(bytes32 root, uint32 leafCount, bytes32 metadataHash) external;

    /**
     * @notice Anchors `root` on behalf of `signer`, who signed it with EIP-712 (typed data
     * `Anchor(bytes32 root,uint32 leafCount,bytes32 metadataHash,uint256 nonce,uint256 deadline)`,
     * domain version "2"). Anyone may relay: the signature proves the member, the chain the time.
     *
     * Requirements:
     * - `signer` has `SUBMITTER_ROLE`;
     * - `block.timestamp <= deadline`;
     * - the signature recovers to `signer` over `signer`'s current nonce (no replay);
     * - the same as {anchor} for `root` and `leafCount`, with `signer` as the submitter.
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

    /// @notice `submitter`'s anchor of `root`; all zero when it never anchored it.
    function getAnchor(address submitter, bytes32 root) external view returns (Anchor memory);

    /// @notice True when `submitter` anchored `root`, neither that anchor nor `leaf` in it is
    /// revoked, and `proof` proves `leaf` (the double-hashed StandardMerkleTree leaf) is in
    /// `root`.
    function verify(address submitter, bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice True when `proof` proves `leaf` is in `root` and `submitter` anchored `root`,
    /// whatever the revocations (to tell "revoked" from "not found").
    function isIncluded(address submitter, bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice True when `leaf` of `submitter`'s anchor of `root` was revoked by itself.
    function isLeafRevoked(address submitter, bytes32 root, bytes32 leaf)
        external
        view
        returns (bool);

    /// @notice True when `account` holds the submitter role.
    function isMember(address account) external view returns (bool);

    /// @notice The next revocation nonce of `signer` (for {revokeLeafWithSignature}).
    function revocationNonce(address signer) external view returns (uint256);

    /**
     * @notice Revokes the caller's whole anchor of `root`, with a hash of the reason.
     *
     * Requirements:
     * - the caller anchored `root` and has not revoked it.
     *
     * Emits {RootRevoked}.
     */
    function revokeRoot(bytes32 root, bytes32 reasonHash) external;

    /**
     * @notice Revokes one `leaf` of the caller's anchor of `root`, proven by `proof`, with a
     * hash of the reason.
     *
     * Requirements:
     * - the caller anchored `root` and `proof` proves `leaf` is in it;
     * - the leaf is not revoked already.
     *
     * Emits {LeafRevoked}.
     */
    function revokeLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof, bytes32 reasonHash)
        external;

    /**
     * @notice {revokeLeaf} on behalf of `signer`, who signed it with EIP-712 (typed data
     * `RevokeLeaf(bytes32 root,bytes32 leaf,bytes32 reasonHash,uint256 nonce,uint256 deadline)`
     * over its {revocationNonce}). Anyone may relay.
     *
     * Requirements:
     * - `block.timestamp <= deadline`; the signature recovers to `signer`;
     * - the same as {revokeLeaf} with `signer` as the caller.
     *
     * Emits {LeafRevoked} with `signer` as the revoker.
     */
    function revokeLeafWithSignature(
        bytes32 root,
        bytes32 leaf,
        bytes32[] calldata proof,
        bytes32 reasonHash,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external;
}
