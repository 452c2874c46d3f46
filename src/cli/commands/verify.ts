/** `conda-go-lock verify`: does the prefix match the lockfile? */
import { resolve } from 'node:path';
import { hostPlatform, parsePlatform } from '../../conda/platform.js';
import { ExitCode, LockfileError } from '../../errors.js';
import { formatVerifyProblem, verifyPrefix } from '../../install/verify.js';
import { readLockfile } from '../../lockfile/read.js';

export interface VerifyCommandOptions {
  prefix: string;
  lockfile: string;
  platform?: string;
}

export async function verifyCommand(opts: VerifyCommandOptions): Promise<number> {
  const platform = opts.platform ? parsePlatform(opts.platform, '--platform') : hostPlatform();
  const lockfile = await readLockfile(opts.lockfile);
  if (!lockfile.metadata.platforms.includes(platform)) {
    throw new LockfileError(`${opts.lockfile} has no ${platform} lock (it has ${lockfile.metadata.platforms.join(', ')})`, {
      code: 'E_LOCKFILE_PLATFORM',
    });
  }
  const prefix = resolve(opts.prefix);
  const result = await verifyPrefix({ prefix, lockfile, platform });
  if (result.ok) {
    process.stdout.write(`${prefix} matches ${opts.lockfile} (${platform}): ${result.checkedFiles} files verified\n`);
    return ExitCode.ok;
  }
  process.stdout.write(`${prefix} does not match ${opts.lockfile} (${platform}): ${result.problems.length} problem(s)\n`);
  for (const p of result.problems) process.stdout.write(`  ${formatVerifyProblem(p)}\n`);
  return ExitCode.failed;
}
