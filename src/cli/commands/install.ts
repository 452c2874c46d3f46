/** `conda-go-lock install`: replay one platform of the lockfile into a prefix. */
import { resolve } from 'node:path';
import { hostPlatform, parsePlatform } from '../../conda/platform.js';
import { ExitCode, LockfileError, UsageError } from '../../errors.js';
import { readPrefixState } from '../../install/conda-meta.js';
import { installLockfile, type InstallPlan } from '../../install/install.js';
import { formatRepairedFile, formatRepairSummary } from '../../install/repair.js';
import { escapeControl } from '../../escape.js';
import { readAnyLockfile } from '../../lockfile/foreign/index.js';
import { categorySelection, leftOutNote, selectCategories, selectedCategories } from '../../lockfile/categories.js';
import { writeJson } from '../json.js';
import { HttpClient, minSpeedFromEnv } from '../../net/http.js';
import { ProgressReporter } from '../../net/progress.js';
import { defaultCacheDir } from '../../repodata/cache.js';
import { prefixFromOptions, reportForeign, retryLine, installNetworkAdvice } from '../messages.js';

export interface InstallCommandOptions {
  /** -p DIR; or -n NAME (exactly one). */
  prefix?: string;
  name?: string;
  lockfile: string;
  platform?: string;
  cacheDir?: string;
  concurrency: string;
  go: boolean;
  adopt?: boolean;
  /** --allow-unsigned: Mach-O files that cannot be re-signed here are installed with a warning. */
  allowUnsigned?: boolean;
  quiet?: boolean;
  /** --dev, -E/--extras, --category: the categories installed besides main. */
  dev?: boolean;
  extras?: string[];
  category?: string[];
  /** Print the result as JSON on stdout (docs/json.md). */
  json?: boolean;
  /** --repair: put back missing and modified files of the installed packages (src/install/repair.ts). */
  repair?: boolean;
}

/** conda-style summary of a transaction, printed before anything changes. */
export function formatPlan(plan: InstallPlan): string[] {
  const goPart = plan.go === 'add' || plan.go === 'change' || plan.go === 'remove' ? `, Go toolchain: ${plan.go}` : '';
  if (plan.repair.length > 0 && !plan.fresh && plan.remove.length + plan.change.length + plan.add.length === 0) {
    return [`Repairing ${escapeControl(plan.prefix)} (${plan.platform}): ${plan.repair.length} package(s) with missing or modified files`];
  }
  const repairPart = plan.repair.length > 0 ? `, ${plan.repair.length} to repair` : '';
  const lines = [
    `${plan.fresh ? 'Creating' : 'Updating'} ${escapeControl(plan.prefix)} (${plan.platform}): ${plan.remove.length} to remove, ${plan.change.length} to change, ${plan.add.length} to add, ${plan.keep} unchanged${goPart}${repairPart}`,
  ];
  for (const d of plan.remove) lines.push(`  - ${escapeControl(d)}`);
  for (const c of plan.change) lines.push(`  ~ ${escapeControl(c.from)} -> ${escapeControl(c.to)}`);
  // A new prefix lists only the count: every package is an addition.
  if (!plan.fresh) for (const d of plan.add) lines.push(`  + ${escapeControl(d)}`);
  return lines;
}

