/**
 * zstd decompression: the one wrapper both repodata (repodata.json.zst, CEP-16 shards) and package
 * extraction (.conda members) use.
 *
 * Whole buffers (repodata, shards) are decoded by the fastest engine available:
 * 1. `node`: Node's built-in zstd (zlib, Node ≥ 22.15 / 23.8) — native, in-process;
 * 2. `cli`: a `zstd -dc` child process when the binary is on PATH (as .tar.bz2 extraction uses
 *    `bzip2 -dc`) — native speed (≈4–10× the WASM decoder), and the work runs on another core;
 * 3. `wasm`: zstddec's streaming decoder (below).
 * `CONDA_GO_LOCK_ZSTD=node|cli|wasm` forces one (benchmarks, tests). Small inputs (shards) skip the
 * child process: spawning costs more than decoding a few kilobytes. `zstdChunks()` yields the output
 * piece by piece, so a caller can write and scan a large subdir without holding it whole.
 *
 * The WASM engine (and .conda members, whose input is itself a stream) uses `zstddec/stream`.
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
import { spawn, spawnSync } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { ZSTDDecoder } from 'zstddec/stream';
import { zstdFrames } from './zstd-frames.js';

let decoder: Promise<ZSTDDecoder> | undefined;

/** Instantiate the WASM decoder now (an extraction worker does this while it waits for its first job). */
export function warmZstdDecoder(): Promise<unknown> {
  return getDecoder();
}

function getDecoder(): Promise<ZSTDDecoder> {
  decoder ??= (async () => {
    const d = new ZSTDDecoder();
    await withoutFetch(() => d.init());
    return d;
  })();
  return decoder;
}

/**
 * Run `start` (synchronously) with `globalThis.fetch` hidden. zstddec's init() loads its WASM with
 * `fetch('data:application/wasm;base64,...')` whenever `fetch` exists, and in Node the first use of
 * `fetch` loads the whole undici HTTP client (~20–35 ms of a warm lock's start-up) to decode a data
 * URL; without `fetch` it decodes the base64 itself. init() looks at `fetch` only in its synchronous
 * part, so the original property (Node's lazy getter, untouched) is back before anything else runs.
 */
