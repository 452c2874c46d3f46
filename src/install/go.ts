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
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InstallError } from '../errors.js';
import {
  cmdActivateScript,
  cmdDeactivateScript,
  fishActivateScript,
  fishDeactivateScript,
  posixActivateScript,
  posixDeactivateScript,
  powershellActivateScript,
  powershellDeactivateScript,
} from './activation.js';
import { extractGoArchive, type ExtractResult } from './extract/index.js';

export { goShellHook, goEnvironment, GO_ENV_VARS, HOOK_SHELLS, type HookShell } from './activation.js';

export interface GoInstallOptions {
  /**
   * The prefix the environment will finally live at, when `prefix` is a staging directory that is
   * renamed afterwards. Only used as the scripts' last-resort fallback (they locate themselves).
   */
  finalPrefix?: string;
}

export interface GoInstallResult {
  goroot: string;
  extract: ExtractResult;
  /** Absolute paths of the activation/deactivation scripts written. */
  scripts: string[];
}

function isWindowsPlatform(platform: string): boolean {
  return platform.startsWith('win-');
}

/**
 * Extract `archivePath` (go's .tar.gz or .zip) into `PREFIX/go`, replacing an existing toolchain,
 * and write the activation scripts for `platform` (a conda platform such as `linux-64`, `win-64`).
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

  const fallback = opts.finalPrefix ?? prefix;
  const activateDir = join(prefix, 'etc', 'conda', 'activate.d');
  const deactivateDir = join(prefix, 'etc', 'conda', 'deactivate.d');
  await mkdir(activateDir, { recursive: true });
  await mkdir(deactivateDir, { recursive: true });
  const files: Array<[string, string]> = windows
    ? [
        [join(activateDir, 'go.bat'), cmdActivateScript(fallback)],
        [join(deactivateDir, 'go.bat'), cmdDeactivateScript()],
        [join(activateDir, 'go.ps1'), powershellActivateScript(fallback)],
        [join(deactivateDir, 'go.ps1'), powershellDeactivateScript()],
      ]
    : [
        [join(activateDir, 'go.sh'), posixActivateScript(fallback)],
        [join(deactivateDir, 'go.sh'), posixDeactivateScript()],
        [join(activateDir, 'go.fish'), fishActivateScript(fallback)],
        [join(deactivateDir, 'go.fish'), fishDeactivateScript()],
      ];
  for (const [path, text] of files) await writeFile(path, text, { mode: 0o644 });
  return { goroot, extract, scripts: files.map(([p]) => p) };
}
