/**
 * Installed wheels in a prefix: find them, check them, remove them — all by their RECORD.
 *
 * A wheel is ours when its `.dist-info/INSTALLER` says `conda-go-lock`; dist-info directories of
 * conda packages (INSTALLER `conda`, or none) are never touched here.
 *
 * RECORD paths are relative to site-packages (`../../../bin/x` for a script). A row that resolves
 * outside the prefix (a tampered RECORD) is never followed: `uninstallWheel` refuses before
 * removing anything, `verifyWheel` reports it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, realpath, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { InstallError } from '../../errors.js';
import { canonicalName as normalizeName } from '../../pypi/index.js';
import { INSTALLER_NAME, readDistInfoFile } from './install.js';
import { wheelLayout, type WheelTarget } from './layout.js';
import { header, parseHeaders } from './metadata.js';
import { parseRecord, recordDigestHex, splitRecordHash } from './record.js';
import { isInside } from '../../fs/inside.js';

export interface InstalledDistInfo {
  /** PEP 503-normalised. */
  name: string;
  version: string;
  /** Relative to the prefix. */
  distInfo: string;
  installer: string;
}

/** The `.dist-info` directories in the prefix's site-packages whose INSTALLER is conda-go-lock. */
export async function listInstalledWheels(prefix: string, target: WheelTarget): Promise<InstalledDistInfo[]> {
  return listInstalledWheelsIn(prefix, wheelLayout(target).sitePackages);
}

/** The same, for a site-packages directory given relative to the prefix. */
export async function listInstalledWheelsIn(prefix: string, sp: string): Promise<InstalledDistInfo[]> {
  let names: string[];
  try {
    names = await readdir(join(prefix, ...sp.split('/')));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
  const out: InstalledDistInfo[] = [];
  for (const n of names.sort()) {
    if (!n.endsWith('.dist-info')) continue;
    const distInfo = `${sp}/${n}`;
    const installer = (await readDistInfoFile(prefix, distInfo, 'INSTALLER'))?.trim();
    if (installer !== INSTALLER_NAME) continue;
    const meta = parseHeaders((await readDistInfoFile(prefix, distInfo, 'METADATA')) ?? '');
    const stem = n.slice(0, -'.dist-info'.length);
    const name = normalizeName(header(meta, 'Name') ?? stem.split('-')[0]!);
    const version = header(meta, 'Version') ?? stem.split('-').slice(1).join('-');
    out.push({ name, version, distInfo, installer });
  }
  return out;
}

export interface RecordedFile {
  /** Relative to the prefix, forward slashes; undefined when the row leaves the prefix. */
  path?: string;
  /** As written in RECORD. */
  recorded: string;
  algorithm?: string;
  /** Hex digest. */
  digest?: string;
}

/** The rows of an installed RECORD, resolved against the prefix. Throws when RECORD is missing. */
export async function readInstalledRecord(prefix: string, distInfo: string): Promise<RecordedFile[]> {
  const text = await readDistInfoFile(prefix, distInfo, 'RECORD');
  if (text === undefined) {
    throw new InstallError(`${join(prefix, distInfo)} has no RECORD; cannot tell which files belong to it`, { code: 'E_WHEEL_RECORD' });
  }
  const sitePackages = posix.dirname(distInfo);
  return parseRecord(text).map((row) => {
    const h = splitRecordHash(row.hash);
    const base: RecordedFile = { recorded: row.path, algorithm: h?.algorithm, digest: h ? recordDigestHex(h.digest) : undefined };
    const raw = row.path.replace(/\\/g, '/');
    if (raw === '' || raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.includes('\0')) return base;
    const p = posix.normalize(posix.join(sitePackages, raw));
    if (p === '.' || p === '..' || p.startsWith('../')) return base;
    return { ...base, path: p };
  });
}

/** Whether `rel`'s parent directory really is inside the prefix (no symlink out of it). */
async function parentInside(prefix: string, rootReal: string, rel: string): Promise<boolean> {
  const parent = dirname(join(prefix, ...rel.split('/')));
  const real = await realpath(parent).catch(() => undefined);
  return real === undefined || isInside(real, rootReal);
}

export interface UninstallResult {
  removed: string[];
  /** Recorded files that were already gone. */
  missing: string[];
  removedDirs: string[];
}

/**
 * Remove exactly the files RECORD lists (plus the `__pycache__/*.pyc` python wrote for its `.py`
 * files), then the directories that became empty, up to (not including) site-packages, the
 * scripts directory and the prefix itself.
 */
export async function uninstallWheel(prefix: string, distInfo: string, target: WheelTarget): Promise<UninstallResult> {
  const rows = await readInstalledRecord(prefix, distInfo);
  const outside = rows.find((r) => r.path === undefined);
  if (outside) {
    throw new InstallError(
      `${join(prefix, distInfo)}/RECORD lists "${outside.recorded}", which is outside the prefix; refusing to remove anything for it ` +
        `(the RECORD was modified; remove the prefix and install again)`,
      { code: 'E_WHEEL_RECORD' },
    );
  }
  const rootReal = await realpath(prefix);
  for (const r of rows) {
    if (!(await parentInside(prefix, rootReal, r.path!))) {
      throw new InstallError(
        `${join(prefix, distInfo)}/RECORD lists "${r.recorded}", whose directory is a symbolic link out of the prefix; refusing to remove anything for it`,
        { code: 'E_WHEEL_RECORD' },
      );
    }
  }
  const result: UninstallResult = { removed: [], missing: [], removedDirs: [] };
  const dirs = new Set<string>();
  const removeFile = async (rel: string): Promise<boolean> => {
    try {
      await unlink(join(prefix, ...rel.split('/')));
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw new InstallError(`cannot remove ${join(prefix, rel)}: ${(e as Error).message}`, { code: 'E_INSTALL', cause: e });
    }
  };
  for (const r of rows) {
    const rel = r.path!;
    if (await removeFile(rel)) result.removed.push(rel);
    else result.missing.push(rel);
    dirs.add(posix.dirname(rel));
    if (rel.endsWith('.py')) {
      const dir = posix.dirname(rel);
      const stem = posix.basename(rel, '.py');
      const cache = `${dir}/__pycache__`;
      const names = await readdir(join(prefix, ...cache.split('/'))).catch(() => [] as string[]);
      for (const n of names) {
        if (n.startsWith(`${stem}.`) && (n.endsWith('.pyc') || n.endsWith('.pyo'))) {
          if (await removeFile(`${cache}/${n}`)) result.removed.push(`${cache}/${n}`);
        }
      }
      if (names.length > 0) dirs.add(cache);
    }
  }
  dirs.add(distInfo);
  // Empty directories, deepest first, never the roots.
  const layout = wheelLayout(target);
  const keep = new Set<string>(['', '.', layout.scripts]);
  for (let d = layout.sitePackages; d !== '.' && d !== ''; d = posix.dirname(d)) keep.add(d);
  const candidates = new Set<string>();
  for (const d of dirs) for (let x = d; !keep.has(x); x = posix.dirname(x)) candidates.add(x);
  for (const d of [...candidates].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1))) {
    const abs = join(prefix, ...d.split('/'));
    const st = await lstat(abs).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    try {
      await rmdir(abs);
      result.removedDirs.push(d);
    } catch {
      /* not empty: someone else's files are in it */
    }
  }
  return result;
}

