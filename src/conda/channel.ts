/**
 * Conda channels: a short name under a channel alias (`conda-forge` →
 * https://conda.anaconda.org/conda-forge), a full URL (http, https, file) or a local directory.
 *
 * Secrets are split off when a channel is parsed: an anaconda.org style token (`/t/<token>/` in the
 * path) and `user:password@` credentials. They live in private fields, so `name`, `baseUrl`,
 * `toString()`, `toJSON()` and `util.inspect` never show them; only `subdirUrl()` / `fileUrl()` (the
 * URLs actually fetched) put them back, and `basicAuth()` hands out credentials for an
 * Authorization header. Log `redacted`, never a fetched URL.
 */
import { isAbsolute, resolve as resolvePath, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../errors.js';
import { findTokenSegment, maskCredentials, REDACTED } from '../net/redact.js';
import { canonicalTemplate, listNames, replaceEnvVars, unsetEnvVars, type EnvLike } from './channel-env.js';
import { isSubdir, type Subdir } from './platform.js';

export const DEFAULT_CHANNEL_ALIAS = 'https://conda.anaconda.org';


/** What the `defaults` multichannel stands for (conda's DEFAULT_CHANNELS; msys2 only matters on Windows). */
export const DEFAULTS_CHANNEL_URLS = [
  'https://repo.anaconda.com/pkgs/main',
  'https://repo.anaconda.com/pkgs/r',
] as const;
export const DEFAULTS_CHANNEL_URLS_WIN = [...DEFAULTS_CHANNEL_URLS, 'https://repo.anaconda.com/pkgs/msys2'] as const;

export interface ChannelParseOptions {
  /** Base URL that short names are resolved against. Default https://conda.anaconda.org. May carry a token. */
  channelAlias?: string;
  /** Directory relative local paths (`./channel`) are resolved against. Default: process.cwd(). */
  cwd?: string;
  /**
   * Where `$VAR` / `${VAR}` in the token or user:password of a channel URL (or of the alias) are
   * expanded from. Without it such a channel keeps its template and variable names but carries no
   * credentials (enough for `check` and content hashes); with it an unset variable is an
   * `InputError` with code `E_CHANNEL_ENV_UNSET`.
   */
  env?: EnvLike;
}

export interface ExpandChannelsOptions extends ChannelParseOptions {
  /** Add https://repo.anaconda.com/pkgs/msys2 when expanding `defaults` (conda does so on Windows). */
  includeMsys2?: boolean;
}

/** A short channel name: `conda-forge`, `bioconda`, `conda-forge/label/dev`. */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*(\/[A-Za-z0-9_.+-]+)*$/;

interface SplitUrl {
  /** Token-free, credential-free URL without trailing slash. */
  base: string;
  /** Where in `base` the `/t/<token>` segment was cut out. */
  tokenAt?: number;
  token?: string;
  /** `user:password` as it appeared (percent-encoded). */
  userinfo?: string;
}

/** Stand-in for the n-th variable while the URL is parsed: lowercase alphanumerics survive `new URL`. */
const placeholder = (i: number) => `cglenvvar${i}x`;
const PLACEHOLDER_RE = /cglenvvar(\d+)x/;
const WHOLE_PLACEHOLDER_RE = /^cglenvvar(\d+)x$/;

/** What the variables of a channel URL became. */
interface EnvParts {
  /** The token / userinfo with each placeholder written `${NAME}` (what the lockfile stores). */
  templateToken?: string;
  templateUserinfo?: string;
  /** The variables used, sorted. */
  used: string[];
}

/**
 * Check that placeholders sit only in the credential parts of `split`, then turn them into the
 * `${NAME}` template and, with `env`, into real (percent-encoded) credentials put back into `split`.
 */
function resolveEnvVars(split: SplitUrl, vars: readonly string[], input: string, env: EnvLike | undefined): EnvParts {
  if (PLACEHOLDER_RE.test(split.base)) {
    throw invalid(input, 'an environment variable may stand only for the token (/t/${VAR}/) or the user:password@ part of a channel URL');
  }
  const name = (part: string): string | undefined => {
    if (!PLACEHOLDER_RE.test(part)) return undefined;
    const m = WHOLE_PLACEHOLDER_RE.exec(part);
    if (!m) throw invalid(input, 'a credential must be either literal or exactly one variable (`/t/${TOKEN}/`, `${USER}:${PASSWORD}@`), not a mix');
    return vars[Number(m[1])]!;
  };
  const parts = [split.token, ...(split.userinfo?.split(':', 2) ?? [])].filter((p): p is string => p !== undefined && p !== '');
  const named = parts.map(name);
  if (named.every((n) => n === undefined)) return { used: [] };
  if (named.some((n) => n === undefined)) {
    throw invalid(input, 'mixes a literal credential with environment variables; use a variable for each part (`https://${USER}:${PASSWORD}@host/chan`) so the lockfile can record it without the secret');
  }
  const used = [...new Set(named as string[])].sort();
  const template = (part: string | undefined) => (part === undefined ? undefined : replacePlaceholders(part, (n) => `\${${n}}`));
  const out: EnvParts = { templateToken: template(split.token), templateUserinfo: template(split.userinfo), used };
  if (env === undefined) {
    split.token = undefined;
    split.userinfo = undefined;
    return out;
  }
  const unset = unsetEnvVars(used, env);
  if (unset.length > 0) {
    // Every credential part of `input` is a variable (checked above), so it shows no secret.
    throw new InputError(
      `channel '${canonicalTemplate(input.trim())}' uses environment variable${unset.length > 1 ? 's' : ''} ${listNames(unset)}, which ${unset.length > 1 ? 'are' : 'is'} not set; ` +
        `set ${unset.length > 1 ? 'them' : 'it'} to the channel's credentials (the lockfile records only variable names)`,
      { code: 'E_CHANNEL_ENV_UNSET' },
    );
  }
  const value = (part: string | undefined) => (part === undefined ? undefined : replacePlaceholders(part, (n) => encodeURIComponent(env[n]!)));
  split.token = value(split.token);
  split.userinfo = value(split.userinfo);
  return out;

  function replacePlaceholders(s: string, f: (name: string) => string): string {
    return s.replace(/cglenvvar(\d+)x/g, (_m, i: string) => f(vars[Number(i)]!));
  }
}

function invalid(input: string, why: string): InputError {
  return new InputError(`invalid channel '${maskCredentials(input)}': ${why}`, { code: 'E_INVALID_CHANNEL' });
}

function splitUrl(raw: string, original: string): SplitUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(original, 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'file:') {
    throw invalid(original, `unsupported scheme '${url.protocol}' (use https://, http:// or file://)`);
  }
  if (url.search || url.hash) throw invalid(original, 'a channel URL cannot have a query string or fragment');
  let userinfo: string | undefined;
  if (url.username || url.password) {
    userinfo = url.password ? `${url.username}:${url.password}` : url.username;
    url.username = '';
    url.password = '';
  }
  const origin = url.protocol === 'file:' ? 'file://' + url.host : url.origin;
  let path = url.pathname;
  let token: string | undefined;
  let tokenAt: number | undefined;
  const seg = findTokenSegment(path);
  if (seg) {
    token = seg.token;
    tokenAt = origin.length + seg.index;
    path = path.slice(0, seg.index) + path.slice(seg.index + seg.length);
  }
  path = path.replace(/\/+$/, '');
  return { base: origin + path, token, tokenAt, userinfo };
}

