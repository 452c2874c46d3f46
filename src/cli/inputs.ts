/**
 * Turn command-line options and input files into everything `lock` and `check` need:
 * platforms, channels, per-platform specs and virtual packages, the Go request, and the
 * per-platform content hash. No network: `check` runs on this alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { Channel, expandChannels } from '../conda/channel.js';
import type { EnvLike } from '../conda/channel-env.js';
import type { MatchSpec } from '../conda/matchspec.js';
import { parsePlatforms, sortPlatforms, type Platform } from '../conda/platform.js';
import type { PackageRecord } from '../conda/record.js';
import {
  defaultVirtualPackages,
  parseVirtualPackageOverrides,
  type VirtualPackageOverride,
} from '../conda/virtual-packages.js';
import { InputError, UsageError } from '../errors.js';
import { categoryOf, dependenciesFor, loadEnvironmentFile, type EnvDependency, type EnvironmentSpec } from '../spec/environment.js';
import { goSpecFromGoMod, parseGoMod } from '../spec/gomod.js';
import { loadVirtualPackageSpecFile } from '../spec/virtual-packages.js';
import { parseGoSpec } from '../go/releases.js';
import { DEFAULT_GO_RELEASES_URL } from '../go/resolve.js';
import { computeContentHash } from '../lockfile/content-hash.js';
import { REDACTED, stripCredentials } from '../net/redact.js';
import type { LockfileGoInput } from '../lockfile/model.js';
import type { PipRequirement } from '../spec/pip.js';
import { canonicalTemplate, envVarNames, expandEnvVars, hasEnvVars, unsetEnvVars } from '../conda/channel-env.js';
import { isPyprojectFile } from '../spec/pyproject.js';
import { loadCondaPypiMapping, NAME_EQUALITY, type CondaPypiMapping } from '../solver/pypi/conda-map.js';

export const DEFAULT_PYPI_INDEX = 'https://pypi.org/simple';

/** One PyPI index: as written (`${VAR}` kept), the URL to request, the token-free URL to record. */
export interface PypiIndexInput {
  template: string;
  url: string;
  redacted: string;
  usedEnvVars: string[];
}

export interface PypiInputs {
  requirements: PipRequirement[];
  index: PypiIndexInput;
  extraIndexes: PypiIndexInput[];
}

export type ChannelPriority = 'strict' | 'flexible' | 'disabled';

export const DEFAULT_PLATFORMS: Platform[] = ['linux-64', 'osx-64', 'osx-arm64', 'win-64'];
export const DEFAULT_ENV_FILE = 'environment.yml';
/** Read when there is no environment.yml and no -f (conda-lock's other default input). */
export const DEFAULT_PYPROJECT_FILE = 'pyproject.toml';

