/**
 * Our solver driven the same way as the rattler reference (test/solver/rattler-harness.ts):
 * specs as strings, a channel directory of `<subdir>/repodata.json`, a subdir (+ noarch) and
 * virtual packages. Shared by test/solver/differential.test.ts and bench/solve.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PackageRecord, RepoDataRecord } from '../../src/conda/record.js';
import { MatchSpec } from '../../src/conda/matchspec.js';
import { parseRepoData } from '../../src/repodata/parse.js';
import { solve } from '../../src/solver/index.js';
import { PackageNotFoundError, UnsatisfiableError } from '../../src/errors.js';

export interface VirtualPackageInput {
  name: string;
  version: string;
  build?: string;
  build_number?: number;
}

export type OursResult =
  | { ok: true; records: RepoDataRecord[]; /** solve() only */ ms: number }
  | { ok: false; error: string; code: string; ms: number };

/** Records of `subdir` + noarch, parsed with our parser; cached per channel dir and subdir. */
export class ChannelRecords {
  private readonly cache = new Map<string, { records: RepoDataRecord[]; parseMs: number }>();
  constructor(
    readonly channelDir: string,
    /** The canonical channel URL given to parseRepoData as `channel`. */
    readonly channelUrl: string,
  ) {}

  private load(subdir: string): { records: RepoDataRecord[]; parseMs: number } {
    let hit = this.cache.get(subdir);
    if (!hit) {
      const text = readFileSync(join(this.channelDir, subdir, 'repodata.json'), 'utf8');
      const t0 = performance.now();
      const records = parseRepoData(text, {
        channel: this.channelUrl,
        subdir,
        baseUrl: `${this.channelUrl}/${subdir}`,
        source: join(this.channelDir, subdir, 'repodata.json'),
      });
      hit = { records, parseMs: performance.now() - t0 };
      this.cache.set(subdir, hit);
    }
    return hit;
  }

  /** Records for solving `subdir`: its own and noarch. */
  forSubdir(subdir: string): RepoDataRecord[] {
    return subdir === 'noarch' ? this.load('noarch').records : [...this.load(subdir).records, ...this.load('noarch').records];
  }

  /** Time parseRepoData took for `subdir` + noarch (first load). */
  parseMs(subdir: string): number {
    this.forSubdir(subdir);
    return this.load(subdir).parseMs + (subdir === 'noarch' ? 0 : this.load('noarch').parseMs);
  }
}

export function virtualRecords(subdir: string, vps: readonly VirtualPackageInput[]): PackageRecord[] {
  return vps.map((v) => ({
    name: v.name,
    version: v.version,
    build: v.build ?? '0',
    build_number: v.build_number ?? 0,
    subdir,
    depends: [],
    constrains: [],
  }));
}

/**
 * Solve with our solver. Unsatisfiable / unknown-package errors become `{ ok: false }`;
 * any other exception (a bug) is rethrown.
 */
export function solveOurs(
  specs: readonly string[],
  records: RepoDataRecord[],
  subdir: string,
  virtualPackages: readonly VirtualPackageInput[],
  channels: string[],
  opts: { locked?: RepoDataRecord[] } = {},
): OursResult {
  const parsed = specs.map((s) => MatchSpec.parse(s));
  const t0 = performance.now();
  try {
    const out = solve({
      specs: parsed,
      records,
      virtualPackages: virtualRecords(subdir, virtualPackages),
      channels,
      channelPriority: 'strict',
      locked: opts.locked,
    }) as unknown;
    const ms = performance.now() - t0;
    const solved = Array.isArray(out) ? (out as RepoDataRecord[]) : (out as { records: RepoDataRecord[] }).records;
    return { ok: true, records: solved, ms };
  } catch (err) {
    const ms = performance.now() - t0;
    if (err instanceof UnsatisfiableError || err instanceof PackageNotFoundError) {
      return { ok: false, error: err.message, code: err.code, ms };
    }
    throw err;
  }
}
