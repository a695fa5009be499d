// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ITenderRegistry} from "./ITenderRegistry.sol";

/**
 * @title TenderRegistry
 * @notice Sealed bids: commit before the deadline, reveal in the window, award after it.
 * @dev Deadlines are block time. The platform relays bidders' signed commitments (it pays
 * the gas), but cannot forge or alter one: each is checked against the bidder's EIP-712
 * signature here.
 */
contract TenderRegistry is ITenderRegistry, AccessControl, EIP712 {
    /// @notice Keys that may open tenders (trading-centre orgs, 交易中心).
    bytes32 public constant ORGANISER_ROLE = keccak256("ORGANISER_ROLE");
    bytes32 private constant _COMMIT_TYPEHASH =
        keccak256("BidCommitment(bytes32 tenderId,address bidder,bytes32 commitment)");

    mapping(bytes32 tenderId => Tender) private _tenders;
    mapping(bytes32 tenderId => mapping(address bidder => Bid)) private _bids;

    /// @param admin receives `DEFAULT_ADMIN_ROLE` (grants organisers).
    constructor(address admin) EIP712("ChainProof TenderRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ITenderRegistry
    function openTender(bytes32 tenderId, uint64 commitDeadline, uint64 revealDeadline, bytes32 documentHash)
        external
        onlyRole(ORGANISER_ROLE)
    {
        if (_tenders[tenderId].organiser != address(0)) revert TenderExists(tenderId);
        uint64 nowTime = uint64(block.timestamp);
        if (!(nowTime < commitDeadline && commitDeadline < revealDeadline)) {
            revert BadWindow(commitDeadline, revealDeadline, nowTime);
        }
        Tender storage t = _tenders[tenderId];
        t.organiser = _msgSender();
        t.commitDeadline = commitDeadline;
        t.revealDeadline = revealDeadline;
        t.documentHash = documentHash;
        emit TenderOpened(tenderId, _msgSender(), commitDeadline, revealDeadline, documentHash);
    }

    /// @inheritdoc ITenderRegistry
    function commitBid(bytes32 tenderId, address bidder, bytes32 commitment, bytes calldata signature) external {
        Tender storage t = _known(tenderId);
        uint64 nowTime = uint64(block.timestamp);
        if (nowTime >= t.commitDeadline) revert CommitClosed(tenderId, t.commitDeadline, nowTime);
        Bid storage b = _bids[tenderId][bidder];
        if (b.commitment != bytes32(0)) revert AlreadyCommitted(tenderId, bidder);
        bytes32 structHash = keccak256(abi.encode(_COMMIT_TYPEHASH, tenderId, bidder, commitment));
        address recovered = ECDSA.recover(_hashTypedDataV4(structHash), signature);
        if (recovered != bidder) revert BadSignature(recovered, bidder);
        b.commitment = commitment;
        b.committedAt = nowTime;
        t.bids += 1;
        emit BidCommitted(tenderId, bidder, commitment, _msgSender());
    }

    /// @inheritdoc ITenderRegistry
    function revealBid(bytes32 tenderId, address bidder, bytes32 bidDigest, bytes32 salt) external {
        Tender storage t = _known(tenderId);
        uint64 nowTime = uint64(block.timestamp);
        if (nowTime < t.commitDeadline) revert RevealNotOpen(tenderId, t.commitDeadline, nowTime);
        if (nowTime >= t.revealDeadline) revert RevealClosed(tenderId, t.revealDeadline, nowTime);
        Bid storage b = _bids[tenderId][bidder];
        if (b.commitment == bytes32(0)) revert NoCommitment(tenderId, bidder);
        if (b.revealedAt != 0) revert AlreadyRevealed(tenderId, bidder);
        bytes32 opened = commitmentOf(tenderId, bidder, bidDigest, salt);
        if (opened != b.commitment) revert CommitmentMismatch(tenderId, bidder, b.commitment, opened);
        b.revealedAt = nowTime;
        b.bidDigest = bidDigest;
        t.revealed += 1;
        emit BidRevealed(tenderId, bidder, bidDigest);
    }

    /// @inheritdoc ITenderRegistry
    function award(bytes32 tenderId, bytes32 reportHash, bytes32 awardHash) external {
        Tender storage t = _known(tenderId);
        if (t.organiser != _msgSender()) revert NotOrganiser(tenderId, _msgSender());
        uint64 nowTime = uint64(block.timestamp);
        if (nowTime < t.revealDeadline) revert AwardTooEarly(tenderId, t.revealDeadline, nowTime);
        if (t.awardHash != bytes32(0)) revert AlreadyAwarded(tenderId);
        t.reportHash = reportHash;
        t.awardHash = awardHash;
        emit TenderAwarded(tenderId, reportHash, awardHash);
    }

    /// @inheritdoc ITenderRegistry
    function getTender(bytes32 tenderId) external view returns (Tender memory) {
        return _tenders[tenderId];
    }

    /// @inheritdoc ITenderRegistry
    function getBid(bytes32 tenderId, address bidder) external view returns (Bid memory) {
        return _bids[tenderId][bidder];
    }

    /// @inheritdoc ITenderRegistry
    function commitmentOf(bytes32 tenderId, address bidder, bytes32 bidDigest, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(tenderId, bidder, bidDigest, salt));
    }

    function _known(bytes32 tenderId) private view returns (Tender storage t) {
        t = _tenders[tenderId];
        if (t.organiser == address(0)) revert UnknownTender(tenderId);
    }
}
