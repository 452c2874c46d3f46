/**
 * pyproject.toml → EnvironmentSpec, read the way conda-lock reads it (docs/environment.md#pyprojecttoml).
 *
 * - `[tool.conda-lock]`: `channels`, `platforms`, `dependencies` (conda name → conda version spec,
 *   or `{source = "pypi"}` to take a project dependency from PyPI), `pip-repositories`,
 *   `allow-pypi-requests`, `default-non-conda-source` (`conda` | `pip`), `skip-non-conda-lock`.
 * - The project's own dependencies, unless `skip-non-conda-lock`: PEP 621 `[project]`
 *   (`dependencies`, `optional-dependencies`, plus PDM's `[tool.pdm.dev-dependencies]`), else
 *   poetry's `[tool.poetry]` (`dependencies`, `dev-dependencies`, `group.NAME.dependencies`,
 *   `extras`), else flit's `[tool.flit.metadata]` (`requires`, `requires-extra`).
 * - Categories as conda-lock assigns them: main; the optional dependencies / poetry extra NAME →
 *   category NAME, except the `dev` and `test` extras → `dev`; dev dependencies (poetry, PDM) →
 *   `dev`; a poetry group NAME → NAME.
 * - A project dependency is a conda dependency (its PyPI name mapped to the conda name by
 *   `pypiToConda`; name equality without a mapping) unless `default-non-conda-source = "pip"`,
 *   `source = "pypi"`, or the mapping knows no conda package for it: then it is a PyPI requirement
 *   for the existing PyPI resolver (the `pip` section of the result).
 * - Markers: on a conda dependency, the platform ones (sys_platform, platform_system, os_name,
 *   platform_machine) select platforms; others (python_version…) cannot be known before the solve
 *   and count as true, with a warning (as conda-lock). On a PyPI requirement they are kept.
 *
 * Pure: the text comes in, nothing is read or fetched.
 */
import { Channel } from '../conda/channel.js';
import type { EnvLike } from '../conda/channel-env.js';
import { MatchSpec } from '../conda/matchspec.js';
import { KNOWN_PLATFORMS, parsePlatform, sortPlatforms, type Platform } from '../conda/platform.js';
import { InputError, type SourceLocation } from '../errors.js';
import { platformMarkerVariables, Marker } from '../pypi/markers.js';
import { canonicalName } from '../pypi/name.js';
import { parseRequirement, type Requirement } from '../pypi/requirement.js';
import type { Specifier } from '../pypi/version.js';
import { isCategoryName, type EnvDependency, type EnvironmentSpec, type EnvWarning } from './environment.js';
import type { PipRequirement, PipSection } from './pip.js';
import { parseTomlSource, type TomlSource } from './toml-source.js';
import { Problems } from './yaml-source.js';
import { dirname, resolve as resolvePath } from 'node:path';

/** Whether `file` is read as pyproject.toml (by its extension, like conda-lock). */
export function isPyprojectFile(file: string): boolean {
  return /\.toml$/i.test(file);
}

export interface ParsePyprojectOptions {
  baseDir?: string;
  env?: EnvLike;
  /**
   * The conda name of a PyPI project (canonical PyPI name in), or null when conda has no package
   * for it (it is then locked from PyPI). Default: the name as written, lowercased (conda-lock's fallback).
   */
  pypiToConda?: (pypiName: string) => string | null;
}

const CONDA_LOCK_KEYS = [
  'channels',
  'platforms',
  'dependencies',
  'dev-dependencies',
  'pip-repositories',
  'allow-pypi-requests',
  'default-non-conda-source',
  'skip-non-conda-lock',
] as const;

/** conda-lock's extras that are its `dev` category (PEP 621 / flit). */
const DEV_EXTRAS = new Set(['dev', 'test']);

/** A TOML table (smol-toml makes them without a prototype; a date is an object too, but not a table). */
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && [null, Object.prototype].includes(Object.getPrototypeOf(v));

type Manager = 'conda' | 'pip';

/** One requirement of the project before it is turned into a conda dependency or a PyPI requirement. */
interface ProjectRequirement {
  /** Canonical PyPI name. */
  key: string;
  name: string;
  extras: string[];
  /** Version clauses, conda/PEP 440-neutral: `[op, version]`; op '' = any; wildcard in version (`1.2.*`). */
  clauses: Clause[][];
  marker?: Marker;
  category: string;
  manager: Manager;
  location: SourceLocation;
  /** As written, for messages. */
  text: string;
}

