// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ITraceRegistry} from "./ITraceRegistry.sol";

/**
 * @title TraceRegistry
 * @notice Heads of per-item event hash chains and lot recall flags (溯源).
 * @dev One slot per item (head) plus one (count + time); heads are published in batches by
 * the platform's operator key, so one transaction covers many items.
 */
contract TraceRegistry is ITraceRegistry, AccessControl {
    /// @notice Keys allowed to publish heads (the platform's operator key).
    bytes32 public constant PUBLISHER_ROLE = keccak256("PUBLISHER_ROLE");
    /// @notice Keys allowed to flag recalls (the operator, on behalf of a regulator or producer).
    bytes32 public constant RECALLER_ROLE = keccak256("RECALLER_ROLE");

    mapping(bytes32 itemKey => Head) private _heads;
    mapping(bytes32 lotKey => uint64 recalledAt) private _recalls;

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
        uint64 previous = _recalls[lotKey];
        if (previous != 0) revert LotAlreadyRecalled(lotKey, previous);
        _recalls[lotKey] = uint64(block.timestamp);
        emit LotRecalled(lotKey, _msgSender(), reasonHash);
    }

    /// @inheritdoc ITraceRegistry
    function headOf(bytes32 itemKey) external view returns (Head memory) {
        return _heads[itemKey];
    }

    /// @inheritdoc ITraceRegistry
    function recalledAt(bytes32 lotKey) external view returns (uint64) {
        return _recalls[lotKey];
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
