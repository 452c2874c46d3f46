/**
 * Feed a tar byte stream into a SafeWriter. tar-reader.ts only parses the format; every decision
 * about what may be written where is the SafeWriter's.
 */
import { CondaGoLockError, InstallError, UnsafeArchiveError } from '../../errors.js';
import type { SafeWriter } from './safe-writer.js';
import { readTar, type TarHeader } from './tar-reader.js';

export interface TarOptions {
  /** Name of the tar data in messages, e.g. "pkg-zlib-1.2.11.tar.zst in zlib-1.2.11.conda". */
  what: string;
  /**
   * A leading directory every entry must sit in, stripped before writing (go's archives: "go").
   * Entries outside it are refused.
   */
  strip?: string;
}

function stripPrefix(name: string, strip: string | undefined, what: string, kind: string): string | null {
  if (strip === undefined) return name;
  const trimmed = name.replace(/^(\.\/)+/, '');
  if (trimmed === strip || trimmed === `${strip}/`) return null; // the top directory itself
  if (!trimmed.startsWith(`${strip}/`)) {
    throw new UnsafeArchiveError(
      `${what}: ${kind} "${name}" is not inside the top-level "${strip}/" directory; this is not a Go toolchain archive`,
    );
  }
  return trimmed.slice(strip.length + 1);
}

function isFsError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** Extract every entry of the tar byte stream `source` through `writer`. */
export async function extractTarStream(source: AsyncIterable<Uint8Array>, writer: SafeWriter, opts: TarOptions): Promise<void> {
  let current: string | undefined;
  try {
    // An empty tar is legitimate: metapackages ship a pkg-*.tar.zst with no entries.
    for await (const entry of readTar(source, { wholeUpTo: SMALL_FILE })) {
      current = entry.header.name;
      await handleEntry(entry.header, entry.body, writer, opts);
    }
  } catch (err) {
    // (a decompression error is the decompressor's own CondaGoLockError)
    if (err instanceof CondaGoLockError) throw err;
    if (isFsError(err)) {
      throw new InstallError(
        `${opts.what}: cannot write${current === undefined ? '' : ` entry "${current}"`}: ${(err as Error).message}`,
        { code: 'E_EXTRACT_IO', cause: err },
      );
    }
    throw new UnsafeArchiveError(
      `${opts.what}: corrupt or truncated tar data (${err instanceof Error ? err.message : String(err)}); delete the file and download it again`,
      { cause: err },
    );
  }
}

/** Files up to this size come from the reader whole and are written in one call. */
const SMALL_FILE = 1 << 20;

async function handleEntry(header: TarHeader, body: Buffer | AsyncIterable<Buffer>, writer: SafeWriter, opts: TarOptions): Promise<void> {
  const name = stripPrefix(header.name, opts.strip, opts.what, 'entry');
  if (name === null) return;
  const meta = { mode: header.mode, mtime: header.mtime };
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      await writer.file(name, body, meta);
      return;
    case 'directory':
      await writer.directory(name, header.mode);
      return;
    case 'symlink':
      await writer.symlink(name, header.linkname, meta);
      return;
    case 'link': {
      const target = stripPrefix(header.linkname, opts.strip, opts.what, `hard link target of "${header.name}"`);
      if (target === null) writer.refuse(name, 'hard link to a directory');
      await writer.hardlink(name, target);
      return;
    }
    default:
      writer.refuse(name, header.type);
  }
}
