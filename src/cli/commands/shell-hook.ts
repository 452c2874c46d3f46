/** `conda-go-lock shell-hook -p PREFIX`: print the Go activation exports. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, InstallError } from '../../errors.js';
import { goShellHook, type HookShell } from '../../install/activation.js';

export async function shellHookCommand(opts: { prefix: string; shell: HookShell }): Promise<number> {
  const prefix = resolve(opts.prefix);
  if (!existsSync(join(prefix, 'go'))) {
    throw new InstallError(`${prefix} has no Go toolchain (no ${join(prefix, 'go')}); run \`conda-go-lock install -p ${opts.prefix}\` first`, {
      code: 'E_NO_GO_TOOLCHAIN',
    });
  }
  process.stdout.write(goShellHook(prefix, opts.shell));
  return ExitCode.ok;
}
