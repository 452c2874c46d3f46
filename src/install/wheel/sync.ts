/**
 * `syncWheels`: make a prefix hold exactly the locked wheels of a platform.
 *
 * 1. Every wheel is downloaded through the same verified path as conda packages
 *    (`fetchVerified`: size then sha256 checked before anything is unpacked, content-addressed
 *    cache under `<cacheDir>/wheels/<sha256>/`). A mismatch fails here, before the prefix is touched.
 * 2. Wheels we installed earlier (INSTALLER `conda-go-lock`) that are not locked any more, or are
 *    locked with another version or file, are removed by their RECORD (`removeUnlockedWheels`).
 * 3. The missing ones are installed (`installLockedWheels`), sorted by name. When one fails, the
 *    ones this call installed are removed again.
 * 4. `conda-meta/conda-go-lock-pypi` records which wheel file each project came from (name,
 *    version, filename, url, sha256, dist-info), for `verify` and the next sync.
 */
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InstallError } from '../../errors.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import type { LockedPypiPackage } from '../../lockfile/model.js';
import { createLimit } from '../../net/limit.js';
import type { ProgressReporter } from '../../net/progress.js';
import { fetchVerified, type Downloader } from '../download.js';
import type { EntryPointWriter } from './entry-points.js';
import { canonicalName as normalizeName, parseRequirement } from '../../pypi/index.js';
import { installWheel, type DirectUrl, type InstalledWheel } from './install.js';
import type { WheelTarget } from './layout.js';
import { rollBackWheelMove } from './move-intent.js';
import { listInstalledWheels, uninstallWheel } from './uninstall.js';

/** What install needs of a lockfile `pypi` entry (LockedPypiPackage, structurally). */
export type WheelPin = Pick<LockedPypiPackage, 'name' | 'version' | 'filename' | 'url' | 'sha256' | 'size'> &
  Partial<Pick<LockedPypiPackage, 'requested_by'>>;

/** Our record of installed wheels. Not `*.json`: conda reads every conda-meta/*.json as a package. */
export const WHEEL_STATE_FILE = 'conda-go-lock-pypi';

export interface WheelStateEntry {
  name: string;
  version: string;
  filename: string;
  url: string;
  sha256: string;
  dist_info: string;
  requested: boolean;
}

