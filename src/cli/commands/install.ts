/** `conda-go-lock install`: replay one platform of the lockfile into a prefix. */
import { resolve } from 'node:path';
import { hostPlatform, parsePlatform } from '../../conda/platform.js';
import { ExitCode, LockfileError, UsageError } from '../../errors.js';
import { readPrefixState } from '../../install/conda-meta.js';
import { installLockfile } from '../../install/install.js';
import { readAnyLockfile } from '../../lockfile/foreign/index.js';
import { HttpClient, minSpeedFromEnv } from '../../net/http.js';
import { ProgressReporter } from '../../net/progress.js';
import { defaultCacheDir } from '../../repodata/cache.js';
import { prefixLooksLikePlatform, reportForeign, retryLine, installNetworkAdvice } from '../messages.js';

export interface InstallCommandOptions {
  prefix: string;
  lockfile: string;
  platform?: string;
  cacheDir?: string;
  concurrency: string;
  go: boolean;
  quiet?: boolean;
}

export async function installCommand(opts: InstallCommandOptions): Promise<number> {
  const notAPrefix = prefixLooksLikePlatform(opts.prefix, 'install');
  if (notAPrefix) throw notAPrefix;
  // Without --platform: the platform the prefix was installed for (an update keeps it), else this machine's.
  const recorded = opts.platform ? undefined : (await readPrefixState(resolve(opts.prefix)).catch(() => undefined))?.platform;
  let platform = opts.platform ? parsePlatform(opts.platform, '--platform') : recorded ? parsePlatform(recorded, 'the prefix\'s platform') : hostPlatform();
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 64, got '${opts.concurrency}'`);
  }
  const progress = new ProgressReporter({ quiet: opts.quiet });
  const read = await readAnyLockfile(opts.lockfile);
  const { lockfile } = read;
  reportForeign(opts.lockfile, read, (m) => progress.log(m));
  // An @EXPLICIT list is for one platform: without --platform a fresh prefix gets that one.
  if (!opts.platform && !recorded && read.format === 'explicit') platform = parsePlatform(lockfile.metadata.platforms[0]!, 'the file\'s platform');
  if (!lockfile.metadata.platforms.includes(platform)) {
    throw new LockfileError(
      `${opts.lockfile} has no ${platform} lock (it has ${lockfile.metadata.platforms.join(', ')}); pass --platform or re-lock with -p ${platform}`,
      { code: 'E_LOCKFILE_PLATFORM' },
    );
  }
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
    command: ['conda-go-lock', 'install', '--lockfile', opts.lockfile, '-p', opts.prefix, '--platform', platform].join(' '),
    onWarning: (m) => progress.log(`warning: ${m}`),
  }).catch((err: unknown) => {
    progress.stop();
    throw installNetworkAdvice(err);
  });
  if (result.upToDate) {
    progress.log(`${prefix} is already up to date (${platform})`);
  } else {
    const goNote = result.go ? `, go ${result.go.version}` : '';
    progress.log(
      `Installed ${result.installed.length} package(s)${goNote} into ${prefix} (${platform}; ${result.downloaded} downloaded, ${result.reused} from cache${result.removed.length ? `, ${result.removed.length} removed` : ''})`,
    );
  }
  progress.stop();
  return ExitCode.ok;
}
