/**
 * `installLockfile`: replay one platform of a lockfile into a prefix, without conda.
 *
 * 1. Take the prefix lock; refuse a non-empty directory that is not an environment.
 * 2. No-op when the prefix already holds exactly the lockfile's set (conda-meta records + our state
 *    file, including the Go toolchain).
 * 3. Download every package (and the Go archive) in parallel into the content-addressed cache,
 *    verifying size then sha256 before anything is extracted; extract into the cache.
 * 4. A new prefix: link everything, in dependency order, into a staging sibling with the FINAL prefix
 *    path used for prefix replacement; write conda-meta; install the Go toolchain; rename into place.
 *    An existing environment: an incremental, journaled transaction (journal.ts) that unlinks only files
 *    owned by removed/changed packages, links the new ones and keeps everything no package owns.
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { lstat, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { MatchSpec } from '../conda/matchspec.js';
import { unsafeRecordField, type NoArchKind } from '../conda/record.js';
import { escapeControl } from '../escape.js';
import { diskFullError, InstallError, IntegrityError, LockfileError, UnsafeArchiveError, UsageError } from '../errors.js';
import type { LockedCondaPackage, LockedGoToolchain, Lockfile } from '../lockfile/model.js';
import type { ProgressReporter } from '../net/progress.js';
import { createLimit } from '../net/limit.js';
import {
  buildPrefixRecord,
  CONDA_META,
  distOf,
  formatHistoryEntry,
  HISTORY_FILE,
  prefixRecordFile,
  packageSetHash,
  readPrefixRecords,
  readPrefixState,
  specName,
  STATE_FILE,
  writePrefixRecord,
  writePrefixState,
  type PrefixRecord,
  type PrefixState,
} from './conda-meta.js';
import { cacheKey, extractCached, fetchVerified, hasCachedExtraction, type Downloader, type Extractor } from './download.js';
import { channelCredentials, indexCredentials } from './credentials.js';
import type { EnvLike } from '../conda/channel-env.js';
import { linkPackage, readPackagePaths, type Clobber, type InstalledPath } from './link.js';
import { checkGoTree, readGoManifest, type GoTreeProblem } from './go-manifest.js';
import { damagedPackageFiles, damagedWheels, goRepairedFiles, modeChangedFiles, type RepairedFile } from './repair.js';
import { recordedPrefixPath } from './extract-modes.js';
import { E_PREFIX_TOO_LONG } from './prefix-replace.js';
import { hostResigner, unsignedWarning, type Resigner } from './macho.js';
import { noarchPythonPath, pythonMajorMinor, type PythonTarget } from './noarch-python.js';
import { assertNoCaseCollision, caseInsensitiveDir, caseInsensitivePlatform, longPathWarning, longWindowsPaths, type OwnedPath } from './path-checks.js';
import { isWindowsPlatform } from './prefix-replace.js';
import { compileNoarchPython } from './pyc.js';
import { installOrder } from './order.js';
import { rollBackWheelMove } from './wheel/move-intent.js';
import { fetchWheels, installLockedWheels, readWheelState, removeUnlockedWheels, restageWheels, wheelsUpToDate } from './wheel/sync.js';
import {
  acquirePrefixLock,
  assertReplaceablePrefix,
  createStaging,
  noteStagingWriter,
  recoverInterrupted,
  removeStaging,
  swapIntoPlace,
} from './transaction.js';
import {
  applyTransaction,
  beginTransaction,
  commitTransaction,
  JOURNAL_FILE,
  listStaged,
  recoverTransaction,
  removeTree,
  txnDir,
  type Journal,
} from './journal.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { testKillPoint, testPausePoint, testSlowPoint } from './test-hooks.js';
import { exitSignal, onExitCleanup, settledWithin } from '../cleanup.js';

export type GoInstaller = (
  archivePath: string,
  prefix: string,
  platform: string,
  opts?: { finalPrefix?: string; cgo?: boolean; archive?: { filename: string; sha256: string } },
) => Promise<unknown>;

export interface InstallOptions {
  lockfile: Lockfile;
  /** Conda platform to install (linux-64, osx-arm64, win-64, ...). */
  platform: string;
  prefix: string;
  /** `HttpClient` from src/net/http.ts, or anything with the same `download`. */
  http: Downloader;
  /** Package cache root: `<cacheDir>/pkgs`, `<cacheDir>/extracted`, `<cacheDir>/go`. */
  cacheDir: string;
  /** Parallel downloads/extractions (default 4). */
  concurrency?: number;
  progress?: ProgressReporter;
  /** Install only the Go toolchain: the prefix holds Go and conda-meta state, no conda packages. */
  onlyGo?: boolean;
  /**
   * Do not install the Go toolchain the lockfile pins (CLI `--no-go`). Recorded in the prefix state so
   * that `verify` does not report the skipped toolchain as missing.
   */
  skipGo?: boolean;
  /** Python X.Y for noarch: python packages when the set has no python record. */
  pythonVersion?: string;
  /** Recorded in conda-meta/history (`# cmd: ...`). */
  command?: string;
  /** Copy instead of hard-linking from the cache. */
  copy?: boolean;
  /** Warnings (clobbers, recovered leftovers, cache repairs); without it they go to `progress.log`. */
  onWarning?: (message: string) => void;
  /** Override the archive extractor (default: src/install/extract `extractPackage`). */
  extract?: Extractor;
  /** Override the Go installer (default: src/install/go.ts `installGoToolchain`). */
  installGo?: GoInstaller;
  /** Where `${VAR}` credentials of channels with a `url_template` come from (default: process.env). */
  env?: EnvLike;
  /**
   * Take over a prefix made by conda or micromamba (CLI `--adopt`): its conda-meta records count as
   * installed packages of the transaction. Without it such a prefix is refused (E_PREFIX_FOREIGN).
   */
  adopt?: boolean;
  /** Install Mach-O files that were rewritten but cannot be re-signed here (no codesign), with one warning (CLI `--allow-unsigned`). */
  allowUnsigned?: boolean;
  /** Called with what will be removed / changed / added, after the difference is known and before anything changes. */
  onPlan?: (plan: InstallPlan) => void;
  /** The lockfile categories being installed (sorted, main included), recorded in conda-meta/conda-go-lock for `verify`. */
  categories?: readonly string[];
  /**
   * CLI `--repair`: also check every file of the installed packages, the Go toolchain and the wheels
   * (as `verify` does) and link the units with missing or modified files again from the verified cache
   * (repair.ts), in the same journaled transaction as an update.
   */
  repair?: boolean;
}

/** What happened; the caller prints the summary ("already up to date", counts, clobbers). */
export interface InstallResult {
  prefix: string;
  platform: string;
  /** True when the prefix already matched and nothing was done. */
  upToDate: boolean;
  /** dists linked, in install order. */
  installed: string[];
  /** dists that were in the prefix and are not in the new set. */
  removed: string[];
  clobbers: Clobber[];
  go?: LockedGoToolchain;
  /** PyPI wheels installed by this run (`name-version`), and those removed by their RECORD. */
  wheels: string[];
  removedWheels: string[];
  /** Archives downloaded vs reused from the cache. */
  downloaded: number;
  reused: number;
  warnings: string[];
  /** What the install changed (absent when up to date). */
  plan?: InstallPlan;
  /** With `repair`: the files put back (missing or modified before), by unit; empty when nothing needed it. */
  repaired: RepairedFile[];
}

