/**
 * Replacing a file atomically: write a temp file in the same directory, optionally fsync it, rename
 * it over the target, optionally fsync the directory. A reader sees the old file or the new one,
 * never a part; on failure the temp file is removed and the target is untouched.
 *
 * Used by everyone that writes a file others read (lockfile, rendered files, cache entries,
 * downloads). Why not write-file-atomic: it takes the whole contents as one buffer (our downloads
 * stream to disk), chooses the temp name itself (install/download.ts names its temps
 * `<fn>.part-<pid>@<host>-<rand>` so a later run can remove a killed run's leftovers), and does not
 * fsync the directory after the rename.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { onExitCleanup, settledWithin } from '../cleanup.js';

export interface AtomicOptions {
  /**
   * fsync the file before the rename and its directory after it, so the new contents survive a
   * power loss (default true). Caches whose entries are verified when read pass false.
   */
  durable?: boolean;
  /** File mode of the new file (default 0o644, less the umask). */
  mode?: number;
  /** Temp file path (same directory as the target); default `.<name>.<pid>.<random>.tmp`. */
  tempPath?: string;
}

/** The default temp path for `file`: a hidden sibling no other writer picks. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Write `data` to `file` atomically. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicOptions = {}): Promise<void> {
  await withAtomicFile(
    file,
    async (tmp) => {
      const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
      try {
        await fh.writeFile(data);
        if (opts.durable !== false) await fh.sync();
        // `open`'s mode is filtered by the umask; an explicit mode (kept from the old file) is not.
        if (opts.mode !== undefined) await fh.chmod(opts.mode);
      } finally {
        await fh.close();
      }
    },
    { ...opts, synced: true },
  );
}

/**
 * Let `write` fill a temp file (it must create it), then rename it over `file`. Whatever `write`
 * throws (a failed download, a hash mismatch) removes the temp file and is rethrown; a crash in
 * between removes it too (src/cleanup.ts).
 */
export async function withAtomicFile<T>(
  file: string,
  write: (tmp: string) => Promise<T>,
  opts: AtomicOptions & { /** `write` already fsynced the temp file. */ synced?: boolean } = {},
): Promise<T> {
  const tmp = opts.tempPath ?? tempPathFor(file);
  const durable = opts.durable !== false;
  let result: T;
  let body: Promise<unknown> | undefined;
  const forget = onExitCleanup(async () => {
    // The writer may be creating the temp (an open or a rename in flight) as the exit starts: let it
    // settle first (downloads are aborted on exit, src/net/http.ts, so theirs settle at once).
    if (body) await settledWithin(body);
    await unlink(tmp).catch(() => undefined);
  });
  try {
    body = (async () => {
      const r = await write(tmp);
      if (durable && !opts.synced) await syncFile(tmp);
      await rename(tmp, file);
      return r;
    })();
    result = (await body) as T;
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    forget();
  }
  if (durable) await syncDir(dirname(file));
  return result;
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Make a rename durable (POSIX); directories cannot be opened for sync on Windows. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Best effort: some filesystems refuse fsync on directories.
  }
}
