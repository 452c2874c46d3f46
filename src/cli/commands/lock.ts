/**
 * `conda-go-lock lock`: inputs → repodata (all platforms at once) → solve per platform →
 * Go toolchain pins → one lockfile, written atomically.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Platform } from '../../conda/platform.js';
import type { MatchSpec } from '../../conda/matchspec.js';
import { distName, type RepoDataRecord } from '../../conda/record.js';
import { ExitCode, LockfileError, NetworkError, OfflineCacheMissError, PackageNotFoundError, UsageError } from '../../errors.js';
import { resolveGoToolchain, type GoToolchainPin } from '../../go/resolve.js';
import { diffLockfiles, formatDiffSummary, formatDiffText } from '../../lockfile/diff.js';
import { normaliseLockfile } from '../../lockfile/normalise.js';
import { computedSha256Of, LockfileBuilder, lockedPypiPackage, lockedRecords, lockMetadata } from '../../lockfile/build.js';
import type { LockedPypiPackage } from '../../lockfile/model.js';
import { condaProvided, pythonOf } from '../../solver/pypi/conda-map.js';
import { InputError } from '../../errors.js';
import { parseRequirement } from '../../pypi/requirement.js';
import type { LockedGoToolchain, Lockfile } from '../../lockfile/model.js';
import { readLockfile } from '../../lockfile/read.js';
import { assertValidLockfile, LOCKFILE_HEADER, writeLockfile } from '../../lockfile/write.js';
import { assignPypiCategories } from '../../lockfile/categories.js';
import { HttpClient, minSpeedFromEnv } from '../../net/http.js';
import { ProgressReporter } from '../../net/progress.js';
import { redactUrl } from '../../net/redact.js';
import type { RepodataCache } from '../../repodata/cache.js';
import { CachedFetch } from '../../repodata/cached-fetch.js';
import { Gateway } from '../../repodata/gateway.js';
import { completeMissingSha256 } from '../../repodata/missing-sha256.js';
import type { SolveOptions } from '../../solver/index.js';
import { solveInWorkers } from '../../solver/parallel.js';
import { DEFAULT_ENV_FILE, categorySpecs, requestedSpecs, resolveInputs, type InputOptions, type LockInputs } from '../inputs.js';
import { retryLine } from '../messages.js';
import { diffJson, writeJson } from '../json.js';
import { TOOL_VERSION } from '../version.js';
import { reportCheck, staleReasons } from './check.js';

export interface LockCommandOptions extends InputOptions {
  update?: string[];
  check?: boolean;
  cacheDir?: string;
  offline?: boolean;
  quiet?: boolean;
  goDownloadBaseUrl?: string;
  /** Solver worker threads (0: solve in-process). */
  jobs?: string;
  /** Re-solve even when the lockfile is up to date with its inputs. */
  force?: boolean;
  /** Seconds one platform's solve may take (0: no limit). */
  solverTimeout?: string;
  /** Print the result as JSON on stdout (docs/json.md). */
  json?: boolean;
  /** Solve and print what would change; write nothing. */
  dryRun?: boolean;
}

function solverTimeoutMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--solver-timeout must be a number of seconds >= 0, got '${value}'`);
  return seconds === 0 ? undefined : Math.round(seconds * 1000);
}

export async function lockCommand(opts: LockCommandOptions): Promise<number> {
  const progress = new ProgressReporter({ quiet: opts.quiet });
  // Without -p or `platforms:`, re-locking keeps the platforms of an existing lockfile. A plain lock
  // replaces an unreadable old file (with a warning); --check and --update need a valid one.
  const needsExisting = Boolean(opts.check || opts.update?.length);
  const inputFiles = [...(opts.file?.length ? opts.file : [DEFAULT_ENV_FILE]), ...(opts.gomod ? [opts.gomod] : [])];
  const clash = inputFiles.find((f) => resolve(f) === resolve(opts.lockfile));
  if (clash) {
    throw new UsageError(`--lockfile ${opts.lockfile} is also an input file (${clash}); writing the lock there would overwrite it. Choose another path (default conda-go-lock.yml)`);
  }
  // Fail before fetching and solving, not at the very end.
  const lockDir = dirname(resolve(opts.lockfile));
  if (!opts.check && !opts.dryRun && !existsSync(lockDir)) {
    throw new LockfileError(`cannot write lockfile ${opts.lockfile}: directory ${lockDir} does not exist; create it first`, { code: 'E_LOCKFILE_WRITE' });
  }
  let existing: Lockfile | undefined;
  let foreign: LockfileError | undefined;
  try {
    existing = await readExisting(opts.lockfile, needsExisting);
  } catch (err) {
    if (needsExisting || !(err instanceof LockfileError)) throw err;
    if (wasWrittenByUs(opts.lockfile)) {
      progress.log(`warning: ignoring the existing ${opts.lockfile}, which cannot be read (${err.message}); it will be replaced`);
    } else {
      // Reported when it is time to write, so input and network errors still come first.
      foreign = new LockfileError(
        `refusing to replace ${opts.lockfile}: it exists but is not a conda-go-lock lockfile (no "generated by conda-go-lock" header; ${err.message.split('\n')[0]}). Delete or move it, or pass another --lockfile`,
        { code: 'E_LOCKFILE_FOREIGN', cause: err },
      );
    }
  }
  // Locking fetches repodata, so `${VAR}` credentials in channel URLs are expanded now; --check needs no secrets.
  const inputs = resolveInputs({
    ...opts,
    fallbackPlatforms: existing?.metadata.platforms,
    fallbackGoReleasesUrl: existing?.metadata.go?.releases_url,
    fallbackGoDownloadBaseUrl: existing?.metadata.go?.download_base_url,
    fallbackChannelPriority: existing ? existing.metadata.channel_priority ?? 'strict' : undefined,
    ...(existing ? { lockfileSources: existing.metadata.sources } : {}),
    ...(opts.check ? {} : { env: process.env }),
  });
  for (const env of inputs.envs) for (const w of env.warnings) progress.log(`warning: ${w.location.file}:${w.location.line ?? '?'}: ${w.message}`);

  if (opts.check) {
    const reasons = staleReasons(inputs, existing);
    return reportCheck(opts.lockfile, reasons, { quiet: opts.quiet, json: opts.json });
  }

  // Like conda-lock: inputs unchanged since the last lock → nothing to do, unless asked to re-solve
  // (--force picks up new builds from the channels) or to move packages (--update).
  if (existing && !opts.force && !opts.update?.length && staleReasons(inputs, existing).length === 0) {
    progress.log(`${opts.lockfile} is already up to date with its inputs; use --force to re-solve against the current channels`);
    progress.stop();
    if (opts.json) writeJson('lock', { lockfile: opts.lockfile, up_to_date: true, written: false, dry_run: Boolean(opts.dryRun), ...lockSummary(existing), changes: diffJson(diffLockfiles(existing, existing)) });
    else if (opts.dryRun) process.stdout.write('No changes\n');
    return ExitCode.ok;
  }

  const previous = existing;
  if (opts.update?.length && previous) {
    const known = new Set([...previous.packages.map((p) => p.name), ...(previous.pypi ?? []).map((p) => p.name)]);
    // A name just added to the environment file is not in the old lock yet; updating it is fine.
    const requested = new Set([
      ...inputs.envs.flatMap((e) => e.dependencies.map((d) => d.spec.name)),
      ...(inputs.pypi?.requirements ?? []).map((r) => r.requirement.key),
    ]);
    // `go` names the Go toolchain too.
    if (inputs.go) requested.add('go');
    const unknown = opts.update.filter((n) => !known.has(n) && !requested.has(n));
    const specLike = unknown.find((n) => /[=<>!~*\s]/.test(n));
    if (specLike) {
      throw new UsageError(`--update takes package names, not specs ('${specLike}'): change the spec in the environment file and run \`conda-go-lock lock --update ${specLike.split(/[=<>!~*\s]/)[0]}\``);
    }
    // `--update NAME...` takes every following word, so `lock --update numpy environment.yml` eats the file.
    const fileLike = unknown.find((n) => /\.(ya?ml|mod|toml)$/i.test(n) || existsSync(n));
    if (fileLike) {
      throw new UsageError(`--update: '${fileLike}' is a file, not a package name: --update takes every word after it as a package name. Put the file first (\`conda-go-lock lock -f ${fileLike} --update ${opts.update.filter((n) => n !== fileLike).join(' ') || 'NAME'}\`)`);
    }
    if (unknown.length > 0) {
      throw new UsageError(`--update: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} neither in ${opts.lockfile} nor requested by the environment file(s); packages in the lockfile: ${[...known].sort().slice(0, 20).join(', ')}${known.size > 20 ? ', ...' : ''}`);
    }
  }

  const http = new HttpClient({ minSpeed: minSpeedFromEnv(process.env), onRetry: (r) => progress.log(retryLine(r)) });
  const gateway = new Gateway({ http, cacheDir: opts.cacheDir, offline: opts.offline, progress });

  const started = performance.now();
  const maxWorkers = opts.jobs === undefined ? undefined : Number(opts.jobs);
  if (maxWorkers !== undefined && (!Number.isInteger(maxWorkers) || maxWorkers < 0 || maxWorkers > 64)) {
    throw new UsageError(`--jobs must be a whole number from 0 to 64, got '${opts.jobs}'`);
  }
  let [solved, go] = await Promise.all([
    lockPlatforms(inputs, gateway, previous, opts.update ?? [], maxWorkers, solverTimeoutMs(opts.solverTimeout), progress),
    keptGoPins(inputs, previous, opts.update ?? []) ??
      lockGo(inputs, http, gateway.cache, Boolean(opts.offline), inputs.go?.download_base_url),
  ]);

  // Records whose channel publishes no sha256: downloaded once, md5 and size checked, sha256 computed.
  const completed = await completeMissingSha256(solved, {
    http,
    cacheDir: gateway.cache.dir,
    offline: opts.offline,
    known: computedSha256Of(previous),
    onDownload: (r) => progress.log(`${distName(r)}: no sha256 in its repodata; downloading it to check md5 and size and compute one`),
  });
  solved = completed.solved;

  const pypi = inputs.pypi ? await lockPypi(inputs, solved, http, opts, previous, progress) : undefined;

  const builder = new LockfileBuilder(lockMetadata({ ...inputs, toolVersion: TOOL_VERSION, specs: requestedSpecs(inputs), categorySpecs: categorySpecs(inputs) }));
  inputs.platforms.forEach((p, i) => builder.addCondaPackages(p, solved[i] ?? [], inputs.perPlatform.get(p)!.rootCategories, completed.computed));
  if (pypi) builder.addPypiPackages(pypi.packages);
  const lockfile = builder.addGoToolchains(go).build();
  if (pypi) {
    lockfile.metadata.pypi = pypi.metadata;
    lockfile.pypi ??= [];
  }
  if (opts.dryRun) {
    // Everything a real lock checks, short of writing: the schema, then the diff against the current file.
    assertValidLockfile(normaliseLockfile(lockfile), opts.lockfile);
    const changes = diffLockfiles(previous ?? emptyLike(lockfile), lockfile);
    progress.log(`Dry run: ${opts.lockfile} is not written (${previous ? formatDiffSummary(changes) : 'it does not exist yet'})`);
    progress.stop();
    if (opts.json) writeJson('lock', { lockfile: opts.lockfile, up_to_date: false, written: false, dry_run: true, ...lockSummary(lockfile), changes: diffJson(changes) });
    else process.stdout.write(formatDiffText(changes));
    return ExitCode.ok;
  }
  if (foreign) throw foreign;
  await writeLockfile(opts.lockfile, lockfile);

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const counts = inputs.platforms.map((p) => `${p}: ${lockfile.packages.filter((x) => x.platform === p).length}`).join(', ');
  progress.log(`Locked ${inputs.platforms.length} platform(s) in ${seconds}s (${counts}${go.length ? `; go ${go[0]!.version}` : ''}) → ${opts.lockfile}`);
  const changes = previous ? diffLockfiles(previous, lockfile) : undefined;
  if (changes) progress.log(`Changes: ${formatDiffSummary(changes)}`);
  progress.stop();
  if (opts.json) writeJson('lock', { lockfile: opts.lockfile, up_to_date: false, written: true, dry_run: false, ...lockSummary(lockfile), changes: changes ? diffJson(changes) : null });
  return ExitCode.ok;
}

