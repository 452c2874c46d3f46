/**
 * File-name checks made before anything is linked, for file systems other than Linux's:
 *
 * - Case: on Windows and on default (case-insensitive) macOS file systems, `Foo.h` and `foo.h` are
 *   one file; two package files whose paths differ only in case would silently overwrite each other.
 *   For osx-* / win-* platforms, and for any platform when the prefix's file system is
 *   case-insensitive, such a pair is an error (E_CASE_COLLISION) naming both packages. The same path
 *   in the same case is a clobber, handled by linking as before.
 * - Length: Windows programs that do not opt into long paths cannot open paths of 260 characters or
 *   more (MAX_PATH). Node itself writes them (libuv uses the `\\?\` form on Windows), so for win-*
 *   platforms the paths that will be at least that long in the prefix are reported as one warning.
 */
import { lstat, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InstallError } from '../errors.js';

export interface OwnedPath {
  dist: string;
  /** Relative to the prefix, forward slashes, as installed. */
  path: string;
}

/** Whether `platform` installs onto a case-insensitive file system by default. */
export function caseInsensitivePlatform(platform: string): boolean {
  return platform.startsWith('osx-') || platform.startsWith('win-');
}

/** Whether the (existing) directory `dir` is on a case-insensitive file system: a probe file is looked up in upper case. */
export async function caseInsensitiveDir(dir: string): Promise<boolean> {
  const name = `.cgl-case-probe-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const probe = join(dir, name);
  try {
    await writeFile(probe, '');
  } catch {
    return false;
  }
  try {
    return (await lstat(join(dir, name.toUpperCase())).catch(() => undefined)) !== undefined;
  } finally {
    await rm(probe, { force: true });
  }
}

/** The first two paths that differ only in case (in input order), or undefined. */
export function findCaseCollision(paths: Iterable<OwnedPath>): [OwnedPath, OwnedPath] | undefined {
  const seen = new Map<string, OwnedPath>();
  for (const p of paths) {
    const key = p.path.toLowerCase();
    const prev = seen.get(key);
    if (prev === undefined) seen.set(key, p);
    else if (prev.path !== p.path) return [prev, p];
  }
  return undefined;
}

/** Throw E_CASE_COLLISION for the first pair that differs only in case. */
export function assertNoCaseCollision(paths: Iterable<OwnedPath>, where: string): void {
  const hit = findCaseCollision(paths);
  if (!hit) return;
  const [a, b] = hit;
  const who = a.dist === b.dist ? `both in ${a.dist}` : `${a.dist} and ${b.dist}`;
  throw new InstallError(
    `${JSON.stringify(a.path)} and ${JSON.stringify(b.path)} differ only in case (${who}); on ${where} they are the same file. Nothing was installed`,
    { code: 'E_CASE_COLLISION' },
  );
}

/** Windows' MAX_PATH: a full path must be shorter than this for programs without long-path support. */
export const WINDOWS_MAX_PATH = 260;

/** Paths whose full length under `prefix` reaches MAX_PATH (longest first). */
export function longWindowsPaths(prefix: string, paths: Iterable<OwnedPath>): Array<OwnedPath & { length: number }> {
  const base = prefix.replace(/[\\/]+$/, '').length + 1;
  const out: Array<OwnedPath & { length: number }> = [];
  for (const p of paths) if (base + p.path.length >= WINDOWS_MAX_PATH) out.push({ ...p, length: base + p.path.length });
  return out.sort((a, b) => b.length - a.length);
}

export function longPathWarning(long: ReadonlyArray<OwnedPath & { length: number }>): string {
  const first = long[0]!;
  return (
    `${long.length} path(s) will be ${WINDOWS_MAX_PATH} characters or longer in this win-64 prefix, e.g. ${first.dist}: ${first.path} (${first.length}); ` +
    `Windows programs without long-path support cannot open them: use a shorter prefix, or enable long paths on the Windows host ` +
    `(HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem LongPathsEnabled = 1)`
  );
}