export async function installCommand(options: InstallCommandOptions): Promise<number> {
  const opts = { ...options, prefix: prefixFromOptions(options, 'install', options.quiet ? undefined : (m) => process.stderr.write(`${m}\n`)) };
  // Without --platform: the platform the prefix was installed for (an update keeps it), else this machine's.
  const recorded = opts.platform ? undefined : (await readPrefixState(resolve(opts.prefix)).catch(() => undefined))?.platform;
  let platform = opts.platform ? parsePlatform(opts.platform, '--platform') : recorded ? parsePlatform(recorded, 'the prefix\'s platform') : hostPlatform();
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 64, got '${opts.concurrency}'`);
  }
  const progress = new ProgressReporter({ quiet: opts.quiet });
  const read = await readAnyLockfile(opts.lockfile);
  const lockfile = selectCategories(read.lockfile, categorySelection(opts), opts.lockfile);
  // An @EXPLICIT list is for one platform: without --platform a fresh prefix gets that one.
  if (!opts.platform && !recorded && read.format === 'explicit') platform = parsePlatform(lockfile.metadata.platforms[0]!, 'the file\'s platform');
  // Like conda-lock's --validate-platform: a prefix for another machine needs an explicit --platform
  // (an update of a prefix that records its platform keeps it: it was given when the prefix was made).
  if (!opts.platform && platform !== recorded) {
    let host: string | undefined;
    try {
      host = hostPlatform();
    } catch {
      host = undefined;
    }
    if (platform !== host) {
      throw new UsageError(
        `${opts.lockfile} is for ${platform}, and this machine is ${host ?? 'not a conda platform'}: the programs it installs would not run here ` +
          `(and noarch: python packages are not byte-compiled). Pass --platform ${platform} to install it anyway (a prefix for another machine)`,
      );
    }
  }
  if (!lockfile.metadata.platforms.includes(platform)) {
    throw new LockfileError(
      `${opts.lockfile} has no ${platform} lock (it has ${lockfile.metadata.platforms.join(', ')}); pass --platform or re-lock with -p ${platform}`,
      { code: 'E_LOCKFILE_PLATFORM' },
    );
  }
  reportForeign(opts.lockfile, read, (m) => progress.log(m), lockfile.packages.filter((p) => p.platform === platform));
  const leftOut = leftOutNote(read.lockfile, lockfile, platform);
  if (leftOut) progress.log(leftOut);
  const http = new HttpClient({ concurrency, minSpeed: minSpeedFromEnv(process.env), onRetry: (r) => progress.log(retryLine(r)) });
  const prefix = resolve(opts.prefix);
  const result = await installLockfile({
    lockfile,
    skipGo: !opts.go,
    platform,
    prefix,
    http,
    cacheDir: opts.cacheDir ?? defaultCacheDir(),
    concurrency,
    progress,
    adopt: opts.adopt,
    allowUnsigned: opts.allowUnsigned,
    repair: opts.repair,
    onPlan: (plan) => {
      for (const line of formatPlan(plan)) progress.log(line);
    },
    categories: selectedCategories(categorySelection(opts)),
    command: ['conda-go-lock', 'install', '--lockfile', opts.lockfile, '-p', opts.prefix, '--platform', platform].join(' '),
    onWarning: (m) => progress.log(`warning: ${m}`),
  }).catch((err: unknown) => {
    progress.stop();
    throw installNetworkAdvice(err);
  });
  // --repair: what was put back, one line per file, then the count.
  for (const f of result.repaired) progress.log(formatRepairedFile(f));
  if (result.upToDate) {
    progress.log(`${escapeControl(prefix)} is already up to date (${platform})${opts.repair ? ': nothing to repair' : ''}`);
  } else {
    if (opts.repair) progress.log(formatRepairSummary(result.repaired));
    const plan = result.plan;
    const onlyRepair = plan !== undefined && !plan.fresh && plan.remove.length + plan.change.length + plan.add.length === 0 && result.repaired.length > 0;
    if (!onlyRepair) {
      const goNote = result.go ? `, go ${result.go.version}` : '';
      const wheelNote = result.wheels.length ? `, ${result.wheels.length} PyPI wheel(s)` : '';
      progress.log(
        `Installed ${result.installed.length} package(s)${goNote}${wheelNote} into ${escapeControl(prefix)} (${platform}; ${result.downloaded} downloaded, ${result.reused} from cache${result.removed.length ? `, ${result.removed.length} removed` : ''})`,
      );
    }
  }
  progress.stop();
  if (opts.json) {
    writeJson('install', {
      prefix,
      lockfile: opts.lockfile,
      platform,
      categories: selectedCategories(categorySelection(opts)),
      up_to_date: result.upToDate,
      installed: result.installed,
      removed: result.removed,
      wheels: result.wheels,
      removed_wheels: result.removedWheels,
      go: result.go?.version ?? null,
      downloaded: result.downloaded,
      reused: result.reused,
      repaired: result.repaired.map((f) => ({ package: f.package, path: f.path, kind: f.kind })),
    });
  }
  return ExitCode.ok;
}
