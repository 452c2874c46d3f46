/**
 * The HTTP client every module uses: undici with one shared keep-alive dispatcher, bounded
 * concurrency, retries with exponential backoff + jitter, streaming downloads with hashing.
 *
 * Retried: 5xx, 408, 429, connection resets/refusals, timeouts and bodies shorter than their
 * Content-Length. Never retried: other 4xx (a 404 is a NetworkError saying "not found").
 * URLs in errors and logs always go through `redactUrl`.
 * `file://` URLs are read from disk, so local channels and lockfiles work the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { Agent, interceptors, request as undiciRequest, type Dispatcher } from 'undici';
import pLimit, { type LimitFunction } from 'p-limit';
import { IntegrityError, NetworkError } from '../errors.js';
import { redactText, redactUrl } from './redact.js';

export interface HttpClientOptions {
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff delay in ms; doubles each retry, with ±50% jitter (default 250). */
  retryDelayMs?: number;
  /** Upper bound of one backoff delay, also for Retry-After (default 10 000). */
  maxRetryDelayMs?: number;
  /** Time to wait for response headers, and the longest pause between body chunks (default 60 000). */
  timeoutMs?: number;
  /** TCP/TLS connect timeout (default 15 000). Ignored when `dispatcher` is given. */
  connectTimeoutMs?: number;
  /** Requests in flight at once for this client (default 8). */
  concurrency?: number;
  userAgent?: string;
  /** Custom undici dispatcher (tests, proxies). Default: one shared keep-alive Agent. */
  dispatcher?: Dispatcher;
  /** Called before each retry with the redacted URL and the reason. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  url: string;
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  method?: 'GET' | 'HEAD';
}

interface SendOptions extends RequestOptions {
  /** Ask for gzip/br transfer compression (request(): yes; download(): no, it stores exact bytes). */
  acceptEncoding?: boolean;
}

export interface HttpResponse {
  /** 2xx or 304. */
  status: number;
  /** Lower-case header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface DownloadOptions {
  /** Expected size in bytes: a different size is an IntegrityError. */
  expectedSize?: number;
  /** Expected sha256 (hex): a mismatch is an IntegrityError. */
  expectedSha256?: string;
  /** Expected md5 (hex): a mismatch is an IntegrityError. */
  expectedMd5?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called as bytes arrive; `total` from Content-Length or expectedSize. Reset to 0 on a retry. */
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface DownloadResult {
  size: number;
  sha256: string;
  md5: string;
}

const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliDecompress);
const inflateAsync = promisify(inflate);

export const DEFAULT_USER_AGENT = 'conda-go-lock/0.1.0';

const sharedAgents = new Map<number, Dispatcher>();

/** The process-wide keep-alive dispatcher (one per connect timeout; normally exactly one). */
export function sharedDispatcher(connectTimeoutMs = 15_000): Dispatcher {
  let d = sharedAgents.get(connectTimeoutMs);
  if (!d) {
    d = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: 16,
      connect: { timeout: connectTimeoutMs },
    }).compose(interceptors.redirect({ maxRedirections: 5 }));
    sharedAgents.set(connectTimeoutMs, d);
  }
  return d;
}

/** Close the shared dispatchers (end of CLI run; lets the process exit promptly). */
export async function closeSharedDispatchers(): Promise<void> {
  const all = [...sharedAgents.values()];
  sharedAgents.clear();
  await Promise.allSettled(all.map((d) => d.close()));
}

/** True when `err` is the NetworkError for an HTTP 404 (or a missing file:// path). */
export function isNotFound(err: unknown): err is NetworkError {
  return err instanceof NetworkError && err.status === 404;
}

