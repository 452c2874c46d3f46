/**
 * Install a pinned Go toolchain archive into `PREFIX/go` and write its activation scripts.
 *
 * Layout:
 *   PREFIX/go/...                               the toolchain (the archive's leading `go/` dropped)
 *   PREFIX/etc/conda/activate.d/go.sh           bash / zsh         (all platforms except win-*)
 *   PREFIX/etc/conda/activate.d/go.fish         fish               (all platforms except win-*)
 *   PREFIX/etc/conda/activate.d/go.bat, go.ps1  cmd / PowerShell   (win-* only)
 *   ... and the same names under deactivate.d/
 * See activation.ts for the variables and the backup/restore rules.
 */
import { access, mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InstallError } from '../errors.js';
import {
  cmdActivateScript,
  cmdDeactivateScript,
  condaCompilers,
  fishActivateScript,
  fishDeactivateScript,
  posixActivateScript,
  posixDeactivateScript,
  powershellActivateScript,
  powershellDeactivateScript,
  type ActivationOptions,
} from './activation.js';
import { extractGoArchive, type ExtractResult } from './extract/index.js';
import { buildGoManifest, writeGoManifest, type GoManifest } from './go-manifest.js';
import { sha256Hex } from './extract/hash.js';

export { goShellHook, goShellUnhook, goEnvironment, GO_ENV_VARS, HOOK_SHELLS, type HookShell } from './activation.js';

export interface GoInstallOptions {
  /**
   * The prefix the environment will finally live at, when `prefix` is a staging directory that is
   * renamed afterwards. Only used as the scripts' last-resort fallback (they locate themselves).
   */
  finalPrefix?: string;
  /** Set the cgo variables in the activation (default true; the lockfile's `metadata.go.cgo`). */
  cgo?: boolean;
  /** The archive's name and sha256 as pinned (recorded in the manifest; default: hashed here). */
  archive?: { filename: string; sha256: string };
  /**
   * The file names the finished prefix will have in `bin/`, where conda's compilers are looked for
   * (default: read `PREFIX/bin`). An update writes into a stage that holds only the new packages, so
   * the installer passes the names from the kept and the new packages' records.
   */
  binNames?: readonly string[];
}

export interface GoInstallResult {
  goroot: string;
  extract: ExtractResult;
  /** Absolute paths of the activation/deactivation scripts written. */
  scripts: string[];
  manifest: GoManifest;
}

function isWindowsPlatform(platform: string): boolean {
  return platform.startsWith('win-');
}

/**
 * The activation options for a prefix: cgo as asked, conda's compilers when PREFIX/bin has them (or
 * `binNames`, the names it will have, has them).
 */
export async function activationOptionsFor(prefix: string, platform: string, cgo = true, binNames?: readonly string[]): Promise<ActivationOptions> {
  const windows = isWindowsPlatform(platform);
  const opts: ActivationOptions = { windows, cgo };
  if (cgo && !windows) {
    const names = binNames ?? (await readdir(join(prefix, 'bin')).catch(() => [] as string[]));
    Object.assign(opts, condaCompilers(names, platform));
  }
  return opts;
}

/**
 * Write the activate.d / deactivate.d scripts for `platform` (sh + fish, or cmd + PowerShell on
 * win-*). Called after the conda packages are linked, so conda's compilers are found — also when only
 * the conda packages changed (a compiler package added or removed changes `CC`/`CXX`).
 */
export async function writeGoActivation(
  prefix: string,
  platform: string,
  opts: Pick<GoInstallOptions, 'finalPrefix' | 'cgo' | 'binNames'> = {},
): Promise<string[]> {
  const fallback = opts.finalPrefix ?? prefix;
  const act = await activationOptionsFor(prefix, platform, opts.cgo ?? true, opts.binNames);
  const activateDir = join(prefix, 'etc', 'conda', 'activate.d');
  const deactivateDir = join(prefix, 'etc', 'conda', 'deactivate.d');
  await mkdir(activateDir, { recursive: true });
  await mkdir(deactivateDir, { recursive: true });
  const files: Array<[string, string]> = isWindowsPlatform(platform)
    ? [
        [join(activateDir, 'go.bat'), cmdActivateScript(fallback, act)],
        [join(deactivateDir, 'go.bat'), cmdDeactivateScript()],
        [join(activateDir, 'go.ps1'), powershellActivateScript(fallback, act)],
        [join(deactivateDir, 'go.ps1'), powershellDeactivateScript()],
      ]
    : [
        [join(activateDir, 'go.sh'), posixActivateScript(fallback, act)],
        [join(deactivateDir, 'go.sh'), posixDeactivateScript()],
        [join(activateDir, 'go.fish'), fishActivateScript(fallback, act)],
        [join(deactivateDir, 'go.fish'), fishDeactivateScript()],
      ];
  for (const [path, text] of files) await writeFile(path, text, { mode: 0o644 });
  return files.map(([p]) => p);
}

/**
 * Extract `archivePath` (go's .tar.gz or .zip) into `PREFIX/go`, replacing an existing toolchain,
 * record its file manifest in `PREFIX/conda-meta/go-toolchain` and write the activation scripts for
 * `platform` (a conda platform such as `linux-64`, `win-64`).
 */
export async function installGoToolchain(
  archivePath: string,
  prefix: string,
  platform: string,
  opts: GoInstallOptions = {},
): Promise<GoInstallResult> {
  const goroot = join(prefix, 'go');
  const windows = isWindowsPlatform(platform);
  const extract = await extractGoArchive(archivePath, goroot, { replace: true });
  const goBinary = join(goroot, 'bin', windows ? 'go.exe' : 'go');
  try {
    await access(goBinary);
  } catch {
    throw new InstallError(
      `${archivePath} was extracted to ${goroot} but has no bin/${windows ? 'go.exe' : 'go'}; it is not a Go toolchain for ${platform}`,
      { code: 'E_GO_ARCHIVE' },
    );
  }
  const cgo = opts.cgo ?? true;
  const archive = opts.archive ?? { filename: basename(archivePath), sha256: await sha256Hex(archivePath) };
  const manifest = await buildGoManifest(goroot, archive, cgo);
  await mkdir(join(prefix, 'conda-meta'), { recursive: true });
  await writeGoManifest(prefix, manifest);
  const scripts = await writeGoActivation(prefix, platform, { finalPrefix: opts.finalPrefix, cgo, binNames: opts.binNames });
  return { goroot, extract, scripts, manifest };
}
