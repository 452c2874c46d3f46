/**
 * zstd decompression on top of `zstddec/stream` (WebAssembly): the one wrapper both repodata
 * (repodata.json.zst, CEP-16 shards) and package extraction (.conda members) use.
 *
 * Only the streaming decoder is used: the one-shot `ZSTDDecoder.decode()` needs the frame's content
 * size, and .conda members and many .zst files are written without it. `decodeStreaming()` is a
 * synchronous generator over a synchronous iterable; we drive it chunk by chunk from an async source
 * so nothing big is held in memory whole:
 *
 * - the generator pulls the next input chunk only after it has fully consumed the previous one, and
 *   it yields at least once per non-empty input chunk, so calling `next()` while our queue holds a
 *   chunk can never find the queue empty;
 * - `decodeStreaming()` does not check ZSTD error codes: on corrupt input it would spin forever
 *   yielding empty outputs without consuming input. We count empty outputs for the same input chunk
 *   and stop at MAX_EMPTY_STEPS.
 */
import { ZSTDDecoder } from 'zstddec/stream';

let decoder: Promise<ZSTDDecoder> | undefined;

function getDecoder(): Promise<ZSTDDecoder> {
  decoder ??= (async () => {
    const d = new ZSTDDecoder();
    await d.init();
    return d;
  })();
  return decoder;
}

/** Empty outputs in a row for the same input chunk before the data is called corrupt. */
const MAX_EMPTY_STEPS = 256;
const ZSTD_MAGIC = 0xfd2fb528;
/** Input chunk size when a whole buffer is decompressed. */
const CHUNK = 128 * 1024;

/** Whether the bytes start with a zstd frame magic number. */
export function isZstd(data: Uint8Array): boolean {
  return data.length >= 4 && (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0 === ZSTD_MAGIC;
}

/** Corrupt, truncated or non-zstd data (decompressZstd; streaming callers choose their own error). */
export class ZstdError extends Error {}

/**
 * Decompress a zstd stream (one or more frames) chunk by chunk. Corrupt, truncated or empty input
 * throws `corrupt(cause)`.
 */
export async function* decodeZstdStream(source: AsyncIterable<Uint8Array>, corrupt: (cause?: unknown) => Error): AsyncGenerator<Buffer> {
  const zstd = await getDecoder();
  const queue: Uint8Array[] = [];
  let ended = false;
  let pulls = 0;
  const input: Iterable<Uint8Array> = {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<Uint8Array> => {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          pulls++;
          return { value: chunk, done: false };
        }
        if (ended) return { value: undefined, done: true };
        // Cannot happen given the driving rule above; fail loudly rather than corrupt data.
        throw new Error('internal error: zstd decoder asked for input before it was available');
      },
    }),
  };
  const gen = zstd.decodeStreaming(input);
  let emptySteps = 0;
  let pullsAtLastOutput = -1;

  const step = (): Buffer | null => {
    let r: IteratorResult<Uint8Array>;
    try {
      r = gen.next();
    } catch (e) {
      throw corrupt(e);
    }
    if (r.done) return null;
    const out = r.value;
    if (out.length === 0) {
      if (pulls === pullsAtLastOutput) {
        if (++emptySteps > MAX_EMPTY_STEPS) throw corrupt();
      } else {
        pullsAtLastOutput = pulls;
        emptySteps = 1;
      }
    } else {
      pullsAtLastOutput = pulls;
      emptySteps = 0;
    }
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  };

  try {
    let sawInput = false;
    for await (const chunk of source) {
      if (chunk.length === 0) continue;
      sawInput = true;
      queue.push(chunk);
      while (queue.length > 0) {
        const out = step();
        if (out === null) break;
        if (out.length > 0) yield out;
      }
    }
    if (!sawInput) throw corrupt();
    ended = true;
    for (;;) {
      const out = step();
      if (out === null) break;
      if (out.length > 0) yield out;
    }
  } finally {
    // Let the generator go; on an early exit this leaves its small decoder context in the wasm heap.
    queue.length = 0;
  }
}

/** Decompress a whole zstd buffer (one or more frames). Throws ZstdError on corrupt or truncated data. */
export async function decompressZstd(data: Uint8Array): Promise<Buffer> {
  if (!isZstd(data)) throw new ZstdError('not zstd data (bad magic number)');
  const chunks = async function* () {
    for (let off = 0; off < data.length; off += CHUNK) yield data.subarray(off, Math.min(off + CHUNK, data.length));
  };
  const corrupt = (cause?: unknown) =>
    new ZstdError(cause instanceof Error ? `corrupt or truncated zstd data: ${cause.message}` : 'corrupt zstd data (decoder made no progress)');
  const parts: Buffer[] = [];
  let total = 0;
  for await (const out of decodeZstdStream(chunks(), corrupt)) {
    parts.push(out); // a copy out of the wasm heap (zstddec slices)
    total += out.length;
  }
  return Buffer.concat(parts, total);
}
