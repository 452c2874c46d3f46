/**
 * The PyPI provider for the generic CDCL core (src/solver/core).
 *
 * Names are projects (`requests`) and extras (`requests[socks]`, which requires `requests ==V` of
 * the same version plus the extra's own requirements, as resolvelib and uv model them).
 * Candidates are versions that have a wheel compatible with the target (best tag wins), whose
 * Requires-Python admits the target interpreter; newest first; yanked versions only match an
 * `==` pin (PEP 592); pre-releases only when a specifier names one or nothing else matches.
 * A project that the conda solution already provides (through the conda→PyPI mapping) has exactly
 * one candidate, the conda package: pip never replaces it.
 *
 * The core is synchronous while index data arrives over the network: a provider call that needs a
 * page or a metadata file not fetched yet throws `NeedData`; the resolver (resolve.ts) fetches it
 * and restarts the solve (with everything fetched so far kept).
 */
import type { Candidates, Dependencies, DependencyProvider, NameId, SolvableId, VersionSetId } from '../core/provider.js';
import type { IndexFile } from '../../pypi-index/simple.js';
import type { CoreMetadata } from '../../pypi-index/metadata.js';
import { type MarkerEnvironment } from '../../pypi/markers.js';
import { canonicalName } from '../../pypi/name.js';
import { parseRequirement, type Requirement } from '../../pypi/requirement.js';
import { Pep440Version, SpecifierSet } from '../../pypi/version.js';
import { TagRanking, isSdistFilename, parseWheelFilename } from '../../pypi/wheel.js';

export class NeedData extends Error {
  constructor(
    readonly project?: string,
    readonly file?: IndexFile,
  ) {
    super(project ? `need project ${project}` : `need metadata ${file?.filename}`);
  }
}

/** A conda package standing in for a PyPI project. */
export interface CondaProvided {
  /** PEP 503 name on PyPI. */
  pypiName: string;
  condaName: string;
  condaVersion: string;
}

export interface ProjectData {
  index: string;
  files: IndexFile[];
}

export interface PypiSolvable {
  name: NameId;
  key: string;
  extra?: string;
  version: Pep440Version;
  kind: 'wheel' | 'conda' | 'extra';
  file?: IndexFile;
  yanked?: boolean;
  index?: string;
  conda?: CondaProvided;
  /** For extras: the base project's solvable of the same version. */
  base?: SolvableId;
}

interface VersionSet {
  name: NameId;
  spec: SpecifierSet;
  /** `==V` exact pin (lets a yanked version through). */
  pinned: boolean;
  text: string;
}

export interface TargetInfo {
  platform: string;
  python: Pep440Version;
  env: MarkerEnvironment;
  tags: TagRanking;
}

/** Why a project has no candidates for the target (for the error message). */
export interface NoCandidatesInfo {
  key: string;
  reason: 'not-found' | 'no-wheels' | 'incompatible' | 'requires-python';
  tags?: string[];
  versions?: string[];
}

export class PypiProvider implements DependencyProvider {
  readonly names: string[] = [];
  private readonly nameIds = new Map<string, NameId>();
  readonly solvables: PypiSolvable[] = [];
  private readonly versionSets: VersionSet[] = [];
  private readonly vsIds = new Map<string, VersionSetId>();
  private readonly candidateCache = new Map<NameId, SolvableId[]>();
  private readonly depCache = new Map<SolvableId, Dependencies>();
  /** Active requirements of each solvable (after markers), for requested_by and explanations. */
  readonly activeRequirements = new Map<SolvableId, Requirement[]>();
  readonly noCandidates = new Map<string, NoCandidatesInfo>();

  constructor(
    readonly target: TargetInfo,
    /** Project pages fetched so far (undefined value = the project is on no index). */
    readonly projects: Map<string, ProjectData | undefined>,
    readonly metadata: Map<string, CoreMetadata>,
    readonly conda: Map<string, CondaProvided>,
  ) {}

  nameId(name: string): NameId {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    return id;
  }

  /** A version set for a requirement on `key` (or `key[extra]`). */
  versionSet(name: string, spec: SpecifierSet): VersionSetId {
    const text = spec.toString();
    const k = `${name}\0${text}`;
    let id = this.vsIds.get(k);
    if (id === undefined) {
      id = this.versionSets.length;
      const pinned = spec.specifiers.length > 0 && spec.specifiers.every((s) => s.operator === '==' && !s.wildcard) || spec.specifiers.some((s) => s.operator === '===');
      this.versionSets.push({ name: this.nameId(name), spec, pinned, text });
      this.vsIds.set(k, id);
    }
    return id;
  }

