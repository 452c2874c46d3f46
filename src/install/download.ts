/**
 * Content-addressed package cache: download, verify, extract.
 *
 *   <cacheDir>/pkgs/<sha256>/<fn>          verified archives (reused after re-verification)
 *   <cacheDir>/extracted/<sha256>/          extracted packages (reused as they are)
 *   <cacheDir>/go/<sha256>/<filename>       verified Go toolchain archives
 *   <cacheDir>/wheels/<sha256>/<filename>   verified PyPI wheels (installed straight from the zip)
 *
 * Order of checks on a fresh download: size first, then sha256 (md5 only where no sha256 is pinned),
 * all BEFORE anything is extracted. A mismatch deletes the cache entry and throws IntegrityError
 * naming the package, the URL and expected/actual values.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { IntegrityError, InstallError, noteDiskFullPath } from '../errors.js';
import { exitSignal, onExitCleanup, settledWithin } from '../cleanup.js';
import { withAtomicFile } from '../fs/atomic.js';
import { writeModes } from './extract-modes.js';
import { redactUrl } from '../net/redact.js';
import { hashFile } from './extract/hash.js';

/** What we need from src/net/http.ts `HttpClient` (structural, so tests can pass their own). */
export interface Downloader {
  download(
    url: string,
    destFile: string,
    opts?: { expectedSize?: number; md5?: boolean; onProgress?: (received: number, total: number | undefined) => void },
  ): Promise<{ size: number; sha256: string; md5?: string }>;
}

/** What a pinned artifact promises. */
export interface PinnedArtifact {
  /** For messages: dist name or `go1.22.5 linux/amd64`. */
  label: string;
  url: string;
  /** File name in the cache. */
  fn: string;
  sha256?: string;
  md5?: string;
  size?: number;
}

/** URLs in messages never show credentials (tokens, user:password, secret query parameters). */
const redactForMessage = redactUrl;

/** Check size, then sha256 (or md5 when there is no sha256). Returns a problem description or undefined. */
export function integrityProblem(
  a: PinnedArtifact,
  got: { size: number; sha256: string; md5?: string },
): { field: 'size' | 'sha256' | 'md5'; expected: string; actual: string } | undefined {
  if (a.size !== undefined && a.size !== got.size) return { field: 'size', expected: String(a.size), actual: String(got.size) };
  if (a.sha256) {
    if (a.sha256.toLowerCase() !== got.sha256) return { field: 'sha256', expected: a.sha256.toLowerCase(), actual: got.sha256 };
    return undefined;
  }
  if (a.md5 && a.md5.toLowerCase() !== got.md5) return { field: 'md5', expected: a.md5.toLowerCase(), actual: got.md5 ?? '(not computed)' };
  return undefined;
}

/** Directory key in the cache: the sha256, or `md5-<md5>` for md5-only pins. */
export function cacheKey(a: PinnedArtifact): string {
  if (a.sha256) return a.sha256.toLowerCase();
  if (a.md5) return `md5-${a.md5.toLowerCase()}`;
  throw new InstallError(`${a.label}: no sha256 or md5 pinned for ${redactForMessage(a.url)}; the lockfile is incomplete`);
}