/** One comparison: `>=` `1.2`; `==` with a `1.2.*` version is a prefix match. */
interface Clause {
  op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '~=';
  version: string;
}

export function parsePyprojectToml(text: string, file: string, opts: ParsePyprojectOptions = {}): EnvironmentSpec {
  const src = parseTomlSource(text, file);
  const problems = new Problems(file);
  const warnings: EnvWarning[] = [];
  const warn = (message: string, location: SourceLocation) => warnings.push({ message, location });
  const data = src.data;
  const tool = isRecord(data.tool) ? data.tool : {};
  const cl = isRecord(tool['conda-lock']) ? tool['conda-lock'] : {};
  const clPath = ['tool', 'conda-lock'];
  if (tool['conda-lock'] !== undefined && !isRecord(tool['conda-lock'])) {
    problems.add('[tool.conda-lock] must be a table', src.locate(clPath), 'E_PYPROJECT');
  }
  for (const k of Object.keys(cl)) {
    if (!(CONDA_LOCK_KEYS as readonly string[]).includes(k)) {
      warn(`'${k}' in [tool.conda-lock] is ignored (known keys: ${CONDA_LOCK_KEYS.join(', ')})`, src.locate([...clPath, k]));
    }
  }
  const out: EnvironmentSpec = { file, channels: [], nodefaults: false, dependencies: [], virtualPackages: [], warnings };
  const project = isRecord(data.project) ? data.project : undefined;
  const poetry = isRecord(tool.poetry) ? tool.poetry : undefined;
  const name = typeof project?.name === 'string' ? project.name : typeof poetry?.name === 'string' ? poetry.name : undefined;
  if (name !== undefined) out.name = name;

  const stringList = (v: unknown, path: string[], what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      problems.add(`${path.join('.')} must be a list of strings (${what})`, src.locate(path), 'E_PYPROJECT');
      return [];
    }
    return v as string[];
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = cl[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      problems.add(`tool.conda-lock.${key} must be true or false`, src.locate([...clPath, key]), 'E_PYPROJECT');
      return dflt;
    }
    return v;
  };

  // channels (`nodefaults` is redundant: channels are always the listed ones)
  const baseDir = opts.baseDir ?? dirname(file);
  for (const raw of stringList(cl.channels, [...clPath, 'channels'], 'channel names or URLs')) {
    const c = raw.trim();
    const loc = src.locateItem([...clPath, 'channels'], raw);
    if (c === 'nodefaults') {
      out.nodefaults = true;
      continue;
    }
    if (out.channels.includes(c)) {
      warn(`channel '${c}' is listed twice; the first position counts`, loc);
      continue;
    }
    if (c !== 'defaults') {
      try {
        Channel.parse(c, { cwd: baseDir, ...(opts.env ? { env: opts.env } : {}) });
      } catch (err) {
        problems.add((err as Error).message, loc, (err as InputError).code === 'E_CHANNEL_ENV_UNSET' ? 'E_CHANNEL_ENV_UNSET' : 'E_ENV_CHANNEL');
        continue;
      }
    }
    out.channels.push(c === '.' || c.startsWith('./') || c.startsWith('../') ? resolvePath(baseDir, c) : c);
  }

  // platforms
  if (cl.platforms !== undefined) {
    const ps: Platform[] = [];
    for (const p of stringList(cl.platforms, [...clPath, 'platforms'], 'conda platforms such as linux-64')) {
      try {
        ps.push(parsePlatform(p.trim(), 'platform'));
      } catch (err) {
        problems.add((err as Error).message, src.locateItem([...clPath, 'platforms'], p), 'E_PYPROJECT');
      }
    }
    if (ps.length) out.platforms = sortPlatforms(new Set(ps));
  }

  const source = cl['default-non-conda-source'] ?? 'conda';
  if (source !== 'conda' && source !== 'pip') {
    problems.add(`tool.conda-lock.default-non-conda-source must be "conda" or "pip", not ${JSON.stringify(source)}`, src.locate([...clPath, 'default-non-conda-source']), 'E_PYPROJECT');
  }
  const defaultManager: Manager = source === 'pip' ? 'pip' : 'conda';
  const skipProject = bool('skip-non-conda-lock', false);
  const allowPypi = bool('allow-pypi-requests', true);
  const repositories = stringList(cl['pip-repositories'], [...clPath, 'pip-repositories'], 'PyPI index URLs');

  // [tool.conda-lock.dependencies] (main) and [tool.conda-lock.dev-dependencies] (dev): conda specs.
  const forcePypi = new Set<string>();
  for (const [table, category] of [['dependencies', 'main'], ['dev-dependencies', 'dev']] as const) {
    const deps = cl[table];
    if (deps === undefined) continue;
    const path = [...clPath, table];
    if (!isRecord(deps)) {
      problems.add(`tool.conda-lock.${table} must be a table of name = "version spec"`, src.locate(path), 'E_PYPROJECT');
      continue;
    }
    for (const [depName, value] of Object.entries(deps)) {
      const loc = src.locate([...path, depName]);
      if (isRecord(value)) {
        if (value.source === 'pypi' && table === 'dependencies') forcePypi.add(canonicalName(depName.replace(/^.*::/, '')));
        else problems.add(`${depName}: a table here can only be {source = "pypi"} (take the project's dependency from PyPI); a conda dependency is name = "version spec"`, loc, 'E_PYPROJECT');
        continue;
      }
      if (typeof value !== 'string') {
        problems.add(`${depName}: the version spec must be a string ("*" for any version), not ${JSON.stringify(value)}`, loc, 'E_PYPROJECT');
        continue;
      }
      addConda(`${depName} ${value}`.trim(), category, loc, undefined);
    }
  }

  function addConda(specText: string, category: string, loc: SourceLocation, platforms: Platform[] | undefined): void {
    let spec: MatchSpec;
    try {
      spec = MatchSpec.parse(specText);
    } catch (err) {
      problems.add(`invalid dependency '${specText}': ${(err as Error).message}`, loc, 'E_ENV_SPEC');
      return;
    }
    const dep: EnvDependency = { spec, text: specText, file, line: loc.line ?? 0, column: loc.column ?? 0 };
    if (category !== 'main') dep.category = category;
    if (platforms) dep.platforms = platforms;
    out.dependencies.push(dep);
  }

  // The project's requirements.
  const reqs: ProjectRequirement[] = [];
  if (!skipProject && isRecord(data['dependency-groups'])) {
    warn('[dependency-groups] (PEP 735) is not read, as conda-lock does not read it: list those requirements under [project.optional-dependencies] (an extra is a category) or [tool.conda-lock.dev-dependencies]', src.locate(['dependency-groups']));
  }
  if (!skipProject) {
    if (project && Array.isArray(project.dynamic) && project.dynamic.includes('dependencies')) {
      warn('[project] dependencies are dynamic (made by the build backend): they cannot be read here and are not locked', src.locate(['project', 'dynamic']));
    }
    const pep621 = project && !(Array.isArray(project.dynamic) && project.dynamic.includes('dependencies')) && (project.dependencies !== undefined || project['optional-dependencies'] !== undefined);
    if (pep621) {
      readRequirementTables(src, problems, reqs, defaultManager, ['project'], 'dependencies', 'optional-dependencies', name);
      const pdm = isRecord(tool.pdm) ? tool.pdm['dev-dependencies'] : undefined;
      if (pdm !== undefined) {
        if (!isRecord(pdm)) problems.add('tool.pdm.dev-dependencies must be a table of group = [requirements]', src.locate(['tool', 'pdm', 'dev-dependencies']), 'E_PYPROJECT');
        else for (const [group, list] of Object.entries(pdm)) {
          const path = ['tool', 'pdm', 'dev-dependencies', group];
          for (const r of stringList(list, path, 'PEP 508 requirements')) pep508(src, problems, reqs, r, 'dev', defaultManager, path);
        }
      }
    } else if (poetry) {
      readPoetry(src, problems, warn, reqs, poetry, defaultManager);
    } else if (isRecord(tool.flit) && isRecord(tool.flit.metadata)) {
      readRequirementTables(src, problems, reqs, defaultManager, ['tool', 'flit', 'metadata'], 'requires', 'requires-extra', name);
    }
  }

  // Each requirement → a conda dependency (per-platform markers) or a PyPI requirement.
  const pip: PipRequirement[] = [];
  // Without a mapping the conda name is the name as written, lowercased (conda-lock's fallback):
  // `ruamel.yaml` stays `ruamel.yaml`, a conda-forge name, not PEP 503's `ruamel-yaml`.
  const toConda = (r: ProjectRequirement) => (opts.pypiToConda ? opts.pypiToConda(r.key) : r.name.toLowerCase());
  for (const r of reqs) {
    let manager = r.manager;
    if (forcePypi.has(r.key)) manager = 'pip';
    let condaName: string | null = null;
    if (manager === 'conda') {
      // python is always the conda interpreter.
      condaName = r.key === 'python' ? 'python' : toConda(r);
      if (condaName === null) manager = 'pip';
    }
    if (manager === 'pip') {
      if (r.key === 'python') continue;
      const text = pep440Text(r);
      if (text === undefined) {
        problems.add(`${r.text}: '||' (either/or) constraints have no PEP 440 form; a PyPI requirement needs one range`, r.location, 'E_PYPROJECT');
        continue;
      }
      let requirement: Requirement;
      try {
        requirement = parseRequirement(text);
      } catch (err) {
        problems.add((err as Error).message, r.location, 'E_ENV_PIP_REQUIREMENT');
        continue;
      }
      const pr: PipRequirement = { requirement, text, location: r.location };
      if (r.category !== 'main') pr.category = r.category;
      pip.push(pr);
      continue;
    }
    let platforms: Platform[] | undefined;
    if (r.marker) {
      const unknown = new Set<string>();
      platforms = KNOWN_PLATFORMS.filter((p) => {
        const e = r.marker!.evaluateKnown(platformMarkerVariables(p));
        for (const u of e.unknown) unknown.add(u);
        return e.value;
      });
      if (unknown.size) {
        warn(`${r.text}: the marker's ${[...unknown].join(', ')} cannot be known before the conda solve; ${unknown.size === 1 ? 'that part counts' : 'those parts count'} as true (only sys_platform, platform_system, os_name and platform_machine select platforms)`, r.location);
      }
      if (platforms.length === KNOWN_PLATFORMS.length) platforms = undefined;
    }
    addConda(condaSpecText(condaName!, r.clauses), r.category, r.location, platforms);
  }
  if (forcePypi.size) {
    const known = new Set(reqs.map((r) => r.key));
    for (const n of forcePypi) if (!known.has(n)) warn(`${n} = {source = "pypi"}: the project has no dependency named ${n}; nothing is taken from PyPI for it`, src.locate([...clPath, 'dependencies']));
  }

  if (pip.length) {
    const section: PipSection = { requirements: pip, extraIndexUrls: [], files: [], location: pip[0]!.location };
    if (allowPypi) section.extraIndexUrls = repositories;
    else if (repositories.length) {
      section.indexUrl = repositories[0]!;
      section.extraIndexUrls = repositories.slice(1);
    } else {
      problems.add('allow-pypi-requests = false, but the project has PyPI requirements and [tool.conda-lock] lists no pip-repositories to resolve them from', src.locate([...clPath, 'allow-pypi-requests']), 'E_PYPROJECT');
    }
    out.pip = section;
  }
  problems.throwIfAny();
  if (out.dependencies.length === 0 && !out.pip) {
    throw new InputError(
      'the pyproject.toml has nothing to lock: no [tool.conda-lock.dependencies] and no project dependencies ([project] dependencies, [tool.poetry.dependencies] or flit requires)',
      { code: 'E_ENV_EMPTY', location: { file } },
    );
  }
  return out;
}