export async function readWheelState(prefix: string): Promise<WheelStateEntry[]> {
  let text: string;
  try {
    text = await readFile(join(prefix, 'conda-meta', WHEEL_STATE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
  try {
    const j = JSON.parse(text) as { wheels?: WheelStateEntry[] };
    if (!Array.isArray(j.wheels)) throw new Error('no "wheels" list');
    return j.wheels;
  } catch (e) {
    throw new InstallError(`${join(prefix, 'conda-meta', WHEEL_STATE_FILE)} is not valid (${(e as Error).message}); remove the prefix and install again`, {
      cause: e,
    });
  }
}

export async function writeWheelState(prefix: string, wheels: readonly WheelStateEntry[]): Promise<void> {
  const dir = join(prefix, 'conda-meta');
  await mkdir(dir, { recursive: true });
  const sorted = [...wheels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const file = join(dir, WHEEL_STATE_FILE);
  await writeFileAtomic(file, JSON.stringify({ tool: 'conda-go-lock', state_version: 1, wheels: sorted }, null, 2) + '\n');
}

/** Whether the user's `pip:` requirements name this project (REQUESTED), and its PEP 610 record. */
export function requestInfo(pin: WheelPin, requirements: readonly string[]): { requested: boolean; directUrl?: DirectUrl } {
  const mine = requirements.flatMap((r) => {
    try {
      const req = parseRequirement(r);
      return req.key === normalizeName(pin.name) ? [req] : [];
    } catch {
      return []; // the lock side reported it; not a reason to fail an install
    }
  });
  const url = mine.find((r) => r.url !== undefined)?.url;
  return {
    requested: mine.length > 0,
    directUrl: url ? { url: pin.url, archive_info: { hashes: { sha256: pin.sha256.toLowerCase() }, hash: `sha256=${pin.sha256.toLowerCase()}` } } : undefined,
  };
}

export interface SyncWheelsOptions {
  pins: readonly WheelPin[];
  http: Downloader;
  cacheDir: string;
  /** Where files are written now: the prefix or its staging directory. */
  destDir: string;
  target: WheelTarget;
  /** The lockfile's `metadata.pypi.requirements` (REQUESTED and direct_url.json come from them). */
  requirements?: readonly string[];
  concurrency?: number;
  progress?: ProgressReporter;
  entryPointWriter?: EntryPointWriter;
  /** The URL to download a pin from (credentials put back), default its `url`. */
  downloadUrl?: (pin: WheelPin) => string;
  /** A download error with a hint (an HTTP 401/403 from a private index), default unchanged. */
  explainDenied?: (err: unknown, pin: WheelPin) => unknown;
}

export interface SyncWheelsResult {
  installed: InstalledWheel[];
  /** `name-version` of wheels removed by their RECORD. */
  removed: string[];
  downloaded: number;
  reused: number;
}

/** The identity of a wheel pin / state entry: normalised name, version, sha256. */
export const wheelKey = (p: { name: string; version: string; sha256: string }) => `${normalizeName(p.name)} ${p.version} ${p.sha256.toLowerCase()}`;
const key = wheelKey;

/** Download (verified) every pin; returns the cache paths in pin order. Nothing in the prefix is touched. */
export async function fetchWheels(opts: Pick<SyncWheelsOptions, 'pins' | 'http' | 'cacheDir' | 'concurrency' | 'progress' | 'downloadUrl' | 'explainDenied'>) {
  const limit = createLimit(opts.concurrency ?? 4);
  let downloaded = 0;
  let reused = 0;
  const settled = await Promise.allSettled(
    opts.pins.map((pin) =>
      limit(async () => {
        const task = opts.progress?.task(pin.filename, pin.size);
        try {
          const got = await fetchVerified(
            opts.http,
            { label: `${pin.name} ${pin.version} (${pin.filename})`, url: opts.downloadUrl?.(pin) ?? pin.url, fn: pin.filename, sha256: pin.sha256, size: pin.size },
            opts.cacheDir,
            'wheels',
            (n) => task?.update(n),
          );
          if (got.cached) reused++;
          else downloaded++;
          return got.path;
        } catch (err) {
          throw opts.explainDenied ? opts.explainDenied(err, pin) : err;
        } finally {
          task?.done();
        }
      }),
    ),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { paths: settled.map((r) => (r as PromiseFulfilledResult<string>).value), downloaded, reused };
}

function checkPins(pins: readonly WheelPin[]): WheelPin[] {
  const seen = new Map<string, WheelPin>();
  for (const p of pins) {
    const n = normalizeName(p.name);
    const prev = seen.get(n);
    if (prev) throw new InstallError(`the lockfile lists the PyPI project ${n} twice (${prev.filename} and ${p.filename}); re-lock`);
    seen.set(n, p);
  }
  return [...pins].sort((a, b) => (normalizeName(a.name) < normalizeName(b.name) ? -1 : 1));
}

/**
 * Phase 1 of a sync: remove, by their RECORD, the wheels we installed that are not locked (or are
 * locked with another version or file). Wheels are found through our state file (wherever their
 * dist-info is, so a python X.Y change still finds the old ones) and by INSTALLER in the target's
 * site-packages. Run it BEFORE conda packages are linked: a conda package may now ship a path a
 * removed wheel owned. Returns the state entries kept and the `name-version`s removed.
 */
export async function removeUnlockedWheels(
  destDir: string,
  target: WheelTarget,
  pins: readonly WheelPin[],
): Promise<{ kept: WheelStateEntry[]; removed: string[] }> {
  const want = new Set(checkPins(pins).map(key));
  const state = await readWheelState(destDir);
  const present = new Map<string, { name: string; version: string }>();
  for (const s of state) {
    if (await readFile(join(destDir, ...s.dist_info.split('/'), 'RECORD')).then(() => true, () => false)) present.set(s.dist_info, s);
  }
  for (const w of await listInstalledWheels(destDir, target)) if (!present.has(w.distInfo)) present.set(w.distInfo, w);
  const stateByDistInfo = new Map(state.map((s) => [s.dist_info, s]));
  const kept: WheelStateEntry[] = [];
  const removed: string[] = [];
  for (const [distInfo, w] of present) {
    const s = stateByDistInfo.get(distInfo);
    if (s && want.has(key(s)) && !kept.some((k) => k.name === s.name)) {
      kept.push(s);
      continue;
    }
    await uninstallWheel(destDir, distInfo, target);
    removed.push(`${normalizeName(w.name)}-${w.version}`);
  }
  if (removed.length > 0 || kept.length !== state.length) await writeWheelState(destDir, kept);
  return { kept, removed };
}

/**
 * Phase 2: install the locked wheels that are not there yet (after the conda packages, which
 * provide python and its site-packages). On a refusal the wheels this call installed are removed
 * again. Writes the state file.
 */
export async function installLockedWheels(opts: SyncWheelsOptions & { kept?: WheelStateEntry[] }): Promise<SyncWheelsResult> {
  const pins = checkPins(opts.pins);
  const fetched = await fetchWheels({ ...opts, pins });
  const requirements = opts.requirements ?? [];
  const kept = opts.kept ?? (await readWheelState(opts.destDir));
  const keepKeys = new Set(kept.map(key));
  const installed: InstalledWheel[] = [];
  const entries: WheelStateEntry[] = [...kept];
  try {
    for (let i = 0; i < pins.length; i++) {
      const pin = pins[i]!;
      if (keepKeys.has(key(pin))) continue;
      const info = requestInfo(pin, requirements);
      const got = await installWheel({
        wheel: fetched.paths[i]!,
        filename: pin.filename,
        destDir: opts.destDir,
        target: opts.target,
        requested: info.requested,
        directUrl: info.directUrl,
        entryPointWriter: opts.entryPointWriter,
      });
      installed.push(got);
      if (got.name !== normalizeName(pin.name)) {
        throw new InstallError(`${pin.filename} installs the project ${got.name}, but the lockfile pins it as ${pin.name}; re-lock`, { code: 'E_WHEEL_INVALID' });
      }
      entries.push({
        name: got.name,
        version: pin.version,
        filename: pin.filename,
        url: pin.url,
        sha256: pin.sha256.toLowerCase(),
        dist_info: got.distInfo,
        requested: info.requested,
      });
    }
  } catch (e) {
    // Take back what this call installed, including the directories it created (bin/, site-packages/ ...).
    for (const w of installed.reverse()) {
      await uninstallWheel(opts.destDir, w.distInfo, opts.target).catch(() => {});
      for (const d of [...w.createdDirs].reverse()) await rmdir(join(opts.destDir, ...d.split('/'))).catch(() => {});
    }
    throw e;
  }
  if (installed.length > 0 || opts.kept !== undefined) await writeWheelState(opts.destDir, entries);
  return { installed, removed: [], downloaded: fetched.downloaded, reused: fetched.reused };
}

/** Both phases: the prefix ends up with exactly the locked wheels. */
export async function syncWheels(opts: SyncWheelsOptions): Promise<SyncWheelsResult> {
  // A wheel killed while moving in is taken back first (install.ts does the same before its phases).
  await rollBackWheelMove(opts.destDir);
  const { kept, removed } = await removeUnlockedWheels(opts.destDir, opts.target, opts.pins);
  const res = await installLockedWheels({ ...opts, kept });
  return { ...res, removed };
}

/** Whether the prefix's recorded wheels are exactly these pins (and each dist-info is still there). */
export async function wheelsUpToDate(prefix: string, pins: readonly WheelPin[]): Promise<boolean> {
  const state = await readWheelState(prefix).catch(() => undefined);
  if (!state) return false;
  const want = pins.map(key).sort();
  const have = state.map((s) => key(s)).sort();
  if (want.length !== have.length || want.some((w, i) => w !== have[i])) return false;
  for (const s of state) {
    if (!(await readFile(join(prefix, ...s.dist_info.split('/'), 'RECORD')).then(() => true, () => false))) return false;
  }
  return true;
}

/**
 * `install --repair`: unpack these locked wheels (verified archives) again into `destDir`, a
 * transaction stage laid out like the prefix; the state file is not touched (the wheels stay the
 * same). Returns the prefix-relative paths written.
 */
export async function restageWheels(
  items: ReadonlyArray<{ pin: WheelPin; wheel: string }>,
  destDir: string,
  target: WheelTarget,
  requirements: readonly string[],
): Promise<string[]> {
  const paths: string[] = [];
  for (const { pin, wheel } of items) {
    const info = requestInfo(pin, requirements);
    const got = await installWheel({ wheel, filename: pin.filename, destDir, target, requested: info.requested, directUrl: info.directUrl });
    paths.push(...got.files.map((f) => f.path));
  }
  return paths;
}