/** `python_site_packages_path` (CEP-17) from an extracted python package's info/index.json. */
async function sitePackagesPathOf(extractedDir: string): Promise<string | undefined> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(join(extractedDir, 'info', 'index.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const sp = (index as { python_site_packages_path?: unknown } | null)?.python_site_packages_path;
  return typeof sp === 'string' && sp.trim() !== '' ? sp.trim() : undefined;
}

/**
 * The archive must be the package the lockfile names: its info/index.json `name`, `version`, `build`
 * and `subdir` (those present) equal the record's. Otherwise an `IntegrityError`, before anything is linked.
 */
export async function checkIndexJson(extractedDir: string, pkg: LockedCondaPackage): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(extractedDir, 'info', 'index.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new IntegrityError(`${distOf(pkg)}: the package's info/index.json is not valid JSON (${pkg.url})`, { cause: err });
  }
  const wrong: string[] = [];
  for (const f of ['name', 'version', 'build', 'subdir'] as const) {
    const v = index?.[f];
    if (v === undefined || v === null) continue;
    if (String(v) !== String(pkg[f])) wrong.push(`${f} ${escapeControl(JSON.stringify(String(v)))} (lockfile: ${JSON.stringify(pkg[f])})`);
  }
  if (wrong.length > 0) {
    throw new IntegrityError(
      `${distOf(pkg)}: the archive at ${pkg.url} is another package: its info/index.json has ${wrong.join(', ')}; nothing was installed. ` +
        `The channel serves a different file under this name; re-lock`,
    );
  }
}

/** The `noarch` kind (python / generic) in an extracted package's info/index.json. */
async function noarchOf(extractedDir: string): Promise<NoArchKind | undefined> {
  try {
    const index = JSON.parse(await readFile(join(extractedDir, 'info', 'index.json'), 'utf8')) as { noarch?: unknown };
    return index.noarch === 'python' || index.noarch === 'generic' ? index.noarch : undefined;
  } catch {
    return undefined;
  }
}

/** `prefix` with symbolic links at its last component followed (to a target that may not exist yet). */
async function followPrefixLinks(prefix: string): Promise<string> {
  let p = prefix;
  for (let i = 0; i < 40; i++) {
    const st = await lstat(p).catch(() => undefined);
    if (!st?.isSymbolicLink()) return p;
    p = resolve(dirname(p), await readlink(p));
  }
  throw new InstallError(`${prefix}: too many levels of symbolic links`);
}

/**
 * The user's specs (lockfile `metadata.specs`, every platform's) that requested `pkg`: those naming
 * it, narrowed to the ones its record satisfies when several do (`numpy 1.26.*` for linux and
 * `numpy 1.25.*` for osx come out of platform selectors).
 */
export function specsForPackage(pkg: LockedCondaPackage, specs: readonly string[]): string[] {
  const named = specs.filter((s) => specName(s) === pkg.name);
  if (named.length <= 1) return named;
  const matching = named.filter((s) => {
    try {
      return MatchSpec.parse(s).matches(pkg);
    } catch {
      return false;
    }
  });
  return matching.length > 0 ? matching : named;
}

function sameGo(a: LockedGoToolchain | null | undefined, b: LockedGoToolchain | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return (
    a.version === b.version &&
    a.os === b.os &&
    a.arch === b.arch &&
    a.filename === b.filename &&
    a.url === b.url &&
    a.sha256.toLowerCase() === b.sha256.toLowerCase() &&
    a.size === b.size
  );
}

/**
 * Why PREFIX/go is not exactly the files of the pinned archive with the same cgo setting: `changed`
 * (no manifest, another archive or cgo setting), or the files that differ (every one with `all`, else
 * the first); none when it is intact.
 */
async function goToolchainProblems(prefix: string, go: LockedGoToolchain, cgo: boolean, all: boolean): Promise<'changed' | GoTreeProblem[]> {
  const manifest = await readGoManifest(prefix);
  if (!manifest || manifest.archive.sha256 !== go.sha256.toLowerCase() || manifest.cgo !== cgo) return 'changed';
  return (await checkGoTree(prefix, manifest, { quick: !all })).problems;
}

/** Whether the prefix state + conda-meta already match the wanted set. */
export function prefixUpToDate(args: {
  state: PrefixState | undefined;
  records: readonly PrefixRecord[];
  packages: readonly LockedCondaPackage[];
  go: LockedGoToolchain | undefined;
  platform: string;
  onlyGo: boolean;
  /** The prefix path being installed; a state recording another one (a moved prefix) is stale. */
  prefix?: string;
}): boolean {
  const { state } = args;
  if (!state) return false;
  if (args.prefix !== undefined && state.prefix !== undefined && state.prefix !== args.prefix) return false;
  if (state.platform !== args.platform || state.only_go !== args.onlyGo) return false;
  if (!sameGo(state.go, args.go)) return false;
  if (state.packages_hash !== packageSetHash(args.packages)) return false;
  const want = args.packages.map((p) => `${distOf(p)} ${p.sha256.toLowerCase()}`).sort();
  const have = args.records.map((r) => `${distOf(r)} ${String(r.sha256).toLowerCase()}`).sort();
  return want.length === have.length && want.every((w, i) => w === have[i]);
}

/** The platform's packages of a lockfile (or none with onlyGo), checked for duplicate names. */
export function packagesFor(lockfile: Lockfile, platform: string): LockedCondaPackage[] {
  const pkgs = lockfile.packages.filter((p) => p.platform === platform);
  const seen = new Map<string, LockedCondaPackage>();
  for (const p of pkgs) {
    // Defence in depth (the lockfile reader checks the same): these strings become file names.
    const unsafe = unsafeRecordField(p);
    if (unsafe !== undefined) {
      throw new LockfileError(`the lockfile's ${platform} package ${escapeControl(JSON.stringify(p.name))} is refused: ${escapeControl(unsafe)}; re-lock`, {
        code: 'E_LOCKFILE_INVALID',
      });
    }
    const prev = seen.get(p.name);
    if (prev) {
      throw new InstallError(`lockfile lists ${p.name} twice for ${platform} (${distOf(prev)} and ${distOf(p)}); re-lock`);
    }
    seen.set(p.name, p);
  }
  return pkgs;
}

/** What an install will change, printed before anything is changed (as conda does). */
export interface InstallPlan {
  prefix: string;
  platform: string;
  /** dists removed (no longer in the lockfile). */
  remove: string[];
  /** old dist → new dist, for packages kept by name but replaced (another version/build/sha256, or relinked). */
  change: Array<{ from: string; to: string }>;
  /** dists added. */
  add: string[];
  /** dists left as they are. */
  keep: number;
  /** `install --repair`: the units (dists, `go<version>`, `name==version (PyPI)`) whose damaged files are put back. */
  repair: string[];
  /** Go toolchain: added, replaced, removed or kept (undefined when there is none either side). */
  go?: 'add' | 'change' | 'remove' | 'keep';
  /** True when the prefix is new (built in a staging directory and renamed into place). */
  fresh: boolean;
}