/** A failed attempt; `retryable` decides whether the loop tries again. */
class AttemptFailure extends Error {
  constructor(
    readonly error: Error,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

const CONNECT_CODES = new Set(['ENOTFOUND', 'ECONNREFUSED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (code && TIMEOUT_CODES.has(code)) return `timed out (${code}: ${redactText(msg)})`;
  return code && !msg.includes(code) ? `${code}: ${redactText(msg)}` : redactText(msg);
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(v);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function statusError(status: number, statusText: string, url: string): AttemptFailure {
  const r = redactUrl(url);
  const retryable = status >= 500 || status === 429 || status === 408;
  let message: string;
  let code = 'E_HTTP_STATUS';
  if (status === 404) {
    code = 'E_NOT_FOUND';
    message = `not found (HTTP 404): ${r} — check the channel/package name, the platform, and the URL`;
  } else if (status === 401 || status === 403) {
    code = 'E_HTTP_AUTH';
    message = `access denied (HTTP ${status}) for ${r} — check the channel token or credentials`;
  } else {
    message = `HTTP ${status}${statusText ? ` ${statusText}` : ''} for ${r}`;
  }
  return new AttemptFailure(new NetworkError(message, { code, url: r, status }), retryable);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const USERINFO_RE = /^(https?:\/\/)([^/@?#]*)@/i;

function isFileUrl(url: string): boolean {
  return url.startsWith('file:');
}

export class HttpClient {
  readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly dispatcher: Dispatcher;
  private readonly limit: LimitFunction;
  private readonly onRetry?: (info: RetryInfo) => void;

  constructor(options: HttpClientOptions = {}) {
    this.retries = Math.max(0, options.retries ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.dispatcher = options.dispatcher ?? sharedDispatcher(options.connectTimeoutMs ?? 15_000);
    this.limit = pLimit(Math.max(1, options.concurrency ?? 8));
    this.onRetry = options.onRetry;
  }

  /** GET (or HEAD) returning the whole body. Resolves for 2xx and 304; throws NetworkError otherwise. */
  async request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
    if (isFileUrl(url)) return this.readFileUrl(url);
    return this.withRetries(url, options.signal, () => this.limit(() => this.attemptRequest(url, options)));
  }

  /** GET and parse JSON. */
  async getJson<T = unknown>(url: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(url, options);
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch (err) {
      throw new NetworkError(`response from ${redactUrl(url)} is not valid JSON: ${(err as Error).message}`, {
        code: 'E_BAD_RESPONSE',
        url: redactUrl(url),
        cause: err,
      });
    }
  }

  /** GET the body as bytes. */
  async getBuffer(url: string, options: RequestOptions = {}): Promise<Buffer> {
    return (await this.request(url, options)).body;
  }

  /**
   * Stream `url` to `destFile` through a temp file next to it, hashing on the way.
   * The temp file is renamed into place only when complete and verified; on failure it is removed.
   */
  async download(url: string, destFile: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    await mkdir(dirname(destFile), { recursive: true });
    const result = await this.withRetries(url, options.signal, () =>
      this.limit(() => this.attemptDownload(url, destFile, options)),
    );
    return result;
  }

  private async withRetries<T>(url: string, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (signal?.aborted) throw signal.reason ?? err;
        const failure =
          err instanceof AttemptFailure
            ? err
            : err instanceof IntegrityError || err instanceof NetworkError
              ? new AttemptFailure(err, false)
              : classifyThrown(err, url);
        if (!failure.retryable || i >= this.retries) {
          if (failure.retryable && this.retries > 0 && failure.error instanceof NetworkError) {
            failure.error.message = `${failure.error.message} (after ${i + 1} attempts)`;
          }
          throw failure.error;
        }
        const base = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** i);
        let delay = Math.round(base * (0.5 + Math.random()));
        if (failure.retryAfterMs !== undefined) delay = Math.max(delay, Math.min(this.maxRetryDelayMs, failure.retryAfterMs));
        this.onRetry?.({ url: redactUrl(url), attempt: i + 1, delayMs: delay, reason: failure.error.message });
        await sleep(delay, signal);
      }
    }
  }

  /**
   * Send one request. undici's own timeouts use coarse timers (~1 s resolution), so an idle timer
   * of our own aborts the attempt when neither headers nor body bytes arrive for `timeoutMs`;
   * `touch()` re-arms it on every body chunk, `done()` disarms it.
   */
  private async send(url: string, options: SendOptions): Promise<{ res: Dispatcher.ResponseData; idle: IdleTimer }> {
    const idle = new IdleTimer(this.timeoutMs, url);
    const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
    if (options.acceptEncoding) headers['accept-encoding'] ??= 'gzip, br';
    // undici refuses URLs with `user:password@`: move them into an Authorization header.
    let target = url;
    const userinfo = USERINFO_RE.exec(url);
    if (userinfo) {
      target = userinfo[1] + url.slice(userinfo[0].length);
      const [user = '', ...pass] = userinfo[2]!.split(':');
      headers.authorization ??= `Basic ${Buffer.from(`${decodeURIComponent(user)}:${decodeURIComponent(pass.join(':'))}`).toString('base64')}`;
    }
    try {
      const res = await undiciRequest(target, {
        method: options.method ?? 'GET',
        headers,
        signal,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs + 1_000,
        bodyTimeout: this.timeoutMs + 1_000,
      });
      idle.touch();
      return { res, idle };
    } catch (err) {
      idle.done();
      throw err;
    }
  }

  private async attemptRequest(url: string, options: RequestOptions): Promise<HttpResponse> {
    const { res, idle } = await this.send(url, { ...options, acceptEncoding: true });
    try {
      const headers = flattenHeaders(res.headers as Record<string, string | string[] | undefined>);
      if (res.statusCode === 304 || res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump().catch(() => undefined);
        if (res.statusCode === 304) return { status: 304, headers, body: Buffer.alloc(0) };
        const failure = statusError(res.statusCode, res.statusText, url);
        throw new AttemptFailure(failure.error, failure.retryable, parseRetryAfter(headers['retry-after']));
      }
      const chunks: Buffer[] = [];
      let received = 0;
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        idle.touch();
        chunks.push(b);
        received += b.length;
      }
      checkLength(headers, received, url, options.method === 'HEAD');
      const raw = Buffer.concat(chunks, received);
      return { status: res.statusCode, headers, body: await decodeBody(raw, headers['content-encoding'], url) };
    } catch (err) {
      throw idle.fired ?? err;
    } finally {
      idle.done();
    }
  }

  private async attemptDownload(url: string, destFile: string, options: DownloadOptions): Promise<DownloadResult> {
    const tmp = join(dirname(destFile), `.${basename(destFile)}.${randomBytes(6).toString('hex')}.part`);
    let idle: IdleTimer | undefined;
    try {
      let body: Readable;
      let total: number | undefined = options.expectedSize;
      let headers: Record<string, string> = {};
      if (isFileUrl(url)) {
        const path = fileURLToPath(url);
        const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
          throw fileError(err, url);
        });
        total ??= st.size;
        body = createReadStream(path);
      } else {
        const sent = await this.send(url, { headers: options.headers, signal: options.signal });
        const res = sent.res;
        idle = sent.idle;
        headers = flattenHeaders(res.headers as Record<string, string | string[] | undefined>);
        if (res.statusCode < 200 || res.statusCode >= 300) {
          await res.body.dump().catch(() => undefined);
          const failure = statusError(res.statusCode, res.statusText, url);
          throw new AttemptFailure(failure.error, failure.retryable, parseRetryAfter(headers['retry-after']));
        }
        const cl = headers['content-length'];
        if (cl !== undefined && total === undefined) total = Number(cl);
        body = res.body;
      }
      const sha256 = createHash('sha256');
      const md5 = createHash('md5');
      let received = 0;
      const onProgress = options.onProgress;
      const timer = idle;
      onProgress?.(0, total);
      const hasher = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          timer?.touch();
          sha256.update(chunk);
          md5.update(chunk);
          received += chunk.length;
          onProgress?.(received, total);
          cb(null, chunk);
        },
      });
      await pipeline(body, hasher, createWriteStream(tmp));
      idle?.done();
      checkLength(headers, received, url, false);
      const result = { size: received, sha256: sha256.digest('hex'), md5: md5.digest('hex') };
      const r = redactUrl(url);
      if (options.expectedSize !== undefined && options.expectedSize !== received) {
        throw new IntegrityError(
          `size mismatch for ${r}: expected ${options.expectedSize} bytes, got ${received} — the file on the server differs from the lockfile/repodata`,
        );
      }
      if (options.expectedSha256 !== undefined && options.expectedSha256.toLowerCase() !== result.sha256) {
        throw new IntegrityError(
          `sha256 mismatch for ${r}: expected ${options.expectedSha256}, got ${result.sha256} — the download is corrupt or was tampered with`,
        );
      }
      if (options.expectedMd5 !== undefined && options.expectedMd5.toLowerCase() !== result.md5) {
        throw new IntegrityError(
          `md5 mismatch for ${r}: expected ${options.expectedMd5}, got ${result.md5} — the download is corrupt or was tampered with`,
        );
      }
      await rename(tmp, destFile);
      return result;
    } catch (err) {
      idle?.done();
      await unlink(tmp).catch(() => undefined);
      throw idle?.fired ?? err;
    }
  }

  private async readFileUrl(url: string): Promise<HttpResponse> {
    try {
      const body = await readFile(fileURLToPath(url));
      return { status: 200, headers: { 'content-length': String(body.length) }, body };
    } catch (err) {
      throw fileError(err as NodeJS.ErrnoException, url);
    }
  }
}

