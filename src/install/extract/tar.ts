/**
 * Feed a tar byte stream through tar-stream into a SafeWriter. tar-stream only parses headers;
 * every decision about what may be written where is the SafeWriter's.
 *
 * tar-stream 3 is built on streamx, so we feed it by hand (write + drain) instead of Node's
 * `pipeline`, and read entries with its async iterator.
 */
import { extract as tarExtract, type Extract, type Header } from 'tar-stream';
import { CondaGoLockError, InstallError, UnsafeArchiveError } from '../../errors.js';
import type { SafeWriter } from './safe-writer.js';

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

function waitDrain(ex: Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      ex.off('drain', done);
      ex.off('close', done);
      resolve();
    };
    ex.on('drain', done);
    ex.on('close', done);
  });
}

function isFsError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** Extract every entry of the tar byte stream `source` through `writer`. */
export async function extractTarStream(source: AsyncIterable<Uint8Array>, writer: SafeWriter, opts: TarOptions): Promise<void> {
  const ex = tarExtract();
  let feedError: unknown;
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        if (ex.destroyed) return;
        if (!ex.write(chunk)) await waitDrain(ex);
      }
      if (!ex.destroyed) ex.end(undefined);
    } catch (e) {
      feedError = e;
      ex.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  })();
  let current: string | undefined;
  try {
    for await (const entry of ex) {
      current = entry.header.name;
      await handleEntry(entry.header, entry as unknown as EntryBody, writer, opts);
    }
    await feeding;
    if (feedError !== undefined) throw feedError;
    // An empty tar is legitimate: metapackages ship a pkg-*.tar.zst with no entries.
  } catch (e) {
    ex.destroy(null);
    await feeding;
    // Prefer the root cause: a decompression error surfaces in the tar parser as a destroy.
    const err = feedError ?? e;
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

/** Files up to this size are read whole and written in the background. */
const SMALL_FILE = 1 << 20;

type EntryBody = AsyncIterable<Uint8Array> & { resume(): unknown };

async function handleEntry(header: Header, body: EntryBody, writer: SafeWriter, opts: TarOptions): Promise<void> {
  const type: string = header.type ?? 'file';
  const name = stripPrefix(header.name, opts.strip, opts.what, 'entry');
  if (name === null) {
    body.resume();
    return;
  }
  switch (type) {
    case 'file':
    case 'contiguous-file':
      if (header.size <= SMALL_FILE) {
        // Buffer small files so the writer can write them in the background while we parse on.
        const chunks: Uint8Array[] = [];
        for await (const c of body) chunks.push(c);
        await writer.file(name, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), { mode: header.mode, mtime: header.mtime });
      } else {
        await writer.file(name, body, { mode: header.mode, mtime: header.mtime });
      }
      return;
    case 'directory':
      body.resume();
      await writer.directory(name, header.mode);
      return;
    case 'symlink':
      body.resume();
      await writer.symlink(name, header.linkname ?? '', { mode: header.mode, mtime: header.mtime });
      return;
    case 'link': {
      body.resume();
      const target = stripPrefix(header.linkname ?? '', opts.strip, opts.what, `hard link target of "${header.name}"`);
      if (target === null) writer.refuse(name, 'hard link to a directory');
      await writer.hardlink(name, target);
      return;
    }
    default:
      body.resume();
      writer.refuse(name, type);
  }
}
