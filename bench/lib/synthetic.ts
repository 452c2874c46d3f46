/**
 * A synthetic conda channel of ~200,000 records built from real conda-forge records, for the
 * solver's scale benchmark.
 *
 * Every real linux-64 + noarch record (one per name-version-build, .conda preferred) is cloned
 * `nameGroups × versionBumps` times:
 * - name group g (g ≥ 1) renames every package of the channel `name` → `name-g`, in the record
 *   and in its depends/constrains, so each group is a full copy of the real dependency graph;
 * - version bump j (j ≥ 1) adds 1000·j to the leading number of every version, in the record and
 *   in every version literal of its depends/constrains (`>=3.0.13,<4.0a0` → `>=1003.0.13,<1004.0a0`,
 *   `3.9.* *_cp39` → `1003.9.*` with the build untouched), so the copies of one name form a longer
 *   candidate list whose dependency constraints still line up with each other.
 * Virtual packages (`__glibc`, ...) and names the channel does not have are left as they are.
 * Group 0 / bump 0 is the unmodified real channel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type RawRecord = Record<string, unknown> & {
  name: string;
  version: string;
  build: string;
  depends?: string[];
  constrains?: string[];
};

export interface SyntheticChannel {
  /** Raw repodata (`info` + `packages.conda`), ready for JSON.stringify / parseRepoData. */
  repodata: { info: { subdir: string }; packages: Record<string, never>; 'packages.conda': Record<string, RawRecord> };
  records: number;
  baseRecords: number;
  nameGroups: number;
  versionBumps: number;
}

/** Unique (name, version, build) records of `subdirs` in a channel dir; `.conda` wins over `.tar.bz2`. */
export function loadBaseRecords(channelDir: string, subdirs: string[]): RawRecord[] {
  const byDist = new Map<string, RawRecord>();
  for (const subdir of subdirs) {
    const json = JSON.parse(readFileSync(join(channelDir, subdir, 'repodata.json'), 'utf8')) as Record<
      string,
      Record<string, RawRecord> | undefined
    >;
    for (const key of ['packages', 'packages.conda'] as const) {
      for (const r of Object.values(json[key] ?? {})) {
        const copy: RawRecord = { ...r, subdir: (r.subdir as string | undefined) ?? subdir };
        // dumped-form fields that would point at the real channel
        delete copy.fn;
        delete copy.url;
        delete copy.channel;
        byDist.set(`${r.name}-${r.version}-${r.build}`, copy);
      }
    }
  }
  return [...byDist.values()];
}

/** Add `delta` to the leading number of a version: `3.9.7` → `1003.9.7`, `2024a` → `3024a`. */
export function bumpVersion(version: string, delta: number): string {
  if (delta === 0) return version;
  return version.replace(/^(\d+)/, (d) => String(Number(d) + delta));
}

/** Bump every version literal of a version spec (`>=3.0.13,<4.0a0`, `3.9.*|3.10.*`, `!=7.2.0`). */
export function bumpVersionSpec(spec: string, delta: number): string {
  if (delta === 0) return spec;
  // a number that starts a version literal: at the start or after an operator / separator
  return spec.replace(/(^|[<>=!~,|(\s])(\d+)/g, (_m, pre: string, d: string) => `${pre}${Number(d) + delta}`);
}

/** Rewrite one `name [version [build]]` dependency for group `suffix` and version bump `delta`. */
export function rewriteDep(dep: string, names: Set<string>, suffix: string, delta: number): string {
  const parts = dep.trim().split(/\s+/);
  const name = parts[0]!;
  if (name.startsWith('__') || !names.has(name)) return dep;
  parts[0] = name + suffix;
  if (parts.length >= 2) parts[1] = bumpVersionSpec(parts[1]!, delta);
  return parts.join(' ');
}

export function buildSyntheticChannel(
  base: RawRecord[],
  opts: { targetRecords?: number; versionBumps?: number } = {},
): SyntheticChannel {
  const target = opts.targetRecords ?? 200_000;
  const versionBumps = opts.versionBumps ?? 6;
  const copies = Math.ceil(target / base.length);
  const nameGroups = Math.ceil(copies / versionBumps);
  const names = new Set(base.map((r) => r.name));
  const out: Record<string, RawRecord> = {};
  let n = 0;
  for (let g = 0; g < nameGroups; g++) {
    const suffix = g === 0 ? '' : `-${g}`;
    for (let j = 0; j < versionBumps; j++) {
      const delta = 1000 * j;
      for (const r of base) {
        const name = r.name + suffix;
        const version = bumpVersion(r.version, delta);
        const rec: RawRecord = {
          ...r,
          name,
          version,
          depends: (r.depends ?? []).map((d) => rewriteDep(d, names, suffix, delta)),
          constrains: (r.constrains ?? []).map((d) => rewriteDep(d, names, suffix, delta)),
        };
        out[`${name}-${version}-${r.build}.conda`] = rec;
        n++;
      }
    }
  }
  return {
    repodata: { info: { subdir: 'linux-64' }, packages: {}, 'packages.conda': out },
    records: n,
    baseRecords: base.length,
    nameGroups,
    versionBumps,
  };
}
