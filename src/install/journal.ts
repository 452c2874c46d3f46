/**
 * The incremental prefix transaction: apply the difference between what a prefix holds and what it
 * should hold, keeping every file no managed unit owns (files added by hand, pip-installed packages,
 * `gopath/`, `__pycache__`), and survive a `kill -9` at any point.
 *
 * A *managed unit* is anything the installer put in the prefix with a list of the paths it owns: a
 * conda package (its conda-meta record's `files`), the Go toolchain (`go/` + activation scripts), and
 * whatever later plugs in (wheels). The transaction only ever deletes paths owned by units that are
 * removed or replaced, and never one a kept unit or a new unit also owns.
 *
 * Phases:
 * 1. **Prepare** (the prefix is not touched): new units' files are written below
 *    `conda-meta/.cgl-transaction/stage/` (laid out like the prefix, on the same filesystem), their
 *    conda-meta records and the new history/state below `.../meta/`. A kill here leaves the prefix as it
 *    was; the next run deletes the directory (roll back).
 * 2. **Commit**: `conda-meta/.cgl-transaction.json` (the journal) is written to a temporary file and
 *    renamed into place. From then on the transaction is rolled forward by whoever runs next.
 * 3. **Apply** (idempotent, so it can be repeated after a kill): unlink the paths only removed units
 *    owned; rename every staged path over its place in the prefix (atomic per file); swap `go/` when its
 *    pin changed; replace the conda-meta records, history and state; prune directories the removed
 *    files left empty; delete the stage and, last, the journal.
 */
import { chmod, lstat, mkdir, readdir, readFile, realpath, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { escapeControl } from '../escape.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { InstallError, UnsafeArchiveError } from '../errors.js';
import { testKillPoint } from './test-hooks.js';
import { isInside } from '../fs/inside.js';

export const TXN_DIR = '.cgl-transaction';
export const JOURNAL_FILE = '.cgl-transaction.json';

/** Something the installer placed in the prefix, with the prefix-relative paths it owns. */
export interface ManagedUnit {
  /** `conda:<name>-<version>-<build>`, `go`, `pypi:<name>-<version>`, ... (for messages). */
  id: string;
  /** Files and symlinks it owns (forward slashes, relative to the prefix). Directories are not listed. */
  paths: readonly string[];
  /** Whole directory trees it owns (the Go toolchain's `go`). */
  trees?: readonly string[];
  /** conda-meta files (names in conda-meta/) that describe it. */
  metaFiles?: readonly string[];
}

/** The journal: everything needed to finish the transaction after a kill. */
export interface Journal {
  journal_version: 1;
  /** Prefix-relative paths to unlink (owned only by removed units). */
  remove: string[];
  /** Prefix-relative directory trees to delete (read-only files allowed). */
  remove_trees: string[];
  /** Prefix-relative paths staged under stage/ that are renamed into the prefix (files and symlinks). */
  move: string[];
  /** Staged directory trees (`go`) that replace the prefix's tree of the same name. */
  move_trees: string[];
  /** conda-meta file names to delete. */
  meta_remove: string[];
  /** conda-meta file names staged under meta/ that are renamed into conda-meta/. */
  meta_add: string[];
}

/** `prefix/conda-meta/.cgl-transaction` */
export function txnDir(prefix: string): string {
  return join(prefix, 'conda-meta', TXN_DIR);
}

function journalPath(prefix: string): string {
  return join(prefix, 'conda-meta', JOURNAL_FILE);
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException)?.code ?? '');
}

