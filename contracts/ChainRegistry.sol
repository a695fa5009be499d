// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title ChainRegistry
 * @notice Sub-chains registered on the main chain (二级链注册) and their checkpoints (信任锚定):
 * a Merkle root over a contiguous range of a sub-chain's block hashes, signed (EIP-712) by at
 * least `threshold` of the sub-chain's registered signers.
 * @dev Leaves are OpenZeppelin StandardMerkleTree leaves of `(uint256 height, bytes32 blockHash)`.
 * Ranges of one sub-chain follow each other with no gap and no overlap, so a height is
 * checkpointed at most once: a second, different hash for it can never be anchored here.
 * The owner (admin) registers, rotates and retires; anyone may submit a signed checkpoint,
 * since the signatures, not the sender, carry the authority. History lives in the events and
 * in the signer epochs (a rotation opens a new epoch; the old one's keys sign no more).
 */
contract ChainRegistry is Ownable2Step, EIP712 {
    /// @notice One registered sub-chain.
    struct SubChain {
        bytes32 genesisHash;
        string name;
        address[] registries; // its EvidenceRegistry, TraceRegistry, ...
        uint64 epoch; // signer set version: 1 at registration, +1 per rotation
        uint64 nextHeight; // the first height of the next checkpoint
        uint8 threshold;
        bool retired;
        bool known;
    }

    /// @notice One checkpointed range `[fromBlock, toBlock]` of a sub-chain.
    struct Checkpoint {
        uint64 fromBlock;
        uint64 toBlock;
        uint64 epoch;
        uint64 postedAt; // main-chain block number
        bytes32 root;
    }

    bytes32 private constant CHECKPOINT_TYPEHASH = keccak256(
        "Checkpoint(uint256 chainId,bytes32 genesisHash,uint64 fromBlock,uint64 toBlock,bytes32 root,uint64 epoch)"
    );
    /// @notice A checkpoint covers at most this many blocks (bounds the relayer's and the
    /// verifier's work per range).
    uint64 public constant MAX_RANGE = 4096;

    mapping(uint256 chainId => SubChain) private _chains;
    mapping(uint256 chainId => mapping(uint64 epoch => mapping(address signer => bool))) private _signers;
    mapping(uint256 chainId => mapping(uint64 epoch => address[])) private _signerLists;
    mapping(uint256 chainId => Checkpoint[]) private _checkpoints;
    uint256[] private _chainIds;

    error ChainKnown(uint256 chainId);
    error UnknownChain(uint256 chainId);
    error ChainRetired(uint256 chainId);
    error BadThreshold(uint256 threshold, uint256 signers);
    error BadSigner(address signer);
    error BadRange(uint64 fromBlock, uint64 toBlock);
    error RangeNotContiguous(uint64 expectedFrom, uint64 fromBlock);
    error NotSigner(address recovered);
    error SignaturesNotSorted(address recovered);
    error TooFewSignatures(uint256 have, uint256 need);
    error EmptyRoot();

    event ChainRegistered(
        uint256 indexed chainId, bytes32 genesisHash, string name, uint64 firstHeight, address[] registries
    );
    event SignersSet(uint256 indexed chainId, uint64 indexed epoch, address[] signers, uint8 threshold);
    event RegistriesSet(uint256 indexed chainId, address[] registries);
    event ChainRetiredEvent(uint256 indexed chainId, uint64 nextHeight);
    event CheckpointPosted(
        uint256 indexed chainId, uint256 indexed index, uint64 fromBlock, uint64 toBlock, bytes32 root, uint64 epoch
    );

    /// @param admin the key that registers, rotates and retires sub-chains (two-step transfer).
    constructor(address admin) Ownable(admin) EIP712("ChainProof ChainRegistry", "1") {}

    /**
     * @notice Registers sub-chain `chainId`; its first checkpoint starts at `firstHeight`.
     * @param signers the keys that sign its checkpoints (epoch 1); `threshold` of them must.
     */
    function register(
        uint256 chainId,
        bytes32 genesisHash,
        string calldata name,
        address[] calldata registries,
        address[] calldata signers,
        uint8 threshold,
        uint64 firstHeight
    ) external onlyOwner {
        SubChain storage c = _chains[chainId];
        if (c.known) revert ChainKnown(chainId);
        c.known = true;
        c.genesisHash = genesisHash;
        c.name = name;
        c.registries = registries;
        c.nextHeight = firstHeight;
        _chainIds.push(chainId);
        emit ChainRegistered(chainId, genesisHash, name, firstHeight, registries);
        _setSigners(chainId, c, signers, threshold);
    }

    /// @notice Replaces the signer set (key rotation): a new epoch; the old keys sign no more.
    function rotateSigners(uint256 chainId, address[] calldata signers, uint8 threshold) external onlyOwner {
        SubChain storage c = _live(chainId);
        _setSigners(chainId, c, signers, threshold);
    }

    /// @notice Replaces the sub-chain's list of registries (a registry upgrade there).
    function setRegistries(uint256 chainId, address[] calldata registries) external onlyOwner {
        SubChain storage c = _live(chainId);
        c.registries = registries;
        emit RegistriesSet(chainId, registries);
    }

    /// @notice Retires the sub-chain: its checkpoints stay, no new one is accepted.
    function retire(uint256 chainId) external onlyOwner {
        SubChain storage c = _live(chainId);
        c.retired = true;
        emit ChainRetiredEvent(chainId, c.nextHeight);
    }

    /**
     * @notice Anchors the root of the sub-chain's block hashes `[fromBlock, toBlock]`.
     * @param signatures EIP-712 signatures over `Checkpoint`, by distinct current signers in
     * ascending address order (which also rules out counting one key twice).
     */
    function checkpoint(
        uint256 chainId,
        uint64 fromBlock,
        uint64 toBlock,
        bytes32 root,
        bytes[] calldata signatures
    ) external {
        SubChain storage c = _live(chainId);
        if (toBlock < fromBlock || toBlock - fromBlock >= MAX_RANGE) revert BadRange(fromBlock, toBlock);
        if (fromBlock != c.nextHeight) revert RangeNotContiguous(c.nextHeight, fromBlock);
        if (root == bytes32(0)) revert EmptyRoot();
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(CHECKPOINT_TYPEHASH, chainId, c.genesisHash, fromBlock, toBlock, root, c.epoch))
        );
        address last = address(0);
        uint256 n = signatures.length;
        for (uint256 i = 0; i < n; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (!_signers[chainId][c.epoch][signer]) revert NotSigner(signer);
            if (signer <= last) revert SignaturesNotSorted(signer);
            last = signer;
        }
        if (n < c.threshold) revert TooFewSignatures(n, c.threshold);
        c.nextHeight = toBlock + 1;
        _checkpoints[chainId].push(
            Checkpoint({
                fromBlock: fromBlock,
                toBlock: toBlock,
                epoch: c.epoch,
                postedAt: uint64(block.number),
                root: root
            })
        );
        emit CheckpointPosted(chainId, _checkpoints[chainId].length - 1, fromBlock, toBlock, root, c.epoch);
    }

    // ---- views ---------------------------------------------------------------------------

    /// @notice The sub-chain's record (`known` false: never registered).
    function chainOf(uint256 chainId) external view returns (SubChain memory) {
        return _chains[chainId];
    }

    /// @notice Every registered chain id, in registration order.
    function chainIds() external view returns (uint256[] memory) {
        return _chainIds;
    }

    /// @notice The signers of `epoch` (past epochs stay readable: the history of rotations).
    function signersOf(uint256 chainId, uint64 epoch) external view returns (address[] memory) {
        return _signerLists[chainId][epoch];
    }

    /// @notice How many checkpoints the sub-chain has.
    function checkpointCount(uint256 chainId) external view returns (uint256) {
        return _checkpoints[chainId].length;
    }

    /// @notice Checkpoint number `index` of the sub-chain.
    function checkpointAt(uint256 chainId, uint256 index) external view returns (Checkpoint memory) {
        return _checkpoints[chainId][index];
    }

    /// @notice The checkpoint covering `height` (binary search); `found` false when none does.
    function checkpointFor(uint256 chainId, uint64 height)
        public
        view
        returns (bool found, uint256 index, Checkpoint memory cp)
    {
        Checkpoint[] storage list = _checkpoints[chainId];
        uint256 lo = 0;
        uint256 hi = list.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            Checkpoint storage m = list[mid];
            if (height < m.fromBlock) {
                hi = mid;
            } else if (height > m.toBlock) {
                lo = mid + 1;
            } else {
                return (true, mid, m);
            }
        }
        return (false, 0, cp);
    }

    /// @notice True when `blockHash` is the sub-chain's block at `height` by its checkpoint
    /// (what a cross-chain message relayed with its proof is checked against).
    function verifyBlock(uint256 chainId, uint64 height, bytes32 blockHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        (bool found,, Checkpoint memory cp) = checkpointFor(chainId, height);
        if (!found) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(uint256(height), blockHash))));
        return MerkleProof.verifyCalldata(proof, cp.root, leaf);
    }

    /// @notice The EIP-712 domain separator signers sign under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---- internals -----------------------------------------------------------------------

    function _live(uint256 chainId) private view returns (SubChain storage c) {
        c = _chains[chainId];
        if (!c.known) revert UnknownChain(chainId);
        if (c.retired) revert ChainRetired(chainId);
    }

    function _setSigners(uint256 chainId, SubChain storage c, address[] calldata signers, uint8 threshold)
        private
    {
        if (threshold == 0 || threshold > signers.length) revert BadThreshold(threshold, signers.length);
        uint64 epoch = c.epoch + 1;
        for (uint256 i = 0; i < signers.length; ++i) {
            address s = signers[i];
            if (s == address(0) || _signers[chainId][epoch][s]) revert BadSigner(s);
            _signers[chainId][epoch][s] = true;
        }
        _signerLists[chainId][epoch] = signers;
        c.epoch = epoch;
        c.threshold = threshold;
        emit SignersSet(chainId, epoch, signers, threshold);
    }
}