type Fetched = {
  pkg: LockedCondaPackage;
  archive: string;
  extracted: string;
  extractedFromCache: boolean;
  key: string;
  /** sha256 of the extracted files when this run extracted them (the linker then need not hash them). */
  digests?: ReadonlyMap<string, string>;
  /** The byte count of each file of that extraction, by the same paths. */
  sizes?: ReadonlyMap<string, number>;
};

/** The conda packages linked into a directory, in install order (what the records are written from). */
type LinkedPackages = {
  linked: Array<{ p: LockedCondaPackage; f: Fetched; rec: Awaited<ReturnType<typeof linkOne>> }>;
  resigner: ReturnType<typeof hostResigner>;
};

/** A byte-compiled file python writes itself (`__pycache__/x.cpython-39.pyc`, python 2's `x.pyc`). */
const PYTHON_CACHE_FILE = /\.pyc$/;

/** Files the installer writes for the Go toolchain besides `go/` (every platform's names). */
export const GO_SCRIPT_PATHS = ['activate.d', 'deactivate.d'].flatMap((d) =>
  ['go.sh', 'go.fish', 'go.bat', 'go.ps1'].map((f) => `etc/conda/${d}/${f}`),
);

/** Whether the old prefix record is the same package as the lockfile's (dist + sha256, or md5 when a foreign record has no sha256). */
function samePackage(rec: PrefixRecord, p: LockedCondaPackage): boolean {
  if (distOf(rec) !== distOf(p)) return false;
  if (typeof rec.sha256 === 'string' && rec.sha256 !== '') return rec.sha256.toLowerCase() === p.sha256.toLowerCase();
  return typeof rec.md5 === 'string' && rec.md5.toLowerCase() === p.md5.toLowerCase();
}