function withoutFetch<T>(start: () => T): T {
  const desc = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (!desc?.configurable) return start();
  Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
  try {
    return start();
  } finally {
    Object.defineProperty(globalThis, 'fetch', desc);
  }
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

export type ZstdEngine = 'node' | 'cli' | 'wasm';

/** Below this many compressed bytes a child process is not worth it. */
const CLI_MIN_BYTES = 256 * 1024;

type NodeZstdSync = (buf: Uint8Array) => Buffer;
type NodeZstdStream = () => import('node:stream').Transform;
const nodeZstdSync = (zlib as unknown as { zstdDecompressSync?: NodeZstdSync }).zstdDecompressSync;
const nodeZstdStream = (zlib as unknown as { createZstdDecompress?: NodeZstdStream }).createZstdDecompress;

let cliAvailable: boolean | undefined;
function haveCli(): boolean {
  if (cliAvailable === undefined) {
    try {
      cliAvailable = spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
    } catch {
      cliAvailable = false;
    }
  }
  return cliAvailable;
}

/** The engines usable here, fastest first (`wasm` is always last). */
export function zstdEngines(): ZstdEngine[] {
  const out: ZstdEngine[] = [];
  if (nodeZstdSync && nodeZstdStream) out.push('node');
  if (haveCli()) out.push('cli');
  out.push('wasm');
  return out;
}

/** The engine for `size` compressed bytes: `$CONDA_GO_LOCK_ZSTD` when set, else the fastest. */
export function chooseZstdEngine(size: number, forced: string | undefined = process.env.CONDA_GO_LOCK_ZSTD): ZstdEngine {
  if (forced === 'node' || forced === 'cli' || forced === 'wasm') {
    if (forced === 'node' && !(nodeZstdSync && nodeZstdStream)) {
      throw new ZstdError('CONDA_GO_LOCK_ZSTD=node: this Node.js has no built-in zstd (needs ≥ 22.15)');
    }
    return forced;
  }
  if (nodeZstdSync && nodeZstdStream) return 'node';
  if (size >= CLI_MIN_BYTES && haveCli()) return 'cli';
  return 'wasm';
}

const corruptError = (cause?: unknown): ZstdError =>
  new ZstdError(cause instanceof Error ? `corrupt or truncated zstd data: ${cause.message}` : 'corrupt zstd data (decoder made no progress)');

/**
 * The data frames of `data`, for Node's zstd, which on Node 22 returns what it decoded so far when
 * the input stops inside a frame (no error) and stops after the first frame of a multi-frame stream
 * (src/compress/zstd-frames.ts): a cut-short body is refused, and frames are decoded one by one.
 */
function wholeFrames(data: Uint8Array): Uint8Array[] {
  const walk = zstdFrames(data);
  if (walk.problem !== undefined) throw new ZstdError(`corrupt or truncated zstd data: ${walk.problem}`);
  return walk.frames.map(([start, end]) => data.subarray(start, end));
}

/** Decompress a whole zstd buffer (one or more frames). Throws ZstdError on corrupt or truncated data. */
export async function decompressZstd(data: Uint8Array, engine?: ZstdEngine): Promise<Buffer> {
  if (!isZstd(data)) throw new ZstdError('not zstd data (bad magic number)');
  const which = engine ?? chooseZstdEngine(data.length);
  if (which === 'node') {
    const frames = wholeFrames(data);
    try {
      return frames.length === 1 ? nodeZstdSync!(frames[0]!) : Buffer.concat(frames.map((f) => nodeZstdSync!(f)));
    } catch (err) {
      throw corruptError(err);
    }
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const out of zstdChunks(data, which)) {
    parts.push(out);
    total += out.length;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

/**
 * Decompress a whole zstd buffer, yielding the output in pieces (each a fresh Buffer the caller may
 * keep). Throws ZstdError on corrupt or truncated data — possibly after some pieces were yielded,
 * so a caller writing them out must discard what it wrote.
 */
export async function* zstdChunks(data: Uint8Array, engine?: ZstdEngine): AsyncGenerator<Buffer> {
  if (!isZstd(data)) throw new ZstdError('not zstd data (bad magic number)');
  const which = engine ?? chooseZstdEngine(data.length);
  if (which === 'wasm') {
    const input = async function* () {
      for (let off = 0; off < data.length; off += CHUNK) yield data.subarray(off, Math.min(off + CHUNK, data.length));
    };
    // decodeZstdStream's pieces are copies out of the wasm heap (zstddec slices)
    yield* decodeZstdStream(input(), corruptError);
    return;
  }
  if (which === 'node') {
    for (const frame of wholeFrames(data)) {
      const dec = nodeZstdStream!();
      dec.end(frame);
      try {
        for await (const out of dec) yield out as Buffer;
      } catch (err) {
        throw corruptError(err);
      } finally {
        dec.destroy();
      }
    }
    return;
  }
  yield* cliChunks(data);
}

/**
 * zstdChunks for a compressed file (a body spooled to disk): the `zstd` CLI reads it from the file
 * in pieces, so it is never in memory whole; the in-process engines read it first.
 */
export async function* zstdFileChunks(file: string, engine?: ZstdEngine): AsyncGenerator<Buffer> {
  const which = engine ?? chooseZstdEngine((await stat(file)).size);
  if (which !== 'cli') {
    yield* zstdChunks(await readFile(file), which);
    return;
  }
  const head = Buffer.alloc(4);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (!isZstd(head)) throw new ZstdError('not zstd data (bad magic number)');
  yield* cliChunks(file);
}

/**
 * `zstd -dcq` as a child process: the compressed bytes on stdin (a buffer), or the file named (read
 * by zstd itself, nothing of it passes through this process); the output read as it comes.
 */
async function* cliChunks(input: Uint8Array | string): AsyncGenerator<Buffer> {
  const fromFile = typeof input === 'string';
  const child = spawn('zstd', ['-d', '-c', '-q', ...(fromFile ? ['--', input] : [])], { stdio: [fromFile ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let err = '';
  let spawnError: Error | undefined;
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.on('error', (e) => (spawnError = e));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  if (!fromFile) {
    child.stdin!.on('error', () => undefined); // zstd exits early on corrupt input: EPIPE is expected
    child.stdin!.end(input);
  }
  let done = false;
  try {
    for await (const out of child.stdout!) yield out as Buffer;
    const code = await closed;
    done = true;
    if (spawnError) throw new ZstdError(`cannot run zstd: ${spawnError.message}`);
    if (code !== 0) {
      // zstd names its input in the message: the file is ours (a temp name), the data is what matters
      const last = err.trim().split('\n').pop()?.replace(fromFile ? `${input} : ` : '', '');
      throw new ZstdError(`corrupt or truncated zstd data: ${last || `zstd exited with ${code}`}`);
    }
  } finally {
    if (!done) child.kill();
  }
}
