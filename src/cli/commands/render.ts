/** `conda-go-lock render`: other formats from the lockfile. */
import { mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parsePlatforms } from '../../conda/platform.js';
import { ExitCode, LockfileError, UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import { readLockfile } from '../../lockfile/read.js';
import { RENDERERS, type RenderKind } from '../../lockfile/render/index.js';
import { categorySelection, selectCategories } from '../../lockfile/categories.js';

export interface RenderCommandOptions {
  kind: RenderKind;
  lockfile: string;
  platform?: string[];
  output?: string;
  hash: 'sha256' | 'md5';
  quiet?: boolean;
  dev?: boolean;
  extras?: string[];
  category?: string[];
}

export async function renderCommand(opts: RenderCommandOptions): Promise<number> {
  const full = await readLockfile(opts.lockfile);
  // A conda-lock file carries every category itself; the other kinds get the selected ones.
  const lockfile = opts.kind === 'conda-lock' && !opts.dev && !opts.extras?.length && !opts.category?.length ? full : selectCategories(full, categorySelection(opts), opts.lockfile);
  const platforms = opts.platform?.length ? parsePlatforms(opts.platform, '--platform') : lockfile.metadata.platforms;
  for (const p of platforms) {
    if (!lockfile.metadata.platforms.includes(p)) {
      throw new LockfileError(`${opts.lockfile} has no ${p} lock (it has ${lockfile.metadata.platforms.join(', ')})`, { code: 'E_LOCKFILE_PLATFORM' });
    }
  }
  const outputs = await RENDERERS[opts.kind].render({ lockfile, platforms, hash: opts.hash });
  const withPypi = opts.kind === 'explicit' ? platforms.filter((p) => (lockfile.pypi ?? []).some((x) => x.platform === p)) : [];
  if (withPypi.length && !opts.quiet) {
    process.stderr.write(
      `warning: the PyPI wheels of ${withPypi.join(', ')} are not in @EXPLICIT files (conda cannot install them); ` +
        '`conda-go-lock render --kind requirements` writes them as a hash-pinned requirements file for pip\n',
    );
  }

  if (opts.output === '-') {
    if (outputs.length > 1) {
      // Concatenated @EXPLICIT files (or environments) would install every platform's packages at once.
      throw new UsageError(
        `-o - writes one file, but ${opts.lockfile} has ${platforms.length} platforms (${platforms.join(', ')}): pick one with -p <platform>, or give -o a directory`,
      );
    }
    process.stdout.write(outputs.map((o) => o.text).join(''));
    return ExitCode.ok;
  }
  // One output: -o names the file (or a directory to put it in). Several: -o names a directory.
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  // `-o conda.lock` for several platforms would make a directory named conda.lock.
  if (outputs.length > 1 && opts.output && !isDir(opts.output) && !opts.output.endsWith('/') && /\.[A-Za-z0-9]+$/.test(basename(opts.output))) {
    throw new UsageError(
      `-o ${opts.output} names one file, but ${outputs.length} platforms are rendered (${platforms.join(', ')}): pick one with -p <platform>, or give -o a directory (e.g. -o ${dirname(opts.output) === '.' ? '' : `${dirname(opts.output)}/`}locks/)`,
    );
  }
  const targets = outputs.map((o) => {
    if (!opts.output) return o.defaultName;
    if (outputs.length > 1 || isDir(opts.output) || opts.output.endsWith('/')) return join(opts.output, o.defaultName);
    return opts.output;
  });
  for (const [i, o] of outputs.entries()) {
    const target = targets[i]!;
    mkdirSync(dirname(target), { recursive: true });
    await writeFileAtomic(target, o.text);
    if (!opts.quiet) process.stderr.write(`wrote ${target}\n`);
  }
  return ExitCode.ok;
}