export async function installLockfile(opts: InstallOptions): Promise<InstallResult> {
  const prefix = resolve(opts.prefix);
  const { platform, lockfile } = opts;
  const onlyGo = opts.onlyGo ?? false;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    if (opts.onWarning) opts.onWarning(m);
    else opts.progress?.log(`warning: ${m}`);
  };
  const pkgs = onlyGo ? [] : packagesFor(lockfile, platform);
  const wheels = onlyGo ? [] : (lockfile.pypi ?? []).filter((w) => w.platform === platform);
  const pinnedGo = lockfile.go.find((g) => g.platform === platform);
  const skipGo = (opts.skipGo ?? false) && pinnedGo !== undefined;
  const go = skipGo ? undefined : pinnedGo;
  if (!lockfile.metadata.platforms.includes(platform) && pkgs.length === 0 && !pinnedGo) {
    throw new LockfileError(
      `the lockfile has no entries for platform ${platform} (it covers ${lockfile.metadata.platforms.join(', ') || 'none'}); ` +
        `add the platform and re-lock`,
    );
  }
  if (onlyGo && !go) throw new InstallError(`the lockfile pins no Go toolchain for ${platform}; nothing to install with --only-go`);
  // Private channels: every credential variable must be set before anything is locked or downloaded.
  const credentials = channelCredentials(lockfile.metadata.channels, pkgs, opts.env ?? process.env);
  // ... and every credential variable of a private PyPI index its wheels come from.
  const wheelCredentials = indexCredentials(lockfile.metadata.pypi?.index_templates ?? [], wheels, opts.env ?? process.env);
  const lockedWheel = new Map(wheels.map((w) => [w.filename, w]));

  const result: InstallResult = {
    prefix,
    platform,
    upToDate: false,
    installed: [],
    removed: [],
    clobbers: [],
    go,
    wheels: [],
    removedWheels: [],
    downloaded: 0,
    reused: 0,
    warnings,
    repaired: [],
  };

  // A prefix that is a symbolic link (`~/envs/dev -> /data/envs/dev`) is installed where the link
  // points: the link stays and the files land on its target. Prefix replacement still uses the
  // path the user gave.
  const physical = await followPrefixLinks(prefix);
  assertCacheOutside(opts.cacheDir, [prefix, physical]);
  const lock = await acquirePrefixLock(physical);
  // Linking a new prefix while its packages still download (see below): its staging dir and the linking.
  let earlyStaging: string | undefined;
  let earlyLink: Promise<LinkedPackages> | undefined;
  let committed = false;
  try {
    for (const what of await recoverInterrupted(physical)) warn(`interrupted earlier install: ${what}`);
    const recovered = await recoverTransaction(physical);
    if (recovered) warn(recovered);
    const kind = await assertReplaceablePrefix(physical, { adopt: opts.adopt });
    const existing = kind === 'environment' || kind === 'adopted';
    // A wheel killed while its files moved in is taken back first, whatever this lockfile holds
    // (wheel/move-intent.ts): its files must not be taken for a package's or a user's later.
    const rolledBack = existing ? await rollBackWheelMove(physical) : undefined;
    if (rolledBack) warn(`took back the files of an interrupted install of ${escapeControl(rolledBack)}`);
    const oldRecords = existing ? await readPrefixRecords(physical) : [];
    const state = kind === 'environment' ? await readPrefixState(physical) : undefined;
    // A Go toolchain whose files no longer match its manifest (or whose cgo setting changed) is
    // reinstalled from the verified archive, not "up to date".
    const goProblems = go && existing ? await goToolchainProblems(physical, go, lockfile.metadata.go?.cgo !== false, opts.repair === true) : [];
    const goIntact = goProblems !== 'changed' && goProblems.length === 0;
    // --repair: the kept packages with missing or modified files are linked again (repair.ts).
    const lockedByName = new Map(pkgs.map((p) => [p.name, p]));
    const samePackages = oldRecords.filter((r) => {
      const p = lockedByName.get(r.name);
      return p !== undefined && samePackage(r, p);
    });
    const damaged = opts.repair && existing ? await damagedPackageFiles(physical, samePackages) : new Map<string, RepairedFile[]>();
    // ... and those whose files lost the archive's modes (a chmod): a hard-linked file shares its mode
    // with the cache, so their cached extraction is made again from the verified archive.
    const modeChanged = opts.repair && existing
      ? await modeChangedFiles(physical, samePackages, recordedPrefixPath(oldRecords, platform), new Set([...damaged.values()].flat().map((f) => f.path)))
      : new Map<string, RepairedFile[]>();
    for (const [name, files] of modeChanged) damaged.set(name, [...(damaged.get(name) ?? []), ...files]);
    const damagedWheelList = opts.repair && existing ? await damagedWheels(physical, wheels) : [];
    if (opts.repair && go && goProblems !== 'changed') result.repaired.push(...goRepairedFiles(`go${go.version}`, goProblems));
    for (const files of damaged.values()) result.repaired.push(...files);
    for (const d of damagedWheelList) result.repaired.push(...d.files);
    result.repaired.sort((a, b) => (a.package === b.package ? (a.path < b.path ? -1 : 1) : a.package < b.package ? -1 : 1));
    if (
      prefixUpToDate({ state, records: oldRecords, packages: pkgs, go, platform, onlyGo, prefix }) &&
      (!existing || (await wheelsUpToDate(physical, wheels))) &&
      goIntact &&
      damaged.size === 0 &&
      damagedWheelList.length === 0
    ) {
      result.upToDate = true;
      // Nothing to link, but another category selection (an extra whose packages are all installed
      // already) is still what `verify` should check from now on.
      if (state && categoriesField(opts.categories).categories?.join(',') !== state.categories?.join(',')) {
        const next: PrefixState = { ...state };
        delete next.categories;
        await writeFileAtomic(join(physical, CONDA_META, STATE_FILE), JSON.stringify({ ...next, ...categoriesField(opts.categories) }, null, 2) + '\n');
      }
      return result;
    }

    // Python for noarch: python packages.
    const pythonRec = pkgs.find((p) => p.name === 'python');
    const pythonVersion = pythonRec?.version ?? opts.pythonVersion;
    const python: PythonTarget | undefined = pythonVersion ? { version: pythonMajorMinor(pythonVersion) } : undefined;
    const needsPython = pkgs.find((p) => p.noarch === 'python');
    if (needsPython && !python) {
      throw new InstallError(
        `${distOf(needsPython)} is a noarch: python package but the lockfile has no python for ${platform}; ` +
          `add python to the environment and re-lock`,
      );
    }
    if (wheels.length > 0 && !python) {
      throw new InstallError(
        `the lockfile pins PyPI wheels for ${platform} (${wheels[0]!.filename}${wheels.length > 1 ? ', ...' : ''}) but no python; ` +
          `add python to the environment and re-lock`,
      );
    }

    // The difference, as conda computes it: by name, kept when the very same package is there.
    // Everything is relinked when the prefix moved (placeholders name the old path) or the platform
    // changed; noarch: python packages when python's X.Y changed (their site-packages moved).
    const relinkAll = existing && (kind === 'adopted' || state?.platform !== platform || (state?.prefix !== undefined && state.prefix !== prefix));
    const oldPython = oldRecords.find((r) => r.name === 'python');
    const pythonMoved = oldPython !== undefined && python !== undefined && pythonMajorMinor(oldPython.version) !== python.version;
    const oldByName = new Map(oldRecords.map((r) => [r.name, r]));
    const newNames = new Set(pkgs.map((p) => p.name));
    const keep: PrefixRecord[] = [];
    const toLink: LockedCondaPackage[] = [];
    const change: InstallPlan['change'] = [];
    const add: string[] = [];
    // Packages linked again only to put their files back (--repair): their record is rewritten the
    // same, and nothing of theirs is removed.
    const repairRecords: PrefixRecord[] = [];
    for (const p of pkgs) {
      const old = oldByName.get(p.name);
      const relink = relinkAll || (pythonMoved && p.noarch === 'python');
      if (old && !relink && samePackage(old, p)) {
        if (damaged.has(p.name)) {
          repairRecords.push(old);
          toLink.push(p);
        } else keep.push(old);
      } else {
        toLink.push(p);
        if (old) change.push({ from: distOf(old), to: distOf(p) });
        else add.push(distOf(p));
      }
    }
    const removedRecords = oldRecords.filter((r) => !newNames.has(r.name));
    const replacedRecords = oldRecords.filter((r) => newNames.has(r.name) && !keep.includes(r) && !repairRecords.includes(r));
    const oldGo = state?.go ?? undefined;
    const goChanged = go !== undefined && (!sameGo(oldGo, go) || relinkAll || !existing || !goIntact);
    const goRemoved = go === undefined && existing && (oldGo !== undefined && oldGo !== null);
    const plan: InstallPlan = {
      prefix,
      platform,
      remove: removedRecords.map(distOf).sort(),
      change: change.sort((a, b) => (a.to < b.to ? -1 : 1)),
      add: add.sort(),
      keep: keep.length,
      repair: [...new Set(result.repaired.map((f) => f.package))].sort(),
      go: go ? (goChanged ? (oldGo ? 'change' : 'add') : 'keep') : goRemoved ? 'remove' : undefined,
      fresh: !existing,
    };
    result.plan = plan;
    opts.onPlan?.(plan);

    // Download + extract what is linked (nothing of the prefix changes before all of it is here; a new
    // prefix's staging dir may be linked into meanwhile, see `early` below).
    // Loaded lazily so that callers that inject their own extractor / Go installer do not load them.
    const extract: Extractor =
      opts.extract ??
      (await (async () => {
        // On worker threads (src/install/extract/pool.ts) where the machine has more than one core.
        const pool = (await import('./extract/pool.js')).extractPool();
        if (pool) {
          // as many workers as packages will be extracted, started while the first ones download
          pool.prestart(await countUncached(toLink, opts.cacheDir, pool.size));
          return (archive: string, dest: string) => pool.run(archive, dest);
        }
        return (await import('./extract/index.js')).extractPackage;
      })());
    const concurrency = opts.concurrency ?? 4;
    const fetchOne = async (p: LockedCondaPackage): Promise<Fetched> => {
      const label = distOf(p);
      // size 0 / sha256 '': not pinned (a conda-lock or @EXPLICIT file gave only an md5).
      const task = opts.progress?.task(label, p.size || undefined);
      try {
        let got: Awaited<ReturnType<typeof fetchVerified>>;
        try {
          got = await fetchVerified(
            opts.http,
            // The credentials (if any) are for the download only; records keep the token-free URL.
            { label, url: credentials.downloadUrl(p), fn: p.fn, sha256: p.sha256 || undefined, md5: p.md5, size: p.size || undefined },
            opts.cacheDir,
            'pkgs',
            (n) => task?.update(n),
          );
        } catch (err) {
          throw credentials.explainDenied(err, p);
        }
        if (got.cached) result.reused++;
        else result.downloaded++;
        const key = extractionKey(p);
        if (modeChanged.has(p.name)) await rm(join(opts.cacheDir, 'extracted', key), { recursive: true, force: true });
        const ex = await extractCached(extract, got.path, key, opts.cacheDir);
        await checkIndexJson(ex.path, p);
        return { pkg: p, archive: got.path, extracted: ex.path, extractedFromCache: ex.cached, key, digests: ex.digests, sizes: ex.sizes };
      } finally {
        task?.done();
      }
    };
    const fetchGo = async () => {
      if (!go || !goChanged) return undefined;
      const label = `go${go.version} ${go.os}/${go.arch}`;
      const task = opts.progress?.task(label, go.size);
      try {
        const got = await fetchVerified(
          opts.http,
          { label, url: go.url, fn: go.filename, sha256: go.sha256, size: go.size },
          opts.cacheDir,
          'go',
          (n) => task?.update(n),
        );
        if (got.cached) result.reused++;
        else result.downloaded++;
        return got.path;
      } finally {
        task?.done();
      }
    };
    // A new prefix whose paths need no check across all packages first (path-checks.ts: a platform
    // with case-sensitive, non-Windows paths on a case-sensitive file system): each package is linked
    // into the staging directory as soon as it and those before it in install order are here, while
    // the others still download and extract. Failures are reported as before: a download's first
    // (in lockfile order) once every download has settled, then a link error. Decided (and the
    // staging dir made) before any download starts, so none runs on while this fails.
    const early = !existing && !caseInsensitivePlatform(platform) && !isWindowsPlatform(platform) && !(await caseInsensitiveDir(dirname(physical)));
    if (early) earlyStaging = await createStaging(physical);
    // Wait for every download to settle before failing, so nothing keeps writing into the cache after
    // we return; the first failure in lockfile order is the one reported.
    const limit = createLimit(concurrency);
    // Wheels are fetched (and verified) with the packages, so a bad one fails before anything changes.
    const wheelFetch = fetchWheels({
      pins: wheels,
      http: opts.http,
      cacheDir: opts.cacheDir,
      concurrency,
      progress: opts.progress,
      // The credentials (if any) are for the download only; RECORD and state keep the token-free URL.
      downloadUrl: (pin) => wheelCredentials.downloadUrl(lockedWheel.get(pin.filename) ?? { url: pin.url, index: '' }),
      explainDenied: (err, pin) => {
        const w = lockedWheel.get(pin.filename);
        return w ? wheelCredentials.explainDenied(err, w) : err;
      },
    });
    /** A download failed: the early linking stops at the next package (the failure is what is reported). */
    let downloadFailed = false;
    /** Link the packages into `destDir` in install order, each once `fetchedOf` has it. */
    const linkPackagesInto = async (destDir: string, fetchedOf: (p: LockedCondaPackage) => Fetched | Promise<Fetched>): Promise<LinkedPackages> => {
      const owners = new Map<string, string>();
      const safeDirs = new Set<string>();
      const resigner = hostResigner({ allowUnsigned: opts.allowUnsigned });
      const linked: LinkedPackages['linked'] = [];
      for (const p of installOrder(toLink)) {
        const f = await fetchedOf(p);
        if (downloadFailed || exitSignal.aborted) throw new InstallError(`linking into ${destDir} stopped: a download failed or the install was interrupted`);
        const rec = await linkOne(f, destDir, { prefix, platform, python, owners, safeDirs, copy: opts.copy, warn, extract, cacheDir: opts.cacheDir, go: go !== undefined, resigner }, result);
        linked.push({ p, f, rec });
      }
      return { linked, resigner };
    };
    // CEP-17: a python whose site-packages is not lib/pythonX.Y/site-packages (free-threaded
    // 3.13t: lib/python3.13t/site-packages) says so in its info/index.json. Read from the python
    // extracted now (before linking anything early), else the one installed before.
    const wantsSitePackages = python !== undefined && (needsPython || wheels.length > 0 || pkgs.some((p) => p.subdir === 'noarch' && !p.noarch));
    const useSitePackagesOf = async (pyDir: string) => {
      const sp = pyDir ? await sitePackagesPathOf(pyDir) : undefined;
      if (sp) python!.sitePackagesPath = sp;
    };
    const fetches = toLink.map((p) => limit(() => fetchOne(p)));
    for (const f of fetches) f.catch(() => (downloadFailed = true)); // (all are awaited below)
    if (earlyStaging) {
      const stage = earlyStaging;
      const fetchOf = new Map(toLink.map((p, i) => [p.name, fetches[i]!]));
      earlyLink = (async () => {
        const pythonFetch = fetchOf.get('python');
        if (wantsSitePackages && pythonFetch) await useSitePackagesOf((await pythonFetch).extracted);
        return linkPackagesInto(stage, (p) => fetchOf.get(p.name)!);
      })();
      earlyLink.catch(() => undefined); // awaited below; a download failure is reported first
      noteStagingWriter(stage, earlyLink);
    }
    const settled = await Promise.allSettled([fetchGo(), ...fetches, wheelFetch]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const goArchive = (settled[0] as PromiseFulfilledResult<string | undefined>).value;
    const fetched = settled.slice(1, 1 + toLink.length).map((r) => (r as PromiseFulfilledResult<Fetched>).value);
    const wheelsFetched = await wheelFetch;
    result.downloaded += wheelsFetched.downloaded;
    result.reused += wheelsFetched.reused;
    const byName = new Map(fetched.map((f) => [f.pkg.name, f]));
    if (wantsSitePackages && !earlyLink) {
      await useSitePackagesOf(byName.get('python')?.extracted ?? (oldPython ? String(oldPython.extracted_package_dir ?? '') : ''));
    }

    if (!earlyLink) await checkPathsBeforeLinking({
      fetched,
      keep,
      python,
      platform,
      prefix,
      physical: existing ? physical : dirname(physical),
      warn,
      reextract: (f, why) => reextractCached(f, why, { warn, extract, cacheDir: opts.cacheDir }),
    });

    const linkAll = async (destDir: string, metaRoot: string, done?: LinkedPackages) => {
      const { linked, resigner } = done ?? (await linkPackagesInto(destDir, (p) => byName.get(p.name)!));
      // noarch: python sources are byte-compiled by the environment's python once everything is linked (pyc.ts).
      const pyc = await compileLinked(linked, destDir);
      for (const { p, f, rec } of linked) {
        await writePrefixRecord(
          metaRoot,
          buildPrefixRecord({
            pkg: p,
            paths: [...rec.paths, ...(pyc.get(distOf(p)) ?? [])],
            requestedSpec: specsForPackage(p, lockfile.metadata.specs)[0] ?? '',
            extractedDir: f.extracted,
            tarballPath: f.archive,
            hardlinked: rec.hardlinked,
          }),
        );
        if (!repairRecords.some((r) => r.name === p.name)) result.installed.push(distOf(p));
      }
      if (resigner.unsigned.length > 0) warn(unsignedWarning(resigner.unsigned));
      // The activation's CC/CXX come from the finished prefix's bin/: the kept packages and the new ones
      // (an update's stage holds only the new ones).
      const binNames = [...keep.flatMap((r) => r.files ?? []), ...linked.flatMap((l) => l.rec.paths.map((p) => p._path))]
        .filter((f) => f.startsWith('bin/') && !f.includes('/', 4))
        .map((f) => f.slice(4));
      const cgo = lockfile.metadata.go?.cgo !== false;
      if (go && goArchive) {
        const installGo = opts.installGo ?? (await import('./go.js')).installGoToolchain;
        await installGo(goArchive, destDir, platform, {
          finalPrefix: prefix,
          cgo,
          archive: { filename: go.filename, sha256: go.sha256.toLowerCase() },
          binNames,
        });
      } else if (go) {
        // The toolchain stays, the conda packages changed: the scripts are written again, so a compiler
        // package added (or removed) shows in CC/CXX.
        await (await import('./go.js')).writeGoActivation(destDir, platform, { finalPrefix: prefix, cgo, binNames });
      }
    };

    const compileLinked = async (linked: ReadonlyArray<{ p: LockedCondaPackage; rec: { paths: InstalledPath[]; noarch?: NoArchKind } }>, destDir: string) => {
      const noarchPython = linked.filter((l) => l.rec.noarch === 'python').map((l) => ({ dist: distOf(l.p), paths: l.rec.paths }));
      if (!python || noarchPython.length === 0) return new Map<string, InstalledPath[]>();
      const compiled = await compileNoarchPython({
        destDir,
        // A python kept from before is in the prefix; one linked now is with the new files.
        pythonRoot: linked.some((l) => l.p.name === 'python') || !existing ? destDir : physical,
        targetPrefix: prefix,
        platform,
        python,
        packages: noarchPython,
      });
      if (compiled.skipped) warn(compiled.skipped);
      return compiled.pyc;
    };

    const removed = [...removedRecords, ...replacedRecords];
    result.removed = removed.map(distOf);
    // The requested specs, as conda records them: the lockfile's specs for packages of this set.
    const wanted = new Set(pkgs.flatMap((p) => specsForPackage(p, lockfile.metadata.specs)));
    const updateSpecs = [...new Set(lockfile.metadata.specs.filter((s) => wanted.has(s)))];
    const updateNames = new Set(updateSpecs.map(specName));
    const removeSpecs = [...new Set(oldRecords.filter((r) => r.requested_spec && !updateNames.has(r.name)).map((r) => r.name))].sort();
    const historyEntry = formatHistoryEntry({
      date: new Date(),
      command: opts.command ?? `conda-go-lock install --platform ${platform} --prefix ${prefix}`,
      added: toLink,
      // A repaired package is recorded as conda records a forced reinstall: removed and added again.
      removed: [...removed, ...repairRecords],
      updateSpecs,
      removeSpecs,
    });
    const newState: PrefixState = {
      tool: 'conda-go-lock',
      state_version: 1,
      platform,
      content_hash: lockfile.metadata.content_hash?.[platform] ?? null,
      packages_hash: packageSetHash(pkgs),
      only_go: onlyGo,
      go: go ?? null,
      ...(skipGo ? { skip_go: true } : {}),
      prefix,
      ...categoriesField(opts.categories),
    };

    // PyPI wheels, after the conda packages (they need python's site-packages): src/install/wheel.
    const installWheelsInto = (destDir: string) =>
      installLockedWheels({
        pins: wheels,
        http: opts.http,
        cacheDir: opts.cacheDir,
        destDir,
        target: { platform, python: python!, prefix },
        requirements: lockfile.metadata.pypi?.requirements ?? [],
        concurrency,
      });

    if (!existing) {
      // A new prefix: built in a staging sibling and renamed into place.
      const staging = earlyStaging ?? (await createStaging(physical));
      earlyStaging = undefined; // owned here from now on
      try {
        // Everything written into the staging directory, as one writer: an interrupt's cleanup waits
        // for it before removing the tree (the linker stops at its next turn; a wheel install, the
        // pyc compile and the metadata writes are short), so nothing is made in it after that.
        const building = (async () => {
          await linkAll(staging, staging, earlyLink ? await earlyLink : undefined);
          if (wheels.length > 0) result.wheels = (await installWheelsInto(staging)).installed.map((w) => `${w.name}-${w.version}`);
          const slowDown = testSlowPoint('stage-meta');
          if (slowDown) await slowDown();
          await writeFileAtomic(join(staging, CONDA_META, HISTORY_FILE), historyEntry);
          await writePrefixState(staging, newState);
        })();
        noteStagingWriter(staging, building);
        await building;
        await testPausePoint('staged');
        // The prefix may have been created meanwhile by something that is not us: check again.
        await assertReplaceablePrefix(physical);
        await swapIntoPlace(staging, physical);
      } catch (err) {
        await removeStaging(staging);
        throw err;
      }
      return result;
    }

    // An existing environment: an incremental transaction (see journal.ts). Wheels no longer locked
    // are removed by their RECORD first (a new conda package may ship a path one of them owned).
    const wheelTarget = python ? { platform, python, prefix } : undefined;
    if (wheelTarget) {
      result.removedWheels = (await removeUnlockedWheels(physical, wheelTarget, wheels)).removed;
    } else if ((await readWheelState(physical)).length > 0) {
      throw new InstallError(`${prefix} has PyPI wheels but the lockfile has no python for ${platform}; remove the prefix and install again`);
    }
    const txn = await beginTransaction(physical);
    // Interrupted (SIGINT/SIGTERM, src/cli/main.ts) before the commit: the stage goes, the prefix is as it was.
    // (once what is being written into the stage has stopped: the linker stops at its next turn)
    let stageWriter: Promise<unknown> | undefined;
    let forgetStage: (() => void) | undefined = onExitCleanup(async () => {
      if (stageWriter) await settledWithin(stageWriter);
      await removeTree(txnDir(physical));
    });
    let restagedWheelFiles = new Set<string>();
    try {
      await (stageWriter = linkAll(txn.stage, txn.metaRoot));
      if (damagedWheelList.length > 0) {
        const archiveOf = new Map(wheels.map((w, i) => [w.filename, wheelsFetched.paths[i]!]));
        const items = damagedWheelList.map((d) => ({ pin: d.pin, wheel: archiveOf.get(d.pin.filename)! }));
        restagedWheelFiles = new Set(await restageWheels(items, txn.stage, wheelTarget!, lockfile.metadata.pypi?.requirements ?? []));
      }
      const oldHistory = await readFile(join(physical, CONDA_META, HISTORY_FILE)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return Buffer.alloc(0);
        throw err;
      });
      await writeFileAtomic(join(txn.meta, HISTORY_FILE), Buffer.concat([oldHistory, Buffer.from(historyEntry)]));
      await writePrefixState(txn.metaRoot, newState);
    } catch (err) {
      await removeTree(txnDir(physical));
      forgetStage();
      throw err;
    }
    const moveTrees = go && goArchive ? ['go'] : [];
    const keptOwner = new Map<string, string>();
    for (const r of keep) for (const f of r.files ?? []) keptOwner.set(f, distOf(r));
    // A repaired package's file that a kept package also owns (a clobber) stays as it is, unless it is
    // one of the damaged files.
    const damagedPaths = new Set(result.repaired.map((f) => f.path));
    const repairFiles = new Set([...repairRecords.flatMap((r) => r.files ?? []), ...restagedWheelFiles]);
    const moves = (await listStaged(txn.stage, new Set(moveTrees))).filter((rel) => !(keptOwner.has(rel) && repairFiles.has(rel) && !damagedPaths.has(rel)));
    const newPaths = new Set(moves);
    const oldOwned = new Set(oldRecords.flatMap((r) => r.files ?? []));
    const remove = new Set<string>();
    for (const r of removed) for (const f of r.files ?? []) if (!keptOwner.has(f) && !newPaths.has(f)) remove.add(f);
    const removeTrees: string[] = [];
    if (goRemoved) {
      removeTrees.push('go');
      for (const s of GO_SCRIPT_PATHS) if (!newPaths.has(s)) remove.add(s);
    }
    // A new package file over a path a kept package owns is a clobber (both keep it in their records);
    // over a path no package owns (added by hand or by pip), it replaces that file — silently for a
    // .pyc python wrote at import before this install compiled it.
    const unowned: string[] = [];
    for (const rel of moves) {
      const prev = keptOwner.get(rel);
      if (repairFiles.has(rel)) continue; // put back, not replaced
      if (prev !== undefined) {
        result.clobbers.push({ path: rel, previous: prev, by: 'a package of this install' });
        warn(`${rel}: file from ${prev} is clobbered by a package of this install`);
      } else if (
        !oldOwned.has(rel) &&
        !GO_SCRIPT_PATHS.includes(rel) &&
        // The installer's own files (the Go toolchain's manifest): replaced, not someone else's.
        !rel.startsWith(`${CONDA_META}/`) &&
        !PYTHON_CACHE_FILE.test(rel) &&
        (await lstat(join(physical, rel)).catch(() => undefined))
      ) {
        unowned.push(rel);
      }
    }
    if (unowned.length > 0) {
      warn(`${unowned.length} file(s) no package owned are replaced by package files: ${unowned.slice(0, 5).map((p) => escapeControl(p)).join(', ')}${unowned.length > 5 ? ', …' : ''}`);
    }
    // Every new path must be free once the removals are done: a directory there that still holds files
    // (someone's, or a kept package's), or a file where a new path needs a directory, would make the
    // committed journal fail on every run. Refused now, before anything changes.
    const conflicts = await pathConflicts(physical, moves, remove);
    if (conflicts.length > 0) {
      await removeTree(txnDir(physical));
      forgetStage();
      const [first] = conflicts;
      throw new InstallError(
        `cannot install ${escapeControl(first!.path)}: ${escapeControl(join(physical, first!.blocker))} ${first!.why}` +
          `${conflicts.length > 1 ? ` (and ${conflicts.length - 1} more path(s))` : ''}; nothing was changed. Move it away and run install again`,
        { code: E_PATH_CONFLICT },
      );
    }
    const metaAdd = (await readdir(txn.meta)).sort();
    const metaRemove = removed.map((r) => prefixRecordFile(r));
    testKillPoint('prepared');
    await testPausePoint('prepared');
    const journal: Journal = {
      journal_version: 1,
      remove: [...remove].sort(),
      remove_trees: removeTrees,
      move: moves,
      move_trees: moveTrees,
      meta_remove: metaRemove,
      meta_add: metaAdd,
    };
    // From here on the stage is kept whatever happens: once the journal is written the next run rolls
    // forward from it (a signal in the middle of the commit must not delete what the journal names).
    // Interrupted meanwhile: the stage is being removed, so the journal must not be written (the next
    // run would roll forward from files that are gone). Checked in the same tick as forgetStage, so an
    // interrupt from here on leaves the stage alone.
    if (exitSignal.aborted) throw new InstallError(`the update of ${prefix} was interrupted before its commit; nothing was changed`);
    forgetStage();
    forgetStage = undefined;
    await commitTransaction(physical, journal);
    committed = true;
    await testPausePoint('committed');
    await applyTransaction(physical, journal);
    if (wheels.length > 0) result.wheels = (await installWheelsInto(physical)).installed.map((w) => `${w.name}-${w.version}`);
    return result;
  } catch (err) {
    // The staging directory / uncommitted stage is gone by now (see above): say so.
    throw (
      diskFullError(
        err,
        committed
          ? `the update is committed (conda-meta/${JOURNAL_FILE}): free space and run install again to finish it`
          : `the environment was not changed (${prefix}); free space there or in the package cache (or pass --cache-dir on another filesystem) and run install again`,
      ) ?? err
    );
  } finally {
    if (earlyStaging) {
      // A download (or anything before the new prefix's own try) failed while packages were linked early.
      await earlyLink?.catch(() => undefined);
      await removeStaging(earlyStaging);
    }
    await lock.release();
  }
}