/**
 * `rm -rf` that also removes read-only trees (Go's module cache makes its directories 0555, so their
 * entries cannot be unlinked): on EACCES/EPERM every directory below is made writable and it is tried again.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (err) {
    if (!isErrno(err, 'EACCES', 'EPERM', 'ENOTEMPTY')) throw err;
  }
  await makeWritable(path);
  await rm(path, { recursive: true, force: true });
}

async function makeWritable(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  await chmod(path, (st.mode & 0o7777) | 0o700).catch(() => {});
  let names: string[] = [];
  try {
    names = await readdir(path);
  } catch {
    return;
  }
  for (const n of names) await makeWritable(join(path, n));
}


export interface PreparedTransaction {
  prefix: string;
  /** Where new files are written, laid out like the prefix. */
  stage: string;
  /** Where new conda-meta files are written (names as in conda-meta/): `<metaRoot>/conda-meta`. */
  meta: string;
  /** A directory standing for the prefix when writing conda-meta files (`writePrefixRecord(metaRoot, ...)`). */
  metaRoot: string;
}

/** Start a transaction: a fresh, empty stage + meta directory inside the prefix's conda-meta/. */
export async function beginTransaction(prefix: string): Promise<PreparedTransaction> {
  const dir = txnDir(prefix);
  await removeTree(dir);
  const stage = join(dir, 'stage');
  const meta = join(dir, 'meta', 'conda-meta');
  await mkdir(stage, { recursive: true });
  await mkdir(meta, { recursive: true });
  return { prefix, stage, meta, metaRoot: join(dir, 'meta') };
}