/** Aborts an attempt when no headers/body bytes arrive for `ms`. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** The timeout error once it fired. */
  fired: AttemptFailure | undefined;

  constructor(
    private readonly ms: number,
    private readonly url: string,
  ) {
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    if (this.fired) return;
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.fire(), this.ms);
  }

  done(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    const r = redactUrl(this.url);
    this.fired = new AttemptFailure(
      new NetworkError(`request to ${r} timed out: no data for ${this.ms} ms`, { code: 'E_TIMEOUT', url: r }),
      true,
    );
    this.controller.abort(this.fired);
  }
}

function fileError(err: NodeJS.ErrnoException, url: string): NetworkError {
  const r = redactUrl(url);
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
    return new NetworkError(`not found: ${r} (no such file)`, { code: 'E_NOT_FOUND', url: r, status: 404, cause: err });
  }
  return new NetworkError(`cannot read ${r}: ${err.message}`, { code: 'E_NETWORK', url: r, cause: err });
}

/** Undo a gzip / br / deflate content-encoding (request() asks for it; repodata.json shrinks ~5x). */
async function decodeBody(raw: Buffer, encoding: string | undefined, url: string): Promise<Buffer> {
  const enc = encoding?.trim().toLowerCase();
  if (!enc || enc === 'identity') return raw;
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return await gunzipAsync(raw);
    if (enc === 'br') return await brotliAsync(raw);
    if (enc === 'deflate') return await inflateAsync(raw);
  } catch (err) {
    const r = redactUrl(url);
    throw new AttemptFailure(
      new NetworkError(`response from ${r} has a corrupt ${enc} encoding: ${(err as Error).message}`, {
        code: 'E_BAD_RESPONSE',
        url: r,
        cause: err,
      }),
      true,
    );
  }
  const r = redactUrl(url);
  throw new AttemptFailure(
    new NetworkError(`response from ${r} uses an unsupported content-encoding '${enc}'`, { code: 'E_BAD_RESPONSE', url: r }),
    false,
  );
}

