/**
 * Streaming zstd decompression on top of `zstddec/stream` (WebAssembly).
 *
 * We only use the streaming decoder: the one-shot `ZSTDDecoder.decode()` cannot be trusted on frames
 * without a content size, and .conda members are exactly such frames. `decodeStreaming()` is a
 * synchronous generator over a synchronous iterable; we drive it chunk by chunk from an async source
 * so a package is never held in memory whole:
 *
 * - the generator pulls the next input chunk only after it has fully consumed the previous one, and
 *   it yields at least once per non-empty input chunk, so calling `next()` while our queue holds a
 *   chunk can never find the queue empty;
 * - `decodeStreaming()` does not check ZSTD error codes: on corrupt input it would spin forever
 *   yielding empty outputs without consuming input. We count empty outputs per input chunk and stop.
 */
import { ZSTDDecoder } from 'zstddec/stream';
import { UnsafeArchiveError } from '../../errors.js';

let decoder: Promise<ZSTDDecoder> | undefined;

function getDecoder(): Promise<ZSTDDecoder> {
  decoder ??= (async () => {
    const d = new ZSTDDecoder();
    await d.init();
    return d;
  })();
  return decoder;
}

/** Empty outputs in a row for the same input chunk before we call the data corrupt. */
const MAX_EMPTY_STEPS = 256;

/**
 * Decompress a zstd stream (one or more frames). `what` names the data in error messages
 * (e.g. "pkg-foo.tar.zst in foo.conda").
 */
export async function* zstdDecompress(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
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
  const corrupt = (cause?: unknown) =>
    new UnsafeArchiveError(`${what}: corrupt or truncated zstd data; delete the file and download it again`, { cause });

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
