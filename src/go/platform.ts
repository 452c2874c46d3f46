/**
 * Conda platform → Go's GOOS/GOARCH and the archive format go.dev publishes for it.
 * Only `kind: "archive"` files are used (never the .pkg/.msi installers or the source tarball).
 */
import { GoToolchainError } from '../errors.js';

export interface GoPlatform {
  os: string;
  arch: string;
  /** Archive extension: `tar.gz` everywhere except Windows (`zip`). */
  ext: 'tar.gz' | 'zip';
}

const TABLE: Record<string, GoPlatform> = {
  'linux-64': { os: 'linux', arch: 'amd64', ext: 'tar.gz' },
  'linux-aarch64': { os: 'linux', arch: 'arm64', ext: 'tar.gz' },
  'linux-ppc64le': { os: 'linux', arch: 'ppc64le', ext: 'tar.gz' },
  'osx-64': { os: 'darwin', arch: 'amd64', ext: 'tar.gz' },
  'osx-arm64': { os: 'darwin', arch: 'arm64', ext: 'tar.gz' },
  'win-64': { os: 'windows', arch: 'amd64', ext: 'zip' },
  'win-arm64': { os: 'windows', arch: 'arm64', ext: 'zip' },
};

/** The conda platforms a Go toolchain can be locked for. */
export const GO_CONDA_PLATFORMS: readonly string[] = Object.keys(TABLE);

export function goPlatform(condaPlatform: string): GoPlatform {
  const p = TABLE[condaPlatform];
  if (!p) {
    throw new GoToolchainError(
      `no Go toolchain mapping for conda platform '${condaPlatform}' (supported: ${GO_CONDA_PLATFORMS.join(', ')})`,
      { code: 'E_GO_PLATFORM' },
    );
  }
  return { ...p };
}