export const E_PATH_CONFLICT = 'E_PATH_CONFLICT';

/**
 * Paths a transaction cannot move into place: the prefix holds a directory at a new file's path that
 * the removals do not empty, or a file (or a link to one) where a new path needs a directory that the
 * removals do not delete.
 */
async function pathConflicts(
  prefix: string,
  moves: readonly string[],
  remove: ReadonlySet<string>,
): Promise<Array<{ path: string; blocker: string; why: string }>> {
  const out: Array<{ path: string; blocker: string; why: string }> = [];
  const parentOk = new Set<string>();
  for (const rel of moves) {
    const st = await lstat(join(prefix, rel)).catch(() => undefined);
    if (st?.isDirectory()) {
      const kept = await firstKeptFile(prefix, rel, remove);
      if (kept !== undefined) out.push({ path: rel, blocker: rel, why: `is a directory holding ${escapeControl(kept)}, which no package of this install removes` });
      continue;
    }
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (parentOk.has(parent)) continue;
      const ls = await lstat(join(prefix, parent)).catch(() => undefined);
      if (ls === undefined) break; // the move creates it and what is below
      const ps = ls.isSymbolicLink() ? await stat(join(prefix, parent)).catch(() => undefined) : ls;
      if (ps?.isDirectory()) {
        parentOk.add(parent);
        continue;
      }
      // A file the removals delete first: the move then creates the directory.
      if (!remove.has(parent)) out.push({ path: rel, blocker: parent, why: 'is a file where the new package needs a directory' });
      break;
    }
  }
  return out;
}