/** A lockfile with `lf`'s metadata and nothing locked: what a first lock is diffed against. */
function emptyLike(lf: Lockfile): Lockfile {
  return { ...lf, metadata: { ...lf.metadata, platforms: [] }, packages: [], go: [], ...(lf.pypi ? { pypi: [] } : {}) };
}

/** Per platform: how many conda packages / PyPI wheels are locked and the Go version (for --json). */
function lockSummary(lf: Lockfile): Record<string, unknown> {
  return {
    platforms: Object.fromEntries(
      lf.metadata.platforms.map((p) => [
        p,
        {
          packages: lf.packages.filter((x) => x.platform === p).length,
          pypi: (lf.pypi ?? []).filter((x) => x.platform === p).length,
          go: lf.go.find((g) => g.platform === p)?.version ?? null,
        },
      ]),
    ),
  };
}

/**
 * Resolve the pip: requirements of every platform after its conda solve (one index client, so
 * each project page and metadata file is fetched once for all platforms).
 */
async function lockPypi(
  inputs: LockInputs,
  solved: RepoDataRecord[][],
  http: HttpClient,
  opts: LockCommandOptions,
  previous: Lockfile | undefined,
  progress: ProgressReporter,
): Promise<{ packages: LockedPypiPackage[]; metadata: NonNullable<Lockfile['metadata']['pypi']> }> {
  const py = inputs.pypi!;
  const mapping = inputs.mapping;
  // Loaded only when there are PyPI requirements (the index client brings yauzl and the wheel readers).
  const [{ PypiIndexClient }, { PypiFetchState, resolvePypi }] = await Promise.all([
    import('../../pypi-index/client.js'),
    import('../../solver/pypi/resolve.js'),
  ]);
  const client = new PypiIndexClient({
    indexes: [py.index, ...py.extraIndexes].map((i) => ({ url: i.url, redacted: i.redacted })),
    http,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    offline: Boolean(opts.offline),
  });
  const state = new PypiFetchState(client);
  const update = new Set((opts.update ?? []).map((n) => n.toLowerCase().replace(/[-_.]+/g, '-')));
  const packages: LockedPypiPackage[] = [];
  const rootCategories = new Map<string, string[]>();
  if (py.requirements.some((r) => r.category)) {
    for (const r of py.requirements) {
      const t = r.requirement.text.trim();
      rootCategories.set(t, [...new Set([...(rootCategories.get(t) ?? []), r.category ?? 'main'])].sort());
    }
  }
  const started = performance.now();
  const results = await Promise.all(
    inputs.platforms.map(async (platform, i) => {
      const records = solved[i] ?? [];
      const python = pythonOf(records);
      if (!python) {
        const first = py.requirements[0]!;
        throw new InputError(
          /\.toml$/i.test(first.location.file ?? '')
            ? `the PyPI requirements need a Python interpreter, but the conda solution for ${platform} has no python; add one under [tool.conda-lock.dependencies] (python = "3.11.*")`
            : `the pip: requirements need a Python interpreter, but the conda solution for ${platform} has no python; add python to dependencies`,
          { code: 'E_PYPI_NO_PYTHON', location: first.location },
        );
      }
      const vps = inputs.perPlatform.get(platform)!.virtualPackages;
      const ver = (name: string): [number, number] | undefined => {
        const v = vps.find((x) => x.name === name)?.version.split('.').map(Number);
        return v && Number.isFinite(v[0]) ? [v[0]!, v[1] ?? 0] : undefined;
      };
      const glibc = ver('__glibc');
      const osx = ver('__osx');
      // --update NAME... keeps the other PyPI pins of the previous lock.
      const locked = new Map<string, string>();
      if (previous?.pypi && update.size) for (const p of previous.pypi) if (p.platform === platform && !update.has(p.name)) locked.set(p.name, p.version);
      const res = await resolvePypi(
        {
          platform,
          requirements: [
            ...py.requirements.map((r) => r.requirement),
            ...[...locked].map(([name, version]) => ({ ...parseLocked(name, version) })),
          ],
          python,
          facts: { platform, ...(glibc ? { glibc } : {}), ...(osx ? { osx } : {}) },
          conda: condaProvided(records, mapping),
        },
        state,
      );
      const out: LockedPypiPackage[] = [];
      for (const w of res.wheels) {
        const digest = await client.fileDigest(w.file);
        out.push(
          lockedPypiPackage(platform, {
            key: w.key,
            version: w.version,
            filename: w.file.filename,
            url: w.file.url,
            sha256: digest.sha256,
            size: digest.size,
            index: w.index,
            ...(w.requiresPython ? { requiresPython: w.requiresPython } : {}),
            requiresDist: w.requiresDist,
            // A kept pin (--update of other names) is not a reason of its own.
            requestedBy: w.requestedBy.filter((b) => b !== `${w.key}==${w.version}`).length ? w.requestedBy.filter((b) => b !== `${w.key}==${w.version}`) : w.requestedBy,
          }),
        );
      }
      // pyproject.toml's PyPI requirements of other categories: each wheel gets the categories reaching it.
      if (rootCategories.size) {
        const cats = assignPypiCategories(out, rootCategories);
        for (const w of out) {
          const c = cats.get(w.name)!;
          if (!(c.length === 1 && c[0] === 'main')) w.categories = c;
        }
      }
      return out;
    }),
  );
  for (const r of results) packages.push(...r);
  const s = client.stats;
  progress.log(
    `Resolved pip: ${inputs.platforms.map((p, i) => `${p}: ${results[i]!.length} wheels`).join(', ')} in ${Math.round(performance.now() - started)} ms ` +
      `(${s.requests} requests, ${s.bytes} bytes; ${s.pages} pages, ${s.metadataFiles} metadata files, ${s.wheels} wheels downloaded)`,
  );
  const templates = [py.index, ...py.extraIndexes].filter((i) => i.usedEnvVars.length);
  return {
    packages,
    metadata: {
      requirements: py.requirements.map((r) => r.text),
      index_url: py.index.redacted,
      extra_index_urls: py.extraIndexes.map((i) => i.redacted),
      ...(templates.length ? { index_templates: templates.map((t) => ({ url: t.redacted, used_env_vars: [...t.usedEnvVars].sort(), url_template: t.template })) } : {}),
      mapping: mapping.source,
    },
  };
}