function safeFileName(fn: string, label: string): string {
  if (!fn || fn.includes('/') || fn.includes('\\') || fn === '.' || fn === '..') {
    throw new InstallError(`${label}: invalid archive file name ${JSON.stringify(fn)}`);
  }
  return fn;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Temporary files of a download or extraction that was killed are never renamed into place:
 * `<fn>.part-<pid>@<host>-<rand>` next to the archive (and the HTTP client's
 * `.<fn>.part-<pid>@<host>-<rand>.<hex>.part` inside it), `<key>.tmp-<pid>@<host>-<rand>` and the
 * extractor's `.<key>.tmp-<pid>@<host>-<rand>.extracting-<rand>` in `extracted/`. The next fetch or
 * extraction in the same directory removes those whose process (on this host) is gone, and any
 * older than STALE_TEMP_MS (another host's, or a pid that was reused).
 */
export const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
// The HTTP client (src/net/http.ts) streams into its own temp inside that one: `.<fn>.part-<pid>@<host>-<hex>.<hex>.part`.
const TEMP_NAME = /\.(?:part|tmp)-(\d+)@([A-Za-z0-9._-]+)-[0-9a-f]{8}(?:\.extracting-[A-Za-z0-9]+|\.[0-9a-f]+\.part)?$/;

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete the leftovers of killed downloads/extractions among the entries of `dir`; returns their names. */
export async function removeStaleTemps(dir: string, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (!m) continue;
    const p = join(dir, n);
    const st = await stat(p).catch(() => undefined);
    if (!st) continue;
    const dead = m[2] === HOST && !pidAlive(Number(m[1]));
    if (dead || now - st.mtimeMs > STALE_TEMP_MS) {
      await rm(p, { recursive: true, force: true });
      removed.push(n);
    }
  }
  return removed;
}

const tempSuffix = () => `${process.pid}@${HOST}-${randomBytes(4).toString('hex')}`;

export interface FetchResult {
  path: string;
  /** true when the archive came from the cache (re-verified), false when downloaded. */
  cached: boolean;
}

/**
 * Make sure `<cacheDir>/<kind>/<key>/<fn>` holds the pinned bytes and return its path.
 * A cached file that no longer verifies is deleted and downloaded again.
 */
export async function fetchVerified(
  http: Downloader,
  a: PinnedArtifact,
  cacheDir: string,
  kind: 'pkgs' | 'go' | 'wheels' = 'pkgs',
  onProgress?: (received: number, total: number | undefined) => void,
): Promise<FetchResult> {
  const dir = join(cacheDir, kind, cacheKey(a));
  const file = join(dir, safeFileName(a.fn, a.label));
  if (await exists(file)) {
    // md5 only where it is the pin (integrityProblem reads it only without a sha256)
    if (!integrityProblem(a, await hashFile(file, { md5: !a.sha256 }))) return { path: file, cached: true };
    await rm(file, { force: true });
  }
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  let mismatch: IntegrityError | undefined;
  try {
    // Named `<fn>.part-<pid>@<host>-<rand>` so removeStaleTemps knows a killed run's leftover.
    // Not fsynced: a cached archive is re-hashed before every use.
    await withAtomicFile(
      file,
      async (part) => {
        // Size and hashes are checked here, not by the client, so the error names the package.
        const got = await http.download(a.url, part, { onProgress, md5: !a.sha256 });
        const problem = integrityProblem(a, got);
        if (problem) {
          throw (mismatch = new IntegrityError(
            `${a.label}: ${problem.field} mismatch for ${redactForMessage(a.url)}: expected ${problem.expected}, got ${problem.actual}. ` +
              `The download was discarded; check the lockfile or the channel`,
          ));
        }
      },
      { tempPath: `${file}.part-${tempSuffix()}`, durable: false },
    );
  } catch (err) {
    if (err === mismatch) await rm(dir, { recursive: true, force: true });
    throw noteDiskFullPath(err, dir);
  }
  return { path: file, cached: false };
}

/** Whether `<cacheDir>/extracted/<key>/` holds a (complete: renamed into place whole) extraction. */
export function hasCachedExtraction(key: string, cacheDir: string): Promise<boolean> {
  return exists(join(cacheDir, 'extracted', key, 'info'));
}

/** Extractor signature (src/install/extract: `extractPackage(archivePath, destDir)`). */
export type Extractor = (archivePath: string, destDir: string) => Promise<unknown>;

/**
 * Extract a verified archive into `<cacheDir>/extracted/<key>/`, reusing an existing extraction.
 * Extraction goes to a temporary sibling first and is renamed into place, so a present directory
 * is always complete.
 */
export async function extractCached(
  extract: Extractor,
  archivePath: string,
  key: string,
  cacheDir: string,
): Promise<{ path: string; cached: boolean; digests?: ReadonlyMap<string, string>; sizes?: ReadonlyMap<string, number> }> {
  const dest = join(cacheDir, 'extracted', key);
  if (await hasCachedExtraction(key, cacheDir)) return { path: dest, cached: true };
  await mkdir(dirname(dest), { recursive: true });
  await removeStaleTemps(dirname(dest));
  const tmp = `${dest}.tmp-${tempSuffix()}`;
  let extracting: Promise<unknown> | undefined;
  // Interrupted (SIGINT/SIGTERM) or crashed meanwhile: the half-extracted tree goes (src/cleanup.ts),
  // once the extraction has stopped (a worker's is stopped by the pool's own exit cleanup; one on
  // this thread gets EXIT_SETTLE_MS), with the extractor's staging sibling `.<tmp>.extracting-*`.
  const removeTemps = async () => {
    await rm(tmp, { recursive: true, force: true });
    const stagingPrefix = `.${basename(tmp)}.extracting-`;
    for (const n of await readdir(dirname(tmp)).catch(() => [] as string[])) {
      if (n.startsWith(stagingPrefix)) await rm(join(dirname(tmp), n), { recursive: true, force: true });
    }
  };
  const forget = onExitCleanup(async () => {
    if (extracting) await settledWithin(extracting);
    await removeTemps();
  });
  let digests: ReadonlyMap<string, string> | undefined;
  let sizes: ReadonlyMap<string, number> | undefined;
  try {
    const r = await (extracting = extract(archivePath, tmp));
    // Interrupted meanwhile: the exit cleanup is removing tmp; do not move it into place.
    if (exitSignal.aborted) throw new InstallError(`extracting ${archivePath} was interrupted`, { code: 'E_EXTRACT_IO' });
    // sha256s of the files as written (src/install/extract), so the linker need not read them back
    const d = (r as { digests?: unknown } | undefined)?.digests;
    if (d instanceof Map) digests = d as ReadonlyMap<string, string>;
    const z = (r as { sizes?: unknown } | undefined)?.sizes;
    if (z instanceof Map) sizes = z as ReadonlyMap<string, number>;
    // The archive's modes, for `install --repair` (a chmod through a hard link changes the cache too):
    // as the extractor wrote them when it says, else read back from the tree.
    const m = (r as { modes?: unknown } | undefined)?.modes;
    if (await exists(join(tmp, 'info'))) await writeModes(tmp, m instanceof Map ? (m as ReadonlyMap<string, number>) : undefined);
    await rm(dest, { recursive: true, force: true });
    try {
      await rename(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Someone else finished the same extraction first: use theirs.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(join(dest, 'info')))) {
        await rm(tmp, { recursive: true, force: true });
        return { path: dest, cached: true };
      }
      throw err;
    }
  } catch (err) {
    // (with the extractor's own staging sibling, which a worker that died mid-way leaves)
    await removeTemps();
    throw noteDiskFullPath(err, tmp);
  } finally {
    forget();
  }
  return digests ? { path: dest, cached: false, digests, ...(sizes ? { sizes } : {}) } : { path: dest, cached: false };
}
