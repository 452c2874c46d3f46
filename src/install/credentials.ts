/**
 * Credentials for private channels at install time.
 *
 * A lockfile never holds a token or password. A channel that was written with environment variables
 * (`https://host/t/${MY_TOKEN}/chan`) is recorded with `url_template` and `used_env_vars`; here the
 * template is expanded from the current environment and the credentials are put back into the
 * token-free package URLs of that channel, only for downloading. Messages show variable names and
 * redacted URLs only.
 *
 * PyPI indexes work the same way (`indexCredentials`): an index written `https://${USER}:${PASS}@host/simple`
 * or `https://host/t/${TOKEN}/simple` is recorded in metadata.pypi.index_templates, and its wheels
 * (the locked, token-free URLs on the index's host) are downloaded with the expanded credentials.
 */
import { Channel } from '../conda/channel.js';
import { expandEnvVars, listNames, unsetEnvVars, type EnvLike } from '../conda/channel-env.js';
import { InputError, LockfileError, NetworkError } from '../errors.js';
import type { LockedCondaPackage, LockedPypiPackage, LockfileChannel } from '../lockfile/model.js';
import { findTokenSegment, stripCredentials } from '../net/redact.js';

export interface ChannelCredentials {
  /** The URL to download `pkg` from: its locked URL, with credentials when its channel has a template. */
  downloadUrl(pkg: Pick<LockedCondaPackage, 'url' | 'channel'>): string;
  /**
   * `err` with a hint on how to fix an HTTP 401/403 for `pkg`'s download; other errors unchanged.
   */
  explainDenied(err: unknown, pkg: Pick<LockedCondaPackage, 'url' | 'channel'>): unknown;
}

function under(url: string, base: string): boolean {
  return url === base || url.startsWith(`${base}/`);
}

/** The lockfile channel a package comes from (by `channel`, else the longest URL prefix). */
function channelFor(channels: readonly LockfileChannel[], pkg: Pick<LockedCondaPackage, 'url' | 'channel'>): LockfileChannel | undefined {
  const byName = channels.find((c) => c.url === pkg.channel && under(pkg.url, c.url));
  if (byName) return byName;
  return [...channels].filter((c) => under(pkg.url, c.url)).sort((a, b) => b.url.length - a.url.length)[0];
}

/**
 * Expand the templates of the channels `pkgs` come from. Throws, before anything is downloaded, an
 * `InputError` (`E_CHANNEL_ENV_UNSET`) naming every unset variable and its channel.
 */
export function channelCredentials(
  channels: readonly LockfileChannel[],
  pkgs: ReadonlyArray<Pick<LockedCondaPackage, 'url' | 'channel'>>,
  env: EnvLike,
): ChannelCredentials {
  const used = new Set<LockfileChannel>();
  for (const p of pkgs) {
    const c = channelFor(channels, p);
    if (c?.url_template) used.add(c);
  }
  const problems: string[] = [];
  let unsetCount = 0;
  const expanded = new Map<LockfileChannel, Channel>();
  for (const c of used) {
    const template = c.url_template!;
    const unset = unsetEnvVars(Channel.parse(template).usedEnvVars, env);
    if (unset.length > 0) {
      unsetCount += unset.length;
      problems.push(`${listNames(unset)} (channel ${c.url}, url_template ${template})`);
      continue;
    }
    const ch = Channel.parse(template, { env });
    if (ch.baseUrl !== c.url) {
      throw new LockfileError(`metadata.channels: url_template ${template} does not stand for channel ${c.url}; re-lock`, { code: 'E_LOCKFILE_INVALID' });
    }
    expanded.set(c, ch);
  }
  if (problems.length > 0) {
    throw new InputError(
      `environment variable${unsetCount > 1 ? 's' : ''} not set: ${problems.join('; ')}. ` +
        'The lockfile records only the names of the credentials of these channels; set them to the token / password and run install again',
      { code: 'E_CHANNEL_ENV_UNSET' },
    );
  }
  return {
    downloadUrl(pkg) {
      const c = channelFor(channels, pkg);
      const ch = c ? expanded.get(c) : undefined;
      return ch ? ch.credentialedUrl(pkg.url) : pkg.url;
    },
    explainDenied(err, pkg) {
      if (!(err instanceof NetworkError) || (err.status !== 401 && err.status !== 403)) return err;
      const c = channelFor(channels, pkg);
      const hint = c?.url_template
        ? `the credentials came from ${listNames(c.used_env_vars ?? [])} (channel ${c.url_template}): check that ${(c.used_env_vars ?? []).length > 1 ? 'they hold' : 'it holds'} a valid token / password for this channel`
        : `the lockfile records no credentials for channel ${c?.url ?? pkg.channel}. For a private channel, write its URL in environment.yml with an environment variable for the secret ` +
          '(`https://host/t/${MY_TOKEN}/chan` or `https://${USER}:${PASSWORD}@host/chan`), set the variable, re-lock, and set it again when installing';
      return new NetworkError(`${err.message}; ${hint}`, { code: err.code, cause: err, ...(err.url ? { url: err.url } : {}), status: err.status });
    },
  };
}