/** A previous pin as an extra root requirement (`name ==version`), so --update moves only the named projects. */
function parseLocked(name: string, version: string) {
  const r = parseRequirement(`${name}==${version}`);
  return { ...r, text: r.text };
}

/** Whether the file at `path` is empty or carries the header our writer puts on every lockfile. */
function wasWrittenByUs(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  return text.trim() === '' || text.slice(0, 4096).includes(LOCKFILE_HEADER.split('\n')[0]!);
}

/** The lockfile at `path`; absent is fine unless `required` (then readLockfile's E_LOCKFILE_NOT_FOUND). */
async function readExisting(path: string, required: boolean): Promise<Lockfile | undefined> {
  if (!required && !existsSync(path)) return undefined;
  return readLockfile(path);
}

/** Fetch what one platform's solve needs: the records reachable from its specs, and the requested names no channel has. */
async function prepareSolve(
  inputs: LockInputs,
  platform: Platform,
  gateway: Gateway,
  previous: Lockfile | undefined,
  update: readonly string[],
): Promise<{ request: SolveOptions; missing: MatchSpec[] }> {
  const pi = inputs.perPlatform.get(platform)!;
  const { records, missing } = await gateway.queryWithNames(inputs.channels, [platform, 'noarch'], pi.specs);
  return {
    request: {
      specs: pi.specs,
      records,
      virtualPackages: pi.virtualPackages,
      channels: inputs.channels.map((c) => c.baseUrl),
      channelPriority: inputs.channelPriority,
      // Only an update keeps the previous pins; a plain lock re-solves from scratch.
      locked: update.length > 0 ? lockedRecords(previous, platform, update, inputs.channels.map((c) => c.baseUrl)) : [],
      platform,
    },
    missing: pi.specs.filter((s) => !s.name.startsWith('__') && missing.includes(s.name)),
  };
}

