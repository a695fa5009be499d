// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/**
 * @title ITenderRegistry
 * @notice Sealed bids (公共资源交易): bidders commit before a deadline, reveal in a window,
 * both enforced on block time; the evaluation report and the award are anchored.
 * @dev A commitment is `keccak256(abi.encode(tenderId, bidder, bidDigest, salt))`: bound to
 * the tender, the bidder and the bid file's digest, hiding the digest behind a 32-byte salt.
 * It goes on chain under the bidder's EIP-712 signature, so a relayer (the platform) can
 * carry it but cannot change it. Nobody sees a bid before the reveal window opens.
 */
interface ITenderRegistry {
    struct Tender {
        address organiser;
        uint64 commitDeadline; // commits while block.timestamp < commitDeadline
        uint64 revealDeadline; // reveals while commitDeadline <= block.timestamp < revealDeadline
        bytes32 documentHash; // the tender documents (招标文件)
        bytes32 reportHash; // the evaluation report (评标报告), once awarded
        bytes32 awardHash; // the award, once awarded
        uint32 bids;
        uint32 revealed;
    }

    struct Bid {
        bytes32 commitment;
        uint64 committedAt;
        uint64 revealedAt;
        bytes32 bidDigest; // known once revealed
    }

    /// @notice A tender was opened by `organiser`.
    event TenderOpened(
        bytes32 indexed tenderId,
        address indexed organiser,
        uint64 commitDeadline,
        uint64 revealDeadline,
        bytes32 documentHash
    );
    /// @notice `bidder` committed to a sealed bid (carried by `relayer`).
    event BidCommitted(bytes32 indexed tenderId, address indexed bidder, bytes32 commitment, address relayer);
    /// @notice `bidder`'s bid was opened: its file digest matched the commitment.
    event BidRevealed(bytes32 indexed tenderId, address indexed bidder, bytes32 bidDigest);
    /// @notice The evaluation report and the award were anchored.
    event TenderAwarded(bytes32 indexed tenderId, bytes32 reportHash, bytes32 awardHash);

    error TenderExists(bytes32 tenderId);
    error UnknownTender(bytes32 tenderId);
    error BadWindow(uint64 commitDeadline, uint64 revealDeadline, uint64 nowTime);
    error CommitClosed(bytes32 tenderId, uint64 commitDeadline, uint64 nowTime);
    error AlreadyCommitted(bytes32 tenderId, address bidder);
    error BadSignature(address recovered, address bidder);
    error RevealNotOpen(bytes32 tenderId, uint64 opensAt, uint64 nowTime);
    error RevealClosed(bytes32 tenderId, uint64 closedAt, uint64 nowTime);
    error NoCommitment(bytes32 tenderId, address bidder);
    error AlreadyRevealed(bytes32 tenderId, address bidder);
    error CommitmentMismatch(bytes32 tenderId, address bidder, bytes32 committed, bytes32 opened);
    error NotOrganiser(bytes32 tenderId, address caller);
    error AwardTooEarly(bytes32 tenderId, uint64 revealDeadline, uint64 nowTime);
    error AlreadyAwarded(bytes32 tenderId);

    /**
     * @notice Opens tender `tenderId` with its deadlines (Unix seconds, block time).
     * Requirements:
     * - the caller has ORGANISER_ROLE;
     * - `tenderId` is new;
     * - now < `commitDeadline` < `revealDeadline`.
     */
    function openTender(bytes32 tenderId, uint64 commitDeadline, uint64 revealDeadline, bytes32 documentHash)
        external;

    /**
     * @notice Records `bidder`'s commitment, signed by `bidder` (EIP-712 `BidCommitment`).
     * Requirements:
     * - the tender exists and block.timestamp < its commit deadline;
     * - `bidder` has not committed to it yet;
     * - `signature` is `bidder`'s over (tenderId, bidder, commitment).
     */
    function commitBid(bytes32 tenderId, address bidder, bytes32 commitment, bytes calldata signature) external;

    /**
     * @notice Opens `bidder`'s bid: `bidDigest` and `salt` must hash to the commitment.
     * Requirements:
     * - commit deadline <= block.timestamp < reveal deadline;
     * - `bidder` committed and has not revealed.
     */
    function revealBid(bytes32 tenderId, address bidder, bytes32 bidDigest, bytes32 salt) external;

    /**
     * @notice Anchors the evaluation report and the award.
     * Requirements: the tender's organiser; after the reveal deadline; once.
     */
    function award(bytes32 tenderId, bytes32 reportHash, bytes32 awardHash) external;

    /// @notice The tender `tenderId` (organiser zero when unknown).
    function getTender(bytes32 tenderId) external view returns (Tender memory);

    /// @notice `bidder`'s bid in `tenderId` (commitment zero when none).
    function getBid(bytes32 tenderId, address bidder) external view returns (Bid memory);

    /// @notice The commitment for these values: keccak256(abi.encode(tenderId, bidder, bidDigest, salt)).
    function commitmentOf(bytes32 tenderId, address bidder, bytes32 bidDigest, bytes32 salt)
        external
        pure
        returns (bytes32);
}