/** PEP 621 / flit: `main` list + optional table (extras; `dev` and `test` are conda-lock's dev). */
function readRequirementTables(
  src: TomlSource,
  problems: Problems,
  reqs: ProjectRequirement[],
  manager: Manager,
  prefix: string[],
  mainKey: string,
  optionalKey: string,
  projectName: string | undefined,
): void {
  let table: unknown = src.data;
  for (const p of prefix) table = isRecord(table) ? table[p] : undefined;
  if (!isRecord(table)) return;
  const list = (v: unknown, path: string[]): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      problems.add(`${path.join('.')} must be a list of PEP 508 requirement strings`, src.locate(path), 'E_PYPROJECT');
      return [];
    }
    return v as string[];
  };
  const optional = table[optionalKey];
  const extras = isRecord(optional) ? optional : {};
  if (optional !== undefined && !isRecord(optional)) problems.add(`${[...prefix, optionalKey].join('.')} must be a table of extra = [requirements]`, src.locate([...prefix, optionalKey]), 'E_PYPROJECT');
  const self = projectName ? canonicalName(projectName) : undefined;
  // `all = ["myproject[cli,test]"]`: an extra naming the project's own extras takes their requirements.
  const add = (text: string, category: string, path: string[], seen: Set<string>) => {
    const r = parseProjectRequirement(src, problems, text, path);
    if (!r) return;
    if (self && r.key === self) {
      for (const x of r.extras) {
        const k = Object.keys(extras).find((e) => canonicalName(e) === x);
        if (k === undefined) {
          problems.add(`'${text}' names the project's extra '${x}', which [${[...prefix, optionalKey].join('.')}] does not have`, src.locateItem(path, text), 'E_PYPROJECT');
        } else if (!seen.has(k)) {
          seen.add(k);
          for (const t of list(extras[k], [...prefix, optionalKey, k])) add(t, category, [...prefix, optionalKey, k], seen);
        }
      }
      return;
    }
    reqs.push({ ...r, category, manager });
  };
  for (const t of list(table[mainKey], [...prefix, mainKey])) add(t, 'main', [...prefix, mainKey], new Set());
  for (const [extra, v] of Object.entries(extras)) {
    const category = DEV_EXTRAS.has(extra) ? 'dev' : extra;
    if (!isCategoryName(category)) {
      problems.add(`extra '${extra}' is not a category name (letters, digits, '.', '_', '-')`, src.locate([...prefix, optionalKey, extra]), 'E_PYPROJECT');
      continue;
    }
    for (const t of list(v, [...prefix, optionalKey, extra])) add(t, category, [...prefix, optionalKey, extra], new Set([extra]));
  }
}

