/**
 * Streaming bzip2 decompression of a file.
 *
 * Two back ends with the same results (bytes, and the same truncated / corrupt errors):
 *
 * - `cli`: the `bzip2` program (`bzip2 -dc` with the file on stdin), about 3x faster than
 *   JavaScript. Used when `bzip2 --help` runs (checked once per process); set
 *   CONDA_GO_LOCK_BZIP2=js to never use it.
 * - `js`: seek-bzip, which decodes synchronously from a byte-reader; we give it one backed by
 *   `fs.readSync` over a 64 KiB window, and drive its block decoder ourselves so each bzip2 block
 *   (≤ 900 kB of input data) is yielded as soon as it is decoded: memory stays bounded by a block,
 *   not a package.
 *
 * Multistream files (what pbzip2 / lbzip2 write: several complete bzip2 streams concatenated) are
 * decoded stream after stream, checking each stream's CRC. A file that ends before the final
 * end-of-stream marker is reported as truncated (seek-bzip's own `decode` would stop silently
 * when the input runs out between two blocks). Bytes after a complete stream that do not start
 * another one are ignored, as bzip2(1) does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InstallError, UnsafeArchiveError } from '../../errors.js';

interface ByteInput {
  readByte(): number;
  read(buf: Uint8Array, off: number, len: number): number;
  eof(): boolean;
}
interface ByteOutput {
  writeByte(b: number): void;
}
interface BunzipInstance {
  _init_block(): boolean;
  _read_bunzip(): number;
  _start_bunzip(input: ByteInput, output: ByteOutput): void;
  reader: { read(bits: number): number };
  streamCRC: number;
}
type BunzipCtor = new (input: ByteInput, output: ByteOutput) => BunzipInstance;

const Bunzip = createRequire(import.meta.url)('seek-bzip') as BunzipCtor;

class TruncatedError extends Error {}

class FileByteInput implements ByteInput {
  private readonly buf = Buffer.allocUnsafe(64 * 1024);
  private len = 0;
  private pos = 0;
  private fileEof = false;
  constructor(private readonly fd: number) {}

  private fill(): boolean {
    if (this.fileEof) return false;
    this.len = readSync(this.fd, this.buf, 0, this.buf.length, null);
    this.pos = 0;
    if (this.len === 0) this.fileEof = true;
    return this.len > 0;
  }
  readByte(): number {
    if (this.pos >= this.len && !this.fill()) throw new TruncatedError('unexpected end of bzip2 data');
    return this.buf[this.pos++]!;
  }
  read(out: Uint8Array, off: number, n: number): number {
    let got = 0;
    while (got < n) {
      if (this.pos >= this.len && !this.fill()) return got === 0 ? -1 : got;
      out[off + got++] = this.buf[this.pos++]!;
    }
    return got;
  }
  eof(): boolean {
    return this.pos >= this.len && !this.fill();
  }
  /** Peek whether the next bytes start a new bzip2 stream ("BZh"). */
  startsStream(): boolean {
    if (this.len - this.pos < 3) {
      // Slide the remaining bytes to the front and top up.
      const rest = this.buf.subarray(this.pos, this.len);
      rest.copy(this.buf, 0);
      this.len = rest.length;
      this.pos = 0;
      while (!this.fileEof && this.len < 3) {
        const n = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, null);
        if (n === 0) this.fileEof = true;
        this.len += n;
      }
    }
    return this.len - this.pos >= 3 && this.buf[this.pos] === 0x42 && this.buf[this.pos + 1] === 0x5a && this.buf[this.pos + 2] === 0x68;
  }
}

