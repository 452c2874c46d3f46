/**
 * `conda-go-lock lock`: inputs → repodata (all platforms at once) → solve per platform →
 * Go toolchain pins → one lockfile, written atomically.
 */
import { existsSync } from 'node:fs';
import type { Platform } from '../../conda/platform.js';
import type { RepoDataRecord } from '../../conda/record.js';
import { ExitCode, LockfileError, NetworkError, OfflineCacheMissError, PackageNotFoundError, UsageError } from '../../errors.js';
import { resolveGoToolchain } from '../../go/resolve.js';
import { diffLockfiles, formatDiffSummary } from '../../lockfile/diff.js';
import { LOCKFILE_VERSION, type LockedCondaPackage, type LockedGoToolchain, type Lockfile } from '../../lockfile/model.js';
import { readLockfile } from '../../lockfile/read.js';
import { writeLockfile } from '../../lockfile/write.js';
import { HttpClient } from '../../net/http.js';
import { ProgressReporter } from '../../net/progress.js';
import { redactUrl, stripCredentials } from '../../net/redact.js';
import { RepodataCache, defaultCacheDir } from '../../repodata/cache.js';
import { Gateway } from '../../repodata/gateway.js';
import type { SolveOptions } from '../../solver/index.js';
import { solveInWorkers } from '../../solver/parallel.js';
import { requestedSpecs, resolveInputs, type InputOptions, type LockInputs } from '../inputs.js';
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
}

export async function lockCommand(opts: LockCommandOptions): Promise<number> {
  const progress = new ProgressReporter({ quiet: opts.quiet });
  // Without -p or `platforms:`, re-locking keeps the platforms of an existing lockfile. A plain lock
  // replaces an unreadable old file (with a warning); --check and --update need a valid one.
  const needsExisting = Boolean(opts.check || opts.update?.length);
  let existing: Lockfile | undefined;
  try {
    existing = await readExisting(opts.lockfile, needsExisting);
  } catch (err) {
    if (needsExisting || !(err instanceof LockfileError)) throw err;
    progress.log(`warning: ignoring the existing ${opts.lockfile}, which cannot be read (${err.message}); it will be replaced`);
  }
  const inputs = resolveInputs({ ...opts, fallbackPlatforms: existing?.metadata.platforms });
  for (const env of inputs.envs) for (const w of env.warnings) progress.log(`warning: ${w.location.file}:${w.location.line ?? '?'}: ${w.message}`);

  if (opts.check) {
    const reasons = staleReasons(inputs, existing);
    return reportCheck(opts.lockfile, reasons);
  }

  const previous = existing;
  if (opts.update?.length && previous) {
    const known = new Set(previous.packages.map((p) => p.name));
    // A name just added to the environment file is not in the old lock yet; updating it is fine.
    const requested = new Set(inputs.envs.flatMap((e) => e.dependencies.map((d) => d.spec.name)));
    const unknown = opts.update.filter((n) => !known.has(n) && !requested.has(n));
    if (unknown.length > 0) {
      throw new UsageError(`--update: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} neither in ${opts.lockfile} nor requested by the environment file(s); packages in the lockfile: ${[...known].sort().slice(0, 20).join(', ')}${known.size > 20 ? ', ...' : ''}`);
    }
  }

  const http = new HttpClient({ onRetry: (r) => progress.log(`retrying ${r.url} (${r.reason}), attempt ${r.attempt}`) });
  const gateway = new Gateway({ http, cacheDir: opts.cacheDir, offline: opts.offline, progress });

  const started = performance.now();
  const maxWorkers = opts.jobs === undefined ? undefined : Number(opts.jobs);
  if (maxWorkers !== undefined && (!Number.isInteger(maxWorkers) || maxWorkers < 0 || maxWorkers > 64)) {
    throw new UsageError(`--jobs must be a whole number from 0 to 64, got '${opts.jobs}'`);
  }
  const [packages, go] = await Promise.all([
    lockPlatforms(inputs, gateway, previous, opts.update ?? [], maxWorkers),
    lockGo(inputs, http, opts.cacheDir, Boolean(opts.offline), opts.goDownloadBaseUrl),
  ]);

  const lockfile: Lockfile = {
    version: LOCKFILE_VERSION,
    metadata: {
      tool_version: TOOL_VERSION,
      platforms: [...inputs.platforms],
      channels: inputs.channels.map((c) => ({ url: c.baseUrl })),
      sources: inputs.sources,
      content_hash: Object.fromEntries(inputs.platforms.map((p) => [p, inputs.perPlatform.get(p)!.contentHash])),
      specs: requestedSpecs(inputs),
      virtual_packages: Object.fromEntries(
        inputs.platforms.map((p) => [p, inputs.perPlatform.get(p)!.virtualPackages.map((v) => `${v.name} ${v.version} ${v.build}`)]),
      ),
      ...(inputs.go ? { go: { spec: inputs.go.spec, source: inputs.go.source, releases_url: redactUrl(inputs.go.releases_url) } } : {}),
    },
    packages,
    go,
  };
  await writeLockfile(opts.lockfile, lockfile);

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const counts = inputs.platforms.map((p) => `${p}: ${lockfile.packages.filter((x) => x.platform === p).length}`).join(', ');
  progress.log(`Locked ${inputs.platforms.length} platform(s) in ${seconds}s (${counts}${go.length ? `; go ${go[0]!.version}` : ''}) → ${opts.lockfile}`);
  if (previous) progress.log(`Changes: ${formatDiffSummary(diffLockfiles(previous, lockfile))}`);
  progress.stop();
  return ExitCode.ok;
}

