/**
 * Building a Lockfile from what the solver and the Go resolver returned, and reading a lockfile's
 * pins back as solver input (`lock --update`).
 *
 * Like rattler_lock's LockFileBuilder: the lockfile module owns the mapping between repodata records
 * and locked entries in both directions, the metadata block, and which kinds of locked package a file
 * holds (conda packages, Go toolchains, later PyPI wheels), so a command only hands over results.
 */
import type { Channel } from '../conda/channel.js';
import type { Platform } from '../conda/platform.js';
import type { PackageRecord, RepoDataRecord } from '../conda/record.js';
import { LockfileError } from '../errors.js';
import type { GoToolchainPin } from '../go/resolve.js';
import { redactUrl, stripCredentials } from '../net/redact.js';
import { assignCategories, MAIN_CATEGORY } from './categories.js';
import {
  LOCKFILE_VERSION,
  type LockedCondaPackage,
  type LockedGoToolchain,
  type LockedPypiPackage,
  type Lockfile,
  type LockfileGoInput,
  type LockfileMetadata,
} from './model.js';

/**
 * The locked entry of a solved record. Refuses a record without sha256, md5 or size. `sha256Computed`:
 * the channel published no sha256 and lock computed it (src/repodata/missing-sha256.ts).
 */
export function lockedCondaPackage(r: RepoDataRecord, platform: Platform, opts: { sha256Computed?: boolean } = {}): LockedCondaPackage {
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
    ...(r.license_family ? { license_family: r.license_family } : {}),
    ...(r.features ? { features: r.features } : {}),
    ...(r.track_features ? { track_features: r.track_features } : {}),
    ...(opts.sha256Computed ? { sha256_computed: true as const } : {}),
  };
}

/** The repodata record a locked entry was made from (the inverse of lockedCondaPackage). */
export function recordOfLocked(p: LockedCondaPackage): RepoDataRecord {
  return {
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
    ...(p.license ? { license: p.license } : {}),
    ...(p.license_family ? { license_family: p.license_family } : {}),
    ...(p.features ? { features: p.features } : {}),
    // Kept so a locked record keeps its place in the candidate order (track_features sort last).
    ...(p.track_features ? { track_features: p.track_features } : {}),
  };
}

/**
 * Locked records of `previous` for `platform`, as solver input: minus the packages being updated
 * (`update`) and minus those from a channel no longer listed in `channels` (a pin never outlives its channel).
 */
export function lockedRecords(
  previous: Lockfile | undefined,
  platform: Platform,
  update: readonly string[],
  channels: readonly string[],
): RepoDataRecord[] {
  if (!previous) return [];
  const moving = new Set(update);
  const current = new Set(channels);
  return previous.packages
    .filter((p) => p.platform === platform && !moving.has(p.name) && current.has(p.channel))
    .map(recordOfLocked);
}

/**
 * The sha256 a previous lockfile computed for a record (its `sha256_computed` entry with the same
 * token-free URL, md5 and size), so a re-lock neither downloads it again nor loses the mark.
 */
export function computedSha256Of(previous: Lockfile | undefined): (r: RepoDataRecord) => string | undefined {
  const known = new Map((previous?.packages ?? []).filter((p) => p.sha256_computed).map((p) => [`${p.url} ${p.md5} ${p.size}`, p.sha256]));
  return (r) => known.get(`${redactUrl(r.url)} ${r.md5} ${r.size}`);
}

/** The locked entry of a Go toolchain pin: its URL without credentials, like every channel URL. */
export function lockedGoToolchain(pin: GoToolchainPin): LockedGoToolchain {
  return {
    platform: pin.platform,
    version: pin.version,
    os: pin.os,
    arch: pin.arch,
    filename: pin.filename,
    url: stripCredentials(pin.url),
    sha256: pin.sha256,
    size: pin.size,
  };
}

/** What the metadata block is made from (the CLI's LockInputs fits). */
export interface LockMetadataInputs {
  toolVersion: string;
  platforms: readonly Platform[];
  channels: readonly Channel[];
  /** Input files relative to the lockfile's directory, forward slashes. */
  sources: readonly string[];
  /** The user's requested conda specs (canonical, token-free), in input order. */
  specs: readonly string[];
  perPlatform: ReadonlyMap<Platform, { contentHash: string; virtualPackages: readonly PackageRecord[] }>;
  go?: LockfileGoInput;
  /** `--channel-priority`; recorded only when not strict. */
  channelPriority?: 'strict' | 'flexible' | 'disabled';
  /** The requested specs of each category other than main (`metadata.categories`). */
  categorySpecs?: Readonly<Record<string, readonly string[]>>;
}

function platformInputs(inputs: LockMetadataInputs, platform: Platform): { contentHash: string; virtualPackages: readonly PackageRecord[] } {
  const pi = inputs.perPlatform.get(platform);
  if (!pi) throw new Error(`internal: no inputs for platform ${platform}`);
  return pi;
}