/** A file below directory `rel` (prefix-relative) that is not in `remove`, or undefined when the removals empty it. */
async function firstKeptFile(prefix: string, rel: string, remove: ReadonlySet<string>): Promise<string | undefined> {
  const entries = await readdir(join(prefix, rel), { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) {
      const kept = await firstKeptFile(prefix, r, remove);
      if (kept !== undefined) return kept;
    } else if (!remove.has(r)) return r;
  }
  return undefined;
}

/**
 * The package cache may not live inside the prefix: a new prefix is built in a staging sibling and
 * renamed into place (the cache would be in the way, and the prefix would not count as empty), and in
 * an environment the cache's files would be files no package owns (`pkgs/` even makes it look like a
 * conda base installation). Refused before anything is created.
 */
function assertCacheOutside(cacheDir: string, prefixes: readonly string[]): void {
  const cache = resolve(cacheDir);
  for (const p of prefixes) {
    const rel = relative(p, cache);
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
      throw new UsageError(
        `--cache-dir ${escapeControl(cache)} is inside the prefix ${escapeControl(p)}; put the package cache outside the environment ` +
          `(e.g. the default cache, or a sibling directory of the prefix)`,
      );
    }
  }
}

/** The package cache key of a package's archive and of its extraction. */
function extractionKey(p: LockedCondaPackage): string {
  return cacheKey({ label: distOf(p), url: p.url, fn: p.fn, sha256: p.sha256, md5: p.md5 });
}