function pep508(src: TomlSource, problems: Problems, reqs: ProjectRequirement[], text: string, category: string, manager: Manager, path: string[]): void {
  const r = parseProjectRequirement(src, problems, text, path);
  if (r) reqs.push({ ...r, category, manager });
}

/** A PEP 508 string of the project → its parts (direct references refused, as in `pip:`). */
function parseProjectRequirement(src: TomlSource, problems: Problems, text: string, path: string[]): Omit<ProjectRequirement, 'category' | 'manager'> | undefined {
  const location = src.locateItem(path, text);
  let req: Requirement;
  try {
    req = parseRequirement(text.trim());
  } catch (err) {
    problems.add((err as Error).message, location, 'E_ENV_PIP_REQUIREMENT');
    return undefined;
  }
  if (req.url) {
    problems.add(`'${text}': direct references (name @ URL, git+…) are not locked (conda-go-lock locks conda packages and wheels from indexes); name a version instead`, location, 'E_ENV_PIP_URL');
    return undefined;
  }
  const clauses = req.specifier.specifiers.map(clauseOf);
  const out: Omit<ProjectRequirement, 'category' | 'manager'> = { key: req.key, name: req.name, extras: req.extras, clauses: clauses.length ? [clauses] : [], location, text };
  if (req.marker) out.marker = req.marker;
  return out;
}