/** Every file and symlink below `root` (relative, forward slashes), not descending into `skipTrees`. */
export async function listStaged(root: string, skipTrees: ReadonlySet<string> = new Set()): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let names: string[];
    try {
      names = await readdir(rel ? join(root, rel) : root);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    for (const n of names.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (skipTrees.has(r)) continue;
      const st = await lstat(join(root, r));
      if (st.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out;
}

/** Write the journal (the commit point). */
export async function commitTransaction(prefix: string, journal: Journal): Promise<void> {
  await writeFileAtomic(journalPath(prefix), JSON.stringify(journal, null, 1) + '\n');
  testKillPoint('committed');
}

export async function readJournal(prefix: string): Promise<Journal | undefined> {
  let text: string;
  try {
    text = await readFile(journalPath(prefix), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
  try {
    const j = JSON.parse(text) as Journal;
    if (j?.journal_version === 1 && Array.isArray(j.remove) && Array.isArray(j.move)) return j;
  } catch {
    // fall through
  }
  throw new InstallError(
    `${journalPath(prefix)} (the journal of an interrupted install) cannot be read; remove the prefix and install again`,
    { code: 'E_JOURNAL' },
  );
}

/** Throw unless `rel` is a plain relative path (defence: journal entries come from a file). */
function checkRel(rel: string): void {
  if (!rel || rel.startsWith('/') || /^[A-Za-z]:/.test(rel) || rel.split(/[\\/]/).some((s) => s === '..' || s === '') || rel.includes('\0')) {
    throw new UnsafeArchiveError(`transaction path ${escapeControl(JSON.stringify(rel))} is not inside the prefix`);
  }
}

/**
 * Make the parents of `rel` exist in the prefix and make sure none of them is a symbolic link leading
 * out of it (a package or a user may have made `lib -> /etc`): nothing is ever moved through one.
 */
async function parentInside(prefix: string, rootReal: string, rel: string, checked: Set<string>): Promise<void> {
  const parent = posix.dirname(rel);
  if (parent === '.' || checked.has(parent)) return;
  await mkdir(join(prefix, parent), { recursive: true });
  const real = await realpath(join(prefix, parent));
  if (!isInside(real, rootReal)) {
    throw new UnsafeArchiveError(`refusing to install ${escapeControl(rel)}: ${escapeControl(parent)} is a symbolic link leading outside the prefix`);
  }
  checked.add(parent);
}

/**
 * Roll the journaled transaction forward to the end. Every step checks what is already done, so a
 * run killed anywhere in here is finished by calling this again.
 */
export async function applyTransaction(prefix: string, journal: Journal): Promise<void> {
  const dir = txnDir(prefix);
  const stage = join(dir, 'stage');
  const meta = join(dir, 'meta', 'conda-meta');
  const condaMeta = join(prefix, 'conda-meta');
  const rootReal = await realpath(prefix);
  let n = 0;

  for (const rel of journal.remove) {
    checkRel(rel);
    // Gone already, or replaced meanwhile by a directory of someone's (kept).
    await unlink(join(prefix, rel)).catch((err) => {
      if (!isErrno(err, 'ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM')) throw err;
    });
    testKillPoint('remove', ++n);
  }
  for (const rel of journal.remove_trees) {
    checkRel(rel);
    await removeTree(join(prefix, rel));
  }
  // Directories the removed files leave empty go too (never one that still holds anything), before the
  // moves: a new package may put a file where an old one had a directory.
  const dirs = new Set<string>();
  for (const rel of journal.remove) for (let d = posix.dirname(rel); d !== '.'; d = posix.dirname(d)) dirs.add(d);
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    await rmdir(join(prefix, d)).catch(() => {});
  }

  const checked = new Set<string>();
  n = 0;
  for (const rel of journal.move) {
    checkRel(rel);
    const src = join(stage, rel);
    if (!(await lstat(src).catch(() => undefined))) continue; // moved by an earlier run
    await parentInside(prefix, rootReal, rel, checked);
    const dest = join(prefix, rel);
    const st = await lstat(dest).catch(() => undefined);
    // A directory there that holds nothing but empty directories (checked before the commit:
    // pathConflicts in install.ts) goes; one that holds a file is refused, on every run alike.
    if (st?.isDirectory() && !(await removeEmptyDirs(dest))) {
      throw new InstallError(`cannot install ${escapeControl(rel)}: ${escapeControl(dest)} is a directory; move it away and run install again`);
    }
    await rename(src, dest);
    testKillPoint('move', ++n);
  }
  for (const rel of journal.move_trees) {
    checkRel(rel);
    const src = join(stage, rel);
    if (!(await lstat(src).catch(() => undefined))) continue;
    const old = join(dir, `old-${rel.replace(/\//g, '_')}`);
    // The old tree goes aside first (atomic), so the prefix never holds half of each.
    if (await lstat(join(prefix, rel)).catch(() => undefined)) {
      await removeTree(old);
      await rename(join(prefix, rel), old);
    }
    await parentInside(prefix, rootReal, rel, checked);
    await rename(src, join(prefix, rel));
    testKillPoint('move-tree');
  }

  const added = new Set(journal.meta_add);
  for (const name of journal.meta_remove) {
    if (added.has(name)) continue; // replaced by the rename below
    await unlink(join(condaMeta, name)).catch((err) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
  }
  for (const name of journal.meta_add) {
    const src = join(meta, name);
    if (!(await lstat(src).catch(() => undefined))) continue;
    await rename(src, join(condaMeta, name));
  }
  testKillPoint('meta');
  await removeTree(dir);
  await unlink(journalPath(prefix)).catch((err) => {
    if (!isErrno(err, 'ENOENT')) throw err;
  });
}

/**
 * Finish or undo what an interrupted run left in the prefix: a committed journal is rolled forward; a
 * stage without a journal (killed while preparing) is deleted. Returns what was done, for a warning.
 */
export async function recoverTransaction(prefix: string): Promise<string | undefined> {
  const journal = await readJournal(prefix);
  if (journal) {
    await applyTransaction(prefix, journal);
    return `finished the interrupted update of ${prefix} (from ${join('conda-meta', JOURNAL_FILE)})`;
  }
  const dir = txnDir(prefix);
  if (await lstat(dir).catch(() => undefined)) {
    await removeTree(dir);
    return `rolled back an update of ${prefix} that was interrupted before it changed anything`;
  }
  return undefined;
}

/** Remove `dir` if it holds only (nested) empty directories; false (nothing removed below a file) otherwise. */
async function removeEmptyDirs(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return false;
  for (const e of entries) {
    if (!e.isDirectory() || !(await removeEmptyDirs(join(dir, e.name)))) return false;
  }
  return rmdir(dir).then(
    () => true,
    () => false,
  );
}