export class Channel {
  /** Canonical name: the short name for channels under the alias (`conda-forge`), otherwise `baseUrl`. */
  readonly name: string;
  /** Channel URL without token, credentials or trailing slash: `https://conda.anaconda.org/conda-forge`. */
  readonly baseUrl: string;
  /** A subdir that was written as part of the channel (`conda-forge/linux-64`) and stripped off. */
  readonly platform?: Subdir;
  readonly #token: string | undefined;
  readonly #tokenAt: number | undefined;
  readonly #userinfo: string | undefined;
  /**
   * For a channel written with environment variables: the channel URL with the variable NAMES in
   * place of its credentials, `https://host/t/${MY_TOKEN}/chan` (never a value). See channel-env.ts.
   */
  readonly urlTemplate?: string;
  /** The variables `urlTemplate` uses, sorted (empty without a template). */
  readonly usedEnvVars: readonly string[];

  private constructor(name: string, split: SplitUrl, platform: Subdir | undefined, env: EnvParts) {
    this.name = name;
    this.baseUrl = split.base;
    if (platform) this.platform = platform;
    this.#token = split.token;
    this.#tokenAt = split.tokenAt;
    this.#userinfo = split.userinfo;
    this.usedEnvVars = env.used;
    if (env.used.length > 0) this.urlTemplate = this.#join(this.baseUrl, env.templateToken, env.templateUserinfo);
  }