function clauseOf(s: Specifier): Clause {
  const op = s.operator === '===' ? '==' : s.operator;
  return { op, version: `${s.versionText}${s.wildcard ? '.*' : ''}` };
}

/** poetry: main + dev-dependencies + groups; extras move their dependencies to the extra's category. */
function readPoetry(
  src: TomlSource,
  problems: Problems,
  warn: (m: string, l: SourceLocation) => void,
  reqs: ProjectRequirement[],
  poetry: Record<string, unknown>,
  defaultManager: Manager,
): void {
  const extraOf = new Map<string, string[]>();
  if (poetry.extras !== undefined) {
    if (!isRecord(poetry.extras)) problems.add('tool.poetry.extras must be a table of extra = [dependency names]', src.locate(['tool', 'poetry', 'extras']), 'E_PYPROJECT');
    else for (const [extra, names] of Object.entries(poetry.extras)) {
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
        problems.add(`tool.poetry.extras.${extra} must be a list of dependency names`, src.locate(['tool', 'poetry', 'extras', extra]), 'E_PYPROJECT');
        continue;
      }
      if (!isCategoryName(extra)) {
        problems.add(`extra '${extra}' is not a category name (letters, digits, '.', '_', '-')`, src.locate(['tool', 'poetry', 'extras', extra]), 'E_PYPROJECT');
        continue;
      }
      for (const n of names as string[]) extraOf.set(canonicalName(n), [...(extraOf.get(canonicalName(n)) ?? []), extra]);
    }
  }
  const sections: Array<{ path: string[]; category: string }> = [
    { path: ['dependencies'], category: 'main' },
    { path: ['dev-dependencies'], category: 'dev' },
  ];
  if (isRecord(poetry.group)) {
    for (const g of Object.keys(poetry.group)) {
      if (!isCategoryName(g)) problems.add(`poetry group '${g}' is not a category name (letters, digits, '.', '_', '-')`, src.locate(['tool', 'poetry', 'group', g]), 'E_PYPROJECT');
      else sections.push({ path: ['group', g, 'dependencies'], category: g });
    }
  }
  for (const { path: rel, category: sectionCategory } of sections) {
    let table: unknown = poetry;
    for (const p of rel) table = isRecord(table) ? table[p] : undefined;
    if (table === undefined) continue;
    const path = ['tool', 'poetry', ...rel];
    if (!isRecord(table)) {
      problems.add(`${path.join('.')} must be a table of name = "version" or name = {version = ...}`, src.locate(path), 'E_PYPROJECT');
      continue;
    }
    for (const [depName, value] of Object.entries(table)) {
      const location = src.locate([...path, depName]);
      const key = canonicalName(depName);
      const extras = extraOf.get(key);
      const categories = extras ?? [sectionCategory];
      let manager: Manager = key === 'python' ? 'conda' : defaultManager;
      let version: string;
      let depExtras: string[] = [];
      let marker: Marker | undefined;
      if (typeof value === 'string') {
        version = value;
      } else if (isRecord(value)) {
        const direct = ['git', 'path', 'url'].find((k) => k in value);
        if (direct) {
          problems.add(`${depName}: ${direct} dependencies are not locked (conda-go-lock locks conda packages and wheels from indexes); name a version instead`, location, 'E_ENV_PIP_URL');
          continue;
        }
        if (value.version !== undefined && typeof value.version !== 'string') {
          problems.add(`${depName}: version must be a string`, location, 'E_PYPROJECT');
          continue;
        }
        version = (value.version as string | undefined) ?? '*';
        if (value.source === 'pypi' && key !== 'python') manager = 'pip';
        if (Array.isArray(value.extras)) depExtras = value.extras.filter((x): x is string => typeof x === 'string').map(canonicalName);
        if (typeof value.markers === 'string') {
          try {
            marker = Marker.parse(value.markers);
          } catch (err) {
            problems.add(`${depName}: ${(err as Error).message}`, location, 'E_PYPI_MARKER');
            continue;
          }
        }
        for (const k of ['python', 'platform'] as const) {
          if (value[k] !== undefined) warn(`${depName}: poetry's '${k}' restriction is ignored (conda-lock ignores it too); use markers = "sys_platform == 'linux'" to select platforms`, location);
        }
        if (value.optional === true && !extras && sectionCategory === 'main') {
          warn(`${depName} is optional but in no [tool.poetry.extras] extra: it is locked as main (as conda-lock does)`, location);
        }
      } else {
        problems.add(`${depName}: a poetry dependency is "version" or {version = ...}, not ${JSON.stringify(value)}`, location, 'E_PYPROJECT');
        continue;
      }
      if (extras && sectionCategory !== 'main') {
        warn(`${depName} is in the ${extras.join(', ')} extra but listed in ${path.join('.')}, not [tool.poetry.dependencies]; it is locked in the extra (as conda-lock does)`, location);
      }
      let clauses: Clause[][];
      try {
        clauses = poetryClauses(version);
      } catch (err) {
        problems.add(`${depName} = "${version}": ${(err as Error).message}`, location, 'E_PYPROJECT');
        continue;
      }
      const text = `${depName} = "${version}"`;
      for (const category of categories) {
        const r: ProjectRequirement = { key, name: depName, extras: depExtras, clauses, category, manager, location, text };
        if (marker) r.marker = marker;
        reqs.push(r);
      }
    }
  }
}

