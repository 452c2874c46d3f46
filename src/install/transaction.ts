/**
 * The prefix transaction: nothing is ever half-installed.
 *
 * - `<prefix>.cgl-lock` (created with O_EXCL, holds the pid) keeps two installs from touching the
 *   same prefix at once. A lock whose pid is no longer alive is stale and taken over.
 * - The new environment is built in `<prefix>.cgl-staging-<rand>` (a sibling, so the final rename
 *   stays on one filesystem), then swapped in: old prefix renamed aside, staging renamed to the
 *   prefix, old removed. If the swap fails the old prefix is put back.
 * - A directory that is not empty and has no conda-meta/ is never replaced: it is not an
 *   environment and may hold someone's files.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { exitSignal, onExitCleanup, settledWithin } from '../cleanup.js';
import { InstallError } from '../errors.js';
import { removeTree } from './journal.js';

export const E_PREFIX_LOCKED = 'E_PREFIX_LOCKED';
export const E_PREFIX_NOT_ENV = 'E_PREFIX_NOT_ENV';

export function lockFilePath(prefix: string): string {
  return `${prefix}.cgl-lock`;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface PrefixLock {
  path: string;
  release(): Promise<void>;
}

/** Lock files this process holds: a lock file naming our own pid that is not in here is stale. */
const heldLocks = new Set<string>();

/** Whether the pid in a lock file belongs to a live holder of `path`. */
function holderAlive(pid: number, path: string): boolean {
  // Our own pid in a lock we do not hold was left by an earlier process that had the same pid
  // (containers restart with the same small pids): it is stale, not "another process".
  if (pid === process.pid) return heldLocks.has(path);
  return pidAlive(pid);
}

async function readLockText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Remove the stale lock file at `path` whose content was `staleText`, unless it changed meanwhile.
 * Two processes that both saw the same stale lock must not both take it over (the second would
 * delete the lock the first just created), so removal happens under `<lock>.takeover`, created
 * with O_EXCL, after reading the lock again. Returns false when another process is taking over
 * right now (the caller looks again).
 */