  /**
   * Parse a channel as written in an environment file, on the command line or in a match spec
   * (`conda-forge::numpy`). Throws `InputError` (code `E_INVALID_CHANNEL`); `defaults` and
   * `nodefaults` are not single channels — use `expandChannels`.
   */
  static parse(input: string, opts: ChannelParseOptions = {}): Channel {
    const s = input.trim();
    if (s === '') throw invalid(input, 'empty channel name');
    if (s === 'defaults' || s === 'nodefaults') {
      throw invalid(input, `'${s}' is not a single channel; expand the channel list with expandChannels()`);
    }
    // `$VAR` / `${VAR}` in a URL (or in the alias a name is resolved against) become placeholders
    // while the URL is parsed; resolveEnvVars then checks where they ended up.
    const vars: string[] = [];
    const hide = (text: string) =>
      replaceEnvVars(text, (n) => {
        vars.push(n);
        return placeholder(vars.length - 1);
      });
    const aliasInput = opts.channelAlias ?? DEFAULT_CHANNEL_ALIAS;
    let split: SplitUrl;
    let aliasSplit: SplitUrl;
    const isUrl = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s);
    const isPath = !isUrl && (isAbsolute(s) || /^[A-Za-z]:[\\/]/.test(s) || s.startsWith('./') || s.startsWith('../') || s === '.');
    if (isUrl) {
      aliasSplit = splitUrl(hide(aliasInput).replace(/\/+$/, ''), opts.channelAlias ?? '');
      // Placeholders of the alias do not matter for a full URL.
      vars.length = 0;
      aliasSplit.token = undefined;
      aliasSplit.userinfo = undefined;
      split = splitUrl(hide(s), input);
    } else if (isPath) {
      aliasSplit = splitUrl(aliasInput.replace(/\/+$/, ''), opts.channelAlias ?? '');
      split = splitUrl(localPathToUrl(s, opts.cwd), input);
    } else {
      aliasSplit = splitUrl(hide(aliasInput).replace(/\/+$/, ''), opts.channelAlias ?? '');
      if (!NAME_RE.test(s)) {
        throw invalid(input, 'a channel name may contain letters, digits, "_", "-", "." and "/" only (or give a URL)');
      }
      split = splitUrl(`${aliasSplit.base}/${s}`, input);
      if (aliasSplit.token !== undefined) {
        split.token = aliasSplit.token;
        split.tokenAt = aliasSplit.tokenAt;
      }
      if (aliasSplit.userinfo !== undefined) split.userinfo = aliasSplit.userinfo;
    }
    const env = vars.length > 0 ? resolveEnvVars(split, vars, isUrl ? input : aliasInput, opts.env) : { used: [] };

    // `conda-forge/linux-64` or `https://host/chan/noarch`: conda strips a trailing subdir.
    let platform: Subdir | undefined;
    const lastSlash = split.base.lastIndexOf('/');
    const last = split.base.slice(lastSlash + 1);
    const origin = split.base.startsWith('file:') ? 'file://' : new URL(split.base).origin;
    if (isSubdir(last) && lastSlash > origin.length) {
      platform = last;
      split.base = split.base.slice(0, lastSlash);
      if (split.tokenAt !== undefined && split.tokenAt > split.base.length) split.tokenAt = split.base.length;
    }
    if (split.base === 'file://') throw invalid(input, 'a file:// channel needs a directory path');

