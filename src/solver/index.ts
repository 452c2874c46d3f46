/**
 * Public solver API: conda specs + candidate records → one consistent set of records.
 *
 * `solve` wires the conda provider (src/solver/conda) to the generic CDCL core (src/solver/core).
 * It throws `PackageNotFoundError` when a requested spec has no candidate at all and
 * `UnsatisfiableError` (message = an explanation tree of the user's specs) when the specs conflict.
 */
import type { MatchSpec } from '../conda/matchspec.js';
import type { PackageRecord, RepoDataRecord } from '../conda/record.js';
import { CondaGoLockError, PackageNotFoundError, UnsatisfiableError } from '../errors.js';
import { CondaProvider } from './conda/provider.js';
import { describeMissing, explainUnsat, missingDependencies } from './conda/explain.js';
import { SolveCancelled, Solver } from './core/solver.js';

export interface SolveOptions {
  /** The user's requested specs. */
  specs: MatchSpec[];
  /** All candidate records (every channel/subdir incl. noarch) for this platform. */
  records: RepoDataRecord[];
  /** `__glibc` etc.; the only candidates for `__` names. */
  virtualPackages: PackageRecord[];
  /** Channel canonical URLs/names in priority order (the `records[].channel` values). */
  channels?: string[];
  /**
   * Default strict: a name's candidates come only from the highest-priority channel that has it.
   * flexible (conda's default): every channel's records, a higher-priority channel's tried first.
   * disabled: every channel's records ordered by version alone.
   */
  channelPriority?: 'strict' | 'flexible' | 'disabled';
  /** Prefer these exact records (for `lock --update`): kept where possible, not forced. */
  locked?: RepoDataRecord[];
  /** Hard constraints: a pinned name, if installed, must match its spec. */
  pinned?: MatchSpec[];
  timeoutMs?: number;
  /** Platform named in error messages (default: inferred from the records' subdirs). */
  platform?: string;
}

export interface SolveStats {
  decisions: number;
  conflicts: number;
  learnt: number;
  candidatesLoaded: number;
  ms: number;
}

export interface SolveResult {
  /** Sorted by name; virtual packages excluded. */
  records: RepoDataRecord[];
  stats: SolveStats;
}

/** The solver gave up after `timeoutMs`. */
export class SolverTimeoutError extends CondaGoLockError {
  readonly code = 'E_SOLVER_TIMEOUT';
}

export function solve(opts: SolveOptions): SolveResult {
  const t0 = performance.now();
  const platform = opts.platform ?? inferPlatform(opts.records);
  const channelPinnedNames = new Set(opts.specs.filter((s) => s.channel !== undefined).map((s) => s.name));
  const provider = new CondaProvider({
    records: opts.records,
    virtualPackages: opts.virtualPackages,
    channels: opts.channels,
    channelPriority: opts.channelPriority ?? 'strict',
    locked: opts.locked,
    channelPinnedNames,
    deadline: opts.timeoutMs !== undefined ? Date.now() + opts.timeoutMs : undefined,
  });

  const rootRequires = opts.specs.map((s) => provider.versionSetFromSpec(s));
  const rootConstrains = (opts.pinned ?? []).map((s) => provider.versionSetFromSpec(s, `${s.toString()} (pinned)`));

  // A requested spec without a single candidate is a "not found", not a conflict.
  const missing = rootRequires.filter(
    (vs) => provider.filterCandidates(vs, provider.nameCandidates(provider.versionSetName(vs)), false).length === 0,
  );
  if (missing.length > 0) {
    throw new PackageNotFoundError(describeMissing(provider, missing, platform, opts.channels ?? []));
  }

  const solver = new Solver(provider);
  let outcome;
  try {
    outcome = solver.solve(rootRequires, rootConstrains);
  } catch (e) {
    if (e instanceof SolveCancelled) {
      throw new SolverTimeoutError(
        `the solver did not finish within ${opts.timeoutMs} ms for ${platform} (${opts.specs.map(String).join(', ')}); ` +
          'narrow the specs or raise the timeout',
      );
    }
    throw e;
  }
  const ms = performance.now() - t0;
  if (!outcome.ok) {
    const text = explainUnsat(provider, solver, outcome.core, platform);
    const missingDeps = missingDependencies(provider, outcome.core, platform);
    if (missingDeps !== undefined) throw new PackageNotFoundError(`${missingDeps}\n${text}`);
    throw new UnsatisfiableError(text);
  }
  const records: RepoDataRecord[] = [];
  for (const s of outcome.solvables) {
    const sol = provider.solvables[s]!;
    if (sol.virtual) continue;
    records.push(sol.record as RepoDataRecord);
  }
  records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { decisions, conflicts, learnt, candidatesLoaded } = outcome.stats;
  return { records, stats: { decisions, conflicts, learnt, candidatesLoaded, ms } };
}

function inferPlatform(records: readonly RepoDataRecord[]): string {
  for (const r of records) if (r.subdir && r.subdir !== 'noarch') return r.subdir;
  return 'noarch';
}
