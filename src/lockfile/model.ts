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
  track_features?: string;
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

/** A wheel from a PyPI index (the `pip:` part of an environment). */
export interface LockedPypiPackage {
  platform: string;
  /** PEP 503-normalised. */
  name: string;
  version: string;
  /** The wheel's file name. */
  filename: string;
  /** Token-free download URL. */
  url: string;
  sha256: string;
  size: number;
  requires_python?: string;
  /** PEP 508 requirements, markers kept. */
  requires_dist: string[];
  /** The `pip:` requirement(s) or parent package names that brought it in. */
  requested_by: string[];
  /** Token-free URL of the index it came from. */
  index: string;
}

export interface Lockfile {
  version: typeof LOCKFILE_VERSION;
  metadata: LockfileMetadata;
  /** Conda packages. */
  packages: LockedCondaPackage[];
  go: LockedGoToolchain[];
  /** PyPI wheels; absent (not an empty list) in a lockfile without `pip:` dependencies. */
  pypi?: LockedPypiPackage[];
}
