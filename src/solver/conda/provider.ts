/**
 * The conda DependencyProvider: conda semantics on top of the generic core.
 *
 * - Candidates of a name: its records from the highest-priority channel that has the name (strict
 *   channel priority) or from every channel (flexible: higher-priority channels first; disabled:
 *   by version alone); `__name`s come only from the virtual packages.
 * - Candidate order (best first), as rattler's resolvo provider: records without track_features before
 *   records with them (fewer before more), then higher version, then higher build number; within a run
 *   of equal keys, the record whose dependencies allow higher versions of the dependency names they
 *   share, then the newer timestamp. Locked records are favored (tried first) but not forced.
 * - depends / constrains strings are parsed lazily, once per distinct string, and interned as version sets.
 */
import { channelMatches, MatchSpec } from '../../conda/matchspec.js';
import type { PackageRecord, RepoDataRecord } from '../../conda/record.js';
import { featureList } from '../../conda/record.js';
import { Version } from '../../conda/version.js';
import { stripTokenSegment } from '../../net/redact.js';
import type { Candidates, Dependencies, DependencyProvider, NameId, SolvableId, VersionSetId } from '../core/provider.js';

export interface CondaProviderOptions {
  records: readonly RepoDataRecord[];
  virtualPackages: readonly PackageRecord[];
  /** Channels in priority order (values of `record.channel`). Unlisted channels rank after listed ones. */
  channels?: readonly string[];
  channelPriority?: 'strict' | 'flexible' | 'disabled';
  locked?: readonly RepoDataRecord[];
  /** Names whose candidates may come from any channel (a requested spec named a channel for them). */
  channelPinnedNames?: ReadonlySet<string>;
  deadline?: number;
}

export interface Solvable {
  record: RepoDataRecord | PackageRecord;
  name: NameId;
  version: Version | undefined;
  /** Number of track_features. */
  tf: number;
  timestamp: number;
  virtual: boolean;
  /** Lazily computed dependencies. */
  deps?: Dependencies;
  /** Lazily computed requirements per dependency name (for tie-breaking). */
  profile?: Map<NameId, DependencyGroup>;
}

interface DependencyGroup {
  sets: VersionSetId[];
  /** Highest version the sets allow; computed on first use. */
  highest?: { version: Version; tf: boolean } | null;
}

interface VersionSetEntry {
  name: NameId;
  text: string;
  spec: MatchSpec | undefined;
  /** Why the spec could not be parsed (it then matches nothing). */
  invalid?: string;
}

/** Records of one name whose channel ranks worse than the chosen one (for explanations). */
export interface ExcludedByPriority {
  channel: string;
  count: number;
}

export class CondaProvider implements DependencyProvider {
  /** A record carries its depends/constrains: the core may look at any candidate's dependencies. */
  readonly dependenciesAtHand = true;
  readonly names: string[] = [];
  private readonly nameIds = new Map<string, NameId>();
  readonly solvables: Solvable[] = [];
  private readonly vsets: VersionSetEntry[] = [];
  private readonly vsIds = new Map<string, VersionSetId>();

  /** name → record indices (built once, one pass, without parsing anything). */
  private readonly recordsByName = new Map<string, (RepoDataRecord | PackageRecord)[]>();
  private readonly virtualNames = new Set<string>();
  private readonly nameSolvables = new Map<NameId, SolvableId[]>();
  private readonly favoredOf = new Map<NameId, SolvableId>();
  private readonly lockedByName = new Map<string, RepoDataRecord[]>();
  readonly excludedByPriority = new Map<string, ExcludedByPriority[]>();
  private readonly channelRank = new Map<string, number>();
  private readonly recordChannelRank = new Map<string, number>();
  private readonly highestCache = new Map<VersionSetId, { version: Version; tf: boolean } | null>();
  private readonly opts: CondaProviderOptions;