/**
 * A poetry constraint (`^1.2`, `~1.2.3`, `>=1,<2`, `>=1 <2`, `1.2.*`, `==1.2`, `1.2`, `*`, `a || b`)
 * as alternatives of clause lists.
 */
export function poetryClauses(text: string): Clause[][] {
  const t = text.trim();
  if (t === '' || t === '*') return [];
  const alternatives = t.split(/\s*\|\|?\s*/).map((alt) => {
    const parts = alt.replace(/(\^|~=|~|===|==|!=|<=|>=|<|>|=)\s+/g, '$1').split(/[\s,]+/).filter(Boolean);
    const out: Clause[] = [];
    for (const p of parts) {
      const m = /^(\^|~=|~|===|==|!=|<=|>=|<|>|=)?(.+)$/.exec(p)!;
      const op = m[1] ?? '';
      const v = m[2]!;
      if (v === '*' && op === '') continue;
      if (!/^[0-9][0-9A-Za-z.+!*_-]*$/.test(v)) throw new Error(`'${p}' is not a version constraint`);
      if (op === '^' || op === '~') {
        // The release numbers give the bounds; a pre-, post- or dev-release suffix stays on the lower one
        // (`^0.8.post1` → `>=0.8.0.post1,<0.9.0`, `^2.0.0-beta.1` → `>=2.0.0b1,<3.0.0`).
        const rel = /^\d+(?:\.\d+)*/.exec(v)![0];
        const suffix = pep440Suffix(v.slice(rel.length));
        if (suffix === undefined) throw new Error(`'${p}': ${op} needs a version like ${op}1.2.3 (a pre-, post- or dev-release suffix at most)`);
        const nums = rel.split('.');
        const lower = [...nums.map(Number), 0, 0].slice(0, Math.max(3, nums.length));
        let upper: number[];
        if (op === '^') {
          let i = nums.findIndex((n) => Number(n) !== 0);
          if (i < 0) i = nums.length - 1;
          upper = lower.map((n, j) => (j < i ? n : j === i ? n + 1 : 0));
        } else {
          const i = nums.length === 1 ? 0 : 1;
          upper = lower.map((n, j) => (j < i ? n : j === i ? n + 1 : 0));
        }
        out.push({ op: '>=', version: lower.join('.') + suffix }, { op: '<', version: upper.join('.') });
      } else if (op === '' || op === '=' || op === '===') {
        out.push({ op: '==', version: v });
      } else {
        out.push({ op: op as Clause['op'], version: v });
      }
    }
    return out;
  });
  // One alternative that allows anything (`* || >=2`) makes the whole constraint "any version".
  return alternatives.some((a) => a.length === 0) ? [] : alternatives;
}

