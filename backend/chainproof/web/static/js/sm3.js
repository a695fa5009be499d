/*
 * SM3 (GB/T 32905-2016), streaming, for hashing files in the browser.
 * ChainProof's own small implementation (MIT, as the project): update() takes Uint8Array
 * chunks of any size, hex() pads and returns the 64-hex-digit digest.
 * Checked against Python's hashlib.new("sm3") by tests/e2e.
 */
(function (global) {
  'use strict';
  const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];
  const rotl = (x, n) => ((x << n) | (x >>> (32 - n))) >>> 0;
  const P0 = (x) => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
  const P1 = (x) => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;
  const TJ = new Uint32Array(64);
  for (let j = 0; j < 64; j++) TJ[j] = rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32);

  class SM3 {
    constructor() {
      this.v = Uint32Array.from(IV);
      this.buf = new Uint8Array(64);
      this.bufLen = 0;
      this.length = 0; // bytes hashed so far
      this.w = new Uint32Array(68);
      this.w1 = new Uint32Array(64);
    }

    _block(data, off) {
      const w = this.w, w1 = this.w1, v = this.v;
      for (let j = 0; j < 16; j++) {
        const i = off + 4 * j;
        w[j] = ((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]) >>> 0;
      }
      for (let j = 16; j < 68; j++) {
        w[j] = (P1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6]) >>> 0;
      }
      for (let j = 0; j < 64; j++) w1[j] = (w[j] ^ w[j + 4]) >>> 0;
      let a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
      for (let j = 0; j < 64; j++) {
        const a12 = rotl(a, 12);
        const ss1 = rotl((a12 + e + TJ[j]) >>> 0, 7);
        const ss2 = (ss1 ^ a12) >>> 0;
        const ff = j < 16 ? (a ^ b ^ c) : ((a & b) | (a & c) | (b & c));
        const gg = j < 16 ? (e ^ f ^ g) : ((e & f) | (~e & g));
        const tt1 = ((ff >>> 0) + d + ss2 + w1[j]) >>> 0;
        const tt2 = ((gg >>> 0) + h + ss1 + w[j]) >>> 0;
        d = c; c = rotl(b, 9); b = a; a = tt1;
        h = g; g = rotl(f, 19); f = e; e = P0(tt2);
      }
      v[0] ^= a; v[1] ^= b; v[2] ^= c; v[3] ^= d; v[4] ^= e; v[5] ^= f; v[6] ^= g; v[7] ^= h;
    }

    update(bytes) {
      let off = 0;
      this.length += bytes.length;
      if (this.bufLen) {
        const take = Math.min(64 - this.bufLen, bytes.length);
        this.buf.set(bytes.subarray(0, take), this.bufLen);
        this.bufLen += take; off = take;
        if (this.bufLen < 64) return this;
        this._block(this.buf, 0); this.bufLen = 0;
      }
      for (; off + 64 <= bytes.length; off += 64) this._block(bytes, off);
      if (off < bytes.length) { this.buf.set(bytes.subarray(off), 0); this.bufLen = bytes.length - off; }
      return this;
    }

    hex() {
      const n = this.length;
      const padLen = ((this.bufLen < 56) ? 56 : 120) - this.bufLen;
      const pad = new Uint8Array(padLen + 8);
      pad[0] = 0x80;
      const hi = Math.floor(n / 0x20000000), lo = (n % 0x20000000) * 8;
      const view = new DataView(pad.buffer);
      view.setUint32(padLen, hi >>> 0); view.setUint32(padLen + 4, lo >>> 0);
      this.update(pad); // the state is final after this: hash a new file with a new SM3()
      return Array.from(this.v, (x) => x.toString(16).padStart(8, '0')).join('');
    }
  }

  global.ChainProofSM3 = SM3;
})(window);
