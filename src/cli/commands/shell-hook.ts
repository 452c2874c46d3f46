/** `conda-go-lock shell-hook -p PREFIX`: print the Go activation exports. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, InstallError, UsageError } from '../../errors.js';
import { goShellHook, goShellUnhook, type HookShell } from '../../install/activation.js';
import { readPrefixState } from '../../install/conda-meta.js';
import { readGoManifest } from '../../install/go-manifest.js';
import { activationOptionsFor } from '../../install/go.js';
import { prefixLooksLikePlatform } from '../messages.js';

export async function shellHookCommand(opts: { prefix?: string; shell: HookShell; deactivate?: boolean }): Promise<number> {
  if (opts.deactivate) {
    // Undoes whichever prefix is active (the shell knows which): no prefix needed.
    process.stdout.write(goShellUnhook(opts.shell));
    return ExitCode.ok;
  }
  if (opts.prefix === undefined) throw new UsageError('shell-hook needs -p PREFIX (or --deactivate)');
  const notAPrefix = prefixLooksLikePlatform(opts.prefix, 'shell-hook');
  if (notAPrefix) throw notAPrefix;
  const prefix = resolve(opts.prefix);
  if (!existsSync(prefix)) {
    throw new InstallError(`${prefix} does not exist: run \`conda-go-lock install -p ${opts.prefix}\` first`, { code: 'E_NO_GO_TOOLCHAIN' });
  }
  if (!existsSync(join(prefix, 'go'))) {
    throw new InstallError(`${prefix} has no Go toolchain (no ${join(prefix, 'go')}); ${await whyNoGo(prefix, opts.prefix)}`, {
      code: 'E_NO_GO_TOOLCHAIN',
    });
  }
  // The same variables as the prefix's activate.d scripts: cgo as installed, conda's compilers if present.
  const state = await readPrefixState(prefix).catch(() => undefined);
  const manifest = await readGoManifest(prefix);
  const activation = await activationOptionsFor(prefix, state?.platform ?? (process.platform === 'win32' ? 'win-64' : 'linux-64'), manifest?.cgo ?? true);
  process.stdout.write(goShellHook(prefix, opts.shell, activation));
  return ExitCode.ok;
}

/** What to do about a prefix without PREFIX/go, from what `install` recorded there. */
async function whyNoGo(prefix: string, given: string): Promise<string> {
  const state = await readPrefixState(prefix).catch(() => undefined);
  if (state?.skip_go) return `it was installed with --no-go: run \`conda-go-lock install -p ${given}\` without --no-go`;
  if (state && !state.go) {
    return 'the lockfile it was installed from pins no Go toolchain: add `go: "1.22.*"` (or `go: {gomod: ./go.mod}`) to the environment file, re-lock and install again';
  }
  return `run \`conda-go-lock install -p ${given}\` first`;
}