async function readExisting(path: string, required: boolean): Promise<Lockfile | undefined> {
  if (!existsSync(path)) {
    if (required) throw new LockfileError(`${path} does not exist: run \`conda-go-lock lock\` first`, { code: 'E_LOCKFILE_MISSING' });
    return undefined;
  }
  return readLockfile(path);
}

/**
 * Locked records of the previous lockfile for `platform`, minus the packages being updated and
 * minus those from a channel the inputs no longer list (a pin never outlives its channel).
 */
function lockedFrom(previous: Lockfile | undefined, platform: Platform, update: readonly string[], channels: readonly string[]): RepoDataRecord[] {
  if (!previous) return [];
  const moving = new Set(update);
  const current = new Set(channels);
  return previous.packages
    .filter((p) => p.platform === platform && !moving.has(p.name) && current.has(p.channel))
    .map((p) => ({
      name: p.name,
      version: p.version,
      build: p.build,
      build_number: p.build_number,
      subdir: p.subdir,
      depends: p.depends,
      constrains: p.constrains,
      md5: p.md5,
      sha256: p.sha256,
      size: p.size,
      fn: p.fn,
      url: p.url,
      channel: p.channel,
      ...(p.noarch ? { noarch: p.noarch } : {}),
      ...(p.timestamp !== undefined ? { timestamp: p.timestamp } : {}),
    }));
}

/** Fetch what one platform's solve needs: the records reachable from its specs. */
async function prepareSolve(
  inputs: LockInputs,
  platform: Platform,
  gateway: Gateway,
  previous: Lockfile | undefined,
  update: readonly string[],
): Promise<SolveOptions> {
  const pi = inputs.perPlatform.get(platform)!;
  const { records, missing } = await gateway.queryWithNames(inputs.channels, [platform, 'noarch'], pi.specs);
  const requestedMissing = pi.specs.filter((s) => !s.name.startsWith('__') && missing.includes(s.name));
  if (requestedMissing.length > 0) {
    const s = requestedMissing[0]!;
    const where = inputs.specOrigin.get(s.name);
    throw new PackageNotFoundError(
      `${where ? `${where}: ` : ''}package '${s.name}' (requested as '${s.toString()}') was not found for ${platform} in ${inputs.channels
        .map((c) => c.name)
        .join(', ')} (searched ${platform} and noarch). Check the spelling or add the channel that has it.`,
    );
  }
  return {
    specs: pi.specs,
    records,
    virtualPackages: pi.virtualPackages,
    channels: inputs.channels.map((c) => c.baseUrl),
    channelPriority: 'strict',
    // Only an update keeps the previous pins; a plain lock re-solves from scratch.
    locked: update.length > 0 ? lockedFrom(previous, platform, update, inputs.channels.map((c) => c.baseUrl)) : [],
    platform,
  };
}

