/**
 * conda-meta: the per-package records (`conda-meta/<name>-<version>-<build>.json`) that let
 * `conda list -p PREFIX` read an environment we installed, the `conda-meta/history` log, and our own
 * `conda-meta/conda-go-lock` state file (Go toolchain + what the lockfile set was).
 *
 * Everything written here is deterministic (fixed key order, sorted lists) except the timestamps
 * of history entries.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InstallError } from '../errors.js';
import type { LockedCondaPackage, LockedGoToolchain } from '../lockfile/model.js';
import type { InstalledPath } from './link.js';

export const CONDA_META = 'conda-meta';
/**
 * Our state file. Deliberately NOT `*.json`: conda (`PrefixData.load`), rattler/pixi and micromamba
 * read every `conda-meta/*.json` as a package record, and a JSON file without name/version/build
 * makes `conda list -p PREFIX` fail. (Like pixi's `conda-meta/pixi`.)
 */
export const STATE_FILE = 'conda-go-lock';
/** Where earlier versions wrote the state; still read, never written. */
export const LEGACY_STATE_FILE = 'conda-go-lock.json';
export const HISTORY_FILE = 'history';

/** conda's LinkType numbers as written to `link.type`. */
export const LINK_TYPE = { hardlink: 1, softlink: 2, copy: 3 } as const;

export interface PrefixRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  channel: string;
  subdir: string;
  fn: string;
  url: string;
  md5: string;
  sha256: string;
  size: number;
  depends: string[];
  constrains: string[];
  license?: string;
  license_family?: string;
  timestamp?: number;
  noarch?: string;
  /** `noarch_python` / `noarch_generic` for noarch packages (as conda writes it); absent otherwise. */
  package_type?: string;
  /** Always written, '' when the record has none (as conda does). */
  features: string;
  track_features: string;
  files: string[];
  paths_data: { paths_version: 1; paths: InstalledPath[] };
  requested_spec: string;
  link: { source: string; type: number };
  extracted_package_dir: string;
  package_tarball_full_path: string;
}

export function distOf(p: { name: string; version: string; build: string }): string {
  return `${p.name}-${p.version}-${p.build}`;
}

/** The channel as conda-meta records it: channel URL + subdir. */
export function channelWithSubdir(pkg: Pick<LockedCondaPackage, 'channel' | 'subdir'>): string {
  return `${pkg.channel.replace(/\/+$/, '')}/${pkg.subdir}`;
}

