/*
 * Keccak-256 as Ethereum uses it (the original Keccak padding 0x01, not NIST SHA3-256's
 * 0x06), streaming, for the receipt page: leaf hashes, Merkle proofs, EIP-55 checksums and
 * documents whose algorithm is keccak256.
 * ChainProof's own small implementation (MIT, as the project), with 32-bit lane halves:
 * update() takes Uint8Array chunks of any size, digest() pads and returns the 32 bytes,
 * hex() the 64 hex digits. Checked against Python's eth_utils.keccak by tests/e2e.
 */
(function (global) {
  'use strict';
  const RATE = 136; // bytes: 1600 - 2 * 256 bits of capacity
  // Round constants [low 32 bits, high 32 bits].
  const RC = [
    0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000, 0x80008000, 0x80000000,
    0x0000808b, 0x00000000, 0x80000001, 0x00000000, 0x80008081, 0x80000000, 0x00008009, 0x80000000,
    0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
    0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000,
    0x00008002, 0x80000000, 0x00000080, 0x80000000, 0x0000800a, 0x00000000, 0x8000000a, 0x80000000,
    0x80008081, 0x80000000, 0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000,
  ];
  // Rotation of lane x + 5y (rho), and where it goes (pi): B[y, 2x + 3y] = rot(A[x, y]).
  const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
  const PI = new Array(25);
  for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) PI[x + 5 * y] = y + 5 * ((2 * x + 3 * y) % 5);

  // Lane i is s[2i] (low half) and s[2i + 1] (high half): byte j of the state is in s[j >> 2].
  function permute(s, b, c) {
    for (let round = 0; round < 24; round++) {
      // theta
      for (let x = 0; x < 5; x++) {
        c[2 * x] = s[2 * x] ^ s[2 * x + 10] ^ s[2 * x + 20] ^ s[2 * x + 30] ^ s[2 * x + 40];
        c[2 * x + 1] = s[2 * x + 1] ^ s[2 * x + 11] ^ s[2 * x + 21] ^ s[2 * x + 31] ^ s[2 * x + 41];
      }
      for (let x = 0; x < 5; x++) {
        const p = (x + 4) % 5, n = (x + 1) % 5;
        const lo = c[2 * p] ^ ((c[2 * n] << 1) | (c[2 * n + 1] >>> 31));
        const hi = c[2 * p + 1] ^ ((c[2 * n + 1] << 1) | (c[2 * n] >>> 31));
        for (let y = 0; y < 25; y += 5) { s[2 * (x + y)] ^= lo; s[2 * (x + y) + 1] ^= hi; }
      }
      // rho and pi
      for (let i = 0; i < 25; i++) {
        let lo = s[2 * i], hi = s[2 * i + 1], r = ROT[i];
        if (r >= 32) { const t = lo; lo = hi; hi = t; r -= 32; }
        const j = PI[i];
        if (r) {
          b[2 * j] = (lo << r) | (hi >>> (32 - r));
          b[2 * j + 1] = (hi << r) | (lo >>> (32 - r));
        } else {
          b[2 * j] = lo; b[2 * j + 1] = hi;
        }
      }
      // chi
      for (let y = 0; y < 25; y += 5) {
        for (let x = 0; x < 5; x++) {
          const i = 2 * (x + y), n1 = 2 * (((x + 1) % 5) + y), n2 = 2 * (((x + 2) % 5) + y);
          s[i] = b[i] ^ (~b[n1] & b[n2]);
          s[i + 1] = b[i + 1] ^ (~b[n1 + 1] & b[n2 + 1]);
        }
      }
      // iota
      s[0] ^= RC[2 * round];
      s[1] ^= RC[2 * round + 1];
    }
  }

  class Keccak256 {
    constructor() {
      this.s = new Uint32Array(50);
      this.b = new Uint32Array(50);
      this.c = new Uint32Array(10);
      this.pos = 0; // bytes absorbed into the current block
      this.done = false;
    }

    update(bytes) {
      if (this.done) throw new Error('keccak256: update() after digest()');
      const s = this.s;
      for (let i = 0; i < bytes.length; i++) {
        const p = this.pos;
        s[p >> 2] ^= bytes[i] << (8 * (p & 3));
        if (++this.pos === RATE) { permute(s, this.b, this.c); this.pos = 0; }
      }
      return this;
    }

    digest() {
      if (!this.done) {
        const s = this.s, p = this.pos;
        s[p >> 2] ^= 0x01 << (8 * (p & 3));
        s[(RATE - 1) >> 2] ^= 0x80 << (8 * ((RATE - 1) & 3));
        permute(s, this.b, this.c);
        this.done = true;
      }
      const out = new Uint8Array(32);
      for (let i = 0; i < 32; i++) out[i] = (this.s[i >> 2] >>> (8 * (i & 3))) & 0xff;
      return out;
    }

    hex() {
      return Array.from(this.digest(), (x) => x.toString(16).padStart(2, '0')).join('');
    }

    /* keccak256 of one Uint8Array, as 32 bytes. */
    static hash(bytes) { return new Keccak256().update(bytes).digest(); }
  }

  global.ChainProofKeccak256 = Keccak256;
})(window);