    const name = split.base.startsWith(aliasSplit.base + '/') ? split.base.slice(aliasSplit.base.length + 1) : split.base;
    return new Channel(name, split, platform, env);
  }

  /** Whether a token or credentials are attached (they are used for fetching only). */
  get hasCredentials(): boolean {
    return this.#token !== undefined || this.#userinfo !== undefined;
  }

  /**
   * The channel URL with secrets masked for logs and messages: the token and the userinfo become
   * eight asterisks, the same marker as src/net's redactUrl, so both render a URL identically.
   */
  get redacted(): string {
    const userinfo = this.#userinfo === undefined ? undefined : REDACTED;
    return this.#join(this.baseUrl, this.#token === undefined ? undefined : REDACTED, userinfo);
  }

  /**
   * URL of one subdir, WITH token and credentials when configured, without trailing slash:
   * `https://conda.anaconda.org/t/<token>/conda-forge/linux-64`. Append `/repodata.json` etc.
   */
  subdirUrl(subdir: string): string {
    return this.#join(`${this.baseUrl}/${subdir}`, this.#token, this.#userinfo);
  }

  /** URL of a file in a subdir (with token/credentials), e.g. `fileUrl('noarch', 'repodata.json')`. */
  fileUrl(subdir: string, file: string): string {
    return `${this.subdirUrl(subdir)}/${file}`;
  }

  /**
   * `url` (a token-free URL under this channel, e.g. a locked package's) with this channel's token
   * and credentials put back; any other URL is returned unchanged.
   */
  credentialedUrl(url: string): string {
    if (url !== this.baseUrl && !url.startsWith(`${this.baseUrl}/`)) return url;
    return this.#join(url, this.#token, this.#userinfo);
  }

  /** Token-free URL of a file in a subdir: what belongs in a lockfile or a record's `url`. */
  publicFileUrl(subdir: string, file: string): string {
    return `${this.baseUrl}/${subdir}/${file}`;
  }

  /**
   * `Basic ...` Authorization header value for `user:password@` channels, or undefined. HTTP clients
   * (undici/fetch) refuse URLs with embedded credentials, so they should strip them from
   * `subdirUrl()` and send this header instead.
   */
  basicAuth(): string | undefined {
    if (this.#userinfo === undefined) return undefined;
    const [user, ...rest] = this.#userinfo.split(':');
    const plain = `${decodeURIComponent(user ?? '')}:${decodeURIComponent(rest.join(':'))}`;
    return `Basic ${Buffer.from(plain, 'utf8').toString('base64')}`;
  }

  equals(other: Channel): boolean {
    return this.baseUrl === other.baseUrl;
  }

  /** The canonical name (never contains a token). */
  toString(): string {
    return this.name;
  }

  toJSON(): { name: string; baseUrl: string } {
    return { name: this.name, baseUrl: this.baseUrl };
  }

  /** util.inspect / console.log: the redacted URL only. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Channel(${this.redacted})`;
  }

  #join(url: string, token: string | undefined, userinfo: string | undefined): string {
    let out = url;
    if (token !== undefined && this.#tokenAt !== undefined) {
      const at = Math.min(this.#tokenAt, this.baseUrl.length);
      out = `${out.slice(0, at)}/t/${token}${out.slice(at)}`;
    }
    if (userinfo !== undefined) out = out.replace(/^([a-z][a-z0-9+.-]*:\/\/)/i, `$1${userinfo}@`);
    return out;
  }
}

function localPathToUrl(p: string, cwd: string | undefined): string {
  if (/^[A-Za-z]:[\\/]/.test(p)) {
    // A Windows drive path, also when we run on a Unix host (e.g. an environment file written on Windows).
    return 'file:///' + p.replace(/\\/g, '/').split('/').map(encodeURIComponent).join('/').replace(/^([A-Za-z])%3A/, '$1:');
  }
  const abs = isAbsolute(p) ? p : resolvePath(cwd ?? process.cwd(), p);
  const href = pathToFileURL(abs.endsWith(sep) ? abs.slice(0, -1) : abs).href;
  return href;
}

/**
 * Turn an environment's channel list into channels, in priority order: `defaults` expands to
 * `DEFAULTS_CHANNEL_URLS`, `nodefaults` is dropped, duplicates (same base URL) keep their first position.
 */
export function expandChannels(names: readonly string[], opts: ExpandChannelsOptions = {}): Channel[] {
  const out: Channel[] = [];
  const seen = new Set<string>();
  const push = (c: Channel): void => {
    if (seen.has(c.baseUrl)) return;
    seen.add(c.baseUrl);
    out.push(c);
  };
  for (const n of names) {
    const t = n.trim();
    if (t === 'nodefaults') continue;
    if (t === 'defaults') {
      for (const u of opts.includeMsys2 ? DEFAULTS_CHANNEL_URLS_WIN : DEFAULTS_CHANNEL_URLS) push(Channel.parse(u, opts));
      continue;
    }
    push(Channel.parse(t, opts));
  }
  return out;
}
