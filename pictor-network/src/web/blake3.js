// BLAKE3 in plain JavaScript, for Pictor Cloud's uploads: the network names every blob by the
// BLAKE3 hash of its bytes, and a resumable, deduplicated upload needs the hash before the first
// byte is sent (the SDK does the same). Written from the BLAKE3 specification (hash mode, 32-byte
// output); checked against the Rust `blake3` crate by the browser tests.
"use strict";
window.PictorBlake3 = (function () {
  const IV = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
    0x5be0cd19,
  ];
  const PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
  const CHUNK_START = 1;
  const CHUNK_END = 2;
  const PARENT = 4;
  const ROOT = 8;
  const BLOCK_LEN = 64;
  const CHUNK_LEN = 1024;
  // Which message word each of the 7 rounds reads at each position (the permutation applied once
  // per round, precomputed).
  const SCHEDULE = [];
  let order = Array.from({ length: 16 }, (_, i) => i);
  for (let round = 0; round < 7; round++) {
    SCHEDULE.push(order);
    order = PERMUTATION.map((from) => order[from]);
  }
  const state = new Uint32Array(16);
  const rotateRight = (x, n) => (x >>> n) | (x << (32 - n));
  function mix(a, b, c, d, x, y) {
    const v = state;
    v[a] = v[a] + v[b] + x;
    v[d] = rotateRight(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotateRight(v[b] ^ v[c], 12);
    v[a] = v[a] + v[b] + y;
    v[d] = rotateRight(v[d] ^ v[a], 8);
    v[c] = v[c] + v[d];
    v[b] = rotateRight(v[b] ^ v[c], 7);
  }
  // The compression function: a new 8-word chaining value.
  function compress(chainingValue, words, counter, blockLen, flags) {
    for (let i = 0; i < 8; i++) {
      state[i] = chainingValue[i];
    }
    state[8] = IV[0];
    state[9] = IV[1];
    state[10] = IV[2];
    state[11] = IV[3];
    state[12] = counter >>> 0;
    state[13] = Math.floor(counter / 4294967296);
    state[14] = blockLen;
    state[15] = flags;
    for (let round = 0; round < 7; round++) {
      const s = SCHEDULE[round];
      const m = words;
      mix(0, 4, 8, 12, m[s[0]], m[s[1]]);
      mix(1, 5, 9, 13, m[s[2]], m[s[3]]);
      mix(2, 6, 10, 14, m[s[4]], m[s[5]]);
      mix(3, 7, 11, 15, m[s[6]], m[s[7]]);
      mix(0, 5, 10, 15, m[s[8]], m[s[9]]);
      mix(1, 6, 11, 12, m[s[10]], m[s[11]]);
      mix(2, 7, 8, 13, m[s[12]], m[s[13]]);
      mix(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    const out = new Uint32Array(8);
    for (let i = 0; i < 8; i++) {
      out[i] = state[i] ^ state[i + 8];
    }
    return out;
  }
  function Hasher() {
    this.stack = [];
    this.chunkCounter = 0;
    this.block = new Uint8Array(BLOCK_LEN);
    this.blockView = new DataView(this.block.buffer);
    this.words = new Uint32Array(16);
    this.startChunk();
  }
  Hasher.prototype.startChunk = function () {
    this.chainingValue = Uint32Array.from(IV);
    this.blockLen = 0;
    this.blocksCompressed = 0;
    this.block.fill(0);
  };
  Hasher.prototype.blockWords = function () {
    for (let i = 0; i < 16; i++) {
      this.words[i] = this.blockView.getUint32(i * 4, true);
    }
    return this.words;
  };
  Hasher.prototype.startFlag = function () {
    return this.blocksCompressed === 0 ? CHUNK_START : 0;
  };
  Hasher.prototype.chunkLen = function () {
    return this.blocksCompressed * BLOCK_LEN + this.blockLen;
  };
  // The current chunk's last block: input of its chaining value (or of the root).
  Hasher.prototype.chunkOutput = function () {
    return {
      chainingValue: this.chainingValue,
      words: Uint32Array.from(this.blockWords()),
      counter: this.chunkCounter,
      blockLen: this.blockLen,
      flags: this.startFlag() | CHUNK_END,
    };
  };
  const parentOutput = (left, right) => {
    const words = new Uint32Array(16);
    words.set(left, 0);
    words.set(right, 8);
    return { chainingValue: IV, words, counter: 0, blockLen: BLOCK_LEN, flags: PARENT };
  };
  const outputChainingValue = (output) =>
    compress(output.chainingValue, output.words, output.counter, output.blockLen, output.flags);
  Hasher.prototype.addChunk = function (chunkValue, totalChunks) {
    let value = chunkValue;
    while ((totalChunks & 1) === 0) {
      value = outputChainingValue(parentOutput(this.stack.pop(), value));
      totalChunks = Math.floor(totalChunks / 2);
    }
    this.stack.push(value);
  };
  Hasher.prototype.update = function (bytes) {
    let at = 0;
    while (at < bytes.length) {
      if (this.chunkLen() === CHUNK_LEN) {
        const value = outputChainingValue(this.chunkOutput());
        this.chunkCounter += 1;
        this.addChunk(value, this.chunkCounter);
        this.startChunk();
      }
      if (this.blockLen === BLOCK_LEN) {
        this.chainingValue = compress(
          this.chainingValue,
          this.blockWords(),
          this.chunkCounter,
          BLOCK_LEN,
          this.startFlag()
        );
        this.blocksCompressed += 1;
        this.blockLen = 0;
        this.block.fill(0);
      }
      const take = Math.min(
        BLOCK_LEN - this.blockLen,
        CHUNK_LEN - this.chunkLen(),
        bytes.length - at
      );
      this.block.set(bytes.subarray(at, at + take), this.blockLen);
      this.blockLen += take;
      at += take;
    }
  };
  // The 32-byte hash, as lowercase hex.
  Hasher.prototype.hex = function () {
    let output = this.chunkOutput();
    for (let i = this.stack.length - 1; i >= 0; i--) {
      output = parentOutput(this.stack[i], outputChainingValue(output));
    }
    const words = compress(
      output.chainingValue,
      output.words,
      0,
      output.blockLen,
      output.flags | ROOT
    );
    let hex = "";
    for (const word of words) {
      for (let byte = 0; byte < 4; byte++) {
        hex += ((word >>> (8 * byte)) & 0xff).toString(16).padStart(2, "0");
      }
    }
    return hex;
  };
  const SLICE = 4 << 20;
  return {
    // The hex hash of a byte array.
    ofBytes(bytes) {
      const hasher = new Hasher();
      hasher.update(bytes);
      return hasher.hex();
    },
    // The hex hash of a Blob (a File), read 4 MiB at a time; `progress(bytesHashed)` after each.
    async ofBlob(blob, progress) {
      const hasher = new Hasher();
      for (let offset = 0; offset < blob.size; offset += SLICE) {
        const piece = blob.slice(offset, Math.min(offset + SLICE, blob.size));
        hasher.update(new Uint8Array(await piece.arrayBuffer()));
        if (progress) {
          progress(Math.min(offset + SLICE, blob.size));
        }
      }
      return hasher.hex();
    },
  };
})();
