/**
 * Resolve `pip:` requirements for one platform after the conda solve.
 *
 * The solve runs on the generic CDCL core with the PyPI provider. Index data is fetched ahead of
 * the solve along the newest matching versions (project page → best candidate's metadata → its
 * requirements' projects …, concurrently); when the solve needs something not fetched yet the
 * provider throws NeedData, the data is fetched and the solve restarts. So metadata is fetched
 * only for versions the search reaches, and (with PEP 658 files) no wheel is downloaded.
 */
import { PackageNotFoundError, UnsatisfiableError } from '../../errors.js';
import type { CoreMetadata } from '../../pypi-index/metadata.js';
import type { IndexFile } from '../../pypi-index/simple.js';
import { platformMarkerVariables, type MarkerEnvironment } from '../../pypi/markers.js';
import type { Requirement } from '../../pypi/requirement.js';
import { Pep440Version } from '../../pypi/version.js';
import { TagRanking, platformTags, supportedTags, type PlatformFacts } from '../../pypi/wheel.js';
import { Solver, type CoreClause } from '../core/solver.js';
import type { SolvableId } from '../core/provider.js';
import { NeedData, PypiProvider, type CondaProvided, type ProjectData } from './provider.js';

/** What the resolver needs from an index client (src/pypi-index PypiIndexClient fits). */
export interface PypiIndexSource {
  project(name: string): Promise<{ index: string; page: { files: IndexFile[] } } | undefined>;
  metadata(file: IndexFile): Promise<CoreMetadata>;
}

export interface PythonTarget {
  /** Full interpreter version from the conda solution, e.g. 3.11.9. */
  version: string;
  implementation: 'cpython' | 'pypy';
  freeThreaded?: boolean;
}

export interface PypiResolveRequest {
  platform: string;
  /** The pip: requirements (markers already kept: evaluated here for the target). */
  requirements: Requirement[];
  python: PythonTarget;
  /** Virtual packages of the platform (`__glibc`, `__osx`). */
  facts: PlatformFacts;
  /** PyPI names the conda solution provides. */
  conda: CondaProvided[];
  /** Previously locked versions to keep (`--update` of other names): key → version. */
  locked?: Map<string, string>;
}

export interface ResolvedWheel {
  key: string;
  version: string;
  file: IndexFile;
  index: string;
  requiresPython?: string;
  requiresDist: string[];
  requestedBy: string[];
}

export interface PypiResolveResult {
  wheels: ResolvedWheel[];
  /** Requirements satisfied by conda packages: pypi name → conda package. */
  satisfiedByConda: CondaProvided[];
  restarts: number;
}

/** The marker environment of a conda platform and interpreter (not of this machine). */
export function markerEnvironment(platform: string, py: PythonTarget): MarkerEnvironment {
  const v = Pep440Version.parse(py.version);
  return {
    ...platformMarkerVariables(platform),
    implementation_name: py.implementation,
    implementation_version: py.version,
    platform_release: '',
    platform_version: '',
    python_full_version: py.version,
    platform_python_implementation: py.implementation === 'pypy' ? 'PyPy' : 'CPython',
    python_version: `${v.major}.${v.minor}`,
  };
}

const MAX_RESTARTS = 10_000;

/**
 * Shared fetch state for several platforms: a project page or metadata file is fetched once
 * whatever the number of platforms.
 */
export class PypiFetchState {
  readonly projects = new Map<string, ProjectData | undefined>();
  readonly metadata = new Map<string, CoreMetadata>();
  private readonly pendingProjects = new Map<string, Promise<void>>();
  private readonly pendingMeta = new Map<string, Promise<void>>();
  constructor(readonly index: PypiIndexSource) {}

  fetchProject(key: string): Promise<void> {
    if (this.projects.has(key)) return Promise.resolve();
    let p = this.pendingProjects.get(key);
    if (!p) {
      p = this.index.project(key).then((found) => {
        this.projects.set(key, found ? { index: found.index, files: found.page.files } : undefined);
      });
      this.pendingProjects.set(key, p);
    }
    return p;
  }

  fetchMetadata(file: IndexFile): Promise<void> {
    if (this.metadata.has(file.url)) return Promise.resolve();
    let p = this.pendingMeta.get(file.url);
    if (!p) {
      p = this.index.metadata(file).then((md) => {
        this.metadata.set(file.url, md);
      });
      this.pendingMeta.set(file.url, p);
    }
    return p;
  }
}

