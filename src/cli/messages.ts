/** Small message helpers shared by the subcommands. */
import { existsSync } from 'node:fs';
import { KNOWN_PLATFORMS } from '../conda/platform.js';
import { NetworkError, UsageError } from '../errors.js';
import type { RetryInfo } from '../net/http.js';
import { namedEnvironmentPrefix } from '../install/named-env.js';

/** The hint src/net appends to connection failures; `lock` has --offline, `install` does not. */
const NETWORK_HINT = / — check the network connection, proxy and URL \(or use --offline with a filled cache\)/;

/**
 * One short line per retry: the URL once, the cause without the final error's advice (which is
 * printed with the error itself if every attempt fails).
 */
export function retryLine(r: RetryInfo): string {
  let why = r.reason.replace(NETWORK_HINT, '');
  const prefix = `request to ${r.url} failed: `;
  if (why.startsWith(prefix)) why = why.slice(prefix.length);
  why = why.replace(` for ${r.url}`, '').replace(`: ${r.url} — check the channel/package name, the platform, and the URL`, '');
  return `retrying ${r.url} in ${(r.delayMs / 1000).toFixed(1)}s (attempt ${r.attempt} failed: ${why})`;
}

/**
 * Network advice for `install`: no pointer at --offline (install has none), and a 404 on a URL the
 * lockfile pins means the channel no longer serves that file, not a typo in a channel name.
 */
export function installNetworkAdvice(err: unknown): unknown {
  if (!(err instanceof NetworkError)) return err;
  if (NETWORK_HINT.test(err.message)) err.message = err.message.replace(NETWORK_HINT, ' — check the network connection, proxy and URL');
  if (err.status === 404) {
    err.message = `${err.message.replace(/ — check the channel\/package name, the platform, and the URL$/, '')} — the lockfile pins a file the server no longer has (removed, moved or a mirror without it); re-lock with \`conda-go-lock lock --force\` to pick what the channels serve now`;
  }
  return err;
}

/**
 * `install`, `verify` and `shell-hook` take `-p` as the prefix (as conda does), while `lock`,
 * `check` and `render` take it as the platform (as conda-lock does). `install -p osx-64` would
 * otherwise create a directory named osx-64. An empty `-p ""` is refused too (it is not the current directory).
 */
export function prefixLooksLikePlatform(prefix: string, command: string): UsageError | undefined {
  // `-p ""` would resolve to the current directory (and `install` would take it over).
  if (prefix.trim() === '') return new UsageError(`-p/--prefix is empty; name the environment directory for \`${command}\` (e.g. -p ./env)`);
  if (!(KNOWN_PLATFORMS as readonly string[]).includes(prefix) || existsSync(prefix)) return undefined;
  return new UsageError(
    `-p/--prefix is the environment directory for \`${command}\`, and '${prefix}' looks like a platform: use \`conda-go-lock ${command} -p <dir> --platform ${prefix}\``,
  );
}

/**
 * `-p DIR` or `-n NAME` (exactly one) → the prefix as given on the command line. A name resolves as
 * conda / micromamba do (src/install/named-env.ts); `log` is told where it went.
 */
export function prefixFromOptions(opts: { prefix?: string; name?: string }, command: string, log?: (line: string) => void): string {
  if (opts.name !== undefined) {
    if (opts.prefix !== undefined) throw new UsageError(`give -p/--prefix or -n/--name to \`${command}\`, not both`);
    const { prefix, rule } = namedEnvironmentPrefix(opts.name);
    log?.(`environment '${opts.name}': ${prefix} (from ${rule})`);
    return prefix;
  }
  if (opts.prefix === undefined) throw new UsageError(`\`${command}\` needs -p/--prefix DIR or -n/--name NAME`);
  const notAPrefix = prefixLooksLikePlatform(opts.prefix, command);
  if (notAPrefix) throw notAPrefix;
  return opts.prefix;
}

/** What `install` / `verify` say about a conda-lock or @EXPLICIT file: its format, what was left out, md5-only pins. */
export function reportForeign(
  path: string,
  read: { format: string; warnings: readonly string[]; lockfile: { packages: readonly unknown[] } },
  log: (line: string) => void,
  /** The packages that will be installed / verified (one platform, the selected categories). */
  used: ReadonlyArray<{ sha256: string }>,
): void {
  if (read.format === 'conda-go-lock') return;
  log(`reading ${path} as ${read.format === 'explicit' ? 'an @EXPLICIT package list' : 'a conda-lock v1 lockfile'} (${read.lockfile.packages.length} conda package(s))`);
  for (const w of read.warnings) log(`warning: ${w}`);
  const md5Only = used.filter((p) => !p.sha256).length;
  if (md5Only > 0) {
    log(`note: ${md5Only} package(s) pinned by md5 only (the file has no sha256): verified by md5 and the size the server sends, not by sha256`);
  }
}