  constructor(opts: CondaProviderOptions) {
    this.opts = opts;
    (opts.channels ?? []).forEach((c, i) => {
      const key = normaliseChannel(c);
      if (!this.channelRank.has(key)) this.channelRank.set(key, i);
    });
    for (const v of opts.virtualPackages) {
      this.virtualNames.add(v.name);
      push(this.recordsByName, v.name, v);
    }
    for (const r of opts.records) {
      if (r.name.startsWith('__')) continue; // only the given virtual packages stand for `__` names
      push(this.recordsByName, r.name, r);
    }
    for (const r of opts.locked ?? []) push(this.lockedByName, r.name, r);
  }

  // ------------------------------------------------------------------ interning

  nameId(name: string): NameId {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    return id;
  }

  /** Intern a dependency/constraint string (parsed once). */
  versionSet(text: string): VersionSetId {
    let id = this.vsIds.get(text);
    if (id !== undefined) return id;
    let spec: MatchSpec | undefined;
    let invalid: string | undefined;
    let name: string;
    try {
      spec = MatchSpec.parse(text);
      name = spec.name;
    } catch (e) {
      invalid = (e as Error).message;
      name = text.trim().split(/[\s=<>!~[]/)[0]!.toLowerCase();
    }
    id = this.vsets.length;
    this.vsets.push({ name: this.nameId(name), text, spec, invalid });
    this.vsIds.set(text, id);
    return id;
  }

  /** Intern an already parsed spec (the user's requested specs and pins). */
  versionSetFromSpec(spec: MatchSpec, label?: string): VersionSetId {
    const text = label ?? spec.toString();
    const key = `\u0000${text}`;
    let id = this.vsIds.get(key);
    if (id !== undefined) return id;
    id = this.vsets.length;
    this.vsets.push({ name: this.nameId(spec.name), text, spec });
    this.vsIds.set(key, id);
    return id;
  }

  versionSetSpec(vs: VersionSetId): MatchSpec | undefined {
    return this.vsets[vs]!.spec;
  }

  versionSetInvalid(vs: VersionSetId): string | undefined {
    return this.vsets[vs]!.invalid;
  }

  /** Does any record (before channel priority) exist for the name? */
  hasRecords(name: string): boolean {
    return this.recordsByName.has(name) || this.lockedByName.has(name);
  }

  isVirtualName(name: string): boolean {
    return name.startsWith('__');
  }

  // ------------------------------------------------------------------ DependencyProvider

  candidates(name: NameId): Candidates {
    const list = this.nameCandidates(name);
    const fav = this.favoredOf.get(name);
    return fav === undefined ? { candidates: list } : { candidates: list, favored: fav };
  }

  /** The candidate solvables of a name, best first (created on first use). */
  nameCandidates(name: NameId): SolvableId[] {
    const hit = this.nameSolvables.get(name);
    if (hit) return hit;
    const nameStr = this.names[name]!;
    let recs = this.recordsByName.get(nameStr) ?? [];
    let locked = this.lockedByName.get(nameStr) ?? [];
    if (nameStr.startsWith('__')) {
      recs = recs.filter((r) => !('channel' in r) || this.virtualNames.has(r.name));
    } else if ((this.opts.channelPriority ?? 'strict') === 'strict' && !this.opts.channelPinnedNames?.has(nameStr)) {
      recs = this.applyChannelPriority(nameStr, recs as RepoDataRecord[]);
      // A locked record from a channel that strict priority now excludes for this name (the channel
      // list changed since the lock) is no option either; one whose name no channel has any more is.
      if (recs.length > 0 && locked.length > 0) {
        const best = this.rankOfChannel((recs[0] as RepoDataRecord).channel ?? '');
        locked = locked.filter((r) => this.rankOfChannel(r.channel ?? '') <= best);
      }
    }
    const out: SolvableId[] = [];
    const seenKeys = new Map<string, SolvableId>();
    const add = (r: RepoDataRecord | PackageRecord, virtual: boolean) => {
      const key = recordKey(r);
      const dup = seenKeys.get(key);
      if (dup !== undefined) return dup;
      const id = this.solvables.length;
      this.solvables.push({
        record: r,
        name,
        version: Version.tryParse(r.version),
        tf: featureList(r.track_features).length,
        timestamp: r.timestamp ?? 0,
        virtual,
      });
      seenKeys.set(key, id);
      out.push(id);
      return id;
    };
    const virtual = nameStr.startsWith('__');
    for (const r of recs) add(r, virtual);
    for (const r of locked) {
      const id = add(r, false);
      if (!this.favoredOf.has(name)) this.favoredOf.set(name, id);
    }
    out.sort((a, b) => this.simpleCompare(a, b));
    this.nameSolvables.set(name, out);
    return out;
  }

  private applyChannelPriority(name: string, recs: RepoDataRecord[]): RepoDataRecord[] {
    if (recs.length === 0) return recs;
    let bestRank = Infinity;
    const rankOf = (r: RepoDataRecord) => this.rankOfChannel(r.channel ?? '');
    for (const r of recs) {
      const k = rankOf(r);
      if (k < bestRank) bestRank = k;
    }
    const kept: RepoDataRecord[] = [];
    const dropped = new Map<string, number>();
    for (const r of recs) {
      if (rankOf(r) === bestRank) kept.push(r);
      else dropped.set(r.channel, (dropped.get(r.channel) ?? 0) + 1);
    }
    if (dropped.size) this.excludedByPriority.set(name, [...dropped].map(([channel, count]) => ({ channel, count })));
    return kept;
  }

  /**
   * Priority of a record's channel: the index of the first `channels` entry naming it (as the same
   * URL, or as a name like `conda-forge` matching the URL's path); unlisted channels rank last.
   */
  private rankOfChannel(channel: string): number {
    let rank = this.recordChannelRank.get(channel);
    if (rank !== undefined) return rank;
    rank = this.channelRank.get(normaliseChannel(channel));
    if (rank === undefined) {
      const list = this.opts.channels ?? [];
      const i = list.findIndex((c) => channelMatches(c, channel));
      rank = i >= 0 ? i : list.length;
    }
    this.recordChannelRank.set(channel, rank);
    return rank;
  }

  dependencies(s: SolvableId): Dependencies {
    const sol = this.solvables[s]!;
    if (sol.deps) return sol.deps;
    const requires: VersionSetId[] = [];
    const constrains: VersionSetId[] = [];
    for (const d of sol.record.depends ?? []) requires.push(this.versionSet(d));
    for (const d of sol.record.constrains ?? []) {
      const vs = this.versionSet(d);
      const target = this.names[this.vsets[vs]!.name]!;
      if (!target.startsWith('__')) constrains.push(vs);
      // The target's virtual packages are always there (conda, mamba and rattler install every one),
      // so a constraint on one it has must hold: a requirement (`cuda-version 12` constrains
      // `__cuda >=12`). A constraint on one it lacks constrains nothing.
      else if (this.virtualNames.has(target)) requires.push(vs);
    }
    // A record's track_features are not dependencies; `features` (old-style) are ignored like rattler does.
    sol.deps = { requires, constrains };
    return sol.deps;
  }

  filterCandidates(vs: VersionSetId, candidates: readonly SolvableId[], inverse: boolean): SolvableId[] {
    const entry = this.vsets[vs]!;
    const spec = entry.spec;
    const out: SolvableId[] = [];
    // Candidates come version-sorted: test each distinct version string once.
    let lastVersion: string | undefined;
    let lastVersionOk = false;
    for (const s of candidates) {
      let ok = false;
      if (spec !== undefined) {
        const sol = this.solvables[s]!;
        if (spec.version !== undefined) {
          if (sol.record.version !== lastVersion) {
            lastVersion = sol.record.version;
            lastVersionOk = sol.version !== undefined && spec.version.matches(sol.version);
          }
          ok = lastVersionOk && spec.matches(sol.record);
        } else ok = spec.matches(sol.record);
      }
      if (ok !== inverse) out.push(s);
    }
    return out;
  }

  sortCandidates(_vs: VersionSetId, candidates: SolvableId[]): SolvableId[] {
    // Already in simple order (the name's order is preserved by filtering); refine runs of equal keys.
    let start = 0;
    while (start < candidates.length) {
      let end = start + 1;
      while (end < candidates.length && this.simpleCompare(candidates[start]!, candidates[end]!) === 0) end++;
      if (end - start > 1) this.sortRunByDependencies(candidates, start, end);
      start = end;
    }
    return candidates;
  }

  versionSetName(vs: VersionSetId): NameId {
    return this.vsets[vs]!.name;
  }
  solvableName(s: SolvableId): NameId {
    return this.solvables[s]!.name;
  }
  displayName(n: NameId): string {
    return this.names[n]!;
  }
  displaySolvable(s: SolvableId): string {
    const r = this.solvables[s]!.record;
    return `${r.name} ${r.version} ${r.build}`;
  }
  displaySolvableVersion(s: SolvableId): string {
    return this.solvables[s]!.record.version;
  }
  displayVersionSet(vs: VersionSetId): string {
    return this.vsets[vs]!.text;
  }
  shouldCancel(): string | undefined {
    if (this.opts.deadline !== undefined && Date.now() > this.opts.deadline) return 'timed out';
    return undefined;
  }

  // ------------------------------------------------------------------ ordering

  /** Track features (absent first, then fewer), then version, then build number; best first. */
  simpleCompare(a: SolvableId, b: SolvableId): number {
    const x = this.solvables[a]!;
    const y = this.solvables[b]!;
    if (this.opts.channelPriority === 'flexible' && !x.virtual && !y.virtual) {
      // Flexible priority (conda's default): a higher-priority channel's records before any other's.
      const d = this.rankOfChannel((x.record as RepoDataRecord).channel ?? '') - this.rankOfChannel((y.record as RepoDataRecord).channel ?? '');
      if (d !== 0) return d;
    }
    if (x.tf !== y.tf) {
      if (x.tf === 0) return -1;
      if (y.tf === 0) return 1;
      return x.tf - y.tf;
    }
    if (x.version !== y.version) {
      if (x.version === undefined) return 1;
      if (y.version === undefined) return -1;
      const c = x.version.compare(y.version);
      if (c !== 0) return -c;
    }
    return (y.record.build_number ?? 0) - (x.record.build_number ?? 0);
  }

  /**
   * Order a run of candidates with equal simple keys: for the dependency names every candidate of the
   * run requires (alphabetically), prefer the candidate whose requirement allows the highest version
   * (a version without track_features beats one with); then the newest timestamp.
   */
  private sortRunByDependencies(c: SolvableId[], start: number, end: number): void {
    const run = c.slice(start, end);
    const sameDeps = (() => {
      const first = this.solvables[run[0]!]!.record.depends ?? [];
      return run.every((s) => {
        const d = this.solvables[s]!.record.depends ?? [];
        return d.length === first.length && d.every((x, i) => x === first[i]);
      });
    })();
    if (sameDeps) {
      // Identical requirements allow identical versions: only the timestamp can differ.
      run.sort((a, b) => this.solvables[b]!.timestamp - this.solvables[a]!.timestamp || this.tieBreak(a, b));
      for (let k = 0; k < run.length; k++) c[start + k] = run[k]!;
      return;
    }
    const profiles = run.map((s) => this.dependencyProfile(s));
    const shared: NameId[] = [];
    for (const n of profiles[0]!.keys()) if (profiles.every((p) => p.has(n))) shared.push(n);
    shared.sort((a, b) => cmpStr(this.names[a]!, this.names[b]!));
    const order = run.map((_, i) => i);
    order.sort((i, j) => {
      const pa = profiles[i]!;
      const pb = profiles[j]!;
      for (const n of shared) {
        const va = this.highestOf(pa.get(n)!);
        const vb = this.highestOf(pb.get(n)!);
        if (va && !vb) return -1;
        if (!va && vb) return 1;
        if (!va || !vb) continue;
        const d = compareTracked(va, vb);
        if (d !== 0) return d;
      }
      return this.solvables[run[j]!]!.timestamp - this.solvables[run[i]!]!.timestamp || this.tieBreak(run[i]!, run[j]!);
    });
    for (let k = 0; k < order.length; k++) c[start + k] = run[order[k]!]!;
  }

  /**
   * Last resort for records equal in every key above, so the result does not depend on the order the
   * records were given in: the higher-priority channel (matters with priority disabled), then an
   * arch record before a noarch one (conda's order), then the higher build string (conda's last key), then the file name.
   */
  private tieBreak(a: SolvableId, b: SolvableId): number {
    const x = this.solvables[a]!.record as Partial<RepoDataRecord> & PackageRecord;
    const y = this.solvables[b]!.record as Partial<RepoDataRecord> & PackageRecord;
    const cx = this.rankOfChannel(x.channel ?? '');
    const cy = this.rankOfChannel(y.channel ?? '');
    if (cx !== cy) return cx - cy;
    const nx = x.subdir === 'noarch' ? 1 : 0;
    const ny = y.subdir === 'noarch' ? 1 : 0;
    if (nx !== ny) return nx - ny;
    return cmpStr(y.build, x.build) || cmpStr(x.fn ?? '', y.fn ?? '') || cmpStr(x.channel ?? '', y.channel ?? '');
  }

  /** The requirements of a solvable grouped by dependency name (computed once per solvable). */
  private dependencyProfile(s: SolvableId): Map<NameId, DependencyGroup> {
    const sol = this.solvables[s]!;
    if (sol.profile) return sol.profile;
    const profile = new Map<NameId, DependencyGroup>();
    for (const vs of this.dependencies(s).requires) {
      const n = this.vsets[vs]!.name;
      const g = profile.get(n);
      if (g) g.sets.push(vs);
      else profile.set(n, { sets: [vs] });
    }
    sol.profile = profile;
    return profile;
  }

  /** The best highest version the requirements of one group allow (null: they match nothing). */
  private highestOf(g: DependencyGroup): { version: Version; tf: boolean } | null {
    if (g.highest !== undefined) return g.highest;
    let top: { version: Version; tf: boolean } | null = null;
    for (const vs of g.sets) {
      const h = this.highestVersion(vs);
      if (h && (top === null || compareTracked(h, top) < 0)) top = h;
    }
    g.highest = top;
    return top;
  }

  /** Highest version (and whether that record has track_features) among the candidates of a version set. */
  private highestVersion(vs: VersionSetId): { version: Version; tf: boolean } | null {
    const hit = this.highestCache.get(vs);
    if (hit !== undefined) return hit;
    const entry = this.vsets[vs]!;
    let top: { version: Version; tf: boolean } | null = null;
    if (entry.spec) {
      // Candidates are sorted by (track_features count, version desc): the first match of each
      // track_features group is that group's highest version.
      let doneTf = -1;
      let failedVersion: string | undefined;
      const vspec = entry.spec.version;
      for (const s of this.nameCandidates(entry.name)) {
        const sol = this.solvables[s]!;
        if (sol.tf === doneTf || !sol.version || sol.record.version === failedVersion) continue;
        if (vspec !== undefined && !vspec.matches(sol.version)) {
          failedVersion = sol.record.version;
          continue;
        }
        if (!entry.spec.matches(sol.record)) continue;
        doneTf = sol.tf;
        if (top === null || top.version.compare(sol.version) < 0) top = { version: sol.version, tf: sol.tf > 0 };
      }
    }
    this.highestCache.set(vs, top);
    return top;
  }
}

/** Negative when `a` is better: no track_features first, then the higher version. */
function compareTracked(a: { version: Version; tf: boolean }, b: { version: Version; tf: boolean }): number {
  if (a.tf !== b.tf) return a.tf ? 1 : -1;
  return -a.version.compare(b.version);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** Identity of a record across channels/subdirs. */
export function recordKey(r: RepoDataRecord | PackageRecord): string {
  const rr = r as Partial<RepoDataRecord>;
  return `${rr.channel ?? ''}|${r.subdir}|${r.name}-${r.version}-${r.build}`;
}

export function normaliseChannel(c: string): string {
  return stripTokenSegment(c).replace(/\/+$/, '').toLowerCase();
}