export interface IndexCredentials {
  /** The URL to download a wheel from: its locked URL, with its index's credentials on the index's host. */
  downloadUrl(w: Pick<LockedPypiPackage, 'url' | 'index'>): string;
  /** `err` with a hint for an HTTP 401/403 of a wheel download; other errors unchanged. */
  explainDenied(err: unknown, w: Pick<LockedPypiPackage, 'url' | 'index' | 'filename'>): unknown;
}

/**
 * Put an index's credentials into a file URL on the same host: the `user:password@` part, and the
 * `/t/<token>` segment at the place the index has it when the file lives under the same path prefix.
 */
export function withIndexCredentials(fileUrl: string, indexUrl: string): string {
  let f: URL;
  let i: URL;
  try {
    f = new URL(fileUrl);
    i = new URL(indexUrl);
  } catch {
    return fileUrl;
  }
  if (f.protocol !== i.protocol || f.host !== i.host) return fileUrl;
  if (i.username && !f.username) {
    f.username = i.username;
    f.password = i.password;
  }
  const seg = findTokenSegment(i.pathname);
  if (seg && !findTokenSegment(f.pathname)) {
    const prefix = i.pathname.slice(0, seg.index);
    if (f.pathname.startsWith(`${prefix}/`) || f.pathname === prefix) {
      f.pathname = `${prefix}${i.pathname.slice(seg.index, seg.index + seg.length)}${f.pathname.slice(prefix.length)}`;
    }
  }
  return f.href;
}

/**
 * Expand the templates of the indexes `wheels` come from. Throws, before anything is downloaded, an
 * `InputError` (`E_CHANNEL_ENV_UNSET`) naming every unset variable and its index.
 */
export function indexCredentials(
  templates: readonly LockfileChannel[],
  wheels: ReadonlyArray<Pick<LockedPypiPackage, 'index'>>,
  env: EnvLike,
): IndexCredentials {
  const byIndex = new Map<string, LockfileChannel>();
  for (const t of templates) if (t.url_template) byIndex.set(t.url, t);
  const expanded = new Map<string, string>();
  const problems: string[] = [];
  let unsetCount = 0;
  for (const index of new Set(wheels.map((w) => w.index))) {
    const t = byIndex.get(index);
    if (!t) continue;
    const template = t.url_template!;
    const unset = unsetEnvVars(t.used_env_vars ?? [], env);
    if (unset.length > 0) {
      unsetCount += unset.length;
      problems.push(`${listNames(unset)} (PyPI index ${t.url}, url_template ${template})`);
      continue;
    }
    const url = expandEnvVars(template, env);
    if (stripCredentials(url).replace(/\/+$/, '') !== t.url.replace(/\/+$/, '')) {
      throw new LockfileError(`metadata.pypi.index_templates: url_template ${template} does not stand for index ${t.url}; re-lock`, { code: 'E_LOCKFILE_INVALID' });
    }
    expanded.set(index, url);
  }
  if (problems.length > 0) {
    throw new InputError(
      `environment variable${unsetCount > 1 ? 's' : ''} not set: ${problems.join('; ')}. ` +
        'The lockfile records only the names of the credentials of these indexes; set them to the token / password and run install again',
      { code: 'E_CHANNEL_ENV_UNSET' },
    );
  }
  return {
    downloadUrl(w) {
      const url = expanded.get(w.index);
      return url ? withIndexCredentials(w.url, url) : w.url;
    },
    explainDenied(err, w) {
      if (!(err instanceof NetworkError) || (err.status !== 401 && err.status !== 403)) return err;
      const t = byIndex.get(w.index);
      const hint = t
        ? `the credentials came from ${listNames(t.used_env_vars ?? [])} (PyPI index ${t.url_template}): check that ${(t.used_env_vars ?? []).length > 1 ? 'they hold' : 'it holds'} a valid token / password for this index`
        : `the lockfile records no credentials for PyPI index ${w.index}. For a private index, write it in the pip: section with an environment variable for the secret ` +
          '(`--index-url https://${USER}:${PASSWORD}@host/simple`), set the variable, re-lock, and set it again when installing';
      return new NetworkError(`${err.message} (wheel ${w.filename}); ${hint}`, { code: err.code, cause: err, ...(err.url ? { url: err.url } : {}), status: err.status });
    },
  };
}
