/* ChainProof: hashes one file off the page's thread with hash-wasm (vendored, pinned).
 *
 * Message in:  {file: File, algorithm: 'sha256'|'sm3'|'keccak256', scripts: [URLs of the
 *              vendored hash-wasm builds], chunk: bytes per read}
 * Messages out: {type: 'progress', done, total} after every chunk, then
 *               {type: 'done', digest: '0x…'} or {type: 'error', message}.
 * The file is read in slices (File.slice + arrayBuffer), so memory stays at about one chunk
 * whatever the file's size; WebAssembly needs no secure context (unlike WebCrypto's subtle),
 * so this works on a plain-HTTP origin too. Nothing here touches the network but the scripts.
 */
'use strict';
const CREATE = {
  sha256: () => self.hashwasm.createSHA256(),
  sm3: () => self.hashwasm.createSM3(),
  keccak256: () => self.hashwasm.createKeccak(256),
};

self.onmessage = async (event) => {
  const { file, algorithm, scripts, chunk } = event.data;
  try {
    if (!Object.prototype.hasOwnProperty.call(CREATE, algorithm)) throw new Error('unknown algorithm ' + algorithm);
    importScripts(...scripts);
    const hasher = await CREATE[algorithm]();
    hasher.init();
    const total = file.size;
    self.postMessage({ type: 'progress', done: 0, total: total });
    for (let off = 0; off < total; off += chunk) {
      hasher.update(new Uint8Array(await file.slice(off, off + chunk).arrayBuffer()));
      self.postMessage({ type: 'progress', done: Math.min(off + chunk, total), total: total });
    }
    self.postMessage({ type: 'done', digest: '0x' + hasher.digest('hex') });
  } catch (e) {
    self.postMessage({ type: 'error', message: (e && e.message) || String(e) });
  }
};