/** The name a MatchSpec string refers to (`numpy >=1.2`, `conda-forge::numpy=1.2` → `numpy`). */
export function specName(spec: string): string {
  let s = spec.trim();
  const colons = s.lastIndexOf('::');
  if (colons >= 0) s = s.slice(colons + 2);
  const m = /^[^\s=<>!~[]+/.exec(s);
  return m ? m[0] : s;
}

/** The user's spec that requested this package, or '' when it came in as a dependency. */
export function requestedSpecFor(name: string, specs: readonly string[]): string {
  return specs.find((s) => specName(s) === name) ?? '';
}

export function buildPrefixRecord(args: {
  pkg: LockedCondaPackage;
  paths: InstalledPath[];
  requestedSpec: string;
  extractedDir: string;
  tarballPath: string;
  /** true when at least one file was hard-linked from the cache. */
  hardlinked: boolean;
}): PrefixRecord {
  const { pkg, paths } = args;
  const rec: PrefixRecord = {
    name: pkg.name,
    version: pkg.version,
    build: pkg.build,
    build_number: pkg.build_number,
    channel: channelWithSubdir(pkg),
    subdir: pkg.subdir,
    fn: pkg.fn,
    url: pkg.url,
    md5: pkg.md5,
    sha256: pkg.sha256,
    size: pkg.size,
    depends: [...pkg.depends],
    constrains: [...pkg.constrains],
    features: pkg.features ?? '',
    track_features: pkg.track_features ?? '',
    files: [],
    paths_data: { paths_version: 1, paths: [] },
    requested_spec: args.requestedSpec,
    link: { source: args.extractedDir, type: args.hardlinked ? LINK_TYPE.hardlink : LINK_TYPE.copy },
    extracted_package_dir: args.extractedDir,
    package_tarball_full_path: args.tarballPath,
  };
  if (pkg.license !== undefined) rec.license = pkg.license;
  if (pkg.license_family !== undefined) rec.license_family = pkg.license_family;
  if (pkg.timestamp !== undefined) rec.timestamp = pkg.timestamp;
  if (pkg.noarch !== undefined) {
    rec.noarch = pkg.noarch;
    rec.package_type = `noarch_${pkg.noarch}`;
  }
  const sorted = [...paths].sort((a, b) => (a._path < b._path ? -1 : a._path > b._path ? 1 : 0));
  rec.files = sorted.filter((p) => p.path_type !== 'directory').map((p) => p._path);
  rec.paths_data.paths = sorted;
  return rec;
}

/** Key order as written (JSON.stringify keeps insertion order; build a fresh object to be sure). */
function ordered(rec: PrefixRecord): Record<string, unknown> {
  const keys: Array<keyof PrefixRecord> = [
    'name', 'version', 'build', 'build_number', 'channel', 'subdir', 'fn', 'url', 'md5', 'sha256', 'size',
    'depends', 'constrains', 'license', 'license_family', 'timestamp', 'noarch', 'package_type', 'features', 'track_features', 'files', 'paths_data',
    'requested_spec', 'link', 'extracted_package_dir', 'package_tarball_full_path',
  ];
  const out: Record<string, unknown> = {};
  for (const k of keys) if (rec[k] !== undefined) out[k] = rec[k];
  return out;
}

export function prefixRecordFile(rec: Pick<PrefixRecord, 'name' | 'version' | 'build'>): string {
  return `${distOf(rec)}.json`;
}

export async function writePrefixRecord(prefix: string, rec: PrefixRecord): Promise<string> {
  const dir = join(prefix, CONDA_META);
  await mkdir(dir, { recursive: true });
  const file = join(dir, prefixRecordFile(rec));
  await writeFile(file, JSON.stringify(ordered(rec), null, 2) + '\n');
  return file;
}

/** All package records in PREFIX/conda-meta (sorted by name), or [] when there is none. */
export async function readPrefixRecords(prefix: string): Promise<PrefixRecord[]> {
  const dir = join(prefix, CONDA_META);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
  const out: PrefixRecord[] = [];
  for (const n of names.sort()) {
    // As conda's glob('*.json'): hidden files (our journal and wheel-move record) are not package records.
    if (!n.endsWith('.json') || n.startsWith('.') || n === LEGACY_STATE_FILE) continue;
    const file = join(dir, n);
    let rec: PrefixRecord;
    try {
      rec = JSON.parse(await readFile(file, 'utf8')) as PrefixRecord;
    } catch (err) {
      throw new InstallError(`${file} is not a valid conda-meta record; remove the prefix and install again`, { cause: err });
    }
    if (typeof rec?.name !== 'string' || typeof rec.version !== 'string' || typeof rec.build !== 'string') {
      throw new InstallError(`${file} is not a conda-meta package record (no name/version/build)`);
    }
    out.push(rec);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Our own state in conda-meta/conda-go-lock (JSON). */
export interface PrefixState {
  tool: 'conda-go-lock';
  state_version: 1;
  platform: string;
  /** The lockfile's content_hash for the platform (when it has one). */
  content_hash: string | null;
  /** sha256 over the installed package set (see packageSetHash). */
  packages_hash: string;
  only_go: boolean;
  go: LockedGoToolchain | null;
  /** Present (true) when the lockfile pins Go for the platform but the install skipped it (`--no-go`). */
  skip_go?: boolean;
  /**
   * The prefix path written into files with a prefix placeholder and into entry points. A prefix
   * moved or copied elsewhere still holds this path: it is not up to date there.
   */
  prefix?: string;
  /**
   * The lockfile categories installed (`install --dev / -E NAME`), sorted, `main` included; absent
   * means main only. `verify` without category flags checks exactly these.
   */
  categories?: string[];
}

/** A stable hash of a package set: sorted `channel/subdir/fn sha256` lines. */
export function packageSetHash(pkgs: ReadonlyArray<Pick<LockedCondaPackage, 'channel' | 'subdir' | 'fn' | 'sha256'>>): string {
  const lines = pkgs.map((p) => `${channelWithSubdir(p)}/${p.fn} ${p.sha256}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

export async function writePrefixState(prefix: string, state: PrefixState): Promise<void> {
  const dir = join(prefix, CONDA_META);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

/** The categories a state records (main when it records none). */
export function stateCategories(state: Pick<PrefixState, 'categories'> | undefined): string[] {
  return state?.categories?.length ? [...state.categories] : ['main'];
}

export async function readPrefixState(prefix: string): Promise<PrefixState | undefined> {
  let text: string | undefined;
  for (const name of [STATE_FILE, LEGACY_STATE_FILE]) {
    try {
      text = await readFile(join(prefix, CONDA_META, name), 'utf8');
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw err;
    }
  }
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as PrefixState;
    return s?.tool === 'conda-go-lock' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** How the history file names a channel: conda.anaconda.org channels by name, others by URL. */
export function historyChannel(channel: string): string {
  const c = channel.replace(/\/+$/, '');
  const m = /^https?:\/\/conda\.anaconda\.org\/(.+)$/.exec(c);
  return m ? m[1]! : c;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `2026-11-25 14:39:46` (UTC). */
export function historyTimestamp(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())}`;
}

/** A package in a history line; `channel` may end in `/<subdir>` (conda-meta form) or not (lockfile form). */
export type HistoryPackage = { channel: string; subdir?: string; name: string; version: string; build: string };

export interface HistoryEntry {
  date: Date;
  command: string;
  added: ReadonlyArray<HistoryPackage>;
  removed: ReadonlyArray<HistoryPackage>;
  /**
   * The user's specs for this install (`# update specs: [...]`) and the names no longer requested
   * (`# remove specs: [...]`): conda reads these back as the environment's requested specs
   * (`conda env export --from-history`, and what later `conda install`/`update` solves keep).
   */
  updateSpecs?: readonly string[];
  removeSpecs?: readonly string[];
}

/** A list of strings as Python writes `repr(list)`, which conda's history parser `literal_eval`s. */
export function pythonListRepr(items: readonly string[]): string {
  return `[${items.map((s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`).join(', ')}]`;
}

export function formatHistoryEntry(e: HistoryEntry): string {
  const lines = [`==> ${historyTimestamp(e.date)} <==`, `# cmd: ${e.command}`];
  const fmt = (sign: string, p: HistoryPackage) => {
    let ch = p.channel.replace(/\/+$/, '');
    if (p.subdir && ch.endsWith(`/${p.subdir}`)) ch = ch.slice(0, -p.subdir.length - 1);
    return `${sign}${historyChannel(ch)}::${distOf(p)}`;
  };
  for (const p of [...e.removed].sort((a, b) => distOf(a).localeCompare(distOf(b)))) lines.push(fmt('-', p));
  for (const p of [...e.added].sort((a, b) => distOf(a).localeCompare(distOf(b)))) lines.push(fmt('+', p));
  if (e.removeSpecs && e.removeSpecs.length > 0) lines.push(`# remove specs: ${pythonListRepr(e.removeSpecs)}`);
  if (e.updateSpecs && e.updateSpecs.length > 0) lines.push(`# update specs: ${pythonListRepr(e.updateSpecs)}`);
  return lines.join('\n') + '\n';
}

export async function appendHistory(prefix: string, entry: HistoryEntry): Promise<void> {
  const dir = join(prefix, CONDA_META);
  await mkdir(dir, { recursive: true });
  await appendFile(join(dir, HISTORY_FILE), formatHistoryEntry(entry));
}