class BlockOutput implements ByteOutput {
  buf = Buffer.allocUnsafe(1 << 20);
  pos = 0;
  writeByte(b: number): void {
    if (this.pos >= this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    this.buf[this.pos++] = b;
  }
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

export type Bzip2Backend = 'cli' | 'js';

function bzip2Error(what: string, e: unknown): UnsafeArchiveError {
  return new UnsafeArchiveError(
    e instanceof TruncatedError
      ? `${what}: truncated bzip2 data (the file ends before the end-of-stream marker); delete it and download it again`
      : `${what}: corrupt bzip2 data (${e instanceof Error ? e.message : String(e)}); delete it and download it again`,
    { cause: e },
  );
}

let cliProbe: Promise<boolean> | undefined;

/** Whether the `bzip2` program can be used (probed once; CONDA_GO_LOCK_BZIP2=js disables it). */
export function bzip2CliAvailable(): Promise<boolean> {
  if (process.env.CONDA_GO_LOCK_BZIP2 === 'js') return Promise.resolve(false);
  cliProbe ??= new Promise<boolean>((resolve) => {
    try {
      const child = spawn('bzip2', ['--help'], { stdio: 'ignore', windowsHide: true });
      child.on('error', () => resolve(false));
      child.on('close', (code) => resolve(code === 0));
    } catch {
      resolve(false);
    }
  });
  return cliProbe;
}

/**
 * Decompress a (possibly multistream) .bz2 file. `backend` defaults to the `bzip2` program when it
 * is available, seek-bzip otherwise.
 */
export async function* bzip2DecompressFile(
  path: string,
  what: string = path,
  opts: { backend?: Bzip2Backend } = {},
): AsyncGenerator<Buffer> {
  const backend = opts.backend ?? ((await bzip2CliAvailable()) ? 'cli' : 'js');
  if (backend === 'cli') yield* bzip2DecompressCli(path, what);
  else yield* bzip2DecompressJs(path, what);
}

/** `bzip2 -dc < path`, streamed; a non-zero exit becomes the same errors as the JS decoder's. */
async function* bzip2DecompressCli(path: string, what: string): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  let child: ChildProcess;
  try {
    // The same verdict as seek-bzip on a file that does not even start like bzip2 (bzip2(1)
    // calls a short one "truncated").
    const magic = Buffer.alloc(4);
    const n = readSync(fd, magic, 0, 4, 0);
    if (n < 4 || magic.toString('latin1', 0, 3) !== 'BZh' || magic[3]! < 0x31 || magic[3]! > 0x39) {
      throw bzip2Error(what, new Error('Not bzip data: bad magic'));
    }
    child = spawn('bzip2', ['-dc'], { stdio: [fd, 'pipe', 'pipe'], windowsHide: true });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  const stdout = child.stdout!;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let spawnError: Error | undefined;
  const closed = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      spawnError = e;
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });
  let finished = false;
  try {
    for await (const chunk of stdout) yield chunk as Buffer;
    const code = await closed;
    finished = true;
    if (spawnError) {
      throw new InstallError(`${what}: cannot run bzip2: ${spawnError.message}`, { code: 'E_EXTRACT_IO', cause: spawnError });
    }
    if (code !== 0) {
      const detail = stderr.split('\n').map((l) => l.replace(/^bzip2:\s*/, '').trim()).find((l) => l !== '') ?? `bzip2 exited with ${code}`;
      throw bzip2Error(what, /ends unexpectedly/.test(stderr) ? new TruncatedError(detail) : new Error(detail));
    }
  } finally {
    if (!finished) {
      // The consumer stopped early (or the stream failed): do not leave bzip2 running.
      stdout.destroy();
      child.kill();
      await closed;
    }
  }
}

/** seek-bzip: one buffer per bzip2 block. */
async function* bzip2DecompressJs(path: string, what: string): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  const corrupt = (e: unknown) => bzip2Error(what, e);
  try {
    const input = new FileByteInput(fd);
    const output = new BlockOutput();
    let bz: BunzipInstance;
    try {
      bz = new Bunzip(input, output);
    } catch (e) {
      throw corrupt(e);
    }
    for (;;) {
      let block: Buffer | null = null;
      let streamDone = false;
      try {
        if (bz._init_block()) {
          bz._read_bunzip();
          block = output.take();
        } else {
          const expected = bz.reader.read(32) >>> 0;
          if (expected !== bz.streamCRC >>> 0) {
            throw new Error(`bad stream CRC (got ${(bz.streamCRC >>> 0).toString(16)}, expected ${expected.toString(16)})`);
          }
          streamDone = true;
        }
      } catch (e) {
        throw corrupt(e);
      }
      if (block !== null) {
        if (block.length > 0) yield block;
        continue;
      }
      if (streamDone) {
        // Another concatenated stream follows? Anything else after a complete stream is ignored,
        // like bzip2(1) and Python's bz2 module do with trailing garbage.
        if (input.startsStream()) {
          try {
            bz._start_bunzip(input, output);
          } catch (e) {
            throw corrupt(e);
          }
          continue;
        }
        return;
      }
    }
  } finally {
    closeSync(fd);
  }
}