  /** Version sets for one requirement: the project, plus one per extra. */
  requirementSets(req: Requirement): VersionSetId[] {
    const out = [this.versionSet(req.key, req.specifier)];
    for (const e of req.extras) out.push(this.versionSet(`${req.key}[${e}]`, req.specifier));
    return out;
  }

  private addSolvable(s: PypiSolvable): SolvableId {
    this.solvables.push(s);
    return this.solvables.length - 1;
  }

  candidates(name: NameId): Candidates {
    const cached = this.candidateCache.get(name);
    if (cached) return { candidates: cached };
    const full = this.names[name]!;
    const br = full.indexOf('[');
    const key = br < 0 ? full : full.slice(0, br);
    const extra = br < 0 ? undefined : full.slice(br + 1, -1);
    let list: SolvableId[];
    if (extra !== undefined) {
      const base = this.candidates(this.nameId(key)).candidates;
      list = base.map((b) => {
        const s = this.solvables[b]!;
        return this.addSolvable({ name, key, extra, version: s.version, kind: 'extra', base: b });
      });
    } else {
      list = this.projectCandidates(name, key);
    }
    this.candidateCache.set(name, list);
    return { candidates: list };
  }

  private projectCandidates(name: NameId, key: string): SolvableId[] {
    const conda = this.conda.get(key);
    if (conda) {
      const v = Pep440Version.tryParse(conda.condaVersion) ?? Pep440Version.parse('0');
      return [this.addSolvable({ name, key, version: v, kind: 'conda', conda })];
    }
    if (!this.projects.has(key)) throw new NeedData(key);
    const data = this.projects.get(key);
    if (!data) {
      this.noCandidates.set(key, { key, reason: 'not-found' });
      return [];
    }
    // Best compatible wheel per version.
    const best = new Map<string, { v: Pep440Version; file: IndexFile; rank: number; yanked: boolean }>();
    const allTags = new Set<string>();
    let wheels = 0;
    let pyBlocked = 0;
    for (const f of data.files) {
      if (!f.filename.endsWith('.whl')) continue;
      let w;
      try {
        w = parseWheelFilename(f.filename);
      } catch {
        continue; // an invalid file name on an index is skipped, as pip does
      }
      wheels++;
      for (const t of w.tags) allTags.add(t);
      const rank = this.target.tags.best(w.tags);
      if (rank === undefined) continue;
      if (f.requiresPython && !requiresPythonOk(f.requiresPython, this.target.python)) {
        pyBlocked++;
        continue;
      }
      const vk = w.version.toString();
      const prev = best.get(vk);
      if (!prev || rank < prev.rank || (rank === prev.rank && f.filename < prev.file.filename)) {
        best.set(vk, { v: w.version, file: f, rank, yanked: Boolean(f.yanked) });
      }
    }
    if (best.size === 0) {
      const sdists = data.files.filter((f) => isSdistFilename(f.filename)).length;
      const info: NoCandidatesInfo = { key, reason: wheels === 0 ? 'no-wheels' : pyBlocked > 0 ? 'requires-python' : 'incompatible' };
      if (wheels > 0) info.tags = [...allTags].sort();
      if (wheels === 0 && sdists > 0) info.versions = [];
      this.noCandidates.set(key, info);
    }
    const sorted = [...best.values()].sort((a, b) => b.v.compare(a.v));
    return sorted.map((c) => this.addSolvable({ name, key, version: c.v, kind: 'wheel', file: c.file, yanked: c.yanked, index: data.index }));
  }

  dependencies(solvable: SolvableId): Dependencies {
    const cached = this.depCache.get(solvable);
    if (cached) return cached;
    const s = this.solvables[solvable]!;
    const requires: VersionSetId[] = [];
    let active: Requirement[] = [];
    if (s.kind === 'conda') {
      // The conda solution covers a conda package's dependencies.
    } else if (s.kind === 'extra') {
      const base = this.solvables[s.base!]!;
      requires.push(this.versionSet(s.key, SpecifierSet.parse(`==${base.version.toString()}`)));
      if (base.kind === 'wheel') active = this.requirementsOf(base, [s.extra!]).filter((r) => r.marker?.mentionsExtra());
    } else {
      active = this.requirementsOf(s, []);
    }
    for (const r of active) requires.push(...this.requirementSets(r));
    this.activeRequirements.set(solvable, active);
    const deps = { requires, constrains: [] };
    this.depCache.set(solvable, deps);
    return deps;
  }

