/** `conda-go-lock verify`: does the prefix match the lockfile? */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { hostPlatform, parsePlatform } from '../../conda/platform.js';
import { escapeControl } from '../../escape.js';
import { ERROR_CODES, errorLine, ExitCode, LockfileError } from '../../errors.js';
import { readPrefixState, stateCategories } from '../../install/conda-meta.js';
import { formatVerifyProblem, verifyPrefix } from '../../install/verify.js';
import { readAnyLockfile } from '../../lockfile/foreign/index.js';
import { categorySelection, lockfileCategories, selectCategories, selectedCategories } from '../../lockfile/categories.js';
import { prefixFromOptions, reportForeign } from '../messages.js';
import { writeJson } from '../json.js';

export interface VerifyCommandOptions {
  /** -p DIR; or -n NAME (exactly one). */
  prefix?: string;
  name?: string;
  lockfile: string;
  platform?: string;
  dev?: boolean;
  extras?: string[];
  category?: string[];
  json?: boolean;
}

export async function verifyCommand(options: VerifyCommandOptions): Promise<number> {
  const opts = { ...options, prefix: prefixFromOptions(options, 'verify') };
  const prefix = resolve(opts.prefix);
  const read = await readAnyLockfile(opts.lockfile);
  if (!existsSync(prefix) && !opts.json) {
    process.stderr.write(`${errorLine('E_VERIFY_FAILED', `${prefix} does not exist; install it with \`conda-go-lock install -p ${opts.prefix}\``)}\n`);
    return ERROR_CODES.E_VERIFY_FAILED;
  }
  const state = await readPrefixState(prefix).catch(() => undefined);
  // The categories: --dev / --extras / --category when given, else the ones `install` recorded in
  // the prefix (those the lockfile still has: packages of a category it lost are extra packages).
  const flags = Boolean(opts.dev || opts.extras?.length || opts.category?.length);
  const known = lockfileCategories(read.lockfile);
  const selection = flags ? categorySelection(opts) : { extras: stateCategories(state).filter((c) => c !== 'main' && known.includes(c)) };
  const lockfile = selectCategories(read.lockfile, selection, opts.lockfile);
  // Without --platform: the platform the prefix was installed for (install records it), else this machine's.
  const platform = opts.platform
    ? parsePlatform(opts.platform, '--platform')
    : state?.platform
      ? parsePlatform(state.platform, 'the prefix\'s platform')
      : read.format === 'explicit'
        ? parsePlatform(lockfile.metadata.platforms[0]!, 'the file\'s platform')
        : hostPlatform();
  if (!lockfile.metadata.platforms.includes(platform)) {
    throw new LockfileError(`${opts.lockfile} has no ${platform} lock (it has ${lockfile.metadata.platforms.join(', ')})`, {
      code: 'E_LOCKFILE_PLATFORM',
    });
  }
  reportForeign(opts.lockfile, read, (m) => process.stderr.write(`${m}\n`), lockfile.packages.filter((p) => p.platform === platform));
  if (!existsSync(prefix)) {
    writeJson('verify', { prefix, lockfile: opts.lockfile, platform, categories: selectedCategories(selection), ok: false, checked_files: 0, problems: [{ kind: 'missing-prefix', package: '', path: prefix }] });
    return ERROR_CODES.E_VERIFY_FAILED;
  }
  const result = await verifyPrefix({ prefix, lockfile, platform });
  const categories = selectedCategories(selection);
  const catNote = categories.length > 1 ? `; categories ${categories.join(', ')}` : '';
  if (opts.json) {
    writeJson('verify', { prefix, lockfile: opts.lockfile, platform, categories, ok: result.ok, checked_files: result.checkedFiles, problems: result.problems });
    return result.ok ? ExitCode.ok : ERROR_CODES.E_VERIFY_FAILED;
  }
  if (result.ok) {
    process.stdout.write(`${escapeControl(prefix)} matches ${escapeControl(opts.lockfile)} (${platform}${catNote}): ${result.checkedFiles} files verified\n`);
    return ExitCode.ok;
  }
  // The same categories for the repair (without them install would remove the checked extra ones).
  const categoryFlags = categories.filter((c) => c !== 'main').map((c) => ` --category ${c}`).join('');
  // The problems are the command's output (stdout); the verdict is an error like any other (stderr).
  process.stdout.write(`${escapeControl(prefix)} does not match ${escapeControl(opts.lockfile)} (${platform}${catNote}): ${result.problems.length} problem(s)\n`);
  for (const p of result.problems) process.stdout.write(`  ${formatVerifyProblem(p)}\n`);
  process.stderr.write(
    `${errorLine(
      'E_VERIFY_FAILED',
      `${prefix} does not match ${opts.lockfile} (${platform}): ${result.problems.length} problem(s). ` +
        `To repair it, run \`conda-go-lock install --repair -p ${opts.prefix}${opts.lockfile !== 'conda-go-lock.yml' ? ` --lockfile ${opts.lockfile}` : ''} --platform ${platform}${categoryFlags}\` ` +
        `(it puts back missing and modified files from the verified package cache and installs, removes or replaces packages that differ; files no package owns are kept)`,
    )}\n`,
  );
  return ERROR_CODES.E_VERIFY_FAILED;
}