/** The metadata block: tool version, platforms, channels (credential-free), inputs and their hashes. */
export function lockMetadata(inputs: LockMetadataInputs): LockfileMetadata {
  return {
    tool_version: inputs.toolVersion,
    platforms: [...inputs.platforms],
    // A channel written with `${VAR}` credentials keeps the variable names so `install` can expand them again.
    channels: inputs.channels.map((c) =>
      c.urlTemplate ? { url: c.baseUrl, used_env_vars: [...c.usedEnvVars], url_template: c.urlTemplate } : { url: c.baseUrl },
    ),
    sources: [...inputs.sources],
    content_hash: Object.fromEntries(inputs.platforms.map((p) => [p, platformInputs(inputs, p).contentHash])),
    specs: [...inputs.specs],
    virtual_packages: Object.fromEntries(
      inputs.platforms.map((p) => [p, platformInputs(inputs, p).virtualPackages.map((v) => `${v.name} ${v.version} ${v.build}`)]),
    ),
    ...(inputs.channelPriority && inputs.channelPriority !== 'strict' ? { channel_priority: inputs.channelPriority } : {}),
    ...(inputs.go
      ? {
          go: {
            spec: inputs.go.spec,
            source: inputs.go.source,
            releases_url: redactUrl(inputs.go.releases_url),
            ...(inputs.go.download_base_url ? { download_base_url: inputs.go.download_base_url } : {}),
            ...(inputs.go.cgo === false ? { cgo: false as const } : {}),
          },
        }
      : {}),
    ...(inputs.categorySpecs && Object.keys(inputs.categorySpecs).length
      ? { categories: Object.fromEntries(Object.entries(inputs.categorySpecs).map(([c, specs]) => [c, [...specs]])) }
      : {}),
  };
}

/**
 * Collects the locked packages of each kind, then `build()`s the Lockfile. Order does not matter:
 * the writer sorts every list.
 */
export class LockfileBuilder {
  private readonly conda: LockedCondaPackage[] = [];
  private readonly go: LockedGoToolchain[] = [];
  private readonly pypi: LockedPypiPackage[] = [];

  constructor(private readonly metadata: LockfileMetadata) {}

  /**
   * One platform's solved conda records. `rootCategories` (requested name → its categories) gives
   * each package the categories whose specs reach it; without it every package is main.
   */
  addCondaPackages(
    platform: Platform,
    records: readonly RepoDataRecord[],
    rootCategories?: ReadonlyMap<string, readonly string[]>,
    /** URLs of records whose sha256 lock computed (`sha256_computed: true`). */
    sha256Computed?: ReadonlySet<string>,
  ): this {
    const cats = rootCategories && [...rootCategories.values()].some((c) => c.some((x) => x !== MAIN_CATEGORY)) ? assignCategories(records, rootCategories) : undefined;
    for (const r of records) {
      const p = lockedCondaPackage(r, platform, { sha256Computed: sha256Computed?.has(r.url) });
      const c = cats?.get(r.name);
      if (c && !(c.length === 1 && c[0] === MAIN_CATEGORY)) p.categories = c;
      this.conda.push(p);
    }
    return this;
  }

  /** Go toolchain pins (fresh from src/go, or kept from a previous lockfile). */
  addGoToolchains(pins: readonly GoToolchainPin[]): this {
    for (const g of pins) this.go.push(lockedGoToolchain(g));
    return this;
  }

  /** Locked PyPI wheels (already locked entries; the PyPI resolver maps its own results). */
  addPypiPackages(packages: readonly LockedPypiPackage[]): this {
    this.pypi.push(...packages);
    return this;
  }

  build(): Lockfile {
    return {
      version: LOCKFILE_VERSION,
      metadata: this.metadata,
      packages: [...this.conda],
      go: [...this.go],
      // Written only when there is one: a conda + Go lockfile stays as it was.
      ...(this.pypi.length > 0 ? { pypi: [...this.pypi] } : {}),
    };
  }
}

/** One resolved wheel as a lockfile entry (URLs token-free). */
export function lockedPypiPackage(platform: Platform, w: {
  key: string;
  version: string;
  filename: string;
  url: string;
  sha256: string;
  size: number;
  index: string;
  requiresPython?: string;
  requiresDist: readonly string[];
  requestedBy: readonly string[];
}): LockedPypiPackage {
  const out: LockedPypiPackage = {
    platform,
    name: w.key,
    version: w.version,
    filename: w.filename,
    url: stripCredentials(w.url),
    sha256: w.sha256,
    size: w.size,
    requires_dist: [...w.requiresDist],
    requested_by: [...w.requestedBy],
    index: stripCredentials(w.index),
  };
  if (w.requiresPython) out.requires_python = w.requiresPython;
  return out;
}