  /** Requires-Dist of a wheel whose markers hold for the target (with these extras). */
  private requirementsOf(s: PypiSolvable, extras: string[]): Requirement[] {
    const md = this.metadata.get(s.file!.url);
    if (!md) throw new NeedData(undefined, s.file);
    const out: Requirement[] = [];
    for (const line of md.requiresDist) {
      let r: Requirement;
      try {
        r = parseRequirement(line);
      } catch {
        continue; // a malformed Requires-Dist line in someone's wheel is ignored, as pip does
      }
      if (r.marker && !r.marker.evaluate(this.target.env, extras)) continue;
      if (!r.marker && extras.length) continue;
      if (r.key === s.key && !r.extras.length) continue; // self-reference
      out.push(r);
    }
    return out;
  }

  filterCandidates(vs: VersionSetId, candidates: readonly SolvableId[], inverse: boolean): SolvableId[] {
    const set = this.versionSets[vs]!;
    const allowPre = this.allowPrereleases(vs);
    return candidates.filter((c) => this.matches(set, c, allowPre) !== inverse);
  }

  private readonly preCache = new Map<VersionSetId, boolean>();
  /** Pre-releases match when the specifier names one, or when only pre-releases would match. */
  private allowPrereleases(vs: VersionSetId): boolean {
    let a = this.preCache.get(vs);
    if (a !== undefined) return a;
    const set = this.versionSets[vs]!;
    a = set.spec.allowsPrereleases();
    if (!a) {
      const all = this.candidateCache.get(set.name) ?? [];
      const matching = all.filter((c) => {
        const s = this.solvables[c]!;
        return !(s.yanked && !set.pinned) && set.spec.matchesIgnoringPrereleasePolicy(s.version);
      });
      a = matching.length > 0 && matching.every((c) => this.solvables[c]!.version.isPrerelease());
    }
    this.preCache.set(vs, a);
    return a;
  }

  private matches(set: VersionSet, c: SolvableId, allowPre: boolean): boolean {
    const s = this.solvables[c]!;
    if (s.kind === 'conda') return set.spec.contains(s.version, true);
    if (s.yanked && !set.pinned) return false;
    return set.spec.contains(s.version, allowPre);
  }

  versionSetName(vs: VersionSetId): NameId {
    return this.versionSets[vs]!.name;
  }
  solvableName(s: SolvableId): NameId {
    return this.solvables[s]!.name;
  }
  displayName(name: NameId): string {
    return this.names[name]!;
  }
  displaySolvable(s: SolvableId): string {
    const x = this.solvables[s]!;
    if (x.kind === 'conda') return `${x.key} ${x.conda!.condaVersion} (the conda package ${x.conda!.condaName} ${x.conda!.condaVersion})`;
    return `${this.names[x.name]} ${x.version.toString()}`;
  }
  displaySolvableVersion(s: SolvableId): string {
    return this.solvables[s]!.version.toString();
  }
  displayVersionSet(vs: VersionSetId): string {
    const v = this.versionSets[vs]!;
    return `${this.names[v.name]}${v.text ? ` ${v.text}` : ''}`;
  }
  versionSetSpec(vs: VersionSetId): SpecifierSet {
    return this.versionSets[vs]!.spec;
  }

  /** The newest versions of a project the target could use (for "nearest versions" hints). */
  versionsOf(key: string): string[] {
    const id = this.nameIds.get(key);
    const list = id === undefined ? undefined : this.candidateCache.get(id);
    return (list ?? []).map((c) => this.solvables[c]!.version.toString());
  }
}

export function requiresPythonOk(spec: string, python: Pep440Version): boolean {
  try {
    return SpecifierSet.parse(spec).contains(python, true);
  } catch {
    return true; // an unparsable Requires-Python does not exclude the file (pip's behaviour)
  }
}

export { canonicalName };
