// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ITraceRegistry} from "./ITraceRegistry.sol";

/**
 * @title TraceRegistry
 * @notice Heads of per-item event hash chains and lot recalls, which can be lifted (溯源).
 * @dev One slot per item (head) plus one (count + time); heads are published in batches by
 * the platform's operator key, so one transaction covers many items.
 */
contract TraceRegistry is ITraceRegistry, AccessControl {
    /// @notice Keys allowed to publish heads (the platform's operator key).
    bytes32 public constant PUBLISHER_ROLE = keccak256("PUBLISHER_ROLE");
    /// @notice Keys allowed to flag and lift recalls (the operator, for a regulator or an owner).
    bytes32 public constant RECALLER_ROLE = keccak256("RECALLER_ROLE");

    mapping(bytes32 itemKey => Head) private _heads;
    mapping(bytes32 lotKey => RecallState) private _recalls;

    /// @param admin receives `DEFAULT_ADMIN_ROLE` (grants publishers and recallers).
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ITraceRegistry
    function setHeads(bytes32[] calldata itemKeys, bytes32[] calldata heads, uint32[] calldata counts)
        external
        onlyRole(PUBLISHER_ROLE)
    {
        uint256 n = itemKeys.length;
        if (heads.length != n || counts.length != n) {
            revert LengthMismatch(n, heads.length, counts.length);
        }
        if (n == 0) revert EmptyBatch();
        for (uint256 i = 0; i < n; ++i) {
            _setHead(itemKeys[i], heads[i], counts[i]);
        }
    }

    /// @inheritdoc ITraceRegistry
    function recall(bytes32 lotKey, bytes32 reasonHash) external onlyRole(RECALLER_ROLE) {
        if (lotKey == bytes32(0)) revert ZeroKey();
        RecallState storage state = _recalls[lotKey];
        if (state.recalledAt != 0) revert LotAlreadyRecalled(lotKey, state.recalledAt);
        state.recalledAt = uint64(block.timestamp);
        state.recalls += 1;
        emit LotRecalled(lotKey, _msgSender(), reasonHash);
    }

    /// @inheritdoc ITraceRegistry
    function liftRecall(bytes32 lotKey, bytes32 reasonHash) external onlyRole(RECALLER_ROLE) {
        RecallState storage state = _recalls[lotKey];
        uint64 recalled = state.recalledAt;
        if (recalled == 0) revert LotNotRecalled(lotKey, state.liftedAt);
        state.recalledAt = 0;
        state.liftedAt = uint64(block.timestamp);
        emit RecallLifted(lotKey, _msgSender(), reasonHash, recalled);
    }

    /// @inheritdoc ITraceRegistry
    function headOf(bytes32 itemKey) external view returns (Head memory) {
        return _heads[itemKey];
    }

    /// @inheritdoc ITraceRegistry
    function recalledAt(bytes32 lotKey) external view returns (uint64) {
        return _recalls[lotKey].recalledAt;
    }

    /// @inheritdoc ITraceRegistry
    function recallOf(bytes32 lotKey) external view returns (RecallState memory) {
        return _recalls[lotKey];
    }

    /// @inheritdoc ITraceRegistry
    function version() external pure returns (uint256) {
        return 2;
    }

    function _setHead(bytes32 itemKey, bytes32 head, uint32 count) private {
        if (itemKey == bytes32(0)) revert ZeroKey();
        if (head == bytes32(0) || count == 0) revert EmptyHead(itemKey);
        Head storage stored = _heads[itemKey];
        if (count == stored.count && head == stored.head) return; // a retried batch
        if (count <= stored.count) revert StaleHead(itemKey, stored.count, count);
        stored.head = head;
        stored.count = count;
        stored.updatedAt = uint64(block.timestamp);
        emit HeadUpdated(itemKey, head, count);
    }
}