export interface InputOptions {
  file?: string[];
  platform?: string[];
  lockfile: string;
  go?: string;
  gomod?: string;
  goPrerelease?: boolean;
  /** --go-releases-url; when absent: $CONDA_GO_LOCK_GO_RELEASES_URL, the existing lockfile's, go.dev's. */
  goReleasesUrl?: string;
  /** The releases URL recorded in an existing lockfile (so a lock made against a mirror stays up to date). */
  fallbackGoReleasesUrl?: string;
  /** --go-download-base-url; when absent: $CONDA_GO_LOCK_GO_DOWNLOAD_BASE_URL, the existing lockfile's, none. */
  goDownloadBaseUrl?: string;
  /** The archive base URL recorded in an existing lockfile (`metadata.go.download_base_url`). */
  fallbackGoDownloadBaseUrl?: string;
  channelAlias: string;
  /** `-c/--channel`: replaces the environment files' channels (priority order). */
  channel?: string[];
  /** `--channel-priority`; when absent: the existing lockfile's (`fallbackChannelPriority`), else strict. */
  channelPriority?: ChannelPriority;
  /** `metadata.channel_priority` of an existing lockfile (absent there = strict). */
  fallbackChannelPriority?: ChannelPriority;
  virtualPackages?: string;
  /** A conda-lock style `virtual-packages.yml` (`subdirs: {linux-64: {packages: {__glibc: "2.17"}}}`). */
  virtualPackageSpec?: string;
  /** Platforms used when neither the command line nor the files name any (e.g. an existing lockfile's). */
  fallbackPlatforms?: string[];
  /** An existing lockfile's `metadata.sources`, named when no environment file is found. */
  lockfileSources?: string[];
  /**
   * Expand `${VAR}` credentials of channel URLs from here (`lock`: process.env; an unset one is an
   * error naming the file and line). Without it (`check`) channels carry no credentials.
   */
  env?: EnvLike;
  /** --pypi-index-url; else $CONDA_GO_LOCK_PYPI_INDEX_URL, else the pip: section's --index-url, else PyPI. */
  pypiIndexUrl?: string;
  /** conda-lock's --dev-dependencies / --no-dev-dependencies (default true: the `dev` category is locked). */
  devDependencies?: boolean;
  /** conda-lock's --extras / --category: with `filterCategories`, the only non-main categories locked. */
  extras?: string[];
  /** `--category NAME`: the same as `extras`. */
  category?: string[];
  /** conda-lock's --filter-categories / --filter-extras: lock main (+ dev) + `extras` only, not every category. */
  filterCategories?: boolean;
  /** `--filter-extras`: the same as `filterCategories`. */
  filterExtras?: boolean;
  /** conda→PyPI name mapping (parselmouth JSON); else $CONDA_GO_LOCK_PYPI_MAPPING, else name equality. */
  pypiMapping?: string;
}

export interface PlatformInputs {
  platform: Platform;
  specs: MatchSpec[];
  /** Each requested package name → the categories whose specs name it (sorted). */
  rootCategories: Map<string, string[]>;
  virtualPackages: PackageRecord[];
  contentHash: string;
}

export interface LockInputs {
  envs: EnvironmentSpec[];
  /** Input files relative to the lockfile's directory, forward slashes. */
  sources: string[];
  platforms: Platform[];
  channels: Channel[];
  channelPriority: ChannelPriority;
  perPlatform: Map<Platform, PlatformInputs>;
  go?: LockfileGoInput & { prerelease: boolean };
  /** Where a requested name was written, for error messages. */
  specOrigin: Map<string, string>;
  /** The `pip:` sections of every file, with the indexes (absent without a pip: section). */
  pypi?: PypiInputs;
  /** The categories locked (sorted, `main` included); see `lockedCategories`. */
  categories: string[];
  /** The conda→PyPI name mapping (`--pypi-mapping`), also used to read pyproject.toml's PyPI names. */
  mapping: CondaPypiMapping;
}

/** `--pypi-mapping`, else $CONDA_GO_LOCK_PYPI_MAPPING, else name equality. */
export function pypiMappingFor(opts: Pick<InputOptions, 'pypiMapping'>, env: NodeJS.ProcessEnv = process.env): CondaPypiMapping {
  const path = opts.pypiMapping ?? env.CONDA_GO_LOCK_PYPI_MAPPING;
  return path ? loadCondaPypiMapping(path) : NAME_EQUALITY;
}

/**
 * A PyPI name's conda package by the mapping: the conda package of the same name when the mapping
 * maps it there, else the first (sorted) conda name mapped to it; null when no conda package maps to
 * it. Name equality (no mapping file): the same name.
 */
