/**
 * `verifyPrefix`: does a prefix still hold exactly what a lockfile pins for a platform?
 *
 * - every lockfile package has a conda-meta record with the same name-version-build and sha256,
 *   and no other package record exists;
 * - every file recorded in conda-meta `paths_data` exists and has the recorded sha256 (the hash
 *   after prefix replacement). A path written by several packages (a clobber) passes when it
 *   matches any of them; symlinks must still be symlinks, directories directories;
 * - the Go toolchain pinned for the platform is what conda-meta/conda-go-lock records, and
 *   PREFIX/go/VERSION names that version and PREFIX/go/bin/go(.exe) exists; every file and symlink of the archive, as recorded in
 *   conda-meta/go-toolchain at install (go-manifest.ts), is there with its size, sha256 and exec bit;
 * - every PyPI wheel the lockfile pins is recorded in conda-meta/conda-go-lock-pypi with the same
 *   version and sha256, every file of its RECORD has the recorded hash, and no other wheel we
 *   installed (INSTALLER conda-go-lock) is there.
 */
import { lstat, readFile, readlink, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { escapeControl } from '../escape.js';
import type { Lockfile, LockedGoToolchain } from '../lockfile/model.js';
import { mapLimit } from '../net/limit.js';
import { distOf, readPrefixRecords, readPrefixState, type PrefixRecord } from './conda-meta.js';
import type { InstalledPath } from './link.js';
import { wheelLayout } from './wheel/layout.js';
import { readWheelState } from './wheel/sync.js';
import { listInstalledWheelsIn, verifyWheel } from './wheel/uninstall.js';
import { checkGoTree, readGoManifest } from './go-manifest.js';
import { modeChanges, recordedPrefixPath } from './extract-modes.js';
import { sha256Hex } from './extract/hash.js';

export type VerifyProblemKind = 'missing-package' | 'changed-package' | 'extra-package' | 'modified-file' | 'missing-file' | 'go-mismatch' | 'moved-prefix';

export interface VerifyProblem {
  kind: VerifyProblemKind;
  /** dist (name-version-build) or `go` for Go problems. */
  package: string;
  path?: string;
  expected?: string;
  actual?: string;
}

export interface VerifyResult {
  ok: boolean;
  problems: VerifyProblem[];
  /** Number of files whose content was hashed. */
  checkedFiles: number;
}

export interface VerifyOptions {
  prefix: string;
  lockfile: Lockfile;
  platform: string;
  /** Files hashed in parallel (default 8). */
  concurrency?: number;
}

type Lstat = Awaited<ReturnType<typeof lstat>>;

async function lstatOrUndefined(p: string): Promise<Lstat | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The hash a file entry should have in the prefix, when it records one. */
function expectedSha(p: InstalledPath): string | undefined {
  return (p.sha256_in_prefix ?? p.sha256)?.toLowerCase();
}

function isFileEntry(p: InstalledPath): boolean {
  return p.path_type !== 'directory' && p.path_type !== 'softlink';
}

export function goVersionLine(go: Pick<LockedGoToolchain, 'version'>): string {
  return `go${go.version}`;
}

/**
 * Every file, symlink and directory the conda-meta records list (`paths_data`): there, of the
 * recorded kind, with the recorded sha256 (after prefix replacement). A path written by several
 * packages (a clobber) passes when it matches any of them. Used by `verify` and `install --repair`.
 */
export async function checkRecordedFiles(
  prefix: string,
  records: readonly PrefixRecord[],
  concurrency?: number,
): Promise<{ problems: Array<VerifyProblem & { kind: 'missing-file' | 'modified-file'; path: string }>; checkedFiles: number }> {
  // Files: group by path so clobbered paths pass when they match any owner.
  const byPath = new Map<string, Array<{ dist: string; entry: InstalledPath; extracted?: string }>>();
  for (const r of records) {
    for (const entry of r.paths_data?.paths ?? []) {
      const list = byPath.get(entry._path) ?? [];
      list.push({ dist: distOf(r), entry, extracted: r.extracted_package_dir });
      byPath.set(entry._path, list);
    }
  }
  let checkedFiles = 0;
  const pathProblems = await mapLimit([...byPath.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), concurrency ?? 8, async ([rel, owners]) => {
    const last = owners[owners.length - 1]!;
    const st = await lstatOrUndefined(join(prefix, rel));
    if (!st) return [{ kind: 'missing-file' as const, package: last.dist, path: rel }];
    const kinds = new Set(owners.map((o) => o.entry.path_type));
    if (kinds.has('directory') && owners.every((o) => o.entry.path_type === 'directory')) {
      return st.isDirectory() ? [] : [{ kind: 'modified-file' as const, package: last.dist, path: rel, expected: 'directory', actual: 'not a directory' }];
    }
    if (owners.every((o) => o.entry.path_type === 'softlink')) {
      // conda-meta records no target: the package's cached extraction says what the link is (a
      // symbolic link with its target, or a regular file the archive stored instead). Without the
      // extraction, any link or file passes.
      const ref = last.extracted ? await lstatOrUndefined(join(last.extracted, rel)) : undefined;
      if (ref?.isSymbolicLink()) {
        const want = await readlink(join(last.extracted!, rel));
        if (!st.isSymbolicLink()) return [{ kind: 'modified-file' as const, package: last.dist, path: rel, expected: `symbolic link to ${want}`, actual: st.isDirectory() ? 'directory' : 'regular file' }];
        const got = await readlink(join(prefix, rel));
        return got === want ? [] : [{ kind: 'modified-file' as const, package: last.dist, path: rel, expected: `symbolic link to ${want}`, actual: `symbolic link to ${got}` }];
      }
      if (ref?.isFile()) {
        if (!st.isFile()) return [{ kind: 'modified-file' as const, package: last.dist, path: rel, expected: 'regular file', actual: st.isDirectory() ? 'directory' : 'symbolic link' }];
        const [want, got] = await Promise.all([sha256Hex(join(last.extracted!, rel)), sha256Hex(join(prefix, rel))]);
        checkedFiles++;
        return got === want ? [] : [{ kind: 'modified-file' as const, package: last.dist, path: rel, expected: want, actual: got }];
      }
      return st.isSymbolicLink() || st.isFile()
        ? []
        : [{ kind: 'modified-file' as const, package: last.dist, path: rel, expected: 'symbolic link', actual: 'directory' }];
    }
    const fileOwners = owners.filter((o) => isFileEntry(o.entry));
    // A clobbered path one package ships as a symlink and another as a file: the symlink won.
    if (st.isSymbolicLink() && owners.some((o) => o.entry.path_type === 'softlink')) return [];
    if (!st.isFile()) {
      return [{ kind: 'modified-file' as const, package: last.dist, path: rel, expected: 'regular file', actual: st.isDirectory() ? 'directory' : 'symbolic link' }];
    }
    const shas = fileOwners.map((o) => expectedSha(o.entry)).filter((s): s is string => s !== undefined);
    if (shas.length === 0) return [];
    checkedFiles++;
    const actual = await sha256Hex(join(prefix, rel));
    if (shas.includes(actual)) return [];
    const owner = fileOwners[fileOwners.length - 1]!;
    return [{ kind: 'modified-file' as const, package: owner.dist, path: rel, expected: expectedSha(owner.entry) ?? shas[0], actual }];
  });
  return { problems: pathProblems.flat(), checkedFiles };
}

export async function verifyPrefix(opts: VerifyOptions): Promise<VerifyResult> {
  const prefix = resolve(opts.prefix);
  const { platform, lockfile } = opts;
  const problems: VerifyProblem[] = [];
  const state = await readPrefixState(prefix);
  const records = await readPrefixRecords(prefix);

  // Packages.
  const onlyGo = state?.only_go === true;
  const wanted = onlyGo ? [] : lockfile.packages.filter((p) => p.platform === platform);
  const recByName = new Map<string, PrefixRecord>(records.map((r) => [r.name, r]));
  const wantedNames = new Set(wanted.map((p) => p.name));
  for (const p of wanted) {
    const r = recByName.get(p.name);
    if (!r) {
      problems.push({ kind: 'missing-package', package: distOf(p), expected: `${distOf(p)} (sha256 ${p.sha256})` });
    } else if (distOf(r) !== distOf(p) || String(r.sha256).toLowerCase() !== p.sha256.toLowerCase()) {
      // Another build / version / archive of the same package: one changed package, not missing + extra.
      problems.push({
        kind: 'changed-package',
        package: distOf(p),
        expected: `${distOf(p)} (sha256 ${p.sha256})`,
        actual: `${distOf(r)} (sha256 ${r.sha256})`,
      });
    }
  }
  for (const r of records) {
    if (!wantedNames.has(r.name)) problems.push({ kind: 'extra-package', package: distOf(r), actual: distOf(r) });
  }

  const files = await checkRecordedFiles(prefix, records, opts.concurrency);
  let checkedFiles = files.checkedFiles;
  problems.push(...files.problems);
  // A chmod: the permission bits of the archive (recorded in the cached extraction, extract-modes.ts).
  const damaged = new Set(files.problems.map((p) => p.path));
  for (const c of await modeChanges(prefix, records, recordedPrefixPath(records, platform), damaged)) {
    problems.push({ kind: 'modified-file', package: c.dist, path: c.path, expected: c.expected, actual: c.actual });
  }

  // A prefix moved or copied from where it was installed: files with a prefix placeholder and entry
  // points still name the old path (their hashes match, so the file checks cannot see it).
  const samePlace = async (a: string, b: string) =>
    a === b || ((await realpath(a).catch(() => a)) === (await realpath(b).catch(() => b)));
  if (state?.prefix !== undefined && !(await samePlace(state.prefix, prefix))) {
    const relocatable = records.some((r) =>
      (r.paths_data?.paths ?? []).some((e) => e.prefix_placeholder !== undefined || e.path_type === 'unix_python_entry_point'),
    );
    if (relocatable) {
      problems.push({ kind: 'moved-prefix', package: 'prefix', expected: prefix, actual: `files written for ${state.prefix}` });
    }
  }

  // PyPI wheels.
  const { problems: wheelProblems, checkedFiles: wheelFiles } = await verifyWheels(prefix, onlyGo ? [] : (lockfile.pypi ?? []).filter((w) => w.platform === platform), records, platform);
  problems.push(...wheelProblems);
  checkedFiles += wheelFiles;

  // Go.
  // Installed with --no-go: the pinned toolchain was skipped on purpose and is not expected.
  const go = state?.skip_go === true ? undefined : lockfile.go.find((g) => g.platform === platform);
  let checkedGoFiles = 0;
  const recorded = state?.go ?? null;
  if (go) {
    if (!recorded) {
      problems.push({ kind: 'go-mismatch', package: 'go', expected: goVersionLine(go), actual: 'no Go toolchain recorded in conda-meta/conda-go-lock' });
    } else if (recorded.version !== go.version || recorded.sha256.toLowerCase() !== go.sha256.toLowerCase() || recorded.url !== go.url) {
      problems.push({
        kind: 'go-mismatch',
        package: 'go',
        expected: `${goVersionLine(go)} (sha256 ${go.sha256})`,
        actual: `${goVersionLine(recorded)} (sha256 ${recorded.sha256})`,
      });
    }
    const versionFile = join(prefix, 'go', 'VERSION');
    let firstLine: string | undefined;
    try {
      firstLine = (await readFile(versionFile, 'utf8')).split(/\r?\n/)[0]!.trim();
    } catch {
      firstLine = undefined;
    }
    if (firstLine === undefined) {
      problems.push({ kind: 'go-mismatch', package: 'go', path: 'go/VERSION', expected: goVersionLine(go), actual: 'missing' });
    } else if (firstLine !== goVersionLine(go)) {
      problems.push({ kind: 'go-mismatch', package: 'go', path: 'go/VERSION', expected: goVersionLine(go), actual: firstLine });
    }
    const goBin = platform.startsWith('win-') ? 'go/bin/go.exe' : 'go/bin/go';
    const binSt = await lstatOrUndefined(join(prefix, goBin));
    if (!binSt || !binSt.isFile()) {
      problems.push({ kind: 'go-mismatch', package: 'go', path: goBin, expected: 'the go binary', actual: 'missing' });
    }
    const manifest = await readGoManifest(prefix);
    const goLabel = `go${go.version}`;
    if (!manifest) {
      problems.push({
        kind: 'go-mismatch',
        package: 'go',
        path: 'conda-meta/go-toolchain',
        expected: 'the file manifest of the Go toolchain',
        actual: 'missing (installed by an older conda-go-lock, or removed): run `conda-go-lock install` to record it',
      });
    } else if (manifest.archive.sha256 !== go.sha256.toLowerCase()) {
      problems.push({ kind: 'go-mismatch', package: 'go', path: 'conda-meta/go-toolchain', expected: `files of ${go.filename}`, actual: `files of ${manifest.archive.filename}` });
    } else {
      const tree = await checkGoTree(prefix, manifest, { concurrency: opts.concurrency });
      checkedGoFiles = tree.checkedFiles;
      for (const p of tree.problems) {
        // A missing bin/go is reported once, above.
        if (p.kind === 'missing-file' && p.path === goBin) continue;
        problems.push({ ...p, package: goLabel });
      }
    }
  } else if (recorded) {
    problems.push({ kind: 'go-mismatch', package: 'go', expected: 'no Go toolchain', actual: goVersionLine(recorded) });
  }

  return { ok: problems.length === 0, problems, checkedFiles: checkedFiles + checkedGoFiles };
}

/** How a wheel is named in problems: `requests==2.31.0 (PyPI)`. */
const wheelLabel = (w: { name: string; version: string }) => `${w.name}==${w.version} (PyPI)`;

async function verifyWheels(
  prefix: string,
  wanted: ReadonlyArray<NonNullable<Lockfile['pypi']>[number]>,
  records: readonly PrefixRecord[],
  platform: string,
): Promise<{ problems: VerifyProblem[]; checkedFiles: number }> {
  const problems: VerifyProblem[] = [];
  let checkedFiles = 0;
  const state = await readWheelState(prefix);
  const byName = new Map(state.map((s) => [s.name, s]));
  const wantedNames = new Set(wanted.map((w) => w.name));
  for (const w of wanted) {
    const s = byName.get(w.name);
    const expected = `${wheelLabel(w)} (sha256 ${w.sha256.toLowerCase()})`;
    if (!s) {
      problems.push({ kind: 'missing-package', package: wheelLabel(w), expected });
      continue;
    }
    if (s.version !== w.version || s.sha256 !== w.sha256.toLowerCase()) {
      problems.push({ kind: 'missing-package', package: wheelLabel(w), expected, actual: `${wheelLabel(s)} (sha256 ${s.sha256})` });
      continue;
    }
    const v = await verifyWheel(prefix, s.dist_info);
    checkedFiles += v.checkedFiles;
    for (const p of v.problems) {
      problems.push({
        kind: p.kind === 'missing-file' ? 'missing-file' : 'modified-file',
        package: wheelLabel(s),
        path: p.path,
        expected: p.expected,
        actual: p.actual,
      });
    }
  }
  for (const s of state) if (!wantedNames.has(s.name)) problems.push({ kind: 'extra-package', package: wheelLabel(s), actual: wheelLabel(s) });
  // Wheels we installed that the state does not know (a copied dist-info, a lost state file).
  const python = records.find((r) => r.name === 'python');
  const dirs = new Set(state.map((s) => s.dist_info.slice(0, s.dist_info.lastIndexOf('/'))));
  if (python) {
    try {
      dirs.add(wheelLayout({ platform, python: { version: python.version }, prefix }).sitePackages);
    } catch {
      /* not a python version we can place */
    }
  }
  const known = new Set(state.map((s) => s.dist_info));
  for (const sp of [...dirs].sort()) {
    for (const d of await listInstalledWheelsIn(prefix, sp)) {
      if (!known.has(d.distInfo)) problems.push({ kind: 'extra-package', package: wheelLabel(d), path: d.distInfo, actual: wheelLabel(d) });
    }
  }
  return { problems, checkedFiles };
}

/**
 * One line per problem, for the CLI. Paths and names come from package archives and the lockfile: a
 * hostile one must not drive the terminal (ESC sequences, newlines, U+202E), so they are escaped.
 */
export function formatVerifyProblem(p: VerifyProblem): string {
  const where = p.path ? ` ${p.path}` : '';
  const detail =
    p.expected !== undefined || p.actual !== undefined
      ? ` (expected ${p.expected ?? '-'}, found ${p.actual ?? '-'})`
      : '';
  return escapeControl(`${p.kind}: ${p.package}${where}${detail}`);
}
