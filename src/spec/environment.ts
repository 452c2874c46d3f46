/**
 * environment.yml → EnvironmentSpec.
 *
 * The file is a conda environment file plus conda-go-lock's keys (`platforms`, `go`,
 * `virtual-packages`); docs/environment.md describes the format and schemas/environment.schema.json
 * is its contract. Parsing is pure except for reading a referenced go.mod, which goes through
 * `opts.readFile`. Every problem is reported with file:line:column; all problems of a file are
 * reported together.
 */
import { readFileSync } from 'node:fs';
import { parsePipSection, type PipSection } from './pip.js';
import { isPyprojectFile, parsePyprojectToml } from './pyproject.js';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { Channel } from '../conda/channel.js';
import type { EnvLike } from '../conda/channel-env.js';
import { MatchSpec } from '../conda/matchspec.js';
import { KNOWN_PLATFORMS, parsePlatform, sortPlatforms, suggestPlatform, type Platform } from '../conda/platform.js';
import { checkOverride, overrideFromValue, type VirtualPackageOverride } from '../conda/virtual-packages.js';
import { InputError, type SourceLocation } from '../errors.js';
import { parseGoSpec } from '../go/releases.js';
import { goSpecFromGoMod, parseGoMod, type GoModSpec } from './gomod.js';
import { evaluateSelector, parseSelKey, parseSelectorComment } from './selectors.js';
import {
  Problems,
  closest,
  locate,
  parseYamlSource,
  pathText,
  pointerSegments,
  pruneSchemaErrors,
  restOfLine,
  schemaValidator,
  type PathSegment,
  type YamlSource,
} from './yaml-source.js';

/** One entry of `dependencies:`, with where it was written. */
export interface EnvDependency {
  spec: MatchSpec;
  /** The string as written (without a trailing `# comment`). */
  text: string;
  file: string;
  line: number;
  column: number;
  /** `linux64` from a `# [linux64]` comment (conda-lock / conda-build style selector). */
  selector?: string;
  /** Platforms the selector admits; undefined: every platform. */
  platforms?: Platform[];
  /**
   * conda-lock's category: the file's `category:` (environment files) or the dependency group it
   * was listed in (pyproject.toml). Undefined: `main`.
   */
  category?: string;
}

/** The Go toolchain the environment asks for. */
export interface GoRequest {
  /** Spec in the syntax of src/go `parseGoSpec`: `1.22.*`, `==1.22.5`, `>=1.21.3,<1.22`, `stable`... */
  spec: string;
  /** The value as written in the environment file (for a go.mod: `gomod: ./go.mod`). */
  text: string;
  /** Where the `go` entry is in the environment file. */
  file: string;
  line: number;
  column: number;
  /** Set when the version comes (partly) from a go.mod. */
  gomod?: GoModSpec;
  /**
   * `go: {..., cgo: false}`: the activation leaves cgo alone (no CGO_* / PKG_CONFIG_PATH / CC
   * pointing into the prefix). Absent means on.
   */
  cgo?: false;
}

export interface EnvWarning {
  message: string;
  location: SourceLocation;
}

export interface EnvironmentSpec {
  file: string;
  name?: string;
  /** Channels in priority order as written (`defaults` kept, `nodefaults` removed). See `expandChannels`. */
  channels: string[];
  /** The file listed `nodefaults`. */
  nodefaults: boolean;
  dependencies: EnvDependency[];
  /** Sorted, deduplicated; undefined when the file has no `platforms:`. */
  platforms?: Platform[];
  go?: GoRequest;
  /** The `- pip:` section (PEP 508 lines, index options, `-r` files): src/spec/pip.ts. */
  pip?: PipSection;
  /** Overrides from `virtual-packages:` (general ones first, then per-platform ones). */
  virtualPackages: VirtualPackageOverride[];
  /** The file's `category:` (conda-lock); undefined: main. Every dependency of the file carries it. */
  category?: string;
  /** Ignored keys and other non-fatal findings. */
  warnings: EnvWarning[];
}

export interface ParseEnvironmentOptions {
  /** Reads a go.mod named by `go: {gomod: ...}` (default: fs.readFileSync utf8). */
  readFile?: (path: string) => string;
  /** Directory relative paths are resolved against (default: the environment file's directory). */
  baseDir?: string;
  /**
   * Expand `$VAR` / `${VAR}` in channel URLs from here (`lock` passes process.env): an unset variable
   * is reported at its channel's line. Without it only where the variables sit is checked, so
   * `check` works without the secrets. `channels` keeps the strings as written either way.
   */
  env?: EnvLike;
  /**
   * pyproject.toml only: the conda name of a PyPI project, or null when conda has none (then it is
   * locked from PyPI). Default: the name as written, lowercased. See src/spec/pyproject.ts.
   */
  pypiToConda?: (pypiName: string) => string | null;
}