/** How many of `pkgs` have no extraction in the package cache (counting stops at `upTo`). */
async function countUncached(pkgs: readonly LockedCondaPackage[], cacheDir: string, upTo: number): Promise<number> {
  let n = 0;
  for (const p of pkgs) {
    if (n >= upTo) break;
    if (!(await hasCachedExtraction(extractionKey(p), cacheDir))) n++;
  }
  return n;
}

/** Replace a cached extraction that turned out incomplete or modified by a fresh one of the verified archive. */
async function reextractCached(f: Fetched, why: string, ctx: { warn: (m: string) => void; extract: Extractor; cacheDir: string }): Promise<void> {
  ctx.warn(`${distOf(f.pkg)}: cached extraction ${f.extracted} ${why}; extracting again`);
  await rm(f.extracted, { recursive: true, force: true });
  await extractCached(ctx.extract, f.archive, f.key, ctx.cacheDir);
}

/** Link one fetched package into `destDir` (re-extracting a cache entry that turns out incomplete or modified). */
async function linkOne(
  f: Fetched,
  destDir: string,
  ctx: {
    prefix: string;
    platform: string;
    python: PythonTarget | undefined;
    owners: Map<string, string>;
    safeDirs: Set<string>;
    copy?: boolean;
    warn: (m: string) => void;
    resigner?: Resigner;
    extract: Extractor;
    cacheDir: string;
    /** Whether this install writes the Go activation scripts. */
    go: boolean;
  },
  result: InstallResult,
): Promise<{ paths: InstalledPath[]; hardlinked: boolean; noarch?: NoArchKind }> {
  const p = f.pkg;
  const dist = distOf(p);
  // A package from a conda-lock / @EXPLICIT file carries no noarch kind: its own index.json says
  // (read again after a re-extraction: a damaged cache entry may have lost it).
  let noarch: NoArchKind | undefined;
  const link = async (extractedDir: string) => {
    noarch = p.noarch ?? (p.subdir === 'noarch' ? await noarchOf(extractedDir) : undefined);
    await checkInstallerOwned(extractedDir, dist, ctx.go);
    return linkPackage({
      extractedDir,
      destDir,
      targetPrefix: ctx.prefix,
      platform: ctx.platform,
      dist,
      noarch,
      python: ctx.python,
      owners: ctx.owners,
      safeDirs: ctx.safeDirs,
      copy: ctx.copy,
      warn: ctx.warn,
      resigner: ctx.resigner,
      // only for the extraction this run made (a re-extraction's files are hashed)
      digests: extractedDir === f.extracted && !f.extractedFromCache ? f.digests : undefined,
      sizes: extractedDir === f.extracted && !f.extractedFromCache ? f.sizes : undefined,
    });
  };
  const reextract = (why: string) => reextractCached(f, why, ctx);
  let linked: Awaited<ReturnType<typeof link>>;
  let reextracted = false;
  try {
    linked = await link(f.extracted);
  } catch (err) {
    // A cached extraction that lost files (a cache cleaner, a partial `rm`) or its info/: the
    // archive is verified, so extract it again and link once more over this package's files.
    if (!f.extractedFromCache || !(err instanceof InstallError) || err.code === E_PREFIX_TOO_LONG || err.code === E_INSTALLER_OWNED || err.code === 'E_MACHO_SIGN') throw err;
    await reextract(`is incomplete (${err.message})`);
    reextracted = true;
    linked = await link(f.extracted);
  }
  if (linked.mismatches.length > 0 && f.extractedFromCache && !reextracted) {
    // The cached extraction was modified (a hard-linked file edited in some prefix): extract
    // the verified archive again and re-link this package over its own files.
    await reextract(`was modified (${linked.mismatches[0]!.path})`);
    linked = await link(f.extracted);
  }
  for (const m of linked.mismatches) {
    ctx.warn(`${dist}: ${m.path} does not match the sha256 in the package's paths.json (expected ${m.expected}, got ${m.actual})`);
  }
  result.clobbers.push(...linked.clobbers);
  return { paths: linked.paths, hardlinked: linked.stats.hardlinked > 0, noarch };
}