/**
 * The first requested name no channel has, as an error. When other platforms do have it, the name
 * is right and the package is just not built for some platforms: say which, and how to leave them out.
 */
function packageNotFound(inputs: LockInputs, prepared: ReadonlyArray<{ missing: MatchSpec[] }>): PackageNotFoundError | undefined {
  const i = prepared.findIndex((x) => x.missing.length > 0);
  if (i < 0) return undefined;
  const s = prepared[i]!.missing[0]!;
  const where = inputs.specOrigin.get(s.name);
  const channels = inputs.channels.map((c) => c.name).join(', ');
  const lacking = inputs.platforms.filter((_, j) => prepared[j]!.missing.some((m) => m.name === s.name));
  const having = inputs.platforms.filter((p) => !lacking.includes(p) && inputs.perPlatform.get(p)!.specs.some((x) => x.name === s.name));
  const head = `${where ? `${where}: ` : ''}package '${s.name}' (requested as '${s.toString()}')`;
  if (having.length > 0) {
    return new PackageNotFoundError(
      `${head} is not available for ${lacking.join(', ')} in ${channels} (searched each platform's subdir and noarch), though it is for ${having.join(', ')}. ` +
        `Drop ${lacking.length === 1 ? 'that platform' : 'those platforms'}, or limit the dependency to the others with a selector comment (\`- ${s.name}  # [...]\`, see docs/environment.md#selectors)`,
    );
  }
  const platform = inputs.platforms[i]!;
  return new PackageNotFoundError(
    `${head} was not found for ${platform} in ${channels} (searched ${platform} and noarch). Check the spelling or add the channel that has it.`,
  );
}