/** Fetch every platform's records concurrently, then solve all platforms in parallel worker threads. */
async function lockPlatforms(
  inputs: LockInputs,
  gateway: Gateway,
  previous: Lockfile | undefined,
  update: readonly string[],
  maxWorkers: number | undefined,
): Promise<LockedCondaPackage[]> {
  const requests = await Promise.all(inputs.platforms.map((p) => prepareSolve(inputs, p, gateway, previous, update)));
  const results = await solveInWorkers(requests, { maxWorkers });
  return results.flatMap((r, i) => r.records.map((rec) => toLocked(rec, inputs.platforms[i]!)));
}

function toLocked(r: RepoDataRecord, platform: Platform): LockedCondaPackage {
  if (!r.sha256 || !r.md5 || r.size === undefined) {
    const missingFields = [!r.sha256 && 'sha256', !r.md5 && 'md5', r.size === undefined && 'size'].filter(Boolean).join(', ');
    throw new LockfileError(
      `${r.name}-${r.version}-${r.build} (${redactUrl(r.url)}) has no ${missingFields} in its repodata; conda-go-lock pins sha256, md5 and size for every package. Exclude it or use a channel that publishes them.`,
      { code: 'E_RECORD_WITHOUT_HASH' },
    );
  }
  return {
    platform,
    name: r.name,
    version: r.version,
    build: r.build,
    build_number: r.build_number,
    subdir: r.subdir,
    channel: r.channel,
    url: redactUrl(r.url),
    fn: r.fn,
    md5: r.md5,
    sha256: r.sha256,
    size: r.size,
    depends: [...r.depends],
    constrains: [...r.constrains],
    ...(r.noarch ? { noarch: r.noarch } : {}),
    ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
    ...(r.license ? { license: r.license } : {}),
    ...(r.track_features ? { track_features: r.track_features } : {}),
  };
}

async function lockGo(
  inputs: LockInputs,
  http: HttpClient,
  cacheDir: string | undefined,
  offline: boolean,
  downloadBaseUrl: string | undefined,
): Promise<LockedGoToolchain[]> {
  const go = inputs.go;
  if (!go) return [];
  // The release list goes through the same disk cache as repodata, so `--offline` can re-lock Go too.
  const cache = new RepodataCache(cacheDir ?? defaultCacheDir());
  const releases = {
    async getJson<T>(url: string): Promise<T> {
      if (offline) {
        const hit = await cache.get(url);
        const miss = `--offline: Go release metadata ${redactUrl(url)} is not in the cache (${cache.dir}); run once without --offline`;
        if (!hit?.body) throw new OfflineCacheMissError(miss);
        try {
          return JSON.parse(hit.body.toString('utf8')) as T;
        } catch (err) {
          await cache.remove(url).catch(() => undefined);
          throw new OfflineCacheMissError(`${miss} (the cached copy was unreadable and has been removed)`, { cause: err });
        }
      }
      const res = await http.request(url);
      let json: T;
      try {
        json = JSON.parse(res.body.toString('utf8')) as T;
      } catch (err) {
        throw new NetworkError(
          `Go release metadata at ${redactUrl(url)} is not JSON; --go-releases-url must name go.dev/dl's JSON feed (https://go.dev/dl/?mode=json&include=all) or a copy of it`,
          { code: 'E_BAD_RESPONSE', url: redactUrl(url), cause: err },
        );
      }
      // Only a readable list is cached, so an --offline run never meets a broken copy.
      await cache.put(url, res.body, { etag: res.headers.etag, lastModified: res.headers['last-modified'] });
      return json;
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
  // lockfile gets the URL without credentials, like every channel URL.
  return pinned.map((g) => ({ ...g, url: stripCredentials(g.url) }));
}