export async function resolvePypi(req: PypiResolveRequest, state: PypiFetchState): Promise<PypiResolveResult> {
  const python = Pep440Version.parse(req.python.version);
  const env = markerEnvironment(req.platform, req.python);
  const tags = new TagRanking(
    supportedTags({
      implementation: req.python.implementation,
      python: [python.major, python.minor],
      ...(req.python.freeThreaded ? { freeThreaded: true } : {}),
      platforms: platformTags(req.facts),
    }),
  );
  const conda = new Map(req.conda.map((c) => [c.pypiName, c]));
  const roots = req.requirements.filter((r) => !r.marker || r.marker.evaluate(env));
  const target = { platform: req.platform, python, env, tags };

  // Prefetch along the newest matching versions, concurrently.
  const prefetched = new Set<string>();
  const prefetch = async (key: string, r?: Requirement): Promise<void> => {
    const tag = `${key}\0${r?.specifier.toString() ?? ''}`;
    if (prefetched.has(tag) || conda.has(key)) return;
    prefetched.add(tag);
    await state.fetchProject(key);
    const p = new PypiProvider(target, state.projects, state.metadata, conda);
    const cands = p.candidates(p.nameId(key)).candidates;
    const vs = r ? p.versionSet(key, r.specifier) : undefined;
    const pick = vs === undefined ? cands : p.filterCandidates(vs, cands, false);
    const locked = req.locked?.get(key);
    const first = (locked !== undefined ? pick.find((c) => p.solvables[c]!.version.toString() === locked) : undefined) ?? pick[0];
    if (first === undefined) return;
    const s = p.solvables[first]!;
    if (s.kind !== 'wheel') return;
    await state.fetchMetadata(s.file!);
    const deps = p.dependencies(first);
    void deps;
    const reqs = p.activeRequirements.get(first) ?? [];
    // Extras of the requirement bring their own dependencies.
    const extraReqs = r?.extras.length ? extrasRequirements(p, key, r.extras, first) : [];
    await Promise.all([...reqs, ...extraReqs].map((d) => prefetch(d.key, d)));
  };
  await Promise.all(roots.map((r) => prefetch(r.key, r)));

  let restarts = 0;
  for (;;) {
    const provider = new PypiProvider(target, state.projects, state.metadata, conda);
    const rootRequires = roots.flatMap((r) => provider.requirementSets(r));
    let outcome;
    try {
      outcome = new Solver(provider).solve(rootRequires, []);
    } catch (err) {
      if (!(err instanceof NeedData)) throw err;
      if (++restarts > MAX_RESTARTS) throw new Error('PyPI resolution did not converge');
      if (err.project) await prefetch(err.project);
      else await state.fetchMetadata(err.file!);
      continue;
    }
    if (!outcome.ok) throw unsatisfiable(provider, outcome.core, roots, req.platform);
    return collect(provider, outcome.solvables, roots, restarts);
  }
}

function extrasRequirements(p: PypiProvider, key: string, extras: string[], base: SolvableId): Requirement[] {
  const out: Requirement[] = [];
  for (const e of extras) {
    const name = p.nameId(`${key}[${e}]`);
    const ext = p.candidates(name).candidates.find((c) => p.solvables[c]!.base === base);
    if (ext === undefined) continue;
    p.dependencies(ext);
    out.push(...(p.activeRequirements.get(ext) ?? []));
  }
  return out;
}

