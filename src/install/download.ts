/**
 * Content-addressed package cache: download, verify, extract.
 *
 *   <cacheDir>/pkgs/<sha256>/<fn>          verified archives (reused after re-verification)
 *   <cacheDir>/extracted/<sha256>/          extracted packages (reused as they are)
 *   <cacheDir>/go/<sha256>/<filename>       verified Go toolchain archives
 *
 * Order of checks on a fresh download: size first, then sha256 (md5 only where no sha256 is pinned),
 * all BEFORE anything is extracted. A mismatch deletes the cache entry and throws IntegrityError
 * naming the package, the URL and expected/actual values.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IntegrityError, InstallError } from '../errors.js';
import { redactUrl } from '../net/redact.js';

/** What we need from src/net/http.ts `HttpClient` (structural, so tests can pass their own). */
export interface Downloader {
  download(
    url: string,
    destFile: string,
    opts?: { expectedSize?: number; onProgress?: (received: number, total: number | undefined) => void },
  ): Promise<{ size: number; sha256: string; md5: string }>;
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

export async function hashFile(file: string): Promise<{ size: number; sha256: string; md5: string }> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    const b = chunk as Buffer;
    sha.update(b);
    md5.update(b);
    size += b.length;
  }
  return { size, sha256: sha.digest('hex'), md5: md5.digest('hex') };
}

/** Check size, then sha256 (or md5 when there is no sha256). Returns a problem description or undefined. */
export function integrityProblem(
  a: PinnedArtifact,
  got: { size: number; sha256: string; md5: string },
): { field: 'size' | 'sha256' | 'md5'; expected: string; actual: string } | undefined {
  if (a.size !== undefined && a.size !== got.size) return { field: 'size', expected: String(a.size), actual: String(got.size) };
  if (a.sha256) {
    if (a.sha256.toLowerCase() !== got.sha256) return { field: 'sha256', expected: a.sha256.toLowerCase(), actual: got.sha256 };
    return undefined;
  }
  if (a.md5 && a.md5.toLowerCase() !== got.md5) return { field: 'md5', expected: a.md5.toLowerCase(), actual: got.md5 };
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
  kind: 'pkgs' | 'go' = 'pkgs',
  onProgress?: (received: number, total: number | undefined) => void,
): Promise<FetchResult> {
  const dir = join(cacheDir, kind, cacheKey(a));
  const file = join(dir, safeFileName(a.fn, a.label));
  if (await exists(file)) {
    if (!integrityProblem(a, await hashFile(file))) return { path: file, cached: true };
    await rm(file, { force: true });
  }
  await mkdir(dir, { recursive: true });
  const part = `${file}.part-${randomBytes(4).toString('hex')}`;
  let got: { size: number; sha256: string; md5: string };
  try {
    // Size and hashes are checked here, not by the client, so the error names the package.
    got = await http.download(a.url, part, { onProgress });
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  const problem = integrityProblem(a, got);
  if (problem) {
    await rm(part, { force: true });
    await rm(dir, { recursive: true, force: true });
    throw new IntegrityError(
      `${a.label}: ${problem.field} mismatch for ${redactForMessage(a.url)}: expected ${problem.expected}, got ${problem.actual}. ` +
        `The download was discarded; check the lockfile or the channel`,
    );
  }
  await rename(part, file);
  return { path: file, cached: false };
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
): Promise<{ path: string; cached: boolean }> {
  const dest = join(cacheDir, 'extracted', key);
  if (await exists(join(dest, 'info'))) return { path: dest, cached: true };
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await extract(archivePath, tmp);
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
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { path: dest, cached: false };
}