/** A version's pre-/post-/dev-release suffix in PEP 440's normal form ('' for none), undefined when it is not one. */
function pep440Suffix(rest: string): string | undefined {
  let out = '';
  let r = rest.toLowerCase();
  const pre = /^[-_.]?(alpha|a|beta|b|preview|pre|rc|c)[-_.]?(\d*)/.exec(r);
  if (pre) {
    const letter = pre[1] === 'alpha' ? 'a' : pre[1] === 'beta' ? 'b' : pre[1] === 'a' || pre[1] === 'b' ? pre[1] : 'rc';
    out += `${letter}${pre[2] || '0'}`;
    r = r.slice(pre[0].length);
  }
  const post = /^[-_.]?(post|rev|r)[-_.]?(\d*)/.exec(r);
  if (post) {
    out += `.post${post[2] || '0'}`;
    r = r.slice(post[0].length);
  }
  const dev = /^[-_.]?dev[-_.]?(\d*)/.exec(r);
  if (dev) {
    out += `.dev${dev[1] || '0'}`;
    r = r.slice(dev[0].length);
  }
  return r === '' ? out : undefined;
}

/** conda match spec text: `name >=1.2,<2`, `name 1.2.*`, `name >=1|<0.5`. */
function condaSpecText(name: string, alternatives: Clause[][]): string {
  const alts = alternatives.filter((a) => a.length > 0);
  if (alts.length === 0) return name;
  const clause = (c: Clause) => (c.op === '==' && c.version.endsWith('.*') ? c.version : `${c.op}${c.version}`);
  return `${name} ${alts.map((a) => a.map(clause).join(',')).join('|')}`;
}

/** The PEP 508 text of a requirement taken from PyPI (undefined when it needs an either/or). */
function pep440Text(r: ProjectRequirement): string | undefined {
  const alts = r.clauses.filter((a) => a.length > 0);
  if (alts.length > 1) return undefined;
  const spec = (alts[0] ?? []).map((c) => `${c.op}${c.version}`).join(',');
  return `${r.name}${r.extras.length ? `[${r.extras.join(',')}]` : ''}${spec ? ` ${spec}` : ''}${r.marker ? ` ; ${r.marker.toString()}` : ''}`;
}