function checkLength(headers: Record<string, string>, received: number, url: string, head: boolean): void {
  if (head) return;
  const cl = headers['content-length'];
  // Content-Length counts the bytes on the wire (before any content-encoding is undone).
  if (cl === undefined) return;
  const expected = Number(cl);
  if (Number.isFinite(expected) && expected !== received) {
    const r = redactUrl(url);
    throw new AttemptFailure(
      new NetworkError(`truncated response from ${r}: received ${received} of ${expected} bytes`, {
        code: 'E_TRUNCATED',
        url: r,
      }),
      true,
    );
  }
}

function classifyThrown(err: unknown, url: string): AttemptFailure {
  const code = errorCode(err);
  const r = redactUrl(url);
  const retryable = code !== undefined && RETRYABLE_CODES.has(code);
  let netCode = 'E_NETWORK';
  if (code && TIMEOUT_CODES.has(code)) netCode = 'E_TIMEOUT';
  else if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') netCode = 'E_CONNECTION';
  const hint = code !== undefined && (CONNECT_CODES.has(code) || TIMEOUT_CODES.has(code))
    ? ' — check the network connection, proxy and URL (or use --offline with a filled cache)'
    : '';
  return new AttemptFailure(
    new NetworkError(`request to ${r} failed: ${describe(err)}${hint}`, { code: netCode, url: r, cause: err }),
    retryable,
  );
}