const KNOWN_KEYS = [
  'name',
  'channels',
  'dependencies',
  'platforms',
  'go',
  'virtual-packages',
  'prefix',
  'variables',
  'category',
  'allow-pypi-requests',
  'pip-repositories',
] as const;

const IGNORED_KEYS: Record<string, string> = {
  prefix: 'the install prefix is chosen on the command line (`install --prefix`)',
  variables: 'environment variables are not part of a lock; set them in your activation scripts',
  'allow-pypi-requests': 'conda-lock option; pip: requirements are always resolved against the index',
  'pip-repositories': 'conda-lock option; write --index-url / --extra-index-url lines in the pip: list',
};


/**
 * Read and parse an environment file: environment.yml, or a pyproject.toml (by its `.toml`
 * extension; src/spec/pyproject.ts). Throws `InputError` (E_ENV_READ when it cannot be read).
 */
export function loadEnvironmentFile(path: string, opts: ParseEnvironmentOptions = {}): EnvironmentSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT' ? 'environment file not found' : code === 'EISDIR' ? 'is a directory, not an environment file' : `cannot read environment file (${code ?? String(err)})`,
      { code: 'E_ENV_READ', location: { file: path }, cause: err },
    );
  }
  if (isPyprojectFile(path)) return parsePyprojectToml(text, path, { baseDir: dirname(path), ...opts });
  return parseEnvironmentYaml(text, path, { baseDir: dirname(path), ...opts });
}