/** Fetch every platform's records concurrently, then solve all platforms in parallel worker threads. */
async function lockPlatforms(
  inputs: LockInputs,
  gateway: Gateway,
  previous: Lockfile | undefined,
  update: readonly string[],
  maxWorkers: number | undefined,
  timeoutMs: number | undefined,
  progress: ProgressReporter,
): Promise<RepoDataRecord[][]> {
  const prepared = await Promise.all(inputs.platforms.map((p) => prepareSolve(inputs, p, gateway, previous, update)));
  const notFound = packageNotFound(inputs, prepared);
  if (notFound) throw notFound;
  const requests = prepared.map((x) => x.request);
  if (timeoutMs !== undefined) for (const r of requests) r.timeoutMs = timeoutMs;
  // Plain lines, so a CI log (no TTY, no bars) shows where a long lock is.
  progress.log(`Solving ${requests.map((r, i) => `${inputs.platforms[i]} (${r.records.length} candidate records)`).join(', ')}`);
  const results = await solveInWorkers(requests, { maxWorkers });
  progress.log(`Solved ${results.map((r, i) => `${inputs.platforms[i]}: ${r.records.length} packages in ${Math.round(r.stats.ms)} ms`).join(', ')}`);
  return results.map((r) => r.records);
}

/**
 * `--update NAME...` without `go`: the Go toolchain keeps its pins like every other package, as long
 * as its spec and release source are unchanged and every platform already has one.
 */