export type WheelProblemKind = 'missing-file' | 'modified-file' | 'bad-record';

export interface WheelProblem {
  kind: WheelProblemKind;
  /** Relative to the prefix (or as recorded, for bad-record). */
  path: string;
  expected?: string;
  actual?: string;
}

async function digestOf(file: string, algorithm: string): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Check every hashed RECORD row of an installed wheel. */
export async function verifyWheel(prefix: string, distInfo: string): Promise<{ problems: WheelProblem[]; checkedFiles: number }> {
  const problems: WheelProblem[] = [];
  let checkedFiles = 0;
  let rows: RecordedFile[];
  try {
    rows = await readInstalledRecord(prefix, distInfo);
  } catch (e) {
    if (!(e instanceof InstallError)) throw e;
    return { problems: [{ kind: 'missing-file', path: `${distInfo}/RECORD` }], checkedFiles };
  }
  const rootReal = await realpath(prefix);
  for (const r of rows) {
    if (r.path === undefined) {
      problems.push({ kind: 'bad-record', path: r.recorded, expected: 'a path inside the prefix', actual: r.recorded });
      continue;
    }
    if (!(await parentInside(prefix, rootReal, r.path))) {
      problems.push({ kind: 'bad-record', path: r.path, expected: 'a path inside the prefix', actual: 'a symbolic link out of the prefix' });
      continue;
    }
    const abs = join(prefix, ...r.path.split('/'));
    const st = await lstat(abs).catch(() => undefined);
    if (!st) {
      problems.push({ kind: 'missing-file', path: r.path });
      continue;
    }
    if (!r.digest || !r.algorithm) continue; // RECORD itself, unhashed rows
    if (!st.isFile()) {
      problems.push({ kind: 'modified-file', path: r.path, expected: 'regular file', actual: st.isDirectory() ? 'directory' : 'symbolic link' });
      continue;
    }
    checkedFiles++;
    let actual: string;
    try {
      actual = await digestOf(abs, r.algorithm);
    } catch {
      problems.push({ kind: 'bad-record', path: r.path, expected: `a known hash algorithm`, actual: r.algorithm });
      continue;
    }
    if (actual !== r.digest) problems.push({ kind: 'modified-file', path: r.path, expected: `${r.algorithm}:${r.digest}`, actual: `${r.algorithm}:${actual}` });
  }
  return { problems, checkedFiles };
}

/** `relative` that always uses forward slashes (for messages). */
export function relPosix(from: string, to: string): string {
  return relative(from, to).split(sep).join('/');
}
