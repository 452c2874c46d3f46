/**
 * `install --repair`: which files of an environment's installed units no longer are what the
 * installer wrote, so that the install transaction (install.ts + journal.ts) links those units again
 * from the verified cache and puts their files back.
 *
 * The checks are verify's (verify.ts `checkRecordedFiles`: every path a conda-meta record lists, of
 * its recorded kind and sha256; go-manifest.ts `checkGoTree` for the Go toolchain; the RECORD hashes
 * of PyPI wheels we installed). Only packages that are the lockfile's very package (same dist and
 * archive) are looked at: another build is an update, not a repair. Files no unit owns are never
 * looked at, so they are never touched.
 */
import { escapeControl } from '../escape.js';
import { modeChanges } from './extract-modes.js';
import { distOf, type PrefixRecord } from './conda-meta.js';
import type { GoTreeProblem } from './go-manifest.js';
import { installOrder } from './order.js';
import { checkRecordedFiles } from './verify.js';
import { readWheelState, wheelKey, type WheelPin, type WheelStateEntry } from './wheel/sync.js';
import { verifyWheel } from './wheel/uninstall.js';

/** One file `--repair` puts back. */
export interface RepairedFile {
  /** dist of the conda package, `go<version>` for the Go toolchain, `name==version (PyPI)` for a wheel. */
  package: string;
  /** Prefix-relative, forward slashes. */
  path: string;
  /** `missing`: not there; `modified`: other content, or another kind of file (a symlink, a directory). */
  kind: 'missing' | 'modified';
  /** What was found instead, for a modified file (`symbolic link`, a sha256, `mode 0644`, ...). */
  found?: string;
  /** What it should be, when that is worth saying (`mode 0775`). */
  expected?: string;
}

/**
 * The damaged files of the conda packages in `records` (all of them: a path owned by several packages
 * passes when it matches any of them, as for verify, and a damaged one is the package's that won it at
 * install), grouped by package name.
 */
export async function damagedPackageFiles(prefix: string, records: readonly PrefixRecord[]): Promise<Map<string, RepairedFile[]>> {
  const nameOf = new Map(records.map((r) => [distOf(r), r.name]));
  const out = new Map<string, RepairedFile[]>();
  // In link order: a path several packages ship is blamed on (and relinked from) the one that won it.
  for (const p of (await checkRecordedFiles(prefix, installOrder(records))).problems) {
    const name = nameOf.get(p.package);
    if (name === undefined) continue;
    const list = out.get(name) ?? [];
    list.push({ package: p.package, path: p.path, kind: p.kind === 'missing-file' ? 'missing' : 'modified', ...(p.actual !== undefined ? { found: p.actual } : {}) });
    out.set(name, list);
  }
  return out;
}

/** extract-modes.ts `modeChanges` as repaired files, grouped by package name. */
export async function modeChangedFiles(...args: Parameters<typeof modeChanges>): Promise<Map<string, RepairedFile[]>> {
  const out = new Map<string, RepairedFile[]>();
  for (const c of await modeChanges(...args)) {
    const list = out.get(c.name) ?? [];
    list.push({ package: c.dist, path: c.path, kind: 'modified', found: c.actual, expected: c.expected });
    out.set(c.name, list);
  }
  return out;
}

/** The Go toolchain's problems (go-manifest.ts) as repaired files. */
export function goRepairedFiles(label: string, problems: readonly GoTreeProblem[]): RepairedFile[] {
  return problems.map((p) => ({ package: label, path: p.path, kind: p.kind === 'missing-file' ? 'missing' : 'modified', ...(p.actual !== undefined ? { found: p.actual } : {}) }));
}

/** The locked wheels we installed (`pins`, same version and archive) whose RECORD files are missing or modified, with those files. */
export async function damagedWheels<P extends WheelPin>(prefix: string, pins: readonly P[]): Promise<Array<{ pin: P; entry: WheelStateEntry; files: RepairedFile[] }>> {
  const out: Array<{ pin: P; entry: WheelStateEntry; files: RepairedFile[] }> = [];
  const byKey = new Map(pins.map((p) => [wheelKey(p), p]));
  for (const s of await readWheelState(prefix)) {
    const pin = byKey.get(wheelKey(s));
    if (pin === undefined) continue;
    const label = `${s.name}==${s.version} (PyPI)`;
    const { problems } = await verifyWheel(prefix, s.dist_info);
    // bad-record rows (a RECORD pointing outside the prefix) are not ours to repair: verify reports them.
    const files = problems
      .filter((p) => p.kind !== 'bad-record')
      .map((p): RepairedFile => ({ package: label, path: p.path, kind: p.kind === 'missing-file' ? 'missing' : 'modified', ...(p.actual !== undefined ? { found: p.actual } : {}) }));
    if (files.length > 0) out.push({ pin, entry: s, files });
  }
  return out;
}

/** `restored bin/xz (missing; xz-5.2.5-h7b6447c_0)`, escaped for the terminal. */
export function formatRepairedFile(f: RepairedFile): string {
  const what =
    f.kind === 'missing'
      ? 'missing'
      : f.found !== undefined && !/^(?:\w+:)?[0-9a-f]{32,}$/.test(f.found)
        ? `modified, found ${f.found}${f.expected !== undefined ? ` instead of ${f.expected}` : ''}`
        : 'modified';
  return escapeControl(`restored ${f.path} (${what}; ${f.package})`);
}

/** `repaired 3 files of 2 packages: a-1-0, b-2-0` or `nothing to repair`. */
export function formatRepairSummary(files: readonly RepairedFile[]): string {
  if (files.length === 0) return 'nothing to repair';
  const units = [...new Set(files.map((f) => f.package))].sort();
  return escapeControl(`repaired ${files.length} file${files.length === 1 ? '' : 's'} of ${units.length} package${units.length === 1 ? '' : 's'}: ${units.join(', ')}`);
}
