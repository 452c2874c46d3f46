/**
 * A structural walk over a zstd stream (RFC 8878 §3.1): frame headers, block headers and checksums,
 * without decoding anything. It answers one question the decoders do not always answer: does the
 * buffer end exactly where its last frame ends?
 *
 * Node 22's built-in zstd (`zlib.zstdDecompressSync` / `createZstdDecompress`, seen on 22.23.5;
 * Node 24.22 is right) gets two things wrong: it returns the output decoded so far when the input
 * stops in the middle of a frame, without an error, so a repodata.json.zst cut short would be taken
 * as a shorter valid body; and it stops after the first frame of a multi-frame stream, silently
 * dropping the rest. With the walk we refuse the first and feed Node one frame at a time for the
 * second. It costs one 3-byte read per block (blocks are up to 128 KiB), far less than decoding.
 */

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50 … 0x184D2A5F, a 4-byte size, then that many bytes. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** The walk's answer: the data frames' [start, end) byte ranges (skippable frames left out), or why not. */
export type ZstdFrameWalk = { frames: Array<[number, number]>; problem?: undefined } | { frames?: undefined; problem: string };

/** Why `data` is not a complete sequence of zstd frames, or undefined when it is (see zstdFrames). */
export function zstdFramesProblem(data: Uint8Array): string | undefined {
  return zstdFrames(data).problem;
}

/**
 * The frames of a zstd stream. A problem is a stream that stops inside a frame (truncated), a
 * reserved block type or header bit, or bytes after the last frame that are not another frame. It
 * does not check the compressed contents themselves: that is the decoder's job.
 */
export function zstdFrames(data: Uint8Array): ZstdFrameWalk {
  const out: Array<[number, number]> = [];
  const fail = (problem: string): ZstdFrameWalk => ({ problem });
  let at = 0;
  let frames = 0;
  while (at < data.length) {
    if (data.length - at < 4) return fail(`${data.length - at} stray byte(s) after ${frames} frame(s)`);
    const magic = u32(data, at);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - at < 8) return fail('truncated (inside a skippable frame header)');
      const size = u32(data, at + 4);
      at += 8 + size;
      if (at > data.length) return fail('truncated (inside a skippable frame)');
      frames++;
      continue;
    }
    if (magic !== FRAME_MAGIC) return fail(frames === 0 ? 'not zstd data (bad magic number)' : `bytes after frame ${frames} are not a zstd frame`);
    const start = at;
    at += 4;
    if (at >= data.length) return fail('truncated (inside a frame header)');
    const fhd = data[at]!;
    if (fhd & 0x08) return fail('corrupt frame header (reserved bit set)');
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd >> 5) & 1;
    const checksum = (fhd >> 2) & 1;
    const didSize = [0, 1, 2, 4][fhd & 3]!;
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    at += 1 + (singleSegment ? 0 : 1) + didSize + fcsSize;
    if (at > data.length) return fail('truncated (inside a frame header)');
    for (;;) {
      if (data.length - at < 3) return fail('truncated (inside a block header)');
      const header = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
      at += 3;
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) return fail('corrupt block (reserved block type)');
      at += type === 1 ? 1 : size; // RLE blocks carry one byte repeated `size` times
      if (at > data.length) return fail('truncated (inside a block)');
      if (last) break;
    }
    if (checksum) {
      at += 4;
      if (at > data.length) return fail('truncated (inside the content checksum)');
    }
    out.push([start, at]);
    frames++;
  }
  return frames === 0 ? fail('empty input') : { frames: out };
}