function collect(p: PypiProvider, chosen: SolvableId[], roots: Requirement[], restarts: number): PypiResolveResult {
  const byKey = new Map<string, SolvableId>();
  for (const s of chosen) {
    const x = p.solvables[s]!;
    if (x.kind !== 'extra') byKey.set(x.key, s);
  }
  const requestedBy = new Map<string, Set<string>>();
  const add = (key: string, by: string) => {
    let set = requestedBy.get(key);
    if (!set) requestedBy.set(key, (set = new Set()));
    set.add(by);
  };
  for (const r of roots) add(r.key, r.text.trim());
  for (const s of chosen) {
    const x = p.solvables[s]!;
    for (const r of p.activeRequirements.get(s) ?? []) if (r.key !== x.key) add(r.key, x.key);
  }
  const wheels: ResolvedWheel[] = [];
  const satisfiedByConda: CondaProvided[] = [];
  for (const [key, s] of [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const x = p.solvables[s]!;
    if (x.kind === 'conda') {
      satisfiedByConda.push(x.conda!);
      continue;
    }
    const md = p.metadata.get(x.file!.url)!;
    const w: ResolvedWheel = {
      key,
      version: x.version.toString(),
      file: x.file!,
      index: x.index!,
      requiresDist: [...md.requiresDist],
      requestedBy: [...(requestedBy.get(key) ?? [])].sort(),
    };
    const rp = md.requiresPython ?? x.file!.requiresPython;
    if (rp) w.requiresPython = rp;
    wheels.push(w);
  }
  return { wheels, satisfiedByConda, restarts };
}

/** A tree from the user's pip: lines down to the clauses that conflict. */
function unsatisfiable(p: PypiProvider, core: readonly CoreClause[], roots: Requirement[], platform: string): Error {
  const requires = core.filter((c): c is Extract<CoreClause, { kind: 'requires' }> => c.kind === 'requires');
  // A root requirement on a project that is on no index: name the line.
  for (const c of requires) {
    if (c.parent !== null || c.candidates.length > 0) continue;
    const name = p.displayName(p.versionSetName(c.versionSet));
    const info = p.noCandidates.get(name);
    const line = roots.find((r) => r.key === name)?.text.trim() ?? name;
    if (info?.reason === 'not-found') {
      return new PackageNotFoundError(`pip: requirement '${line}': project '${name}' is not on the index (HTTP 404); check the spelling or --extra-index-url`);
    }
  }
  const lines: string[] = [];
  const seen = new Set<string>();
  const byParent = new Map<SolvableId | null, typeof requires>();
  for (const c of requires) {
    const list = byParent.get(c.parent) ?? [];
    list.push(c);
    byParent.set(c.parent, list);
  }
  const conflictsFor = new Map<number, string[]>();
  const walk = (parent: SolvableId | null, depth: number) => {
    for (const c of byParent.get(parent) ?? []) {
      const vs = p.displayVersionSet(c.versionSet);
      const key = `${parent}\0${c.versionSet}`;
      if (seen.has(key) || depth > 8) continue;
      seen.add(key);
      const pad = '  '.repeat(depth);
      const who = parent === null ? `pip: ${rootText(roots, p.displayName(p.versionSetName(c.versionSet)))}` : `${p.displaySolvable(parent)} requires ${vs}`;
      if (c.candidates.length === 0) {
        lines.push(`${pad}${who}, but ${noMatch(p, p.displayName(p.versionSetName(c.versionSet)), c.versionSet, platform)}`);
        continue;
      }
      const shown = c.candidates.slice(0, 6).map((s) => p.displaySolvableVersion(s));
      const conda = c.candidates.length === 1 && p.solvables[c.candidates[0]!]!.kind === 'conda';
      lines.push(`${pad}${who}${conda ? `: provided by ${p.displaySolvable(c.candidates[0]!)}` : ` (${shown.join(' | ')}${c.candidates.length > 6 ? ' | …' : ''})`}`);
      for (const s of c.candidates) walk(s, depth + 1);
    }
  };
  void conflictsFor;
  walk(null, 0);
  // Requirements on a conda-provided project that the conda version does not satisfy.
  const condaLines: string[] = [];
  for (const c of requires) {
    const name = p.displayName(p.versionSetName(c.versionSet));
    if (c.candidates.length > 0) continue;
    const provided = [...p.solvables].find((s) => s.kind === 'conda' && s.key === name);
    if (provided) {
      const by = c.parent === null ? `the pip: line '${rootText(roots, name)}'` : p.displaySolvable(c.parent);
      condaLines.push(`${by} requires ${p.displayVersionSet(c.versionSet)}, but the conda solution has ${provided.conda!.condaName} ${provided.conda!.condaVersion} (pip never replaces a conda package: change the conda pin or the pip requirement)`);
    }
  }
  const head = condaLines.length
    ? `the pip: requirements conflict with the conda packages on ${platform}:\n  ${condaLines.join('\n  ')}\n`
    : `the pip: requirements cannot be satisfied on ${platform}:\n`;
  return new UnsatisfiableError(`${head}${lines.map((l) => `  ${l}`).join('\n')}`);
}

function rootText(roots: Requirement[], name: string): string {
  const base = name.replace(/\[.*$/, '');
  return roots.find((r) => r.key === base)?.text.trim() ?? name;
}

function noMatch(p: PypiProvider, name: string, vs: number, platform: string): string {
  const key = name.replace(/\[.*$/, '');
  const info = p.noCandidates.get(key);
  if (info?.reason === 'not-found') return `project '${key}' is not on the index (HTTP 404)`;
  if (info?.reason === 'no-wheels') return `'${key}' has no wheels (only source distributions, which are not built: docs/pypi.md)`;
  if (info?.reason === 'incompatible' || info?.reason === 'requires-python') {
    const tags = info.tags ?? [];
    return (
      `no wheel of '${key}' fits ${platform}${info.reason === 'requires-python' ? ' and this Python (Requires-Python)' : ''}; its wheels have the tags ` +
      `${tags.slice(0, 12).join(', ')}${tags.length > 12 ? `, … (${tags.length} tags)` : ''}`
    );
  }
  const versions = p.versionsOf(key);
  const spec = p.versionSetSpec(vs);
  if (versions.length === 0) return 'no version is available';
  const wanted = spec.specifiers.find((s) => s.version)?.version;
  const nearest = wanted
    ? [...versions].sort((a, b) => Math.abs(distance(a, wanted)) - Math.abs(distance(b, wanted))).slice(0, 5)
    : versions.slice(0, 5);
  return `no version matches ${spec.toString() || '(any)'}; nearest available: ${nearest.join(', ')}`;
}

/** A rough numeric distance between versions for "nearest" hints. */
function distance(a: string, b: Pep440Version): number {
  const v = Pep440Version.parse(a);
  let d = 0;
  for (let i = 0; i < 4; i++) d += ((v.release[i] ?? 0) - (b.release[i] ?? 0)) * 1000 ** (3 - i);
  return d;
}
