// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title ITraceRegistry
 * @notice Keeps, per traced item (or lot), the head of its event hash chain (溯源), and a
 * recall flag per lot, so that a scanner can tell whether the history a server shows is
 * complete: a server that hides an item's later events (a recall, say) shows a chain whose
 * head is not the one on chain.
 *
 * Keys are salted: `itemKey = keccak256(salt ‖ code)` with a random 32-byte salt per item
 * kept off chain, because serial numbers are guessable and the chain is public. Heads only
 * move forward (the event count must grow), so a server cannot roll an item back either.
 */
interface ITraceRegistry {
    /// @notice The on-chain state of one item's chain.
    struct Head {
        bytes32 head; // sha-256 link over every event hash of the item, in order
        uint32 count; // number of events the head covers
        uint64 updatedAt; // block timestamp of the last update
    }

    /// @notice Emitted right after the head of `itemKey` is stored.
    event HeadUpdated(bytes32 indexed itemKey, bytes32 head, uint32 count);

    /// @notice Emitted right after `lotKey` is flagged as recalled.
    event LotRecalled(bytes32 indexed lotKey, address indexed recaller, bytes32 reasonHash);

    /// @notice The arrays of one batch have different lengths.
    error LengthMismatch(uint256 keys, uint256 heads, uint256 counts);
    /// @notice A batch holds no heads.
    error EmptyBatch();
    /// @notice The zero key names no item.
    error ZeroKey();
    /// @notice A head covers at least one event, and is not zero.
    error EmptyHead(bytes32 itemKey);
    /// @notice `count` does not move `itemKey` forward from `storedCount` (heads never go back).
    error StaleHead(bytes32 itemKey, uint32 storedCount, uint32 count);
    /// @notice `lotKey` was recalled before, at `recalledAt`.
    error LotAlreadyRecalled(bytes32 lotKey, uint64 recalledAt);

    /**
     * @notice Stores the heads of a batch of items.
     *
     * Requirements:
     * - the caller has `PUBLISHER_ROLE`;
     * - the three arrays have the same non-zero length;
     * - no key is zero, no head is zero, no count is zero;
     * - each count is above the stored one; re-sending exactly the stored head and count is a
     *   no-op, so a publisher may retry a batch after a crash.
     *
     * Emits {HeadUpdated} for each head that changed.
     */
    function setHeads(bytes32[] calldata itemKeys, bytes32[] calldata heads, uint32[] calldata counts)
        external;

    /**
     * @notice Flags `lotKey` as recalled; `reasonHash` is the hash of the off-chain reason.
     *
     * Requirements:
     * - the caller has `RECALLER_ROLE`;
     * - `lotKey` is not zero and not recalled yet.
     *
     * Emits {LotRecalled}.
     */
    function recall(bytes32 lotKey, bytes32 reasonHash) external;

    /// @notice The head of `itemKey` (all zero when none was published).
    function headOf(bytes32 itemKey) external view returns (Head memory);

    /// @notice When `lotKey` was recalled (0: never).
    function recalledAt(bytes32 lotKey) external view returns (uint64);
}
