/**
 * The lockfile model: what conda-go-lock writes and `install` replays.
 *
 * One file covers every platform. Each kind of locked package has its own top-level list, like
 * rattler_lock's Conda/Pypi split: conda packages (`packages`), Go toolchains (`go`) and PyPI wheels
 * (`pypi`, absent when there are none). Every list is sorted by platform then name, so a reviewer
 * reads one block per package and diffs stay small. src/lockfile/build.ts assembles a Lockfile.
 */
import type { NoArchKind } from '../conda/record.js';

export const LOCKFILE_VERSION = 1;

export interface LockfileChannel {
  /** Canonical channel URL, never with a token. */
  url: string;
  /** The environment variables `url_template` uses, sorted (only with `url_template`). */
  used_env_vars?: string[];
  /**
   * For a channel written with environment variables (`https://host/t/${MY_TOKEN}/chan`,
   * `https://${USER}:${PASSWORD}@host/chan`): that URL with the variable NAMES, never their values.
   * `install` expands it from its own environment to download this channel's packages.
   */
  url_template?: string;
}

export interface LockfileGoInput {
  /** The Go toolchain spec as the user wrote it (`1.22.*`, `stable`, or from go.mod). */
  spec: string;
  /** Where the spec came from: the environment file or a go.mod path. */
  source: string;
  /** The go.dev/dl JSON URL the release metadata came from. */
  releases_url: string;
  /** `false` when the environment file says `go: {cgo: false}`: the activation leaves cgo alone. */
  cgo?: false;
  /** `--go-download-base-url` (a mirror of go.dev/dl), without credentials; absent = the default. */
  download_base_url?: string;
}

export interface LockfileMetadata {
  /** conda-go-lock version that wrote the file. */
  tool_version: string;
  platforms: string[];
  channels: LockfileChannel[];
  /** Input files (relative paths, forward slashes) the lock was made from. */
  sources: string[];
  /** Per platform: sha256 over the normalised inputs that affect that platform (see content-hash.ts). */
  content_hash: Record<string, string>;
  /** The user's requested conda specs (canonical strings), in input order. */
  specs: string[];
  /** Virtual packages assumed per platform, as `name version build` strings. */
  virtual_packages: Record<string, string[]>;
  go?: LockfileGoInput;
  /** `--channel-priority` of the lock when not strict (absent = strict, so older lockfiles keep their bytes). */
  channel_priority?: 'flexible' | 'disabled';
  /** The `pip:` inputs (only when the environment has a `pip:` section); see docs/pypi.md. */
  pypi?: LockfilePypiInput;
  /**
   * The requested specs of each category other than main (conda-lock's `category:` files,
   * pyproject's optional dependencies), canonical strings in input order; absent when every spec
   * is main. `specs` lists them too.
   */
  categories?: Record<string, string[]>;
}

/**
 * The PyPI inputs of a lock: the `pip:` requirement lines and the indexes they were resolved
 * against. Index URLs are token-free; an index written with `${VAR}` credentials is listed in
 * `index_templates` with the variable names (never their values), exactly like private channels.
 */
export interface LockfilePypiInput {
  /** The `pip:` requirement lines as written (PEP 508), in input order; option lines excluded. */
  requirements: string[];
  /** The primary index (PEP 503/691 simple API root), token-free. */
  index_url: string;
  /** Further indexes searched after the primary one, token-free, in order. */
  extra_index_urls: string[];
  /** Indexes whose URL carries `${VAR}` credentials: the token-free url and its template. */
  index_templates?: LockfileChannel[];
  /** Where conda→PyPI names came from: `name-equality` or `file:<basename> sha256:<hex>`. */
  mapping?: string;
}

export interface LockedCondaPackage {
  platform: string;
  name: string;
  version: string;
  build: string;
  build_number: number;
  /** Subdir of the record: the platform or `noarch`. */
  subdir: string;
  /** Canonical channel URL without token. */
  channel: string;
  url: string;
  /** Archive file name. */
  fn: string;
  md5: string;
  sha256: string;
  size: number;
  depends: string[];
  constrains: string[];
  noarch?: NoArchKind;
  /** Milliseconds since the epoch, as in repodata. */
  timestamp?: number;
  license?: string;
  license_family?: string;
  /** As in repodata (conda-meta carries them on). */
  features?: string;
  track_features?: string;
  /**
   * True when the channel published no sha256 for the record: `lock` downloaded the package once,
   * checked its md5 and size against repodata and computed `sha256` itself.
   */
  sha256_computed?: boolean;
  /**
   * conda-lock's categories this package belongs to (`main`, `dev`, extras), sorted: the categories
   * whose requested specs reach it. Absent means `[main]` (src/lockfile/categories.ts).
   */
  categories?: string[];
}

export interface LockedGoToolchain {
  platform: string;
  /** e.g. `1.22.5` (no `go` prefix). */
  version: string;
  /** Go's os/arch: linux/amd64, darwin/arm64, windows/amd64 ... */
  os: string;
  arch: string;
  filename: string;
  url: string;
  sha256: string;
  size: number;
}

/**
 * One wheel locked from a PyPI index for one platform (issue 12). Conda packages in the same
 * platform's solution that satisfy a PyPI requirement are not listed here: pip never replaces a
 * conda package.
 */
export interface LockedPypiPackage {
  platform: string;
  /** PEP 503-normalised project name (`typing-extensions`). */
  name: string;
  /** PEP 440 version as the index wrote it in the wheel's file name. */
  version: string;
  /** The wheel's file name (`requests-2.31.0-py3-none-any.whl`). */
  filename: string;
  /** Download URL, token-free (credentials come from the index template at install). */
  url: string;
  sha256: string;
  size: number;
  /** The wheel's Requires-Python, when it has one. */
  requires_python?: string;
  /** The wheel's Requires-Dist lines (PEP 508, markers kept), sorted. */
  requires_dist: string[];
  /** The `pip:` requirement(s) and/or parent project names that brought it in, sorted. */
  requested_by: string[];
  /** Token-free URL of the index it came from. */
  index: string;
  /**
   * The categories whose PyPI requirements reach the wheel (pyproject.toml's optional / dev
   * requirements taken from PyPI), sorted; absent means `[main]`, as for conda packages.
   */
  categories?: string[];
}

export interface Lockfile {
  version: typeof LOCKFILE_VERSION;
  metadata: LockfileMetadata;
  /** Conda packages. */
  packages: LockedCondaPackage[];
  go: LockedGoToolchain[];
  /** Wheels from PyPI indexes, sorted by platform then name; absent when there is no `pip:` section. */
  pypi?: LockedPypiPackage[];
}