/** Parse environment.yml text; `file` is used in messages and to resolve relative paths. */
export function parseEnvironmentYaml(text: string, file: string, opts: ParseEnvironmentOptions = {}): EnvironmentSpec {
  let src: YamlSource;
  try {
    src = parseYamlSource(text, file);
  } catch (err) {
    if (/\{%|\{\{/.test(text)) {
      throw new InputError('this looks like a conda-build recipe (meta.yaml with Jinja templates), not an environment file', {
        code: 'E_ENV_NOT_ENVIRONMENT',
        location: (err as InputError).location ?? { file },
        cause: err,
      });
    }
    throw err;
  }
  const problems = new Problems(file);
  const data = src.data;
  if (data === null || data === undefined || (isRecord(data) && Object.keys(data).length === 0)) {
    throw new InputError('the environment file is empty: nothing to lock (expected `dependencies:` and/or `go:`)', {
      code: 'E_ENV_EMPTY',
      location: { file },
    });
  }
  notAnEnvironmentFile(src, data);

  const validate = schemaValidator('environment.schema.json');
  if (!(validate as (d: unknown) => boolean)(data)) {
    for (const e of pruneSchemaErrors(validate.errors ?? [])) reportSchemaError(src, problems, e);
    problems.throwIfAny();
  }
  const env = data as Record<string, unknown>;
  const out: EnvironmentSpec = { file, channels: [], nodefaults: false, dependencies: [], virtualPackages: [], warnings: [] };
  const warn = (message: string, path: PathSegment[], key = false): void => {
    out.warnings.push({ message, location: locate(src, path, { key }) });
  };

  for (const [key, why] of Object.entries(IGNORED_KEYS)) {
    if (key in env) warn(`'${key}' is ignored: ${why}`, [key], true);
  }
  if (typeof env.name === 'string') out.name = env.name;
  if (typeof env.category === 'string') {
    const c = env.category.trim();
    if (!isCategoryName(c)) {
      problems.add(`category '${env.category}' is not a category name (letters, digits, '.', '_', '-'; e.g. main, dev, docs)`, locate(src, ['category']), 'E_ENV_SCHEMA');
    } else if (c !== 'main') out.category = c;
  }

  // channels
  const channels = (env.channels as string[] | null | undefined) ?? [];
  const seenChannels = new Map<string, number>();
  channels.forEach((raw, i) => {
    const c = raw.trim();
    if (c === 'nodefaults') {
      out.nodefaults = true;
      return;
    }
    if (seenChannels.has(c)) {
      warn(`channel '${c}' is listed twice; the first position counts`, ['channels', i]);
      return;
    }
    seenChannels.set(c, i);
    if (c !== 'defaults') {
      try {
        Channel.parse(c, { cwd: opts.baseDir ?? dirname(file), ...(opts.env ? { env: opts.env } : {}) });
      } catch (err) {
        const code = (err as InputError).code === 'E_CHANNEL_ENV_UNSET' ? 'E_CHANNEL_ENV_UNSET' : 'E_ENV_CHANNEL';
        problems.add((err as Error).message, locate(src, ['channels', i]), code);
        return;
      }
    }
    // A relative local channel is relative to the environment file, wherever the CLI runs from.
    out.channels.push(c === '.' || c.startsWith('./') || c.startsWith('../') ? resolvePath(opts.baseDir ?? dirname(file), c) : c);
  });
  if (out.nodefaults && out.channels.includes('defaults')) {
    problems.add("'defaults' and 'nodefaults' are both listed", locate(src, ['channels']), 'E_ENV_CHANNEL');
  }

  // platforms
  if (Array.isArray(env.platforms)) {
    const ps: Platform[] = [];
    (env.platforms as string[]).forEach((p, i) => {
      const parsed = parsePlatform(p, 'platform'); // the schema's enum already admitted it
      if (ps.includes(parsed)) warn(`platform '${parsed}' is listed twice`, ['platforms', i]);
      ps.push(parsed);
    });
    out.platforms = sortPlatforms(ps);
  }

  // dependencies
  let goInList: { value: unknown; path: PathSegment[] } | undefined;
  const addCondaDependency = (text: string, path: PathSegment[], selector: string | undefined): void => {
    const loc = locate(src, path);
    let spec: MatchSpec;
    try {
      spec = MatchSpec.parse(text);
    } catch (err) {
      problems.add(`invalid dependency '${text}': ${stripSpecPrefix((err as Error).message, text)}`, loc, 'E_ENV_SPEC');
      return;
    }
    const dep: EnvDependency = { spec, text, file, line: loc.line ?? 0, column: loc.column ?? 0 };
    if (selector !== undefined) {
      try {
        dep.platforms = KNOWN_PLATFORMS.filter((p) => evaluateSelector(selector, p));
        dep.selector = selector;
      } catch (err) {
        problems.add((err as Error).message, loc, 'E_ENV_SELECTOR');
        return;
      }
    }
    if (out.category !== undefined) dep.category = out.category;
    if (spec.name === 'go') {
      warn("'go' here is the conda-forge package; to lock the official Go toolchain write `- go: \"1.22.*\"` or a top-level `go:` key", path);
    }
    out.dependencies.push(dep);
  };
  const deps = (env.dependencies as unknown[] | null | undefined) ?? [];
  deps.forEach((d, i) => {
    const path: PathSegment[] = ['dependencies', i];
    if (typeof d === 'string') {
      addCondaDependency(d.replace(/\s+#.*$/, '').trim(), path, parseSelectorComment(restOfLine(src, path)));
      return;
    }
    const selKey = isRecord(d) ? Object.keys(d).find((k) => parseSelKey(k) !== undefined) : undefined;
    if (selKey !== undefined) {
      // micromamba: `- sel(linux): pkg` (the schema admitted only a string value).
      addCondaDependency(String((d as Record<string, unknown>)[selKey]).trim(), [...path, selKey], parseSelKey(selKey));
      return;
    }
    if (isRecord(d) && 'pip' in d) {
      const sectionLoc = locate(src, path, { key: true });
      if (out.pip) {
        problems.add(`a second pip: section (the first is on line ${out.pip.location.line}); keep one`, sectionLoc, 'E_ENV_PIP');
        return;
      }
      const r = parsePipSection(d.pip, sectionLoc, (j) => locate(src, [...path, 'pip', j]), opts.baseDir ?? dirname(file), opts.readFile);
      for (const p of r.problems) problems.add(p.message, p.location, p.code);
      for (const w of r.warnings) out.warnings.push({ message: w.message, location: w.location });
      out.pip = r.section;
      if (out.category !== undefined) {
        warn(`the pip: requirements of a '${out.category}' file are locked as main (categories apply to conda dependencies only)`, path, true);
      }
      return;
    }
    if (isRecord(d) && 'go' in d) {
      if (goInList) {
        problems.add(`the Go toolchain is given twice (also on line ${locate(src, goInList.path).line})`, locate(src, path), 'E_ENV_GO');
        return;
      }
      goInList = { value: d.go, path: [...path, 'go'] };
    }
  });

  // go
  const goTop = 'go' in env ? { value: env.go, path: ['go'] as PathSegment[] } : undefined;
  if (goTop && goInList) {
    problems.add(
      `the Go toolchain is given twice: top-level 'go' (line ${locate(src, goTop.path).line}) and in dependencies (line ${locate(src, goInList.path).line}); keep one`,
      locate(src, goInList.path, { key: true }),
      'E_ENV_GO',
    );
  } else if (goTop ?? goInList) {
    const g = (goTop ?? goInList)!;
    const req = goRequest(src, problems, g.value, g.path, opts);
    if (req) out.go = req;
  }

  // virtual packages
  if (isRecord(env['virtual-packages'])) {
    const vp = env['virtual-packages'];
    const general: VirtualPackageOverride[] = [];
    const specific: VirtualPackageOverride[] = [];
    for (const [key, value] of Object.entries(vp)) {
      if (key.startsWith('__')) {
        const o = virtualOverride(src, problems, key, value, ['virtual-packages', key]);
        if (o) general.push(o);
      } else {
        const platform = key as Platform; // schema admitted only platform names
        for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
          const o = virtualOverride(src, problems, name, v, ['virtual-packages', key, name]);
          if (o) specific.push({ ...o, platforms: [platform] });
        }
      }
    }
    out.virtualPackages = [...general, ...specific];
  }

  problems.throwIfAny();
  return out;
}

/** Recognise files that are YAML but not environment files, to say what they are. */
function notAnEnvironmentFile(src: YamlSource, data: unknown): void {
  if (!isRecord(data)) return;
  const has = (k: string) => k in data;
  let what: string | undefined;
  if (has('package') && has('metadata')) {
    what = 'this is a conda-lock lockfile, not an environment file: lock from the environment.yml it was made from (`install --lockfile` and `verify --lockfile` read conda-lock files as they are)';
  } else if (has('subdirs') && !has('dependencies')) {
    what = 'this is a virtual package spec file (subdirs: ... packages:), not an environment file; pass it with --virtual-package-spec';
  } else if (has('package') && (has('requirements') || has('source') || has('build'))) {
    what = 'this looks like a conda-build recipe (meta.yaml), not an environment file';
  }
  if (what) throw new InputError(what, { code: 'E_ENV_NOT_ENVIRONMENT', location: locate(src, []) });
}

function virtualOverride(
  src: YamlSource,
  problems: Problems,
  name: string,
  value: unknown,
  path: PathSegment[],
): VirtualPackageOverride | undefined {
  const o = overrideFromValue(name, value as string | null);
  const problem = checkOverride(o);
  if (problem) {
    problems.add(problem, locate(src, path, { key: !isVirtualName(name) }), 'E_ENV_VIRTUAL_PACKAGE');
    return undefined;
  }
  return o;
}

function isVirtualName(name: string): boolean {
  return /^__[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name);
}

function goRequest(
  src: YamlSource,
  problems: Problems,
  value: unknown,
  path: PathSegment[],
  opts: ParseEnvironmentOptions,
): GoRequest | undefined {
  // The request is located at its `go` key; problems with the value point at the value.
  const loc = locate(src, path, { key: true });
  const base = { file: src.file, line: loc.line ?? 0, column: loc.column ?? 0 };
  let version: string | undefined;
  let gomodPath: string | undefined;
  let cgo: boolean | undefined;
  let text: string;
  if (typeof value === 'string') {
    version = value.trim();
    text = value;
  } else {
    const v = value as { version?: string; gomod?: string; cgo?: boolean };
    version = v.version?.trim();
    gomodPath = v.gomod;
    cgo = v.cgo;
    text = [version !== undefined ? `version: ${version}` : '', gomodPath !== undefined ? `gomod: ${gomodPath}` : ''].filter(Boolean).join(', ');
    if (version === undefined && gomodPath === undefined) {
      problems.add("the Go toolchain needs 'version:' or 'gomod:' (e.g. go: {version: \"1.22.*\", cgo: false})", loc, 'E_ENV_GO');
      return undefined;
    }
  }

  if (version !== undefined) {
    const problem = checkGoSpec(version);
    if (problem) {
      problems.add(problem, locate(src, typeof value === 'string' ? path : [...path, 'version']), 'E_ENV_GO');
      return undefined;
    }
  }

  let gomod: GoModSpec | undefined;
  if (gomodPath !== undefined) {
    const baseDir = opts.baseDir ?? dirname(src.file);
    const full = isAbsolute(gomodPath) ? gomodPath : resolvePath(baseDir, gomodPath);
    const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
    let modText: string;
    try {
      modText = read(full);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.add(`cannot read go.mod '${full}'${code ? ` (${code})` : ''}`, locate(src, [...path, 'gomod']), 'E_ENV_GO');
      return undefined;
    }
    try {
      gomod = goSpecFromGoMod(parseGoMod(modText, full));
    } catch (err) {
      // The go.mod's own location is in the message; say which environment entry pointed at it.
      problems.add(`${(err as Error).message} (go.mod named here)`, locate(src, [...path, 'gomod']), (err as InputError).code ?? 'E_ENV_GO');
      return undefined;
    }
  }

  let spec: string;
  if (gomod && version !== undefined && !/^(stable|latest|\*)$/i.test(version)) {
    // Both: the toolchain must satisfy the explicit version and what go.mod asks for.
    spec = `${version},${gomod.spec}`;
    const problem = checkGoSpec(spec);
    if (problem) {
      problems.add(`cannot combine version '${version}' with go.mod's '${gomod.spec}': ${problem}`, loc, 'E_ENV_GO');
      return undefined;
    }
  } else {
    spec = gomod?.spec ?? version!;
  }
  const req: GoRequest = { spec, text, ...base };
  if (gomod) req.gomod = gomod;
  if (cgo === false) req.cgo = false;
  return req;
}

/** Error text for a Go spec the Go resolver would reject, or undefined. */
function checkGoSpec(spec: string): string | undefined {
  try {
    parseGoSpec(spec);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function stripSpecPrefix(message: string, text: string): string {
  // MatchSpec errors start with "invalid match spec '<text>': "; we already say which dependency.
  const i = message.indexOf(`'${text}'`);
  if (i >= 0) {
    const after = message.slice(i + text.length + 2).replace(/^:\s*/, '');
    if (after) return after;
  }
  return message;
}

/** A conda-lock category / extra name: `main`, `dev`, `docs`, `test-gpu`. */
export function isCategoryName(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s);
}

/** The category a dependency belongs to (`main` when none is given). */
export function categoryOf(d: Pick<EnvDependency, 'category'>): string {
  return d.category ?? 'main';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function reportSchemaError(src: YamlSource, problems: Problems, e: ErrorObject): void {
  const segs = pointerSegments(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const where = pathText(segs);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const loc = locate(src, [...segs, key], { key: true });
      if (segs.length === 0) {
        const hint = closest(key, KNOWN_KEYS);
        problems.add(
          `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}; known keys: ${KNOWN_KEYS.join(', ')}`,
          loc,
          'E_ENV_SCHEMA',
        );
      } else if (segs[0] === 'dependencies') {
        problems.add(
          `unknown mapping '${key}:' in dependencies (a dependency is a match spec string, 'go:' for the Go toolchain, or micromamba's 'sel(linux): spec')`,
          loc,
          'E_ENV_SCHEMA',
        );
      } else if (segs[0] === 'virtual-packages') {
        const hint = suggestPlatform(key) ?? closest(key, KNOWN_PLATFORMS);
        problems.add(
          `'${key}' in virtual-packages is neither a virtual package (__name) nor a platform${hint ? ` (did you mean '${hint}'?)` : ''}`,
          loc,
          'E_ENV_SCHEMA',
        );
      } else {
        const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        problems.add(`unknown key '${key}' in ${where}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`, loc, 'E_ENV_SCHEMA');
      }
      return;
    }
    case 'enum': {
      let msg = `${where} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
      if (segs[0] === 'platforms' && typeof e.data === 'string') {
        try {
          parsePlatform(e.data);
        } catch (err) {
          msg = (err as Error).message;
        }
      }
      problems.add(msg, locate(src, segs), 'E_ENV_SCHEMA');
      return;
    }
    case 'type': {
      const got = e.data === null ? 'empty' : Array.isArray(e.data) ? 'a list' : typeof e.data === 'object' ? 'a mapping' : `'${String(e.data)}'`;
      problems.add(`${where} must be ${describeType(String(p.type))}, not ${got}`, locate(src, segs), 'E_ENV_SCHEMA');
      return;
    }
    case 'anyOf': {
      const description = (e.parentSchema as { description?: string } | undefined)?.description;
      const got = e.data === null ? 'empty' : Array.isArray(e.data) ? 'a list' : typeof e.data === 'object' ? 'a mapping' : `'${String(e.data)}'`;
      problems.add(`${where} must be ${description ?? 'a valid value'}, not ${got}`, locate(src, segs), 'E_ENV_SCHEMA');
      return;
    }
    case 'minLength':
      problems.add(`${where} must not be empty`, locate(src, segs), 'E_ENV_SCHEMA');
      return;
    case 'minProperties':
      problems.add(`${where} must not be an empty mapping`, locate(src, segs), 'E_ENV_SCHEMA');
      return;
    case 'maxProperties':
      problems.add(`${where} must have a single key (pip, go or sel(...)), found ${Object.keys(e.data as object).join(', ')}`, locate(src, segs), 'E_ENV_SCHEMA');
      return;
    case 'propertyNames':
    case 'pattern': {
      // propertyNames reports the offending name in params.propertyName (and a nested pattern error).
      const name = p.propertyName !== undefined ? String(p.propertyName) : String(e.data);
      if (e.keyword === 'pattern' && p.propertyName === undefined && segs[0] !== 'virtual-packages') {
        problems.add(`${where} must match ${String(p.pattern)}`, locate(src, segs), 'E_ENV_SCHEMA');
        return;
      }
      problems.add(
        `'${name}' is not a virtual package name (virtual packages start with '__', e.g. __glibc)`,
        locate(src, [...segs, name], { key: true }),
        'E_ENV_SCHEMA',
      );
      return;
    }
    default:
      problems.add(`${where} ${e.message ?? e.keyword}`, locate(src, segs), 'E_ENV_SCHEMA');
  }
}

function describeType(t: string): string {
  const words: Record<string, string> = {
    string: 'a string',
    array: 'a list',
    object: 'a mapping',
    boolean: 'true or false',
    'string,null': 'a string',
    'array,null': 'a list',
    'object,null': 'a mapping',
  };
  return words[t] ?? t;
}

/** The dependencies that apply to `platform` (selectors evaluated). */
export function dependenciesFor(env: EnvironmentSpec, platform: Platform): EnvDependency[] {
  return env.dependencies.filter((d) => d.platforms === undefined || d.platforms.includes(platform));
}

/** The match specs that apply to `platform`. */
export function matchSpecsFor(env: EnvironmentSpec, platform: Platform): MatchSpec[] {
  return dependenciesFor(env, platform).map((d) => d.spec);
}

/** Where the dependency on `name` was written (for solver errors), or undefined. */
export function dependencyLocation(env: EnvironmentSpec, name: string): SourceLocation | undefined {
  const d = env.dependencies.find((x) => x.spec.name === name);
  return d ? { file: d.file, line: d.line, column: d.column } : undefined;
}

/**
 * Combine several environment files (`-f a.yml -f b.yml`) into one: channels in order of first
 * appearance, `nodefaults` if any file says so, dependencies concatenated, platforms united,
 * virtual package overrides in file order. The Go toolchain may be given by one file only.
 */
export function mergeEnvironmentSpecs(specs: readonly EnvironmentSpec[]): EnvironmentSpec {
  if (specs.length === 0) throw new InputError('no environment file given', { code: 'E_ENV_READ' });
  if (specs.length === 1) return specs[0]!;
  const out: EnvironmentSpec = {
    file: specs[0]!.file,
    channels: [],
    nodefaults: false,
    dependencies: [],
    virtualPackages: [],
    warnings: [],
  };
  let platforms: Platform[] | undefined;
  for (const s of specs) {
    if (out.name === undefined && s.name !== undefined) out.name = s.name;
    for (const c of s.channels) if (!out.channels.includes(c)) out.channels.push(c);
    out.nodefaults ||= s.nodefaults;
    out.dependencies.push(...s.dependencies);
    if (s.platforms) platforms = sortPlatforms([...(platforms ?? []), ...s.platforms]);
    out.virtualPackages.push(...s.virtualPackages);
    out.warnings.push(...s.warnings);
    if (s.go) {
      if (out.go) {
        throw new InputError(`the Go toolchain is given in two files (also at ${out.go.file}:${out.go.line}); keep one`, {
          code: 'E_ENV_GO',
          location: { file: s.go.file, line: s.go.line, column: s.go.column },
        });
      }
      out.go = s.go;
    }
  }
  if (out.nodefaults && out.channels.includes('defaults')) {
    throw new InputError(
      `'defaults' and 'nodefaults' are both listed across ${specs.map((s) => s.file).join(', ')}`,
      { code: 'E_ENV_CHANNEL', location: { file: specs.find((s) => s.channels.includes('defaults'))!.file } },
    );
  }
  if (platforms) out.platforms = platforms;
  return out;
}
