/**
 * `conda-go-lock import conda-lock.yml -f environment.yml`: a conda-lock v1 file → conda-go-lock.yml
 * keeping every pin. Each pin's full record comes from its channel's repodata (md5 / sha256 checked
 * against the file), the metadata from the environment file(s) as `lock` computes it, so the next
 * `lock` finds the lockfile up to date and `lock --update NAME` moves only NAME.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RepoDataRecord } from '../../conda/record.js';
import { ExitCode, LockfileError, UsageError } from '../../errors.js';
import { LockfileBuilder, lockMetadata } from '../../lockfile/build.js';
import { parseCondaLockV1 } from '../../lockfile/foreign/conda-lock.js';
import { recordsForPins } from '../../lockfile/foreign/import.js';
import { writeLockfile } from '../../lockfile/write.js';
import { HttpClient, minSpeedFromEnv } from '../../net/http.js';
import { ProgressReporter } from '../../net/progress.js';
import { Gateway } from '../../repodata/gateway.js';
import { packageCategories } from '../../lockfile/categories.js';
import type { LockedCondaPackage } from '../../lockfile/model.js';
import { categorySpecs, requestedSpecs, resolveInputs, type InputOptions } from '../inputs.js';
import { retryLine } from '../messages.js';
import { TOOL_VERSION } from '../version.js';

export interface ImportCommandOptions extends InputOptions {
  cacheDir?: string;
  offline?: boolean;
  quiet?: boolean;
  force?: boolean;
}

export async function importCommand(condaLockPath: string, opts: ImportCommandOptions): Promise<number> {
  const progress = new ProgressReporter({ quiet: opts.quiet });
  let text: string;
  try {
    text = readFileSync(condaLockPath, 'utf8');
  } catch (err) {
    throw new LockfileError(`cannot read ${condaLockPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { code: 'E_LOCKFILE_NOT_FOUND', cause: err });
  }
  if (existsSync(opts.lockfile) && !opts.force) {
    throw new UsageError(`${opts.lockfile} exists; pass --force to replace it with the import, or --lockfile to write elsewhere`);
  }
  const foreign = parseCondaLockV1(text, condaLockPath);
  for (const w of foreign.warnings) progress.log(`warning: ${w}`);
  const inputs = resolveInputs({ ...opts, fallbackPlatforms: foreign.lockfile.metadata.platforms, env: process.env });
  // The pins of the categories this lock covers (the environment files' `category:`s).
  const inLock = (p: LockedCondaPackage) => packageCategories(p).some((c) => inputs.categories.includes(c));
  const leftOut = [...new Set(foreign.lockfile.packages.filter((p) => !inLock(p)).flatMap((p) => packageCategories(p)))].filter((c) => !inputs.categories.includes(c));
  if (leftOut.length) progress.log(`warning: the ${leftOut.join(', ')} pins of ${condaLockPath} are not imported: no environment file (or --extras) asks for ${leftOut.length === 1 ? 'that category' : 'those categories'}`);
  for (const env of inputs.envs) for (const w of env.warnings) progress.log(`warning: ${w.location.file}:${w.location.line ?? '?'}: ${w.message}`);
  if (inputs.go) {
    throw new UsageError('the environment asks for a Go toolchain, which a conda-lock file does not pin: import without it (drop `go:` for the import), then add it back and run `conda-go-lock lock --update go`');
  }

  const http = new HttpClient({ minSpeed: minSpeedFromEnv(process.env), onRetry: (r) => progress.log(retryLine(r)) });
  const gateway = new Gateway({ http, cacheDir: opts.cacheDir, offline: opts.offline, progress });
  const metadata = lockMetadata({ ...inputs, toolVersion: TOOL_VERSION, specs: requestedSpecs(inputs), categorySpecs: categorySpecs(inputs) });
  const builder = new LockfileBuilder(metadata);
  const counts: string[] = [];
  for (const platform of inputs.platforms) {
    const pins = foreign.lockfile.packages.filter((p) => p.platform === platform && inLock(p));
    if (pins.length === 0) {
      throw new LockfileError(`${condaLockPath} has no ${platform} packages (it has ${foreign.lockfile.metadata.platforms.join(', ')}); pass -p for those`, { code: 'E_LOCKFILE_PLATFORM' });
    }
    const { records } = await gateway.queryWithNames(inputs.channels, [platform, 'noarch'], pins.map((p) => p.name));
    const pinned: RepoDataRecord[] = recordsForPins(pins, records, condaLockPath);
    // The pins must satisfy today's inputs, or the "up to date" lock would be a lie.
    const unmet = inputs.perPlatform.get(platform)!.specs.filter((s) => !s.name.startsWith('__') && !pinned.some((r) => s.matches(r)));
    if (unmet.length > 0) {
      throw new LockfileError(
        `cannot import ${condaLockPath} for ${platform}: its pins do not satisfy ${unmet.map((s) => `'${s.toString()}' (${inputs.specOrigin.get(s.name) ?? 'input'})`).join(', ')}; import with the environment file it was made from, or re-lock`,
        { code: 'E_LOCKFILE_IMPORT' },
      );
    }
    builder.addCondaPackages(platform, pinned, inputs.perPlatform.get(platform)!.rootCategories);
    counts.push(`${platform}: ${pinned.length}`);
  }
  await writeLockfile(opts.lockfile, builder.build());
  progress.log(`Imported ${condaLockPath} (${counts.join(', ')}) → ${opts.lockfile}; \`conda-go-lock lock\` now keeps these pins until the inputs change`);
  progress.stop();
  return ExitCode.ok;
}
