/** yauzl helpers: open a zip, list its members with names checked by US, open member streams. */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Entry, ZipFile } from 'yauzl';
import type * as yauzlModule from 'yauzl';
import { CondaGoLockError, UnsafeArchiveError } from '../../errors.js';
import { checkEntryName } from './safe-writer.js';

/*
 * yauzl is CommonJS. Imported from ESM, Node first scans its source for the names it exports
 * (cjs-module-lexer), and on each extraction worker that scan got hot enough to be optimized: ~70 ms
 * of compiling per thread during a cold install. `require` needs no scan.
 */
const yauzl = createRequire(import.meta.url)('yauzl') as typeof yauzlModule;

export interface ZipMember {
  /** Decoded name exactly as stored (forward slashes; checked by checkEntryName). */
  name: string;
  isDirectory: boolean;
  entry: Entry;
}

/** Stored members at least this big are read directly (openStored); smaller ones take few of yauzl's 16 KiB reads anyway. */
const STORED_DIRECT_MIN = 256 * 1024;
/** The pieces a stored member is read in. */
const PIECE = 1 << 20;
const readAt = promisify(read);

export class ZipReader {
  private constructor(
    readonly archive: string,
    private readonly zip: ZipFile,
  ) {}

  static async open(archive: string): Promise<ZipReader> {
    try {
      // decodeStrings: false — we decode and validate names ourselves, so a traversal name is OUR
      // UnsafeArchiveError naming the member, not a generic yauzl error.
      const zip = await yauzl.openPromise(archive, {
        lazyEntries: true,
        autoClose: false,
        decodeStrings: false,
        validateEntrySizes: true,
        strictFileNames: true,
      });
      return new ZipReader(archive, zip);
    } catch (e) {
      throw wrapZipError(archive, e);
    }
  }

  /** All members, in central-directory order, after the name checks. */
  async members(): Promise<ZipMember[]> {
    const out: ZipMember[] = [];
    try {
      for await (const entry of this.zip.eachEntry()) {
        const raw = entry.fileName as unknown as Buffer;
        const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, true);
        const isDirectory = name.endsWith('/');
        checkEntryName(this.archive, name, 'zip member');
        out.push({ name, isDirectory, entry });
      }
    } catch (e) {
      throw wrapZipError(this.archive, e);
    }
    return out;
  }

  async open(member: ZipMember): Promise<AsyncIterable<Uint8Array>> {
    if (member.entry.isEncrypted()) {
      throw new UnsafeArchiveError(`${this.archive}: zip member "${member.name}" is encrypted; cannot extract it`);
    }
    try {
      if (member.entry.compressionMethod === 0 && member.entry.compressedSize >= STORED_DIRECT_MIN) return await this.openStored(member);
      const stream: Readable = await this.zip.openReadStreamPromise(member.entry);
      return stream;
    } catch (e) {
      throw wrapZipError(this.archive, e);
    }
  }

  /**
   * A stored (uncompressed) member read straight from the file in 1 MiB pieces: a .conda's
   * pkg-*.tar.zst is stored, and yauzl's reader takes it 16 KiB at a time (one thread-pool
   * round trip each, thousands per package). The local header's bounds are checked by yauzl. The
   * bytes come from the file yauzl opened (its descriptor, held for the read like yauzl's own
   * streams hold it), not from whatever the path names now; a file that ends early is an error, as
   * yauzl's size validation would make it.
   */
  private async openStored(member: ZipMember): Promise<AsyncIterable<Uint8Array>> {
    const reader = (this.zip as unknown as { reader?: { fd?: unknown; ref?: () => void; unref?: () => void } }).reader;
    const fd = reader?.fd;
    if (typeof fd !== 'number' || typeof reader?.ref !== 'function' || typeof reader.unref !== 'function') {
      return await this.zip.openReadStreamPromise(member.entry);
    }
    const { fileDataStart } = await this.zip.readLocalFileHeaderPromise(member.entry, { minimal: true });
    const size = member.entry.compressedSize;
    const archive = this.archive;
    const name = member.name;
    async function* pieces(): AsyncGenerator<Uint8Array> {
      let got = 0;
      reader!.ref!();
      try {
        // fs.read on the descriptor, not a ReadStream over it: a stream destroyed early (an error
        // in the tar, a full disk, an interrupt) closes its descriptor even with autoClose: false,
        // and yauzl's close() then closed that number a second time, by then maybe another file's.
        while (got < size) {
          const want = Math.min(PIECE, size - got);
          const { bytesRead, buffer } = await readAt(fd as number, Buffer.allocUnsafe(want), 0, want, fileDataStart + got);
          if (bytesRead === 0) break;
          got += bytesRead;
          yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
        }
      } catch (e) {
        throw wrapZipError(archive, e);
      } finally {
        reader!.unref!();
      }
      if (got !== size) {
        throw new UnsafeArchiveError(`${archive}: zip member "${name}" is truncated (${got} of its ${size} bytes); delete the file and download it again`);
      }
    }
    return pieces();
  }

  /** Read a small member whole (metadata.json, a symlink target). */
  async readSmall(member: ZipMember, limit: number): Promise<Buffer> {
    if (member.entry.uncompressedSize > limit) {
      throw new UnsafeArchiveError(
        `${this.archive}: zip member "${member.name}" is ${member.entry.uncompressedSize} bytes, more than the ${limit} expected`,
      );
    }
    const chunks: Buffer[] = [];
    try {
      for await (const c of await this.open(member)) chunks.push(c as Buffer);
    } catch (e) {
      throw wrapZipError(this.archive, e);
    }
    return Buffer.concat(chunks);
  }

  close(): void {
    this.zip.close();
  }
}

export function wrapZipError(archive: string, e: unknown): Error {
  if (e instanceof CondaGoLockError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return e as Error; // fs error (ENOENT, EACCES…)
  return new UnsafeArchiveError(
    `${archive}: corrupt or truncated zip data (${e instanceof Error ? e.message : String(e)}); delete the file and download it again`,
    { cause: e },
  );
}