async function removeStaleLock(path: string, staleText: string): Promise<boolean> {
  const guard = `${path}.takeover`;
  let fh;
  try {
    fh = await open(guard, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const gpid = Number.parseInt(((await readLockText(guard)) ?? '').trim(), 10);
    // A guard left by a process that died while taking over: remove it and look again.
    if (Number.isInteger(gpid) && gpid > 0 && !holderAlive(gpid, guard)) await unlink(guard).catch(() => {});
    return false;
  }
  heldLocks.add(guard);
  try {
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
    if (!heldLocks.has(path) && (await readLockText(path)) === staleText) await unlink(path).catch(() => {});
    return true;
  } finally {
    heldLocks.delete(guard);
    await unlink(guard).catch(() => {});
  }
}

/**
 * Create `path` holding our pid, atomically: the pid is written to a private file first and hard-linked
 * to `path` (link(2) fails when `path` exists), so no one ever reads an empty lock. Where hard links
 * are not supported, falls back to O_EXCL create + write. Returns false when `path` exists.
 */
async function createLockFile(path: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}-${rand()}`;
  await writeFile(tmp, `${process.pid}\n`);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code)) throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(`${process.pid}\n`);
  } finally {
    await fh.close();
  }
  return true;
}

/** Take the prefix lock or throw InstallError (code E_PREFIX_LOCKED) naming the holder. */
export async function acquirePrefixLock(prefix: string): Promise<PrefixLock> {
  const path = lockFilePath(prefix);
  await mkdir(dirname(path), { recursive: true });
  let emptySeen = false;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await createLockFile(path)) {
      heldLocks.add(path);
      let released = false;
      const release = async (byExitCleanup = false) => {
        // Exiting (a signal or a crash): the command's own finally does not release it early; the exit
        // cleanup does, after everything else it removes has settled.
        if (released || (exitSignal.aborted && !byExitCleanup)) return;
        released = true;
        forget();
        heldLocks.delete(path);
        await unlink(path).catch(() => {});
      };
      // A crash (src/cli/main.ts) releases the lock too.
      // Released after every other exit cleanup (partial files, stage) has settled.
      const forget = onExitCleanup(() => release(true), { last: true });
      return { path, release };
    }
    const text = await readLockText(path);
    if (text === undefined) continue; // released meanwhile: try again
    const pid = Number.parseInt(text.trim(), 10);
    if (text.trim() === '' && !emptySeen) {
      // The holder may be between open() and write(): look again shortly.
      emptySeen = true;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (holderAlive(pid, path)) {
      throw new InstallError(
        `${prefix} is being installed by another process (pid ${pid}, lock file ${path}); wait for it to finish, ` +
          `or delete the lock file if that process is not conda-go-lock`,
        { code: E_PREFIX_LOCKED },
      );
    }
    // Stale: the holder died. Remove it (unless someone else is doing so) and retry.
    if (!(await removeStaleLock(path, text))) await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
  }
  throw new InstallError(`could not take the prefix lock ${path}; delete it (and ${path}.takeover) if no install is running`, {
    code: E_PREFIX_LOCKED,
  });
}

export async function withPrefixLock<T>(prefix: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquirePrefixLock(prefix);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

export const E_PREFIX_FOREIGN = 'E_PREFIX_FOREIGN';
export const E_PREFIX_CONDA_BASE = 'E_PREFIX_CONDA_BASE';

/** What an existing prefix is: ours, or made by someone else. */
export type PrefixKind = 'absent' | 'empty' | 'environment' | 'adopted';

/**
 * Throw unless `prefix` is absent, empty, or an environment conda-go-lock made (conda-meta/ with our
 * state file). A directory with conda-meta/ that we did not make (a conda or micromamba environment,
 * a folder with an empty conda-meta/) is refused naming what was found, unless `adopt` is set, which
 * makes it 'adopted': its records are taken as installed packages. A conda base installation (envs/,
 * pkgs/, condabin/) is refused even then: other environments and conda itself live in it.
 */
export async function assertReplaceablePrefix(prefix: string, opts: { adopt?: boolean } = {}): Promise<PrefixKind> {
  let st;
  try {
    st = await stat(prefix);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  if (!st.isDirectory()) {
    throw new InstallError(`${prefix} exists and is not a directory; choose another prefix`, { code: E_PREFIX_NOT_ENV });
  }
  const entries = await readdir(prefix);
  if (entries.length === 0) return 'empty';
  if (!entries.includes('conda-meta')) {
    throw new InstallError(
      `${prefix} is a non-empty directory without conda-meta/; refusing to install into it (it is not an environment). ` +
        `Choose another prefix or empty it first`,
      { code: E_PREFIX_NOT_ENV },
    );
  }
  const meta = await readdir(join(prefix, 'conda-meta')).catch(() => [] as string[]);
  if (meta.includes('conda-go-lock') || meta.includes('conda-go-lock.json')) return 'environment';
  const records = meta.filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  const found: string[] = [];
  if (records.length > 0) {
    const shown = records.slice(0, 3).map((n) => n.replace(/\.json$/, ''));
    found.push(`${records.length} package record(s) in conda-meta/ (${shown.join(', ')}${records.length > 3 ? ', …' : ''})`);
  } else if (meta.length === 0) found.push('an empty conda-meta/');
  if (meta.includes('history')) found.push('conda-meta/history');
  const base = ['envs', 'pkgs', 'condabin'].filter((d) => entries.includes(d));
  for (const d of base) found.push(`${d}/`);
  if (base.length > 0) {
    throw new InstallError(
      `${prefix} is a conda installation (base environment): it has ${found.join(', ')}. conda-go-lock never installs into one, ` +
        `not even with --adopt (other environments and conda itself live there); choose another prefix`,
      { code: E_PREFIX_CONDA_BASE },
    );
  }
  if (opts.adopt) return 'adopted';
  throw new InstallError(
    `${prefix} is an environment conda-go-lock did not make: it has ${found.join(', ')} and no conda-meta/conda-go-lock. ` +
      `Refusing to change it; pass --adopt to take it over (its packages not in the lockfile are removed through their own file lists, ` +
      `files no package owns are kept), or choose another prefix`,
    { code: E_PREFIX_FOREIGN },
  );
}

function rand(): string {
  return randomBytes(4).toString('hex');
}

/** Create the staging directory next to the prefix. */
export async function createStaging(prefix: string): Promise<string> {
  const staging = `${prefix}.cgl-staging-${rand()}`;
  await mkdir(dirname(prefix), { recursive: true });
  await mkdir(staging);
  stagingCleanups.set(
    staging,
    onExitCleanup(async () => {
      // Whatever is still linking into it stops at its next turn (LoopTurns); remove the tree after.
      const writers = stagingWriters.get(staging);
      if (writers?.size) await settledWithin(Promise.allSettled([...writers]));
      await rm(staging, { recursive: true, force: true });
    }),
  );
  return staging;
}

/** What is writing into each staging directory now (noteStagingWriter). */
const stagingWriters = new Map<string, Set<Promise<unknown>>>();

/**
 * `writer` (a linking, a wheel installation) writes into `staging` until it settles: an interrupt's
 * cleanup waits for it (at most EXIT_SETTLE_MS) before removing the directory, so no file is created
 * in it after the tree was removed.
 */
export function noteStagingWriter(staging: string, writer: Promise<unknown>): void {
  const writers = stagingWriters.get(staging) ?? new Set<Promise<unknown>>();
  stagingWriters.set(staging, writers);
  writers.add(writer);
  const done = () => {
    writers.delete(writer);
  };
  writer.then(done, done);
}

/** Crash cleanups of the staging dirs this process created, until they are swapped in or removed. */
const stagingCleanups = new Map<string, () => void>();

function forgetStaging(staging: string): void {
  stagingCleanups.get(staging)?.();
  stagingCleanups.delete(staging);
  stagingWriters.delete(staging);
}

/**
 * Replace `prefix` with `staging` (both on the same filesystem). On failure the old prefix is
 * restored and the error rethrown; on success the old tree is deleted.
 */
export async function swapIntoPlace(staging: string, prefix: string): Promise<void> {
  let aside: string | undefined;
  try {
    await stat(prefix);
    aside = join(dirname(prefix), `${basename(prefix)}.cgl-old-${rand()}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Interrupted meanwhile: the staging directory is being removed (src/cleanup.ts); never move what is
  // left of it into place. Checked in the same tick as forgetStaging, so an interrupt from here on
  // leaves it alone (a staging directory left by a kill is removed by the next run, recoverInterrupted).
  if (exitSignal.aborted) throw new InstallError(`moving the new environment into ${prefix} was interrupted; nothing was changed`);
  forgetStaging(staging);
  if (aside) await rename(prefix, aside);
  try {
    await rename(staging, prefix);
  } catch (err) {
    if (aside) await rename(aside, prefix).catch(() => {});
    throw new InstallError(`could not move the new environment into ${prefix}: ${(err as Error).message}`, { cause: err });
  }
  if (aside) await removeTree(aside);
}

/**
 * Clean up after an install that was killed mid-way (call while holding the lock): staging dirs
 * are deleted; an old prefix left aside is restored when the prefix itself is missing (the kill
 * hit between the two renames of the swap), otherwise deleted. Returns what was done.
 */
export async function recoverInterrupted(prefix: string): Promise<string[]> {
  const dir = dirname(prefix);
  const base = basename(prefix);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const done: string[] = [];
  const olds = names.filter((n) => n.startsWith(`${base}.cgl-old-`)).sort();
  const stagings = names.filter((n) => n.startsWith(`${base}.cgl-staging-`)).sort();
  let prefixExists = true;
  try {
    await stat(prefix);
  } catch {
    prefixExists = false;
  }
  for (const n of olds) {
    if (!prefixExists) {
      await rename(join(dir, n), prefix);
      prefixExists = true;
      done.push(`restored ${prefix} from ${n}`);
    } else {
      await removeTree(join(dir, n));
      done.push(`removed ${n}`);
    }
  }
  for (const n of stagings) {
    await removeTree(join(dir, n));
    done.push(`removed ${n}`);
  }
  return done;
}

export async function removeStaging(staging: string): Promise<void> {
  await removeTree(staging);
  forgetStaging(staging);
}