/**
 * Before anything is linked (path-checks.ts): files of the install (and of the packages kept) that
 * differ only in case, for macOS/Windows platforms or a case-insensitive prefix file system
 * (E_CASE_COLLISION); win-* paths reaching MAX_PATH (one warning).
 */
async function checkPathsBeforeLinking(args: {
  fetched: readonly Fetched[];
  keep: readonly PrefixRecord[];
  python: PythonTarget | undefined;
  platform: string;
  prefix: string;
  /** An existing directory on the prefix's file system (the prefix, or its parent for a new one). */
  physical: string;
  warn: (m: string) => void;
  /** Extract a cached package again (its cached extraction lost its file list). */
  reextract: (f: Fetched, why: string) => Promise<void>;
}): Promise<void> {
  const { platform } = args;
  const paths: OwnedPath[] = [];
  for (const r of args.keep) for (const f of r.files ?? []) paths.push({ dist: distOf(r), path: f });
  for (const f of args.fetched) {
    const noarch = f.pkg.noarch ?? (f.pkg.subdir === 'noarch' ? await noarchOf(f.extracted) : undefined);
    let entries: Awaited<ReturnType<typeof readPackagePaths>>;
    try {
      entries = await readPackagePaths(f.extracted, distOf(f.pkg));
    } catch (err) {
      // A cached extraction that lost its info/ (as linkOne handles): the archive is verified.
      if (!f.extractedFromCache || !(err instanceof InstallError)) throw err;
      await args.reextract(f, `is incomplete (${err.message})`);
      entries = await readPackagePaths(f.extracted, distOf(f.pkg));
    }
    for (const e of entries) {
      if (e.pathType === 'directory') continue;
      const path = noarch === 'python' && args.python ? noarchPythonPath(e.path, args.python, platform) : e.path;
      paths.push({ dist: distOf(f.pkg), path });
    }
  }
  if (caseInsensitivePlatform(platform)) assertNoCaseCollision(paths, `${platform}'s case-insensitive file systems`);
  else if (await caseInsensitiveDir(args.physical)) assertNoCaseCollision(paths, `the case-insensitive file system of ${args.prefix}`);
  if (isWindowsPlatform(platform)) {
    const long = longWindowsPaths(args.prefix, paths);
    if (long.length > 0) args.warn(longPathWarning(long));
  }
}

export const E_INSTALLER_OWNED = 'E_INSTALLER_OWNED';

/**
 * Files the installer writes itself are never a package's: a package owning a path under conda-meta/
 * (records, history, our state, the transaction journal) is refused, and one shipping the Go activation
 * scripts the installer writes (`etc/conda/activate.d/go.sh`, ...) conflicts with the pinned toolchain.
 * Checked before anything of the package is linked.
 */
export async function checkInstallerOwned(extractedDir: string, dist: string, go: boolean): Promise<void> {
  for (const e of await readPackagePaths(extractedDir, dist)) {
    const path = e.path.replace(/\\/g, '/');
    const top = path.split('/')[0]!.toLowerCase();
    if (top === CONDA_META) {
      throw new UnsafeArchiveError(
        `${dist}: the package contains ${escapeControl(path)}; packages may not own files under conda-meta/ (the installer's records and history live there). The archive is refused`,
      );
    }
    if (go && GO_SCRIPT_PATHS.includes(path)) {
      throw new InstallError(
        `${dist}: the package contains ${escapeControl(path)}, the activation script conda-go-lock writes for the pinned Go toolchain; ` +
          `leave the package out or install with --no-go`,
        { code: E_INSTALLER_OWNED },
      );
    }
  }
}

/** `{categories}` for the prefix state: written only when more than main is installed. */
function categoriesField(categories: readonly string[] | undefined): Pick<PrefixState, 'categories'> {
  const c = [...new Set(categories ?? [])].sort();
  return c.length && !(c.length === 1 && c[0] === 'main') ? { categories: c } : {};
}