export function pypiToCondaName(mapping: CondaPypiMapping): (pypiName: string) => string | null {
  if (mapping.names.size === 0) return (n) => n;
  const inverse = new Map<string, string[]>();
  for (const [conda, pypis] of mapping.names) for (const p of pypis) inverse.set(p, [...(inverse.get(p) ?? []), conda]);
  return (n) => {
    const c = inverse.get(n);
    if (!c?.length) return null;
    return c.includes(n) ? n : [...c].sort()[0]!;
  };
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

/**
 * The Go release metadata URL: the flag, else the environment variable, else the one the existing
 * lockfile was made with (unless it was recorded redacted), else go.dev's JSON feed.
 */
export function goReleasesUrlFor(opts: Pick<InputOptions, 'goReleasesUrl' | 'fallbackGoReleasesUrl'>, env: NodeJS.ProcessEnv = process.env): string {
  if (opts.goReleasesUrl) return opts.goReleasesUrl;
  if (env.CONDA_GO_LOCK_GO_RELEASES_URL) return env.CONDA_GO_LOCK_GO_RELEASES_URL;
  if (opts.fallbackGoReleasesUrl && !opts.fallbackGoReleasesUrl.includes(REDACTED)) return opts.fallbackGoReleasesUrl;
  return DEFAULT_GO_RELEASES_URL;
}

/**
 * The Go archive mirror: the flag, else the environment variable, else the one the existing lockfile
 * was made with; undefined means go's default (`<origin of the releases URL>/dl/`).
 */
export function goDownloadBaseUrlFor(
  opts: Pick<InputOptions, 'goDownloadBaseUrl' | 'fallbackGoDownloadBaseUrl'>,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return opts.goDownloadBaseUrl || env.CONDA_GO_LOCK_GO_DOWNLOAD_BASE_URL || opts.fallbackGoDownloadBaseUrl || undefined;
}

export function resolveInputs(opts: InputOptions): LockInputs {
  const fallbackPyproject = !opts.file?.length && !existsSync(DEFAULT_ENV_FILE) && existsSync(DEFAULT_PYPROJECT_FILE);
  const files = opts.file && opts.file.length > 0 ? opts.file : [fallbackPyproject ? DEFAULT_PYPROJECT_FILE : DEFAULT_ENV_FILE];
  if (!opts.file?.length && !existsSync(DEFAULT_ENV_FILE) && !fallbackPyproject) {
    // The lockfile knows what it was made from (relative to its directory; go.mod files are for --gomod).
    const lockDir = dirname(resolve(opts.lockfile));
    const known = (opts.lockfileSources ?? []).filter((f) => !/(^|\/)go\.mod$/.test(f)).map((f) => toPosix(relative(process.cwd(), resolve(lockDir, f))));
    const hint = known.length
      ? `; ${opts.lockfile} was made from ${known.join(', ')}: pass ${known.map((f) => `-f ${f}`).join(' ')}`
      : '; pass one with -f <file>';
    throw new UsageError(`no environment file given and neither ${DEFAULT_ENV_FILE} nor ${DEFAULT_PYPROJECT_FILE} exists here${hint}`);
  }
  // The mapping file is read only when something needs it (a pyproject.toml's names, a pip: section).
  let mapping: CondaPypiMapping | undefined = files.some(isPyprojectFile) ? pypiMappingFor(opts) : undefined;
  const toConda = mapping ? pypiToCondaName(mapping) : undefined;
  const envs = files.map((f) => loadEnvironmentFile(f, { ...(opts.env ? { env: opts.env } : {}), ...(toConda ? { pypiToConda: toConda } : {}) }));
  mapping ??= envs.some((e) => e.pip) ? pypiMappingFor(opts) : NAME_EQUALITY;
  const lockDir = dirname(resolve(opts.lockfile));

  // Platforms: command line, else the files' `platforms:`, else the default set.
  let platforms: Platform[];
  if (opts.platform && opts.platform.length > 0) {
    platforms = parsePlatforms(opts.platform, '--platform');
  } else {
    const fromFiles = envs.flatMap((e) => e.platforms ?? []);
    if (fromFiles.length > 0) platforms = fromFiles;
    else if (opts.fallbackPlatforms?.length) platforms = parsePlatforms(opts.fallbackPlatforms, 'lockfile platform');
    else platforms = [...DEFAULT_PLATFORMS];
  }
  platforms = sortPlatforms(new Set(platforms));

  // Channels in priority order: -c on the command line, else every file's channels in file order,
  // duplicates dropped. A relative local channel given with -c is relative to where the CLI runs.
  const channelNames = opts.channel?.length
    ? [...new Set(opts.channel.map((c) => c.trim()).filter((c) => c !== 'nodefaults').map((c) => (c === '.' || c.startsWith('./') || c.startsWith('../') ? resolve(c) : c)))]
    : envs.flatMap((e) => e.channels);
  const channelPriority = opts.channelPriority ?? opts.fallbackChannelPriority ?? 'strict';
  if (!['strict', 'flexible', 'disabled'].includes(channelPriority)) {
    throw new UsageError(`--channel-priority must be strict, flexible or disabled, got '${String(channelPriority)}'`);
  }
  // A Go-only environment (no conda dependencies) needs no channel.
  const condaDeps = envs.some((e) => e.dependencies.length > 0);
  if (channelNames.length === 0 && condaDeps) {
    throw new InputError(
      isPyprojectFile(envs[0]!.file)
        ? 'no channels: add `channels = ["conda-forge"]` under [tool.conda-lock] in pyproject.toml, or pass -c conda-forge'
        : 'no channels: add a `channels:` list (e.g. `- conda-forge`) to the environment file, or pass -c conda-forge',
      { code: 'E_NO_CHANNELS', location: { file: envs[0]!.file } },
    );
  }
  const channels = expandChannels(channelNames, { channelAlias: opts.channelAlias, ...(opts.env ? { env: opts.env } : {}) });

  // Virtual packages: environment file overrides, then a --virtual-package-spec file, then --virtual-packages.
  const overrides: VirtualPackageOverride[] = envs.flatMap((e) => e.virtualPackages);
  if (opts.virtualPackageSpec) overrides.push(...loadVirtualPackageSpecFile(opts.virtualPackageSpec));
  if (opts.virtualPackages) overrides.push(...parseVirtualPackageOverrides(opts.virtualPackages, '--virtual-packages'));

  // The Go request: --go, else --gomod, else the environment file(s).
  let go: LockInputs['go'];
  const prerelease = Boolean(opts.goPrerelease);
  const releasesUrl = goReleasesUrlFor(opts);
  if (opts.go) {
    // A malformed spec is an input error (exit 3) found before any network, like `go:` in the file.
    try {
      parseGoSpec(opts.go);
    } catch (err) {
      throw new InputError(`--go: ${(err as Error).message}`, { code: 'E_GO_SPEC', cause: err });
    }
    go = { spec: opts.go, source: '--go', releases_url: releasesUrl, prerelease };
  } else if (opts.gomod) {
    let text: string;
    try {
      text = readFileSync(opts.gomod, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
      throw new InputError(`cannot read go.mod (${why}); --gomod takes the path of a go.mod file`, {
        code: 'E_GOMOD_READ',
        location: { file: opts.gomod },
        cause: err,
      });
    }
    const spec = goSpecFromGoMod(parseGoMod(text, opts.gomod));
    go = { spec: spec.spec, source: toPosix(relative(lockDir, resolve(opts.gomod))), releases_url: releasesUrl, prerelease };
  } else {
    const withGo = envs.filter((e) => e.go);
    if (withGo.length > 1) {
      throw new InputError(`the Go toolchain is given in more than one file (${withGo.map((e) => e.file).join(', ')}); keep one`, {
        code: 'E_DUPLICATE_GO',
        location: { file: withGo[1]!.file, line: withGo[1]!.go!.line },
      });
    }
    const req = withGo[0]?.go;
    if (req) {
      const source = req.gomod ? req.gomod.file : req.file;
      go = { spec: req.spec, source: toPosix(relative(lockDir, resolve(source))), releases_url: releasesUrl, prerelease };
      if (req.cgo === false) go.cgo = false;
    }
  }

  // Recorded without credentials (like channel URLs): a mirror's token is never written down.
  const downloadBase = goDownloadBaseUrlFor(opts);
  if (go && downloadBase) go.download_base_url = stripCredentials(downloadBase);

  const specOrigin = new Map<string, string>();
  for (const e of envs) {
    for (const d of e.dependencies) if (!specOrigin.has(d.spec.name)) specOrigin.set(d.spec.name, `${d.file}:${d.line}`);
  }

  const categories = lockedCategories(envs, opts);
  const pypi = pypiInputs(envs, opts, categories);
  const pypiHash = pypi
    ? {
        pypi_requirements: pypi.requirements.map((r) => `${r.category ? `${r.category}:` : ''}${r.text.replace(/\s+/g, ' ')}`),
        pypi_indexes: [pypi.index, ...pypi.extraIndexes].map((i) => canonicalTemplate(stripCredentials(i.template)) === i.template ? i.template : canonicalTemplate(i.template)),
      }
    : undefined;

  const inLock = (d: EnvDependency) => categories.includes(categoryOf(d));
  const perPlatform = new Map<Platform, PlatformInputs>();
  for (const platform of platforms) {
    const deps = envs.flatMap((e) => dependenciesFor(e, platform)).filter(inLock);
    const specs = deps.map((d) => d.spec);
    const rootCategories = new Map<string, string[]>();
    for (const d of deps) rootCategories.set(d.spec.name, [...new Set([...(rootCategories.get(d.spec.name) ?? []), categoryOf(d)])].sort());
    // Which spec is in which category counts only when there is more than main, so older locks keep their hashes.
    const categoryHash: Record<string, string[]> = categories.length > 1 ? { categories: deps.map((d) => `${categoryOf(d)}:${stripCredentials(d.spec.toString()).replace(/\s+/g, ' ')}`).sort() } : {};
    const virtualPackages = defaultVirtualPackages(platform, overrides);
    const contentHash = computeContentHash({
      platform,
      channels,
      specs: specs.map((s) => stripCredentials(s.toString())),
      virtualPackages,
      channelPriority,
      go: go
        ? {
            spec: go.spec,
            releases_url: go.releases_url,
            prerelease: go.prerelease,
            ...(go.cgo === false ? { cgo: false as const } : {}),
            ...(go.download_base_url ? { download_base_url: go.download_base_url } : {}),
          }
        : undefined,
      ...(pypiHash || categories.length > 1 ? { extra: { ...pypiHash, ...categoryHash } } : {}),
    });
    perPlatform.set(platform, { platform, specs, rootCategories, virtualPackages, contentHash });
  }

  const sources = envs.map((e) => toPosix(relative(lockDir, resolve(e.file))));
  if (go && go.source !== '--go' && !sources.includes(go.source)) sources.push(go.source);

  for (const e of envs) for (const f of e.pip?.files ?? []) {
    const rel = toPosix(relative(lockDir, resolve(dirname(e.file), f)));
    if (!sources.includes(rel)) sources.push(rel);
  }
  return { envs, sources, platforms, channels, channelPriority, perPlatform, go, specOrigin, categories, mapping, ...(pypi ? { pypi } : {}) };
}

/**
 * The categories a lock covers, as conda-lock decides: every category the files name (one solve per
 * platform, so any of them can be installed later without re-locking), minus `dev` with
 * --no-dev-dependencies; with --filter-categories only main, dev (unless --no-dev-dependencies)
 * and the --extras. An --extras name no file uses is a usage error (a typo would lock nothing).
 */
export function lockedCategories(
  envs: readonly EnvironmentSpec[],
  opts: Pick<InputOptions, 'devDependencies' | 'extras' | 'category' | 'filterCategories' | 'filterExtras'>,
): string[] {
  const present = new Set(['main', ...envs.flatMap((e) => [...e.dependencies.map(categoryOf), ...(e.pip?.requirements ?? []).map(categoryOf)])]);
  const extras = [...new Set([...(opts.extras ?? []), ...(opts.category ?? [])])];
  const filter = Boolean(opts.filterCategories || opts.filterExtras);
  const unknown = extras.filter((x) => !present.has(x));
  if (unknown.length) {
    throw new UsageError(`--extras ${unknown.join(', ')}: no input file has ${unknown.length === 1 ? 'that category' : 'those categories'} (categories: ${[...present].sort().join(', ')})`);
  }
  const dev = opts.devDependencies !== false;
  return [...present]
    .filter((c) => c === 'main' || (c === 'dev' ? dev : !filter || extras.includes(c)))
    .sort();
}

/** The merged pip: sections and the indexes to resolve them against. */
function pypiInputs(envs: EnvironmentSpec[], opts: InputOptions, categories: readonly string[]): PypiInputs | undefined {
  const sections = envs.filter((e) => e.pip?.requirements.some((r) => categories.includes(categoryOf(r))));
  if (sections.length === 0) return undefined;
  const written = sections.map((e) => e.pip!.indexUrl).find((u) => u !== undefined);
  const template = (opts.pypiIndexUrl ?? process.env.CONDA_GO_LOCK_PYPI_INDEX_URL ?? written ?? DEFAULT_PYPI_INDEX).replace(/\/+$/, '');
  const extras = [...new Set(sections.flatMap((e) => e.pip!.extraIndexUrls.map((u) => u.replace(/\/+$/, ''))))];
  const index = (t: string): PypiIndexInput => {
    let url = t;
    const used = hasEnvVars(t) ? envVarNames(t) : [];
    if (used.length && opts.env) {
      const unset = unsetEnvVars(used, opts.env);
      if (unset.length) {
        throw new InputError(`the PyPI index ${stripCredentials(t)} uses ${unset.map((n) => `\${${n}}`).join(', ')}, which ${unset.length === 1 ? 'is' : 'are'} not set`, { code: 'E_CHANNEL_ENV_UNSET' });
      }
      url = expandEnvVars(t, opts.env);
    }
    if (!/^(https?|file):\/\//.test(url.replace(/\$\{[^}]+\}/g, 'x'))) {
      throw new InputError(`PyPI index '${stripCredentials(t)}' is not an http(s) URL`, { code: 'E_ENV_PIP' });
    }
    return { template: used.length ? canonicalTemplate(t) : stripCredentials(t), url, redacted: stripCredentials(t.replace(/\$\{[^}]+\}(:\$\{[^}]+\})?@/, '')), usedEnvVars: used };
  };
  return {
    // Requirements of categories left out of the lock (--no-dev-dependencies, --filter-categories) are not resolved.
    requirements: sections.flatMap((e) => e.pip!.requirements.filter((r) => categories.includes(categoryOf(r)))),
    index: index(template),
    extraIndexes: extras.map(index),
  };
}

/** The requested specs of each locked category other than main, in input order: `metadata.categories`. */
export function categorySpecs(inputs: Pick<LockInputs, 'envs' | 'categories'>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const env of inputs.envs) {
    for (const d of env.dependencies) {
      const c = categoryOf(d);
      if (c === 'main' || !inputs.categories.includes(c)) continue;
      const s = stripCredentials(d.spec.toString());
      const list = (out[c] ??= []);
      if (!list.includes(s)) list.push(s);
    }
  }
  return out;
}

/** The user's conda specs (canonical strings, every platform's, duplicates dropped) in input order: `metadata.specs`. */
export function requestedSpecs(inputs: Pick<LockInputs, 'envs'> & Partial<Pick<LockInputs, 'categories'>>): string[] {
  const seen = new Set<string>();
  // A channel URL in a spec (`https://host/t/<token>/chan::pkg`) is written without its token.
  for (const env of inputs.envs) for (const d of env.dependencies) if (!inputs.categories || inputs.categories.includes(categoryOf(d))) seen.add(stripCredentials(d.spec.toString()));
  return [...seen];
}