function keptGoPins(inputs: LockInputs, previous: Lockfile | undefined, update: readonly string[]): LockedGoToolchain[] | undefined {
  if (update.length === 0 || update.includes('go') || !previous || !inputs.go) return undefined;
  const was = previous.metadata.go;
  if (!was || was.spec !== inputs.go.spec || was.releases_url !== redactUrl(inputs.go.releases_url)) return undefined;
  if ((was.download_base_url ?? '') !== (inputs.go.download_base_url ?? '')) return undefined;
  const pins = inputs.platforms.map((p) => previous.go.find((g) => g.platform === p));
  if (pins.some((g) => g === undefined)) return undefined;
  return pins as LockedGoToolchain[];
}

async function lockGo(
  inputs: LockInputs,
  http: HttpClient,
  cache: RepodataCache,
  offline: boolean,
  downloadBaseUrl: string | undefined,
): Promise<GoToolchainPin[]> {
  const go = inputs.go;
  if (!go) return [];
  // The release list goes through the gateway's cached GET (revalidated with its ETag), so
  // `--offline` can re-lock Go too; only a list that parses is cached.
  const fetcher = new CachedFetch({ http, cache, offline });
  const releases = {
    async getJson<T>(url: string): Promise<T> {
      const miss = `--offline: Go release metadata ${redactUrl(url)} is not in the cache (${cache.dir}); run once without --offline`;
      const notJson = (err: unknown) =>
        new NetworkError(
          `Go release metadata at ${redactUrl(url)} is not JSON; --go-releases-url must name go.dev/dl's JSON feed (https://go.dev/dl/?mode=json&include=all) or a copy of it`,
          { code: 'E_BAD_RESPONSE', url: redactUrl(url), cause: err },
        );
      try {
        return await fetcher.getParsed(
          url,
          (body) => {
            try {
              return JSON.parse(body.toString('utf8')) as T;
            } catch (err) {
              throw offline && !url.startsWith('file:')
                ? new OfflineCacheMissError(`${miss} (the cached copy was unreadable and has been removed)`, { cause: err })
                : notJson(err);
            }
          },
          { offlineMiss: miss },
        );
      } catch (err) {
        if (!(err instanceof NetworkError) || err.code === 'E_BAD_RESPONSE') throw err;
        // src/net's advice is about channels; say which input this URL is.
        const message = err.status === 404
          ? `Go release metadata not found (HTTP 404) at ${redactUrl(url)}: --go-releases-url (or CONDA_GO_LOCK_GO_RELEASES_URL) must name go.dev/dl's JSON feed (https://go.dev/dl/?mode=json&include=all) or a copy of it`
          : `cannot fetch the Go release metadata: ${err.message}`;
        throw new NetworkError(message, {
          code: err.code,
          url: redactUrl(url),
          ...(err.status !== undefined ? { status: err.status } : {}),
          cause: err,
        });
      }
    },
  };
  const pinned = await resolveGoToolchain({
    spec: go.spec,
    platforms: inputs.platforms,
    http: releases,
    releasesUrl: go.releases_url,
    prerelease: go.prerelease,
    ...(downloadBaseUrl ? { downloadBaseUrl } : {}),
  });
  // A mirror given as https://user:password@host/t/<token>/dl/ is used for nothing here; the
  // lockfile builder writes the URL without credentials, like every channel URL.
  return pinned;
}
