/**
 * Streaming bzip2 decompression of a file with seek-bzip.
 *
 * seek-bzip decodes synchronously from a byte-reader; we give it one backed by `fs.readSync` over a
 * 64 KiB window, and drive its block decoder ourselves so each bzip2 block (≤ 900 kB of input
 * data) is yielded as soon as it is decoded: memory stays bounded by a block, not a package.
 *
 * Multistream files (what pbzip2 / lbzip2 write: several complete bzip2 streams concatenated) are
 * decoded stream after stream, checking each stream's CRC. A file that ends before the final
 * end-of-stream marker is reported as truncated (seek-bzip's own `decode` would stop silently
 * when the input runs out between two blocks).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UnsafeArchiveError } from '../../errors.js';

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

/** Decompress a (possibly multistream) .bz2 file, yielding one buffer per bzip2 block. */
export async function* bzip2DecompressFile(path: string, what: string = path): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  const corrupt = (e: unknown) =>
    new UnsafeArchiveError(
      e instanceof TruncatedError
        ? `${what}: truncated bzip2 data (the file ends before the end-of-stream marker); delete it and download it again`
        : `${what}: corrupt bzip2 data (${e instanceof Error ? e.message : String(e)}); delete it and download it again`,
      { cause: e },
    );
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
