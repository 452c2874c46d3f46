/**
 * The HTTP client every module uses: Node's own http/https with one shared keep-alive agent per
 * scheme, bounded concurrency, retries with exponential backoff + jitter, redirects, streaming
 * downloads with hashing.
 *
 * Why node:http and not undici: undici 7 throws an uncatchable `assert(!this.paused)` (nodejs/undici
 * #5360, fixed only in undici 8, which needs Node 22) when a server closes the connection while a
 * response body is paused by backpressure — every HTTP/1.0 server (`python3 -m http.server`) and
 * every `Connection: close` proxy does that. Measured on 60 files of 10 KB–30 MB (147 MB) from
 * `python3 -m http.server`: undici piped to disk crashed 5 of 5 runs, undici read in flowing mode 3 of
 * 5, node:http 0 of 5 (and 0 of 20 in the regression test), at the same throughput against a
 * keep-alive server (docs/install.md, "Downloads"). Node's client pauses the socket instead, so
 * backpressure stays real and memory bounded.
 *
 * Retried: 5xx, 408, 429, connection resets/refusals, timeouts, transfers slower than the minimum
 * speed, and bodies shorter than their Content-Length. Never retried: other 4xx (a 404 is a
 * NetworkError saying "not found"), redirect loops. URLs in errors and logs always go through
 * `redactUrl`. `file://` URLs are read from disk, so local channels and lockfiles work the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, pipeline as pipelineStreams } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompress, createBrotliDecompress, createGunzip, createInflate, gunzip, inflate } from 'node:zlib';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import pLimit, { type LimitFunction } from 'p-limit';
import { exitSignal } from '../cleanup.js';
import { IntegrityError, NetworkError, UsageError } from '../errors.js';
import { withAtomicFile } from '../fs/atomic.js';
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
  /** TCP connect timeout (default 15 000). */
  connectTimeoutMs?: number;
  /**
   * The slowest transfer accepted: a body that delivers fewer than `bytesPerSecond` on average over
   * `windowMs` is aborted and retried like a reset (curl's --speed-limit / --speed-time). Default
   * DEFAULT_MIN_SPEED; `bytesPerSecond: 0` turns the rule off.
   */
  minSpeed?: MinSpeed;
  /** Requests in flight at once for this client (default 8). */
  concurrency?: number;
  userAgent?: string;
  /** Called before each retry with the redacted URL and the reason. */
  onRetry?: (info: RetryInfo) => void;
}

export interface MinSpeed {
  bytesPerSecond: number;
  windowMs: number;
}

/** 1 KiB/s over 30 s: a hung or trickling mirror fails in about two minutes over all attempts. */
export const DEFAULT_MIN_SPEED: MinSpeed = { bytesPerSecond: 1024, windowMs: 30_000 };

/**
 * The minimum-speed rule from the environment: CONDA_GO_LOCK_MIN_SPEED (bytes/s; 0 turns it off)
 * and CONDA_GO_LOCK_MIN_SPEED_TIME (seconds the average is taken over), each defaulting to
 * DEFAULT_MIN_SPEED's value.
 */
export function minSpeedFromEnv(env: NodeJS.ProcessEnv): MinSpeed {
  const num = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min) throw new UsageError(`${name} must be a number >= ${min}, got '${raw}'`);
    return v;
  };
  const bytesPerSecond = num('CONDA_GO_LOCK_MIN_SPEED', DEFAULT_MIN_SPEED.bytesPerSecond, 0);
  const seconds = num('CONDA_GO_LOCK_MIN_SPEED_TIME', DEFAULT_MIN_SPEED.windowMs / 1000, 0.01);
  return { bytesPerSecond, windowMs: Math.round(seconds * 1000) };
}

/** Redirects followed per request (curl and pip follow more, conda's requests 30; channels use 1–2). */
export const MAX_REDIRECTS = 10;

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

/** A response whose body is read as it arrives (HttpClient.stream). */
export interface StreamedResponse {
  /** 2xx. */
  status: number;
  /** Lower-case header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /**
   * The body with any content-encoding undone, chunk by chunk, read once. A transfer that fails
   * (reset, timeout, too slow, shorter than its Content-Length, corrupt encoding) throws from here.
   */
  body: AsyncIterable<Buffer>;
}

/** What HttpClient.stream resolves to: the consumer's value for a 2xx, none for a 304. */
export type StreamResult<T> = { status: 304; headers: Record<string, string> } | { status: number; headers: Record<string, string>; value: T };

export interface DownloadOptions {
  /** Expected size in bytes: a different size is an IntegrityError. */
  expectedSize?: number;
  /** Expected sha256 (hex): a mismatch is an IntegrityError. */
  expectedSha256?: string;
  /** Expected md5 (hex): a mismatch is an IntegrityError. */
  expectedMd5?: string;
  /**
   * Also compute the md5 (default true; implied by expectedMd5). Callers that verify by sha256 pass
   * false: md5 costs twice sha256's CPU (≈2 ms per MB here) for a digest nobody reads.
   */
  md5?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called as bytes arrive; `total` from Content-Length or expectedSize. Reset to 0 on a retry. */
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface DownloadResult {
  size: number;
  sha256: string;
  /** Absent when the caller asked for no md5 (`md5: false`). */
  md5?: string;
}

const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliDecompress);
const inflateAsync = promisify(inflate);

export const DEFAULT_USER_AGENT = 'conda-go-lock/0.1.0';

interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
}

let sharedAgents: Agents | undefined;

/**
 * The process-wide keep-alive agents. Idle sockets close after 30 s and never keep the process alive
 * (Node unrefs sockets in an agent's free pool).
 */
function agents(): Agents {
  sharedAgents ??= {
    http: new HttpAgent({ keepAlive: true, maxSockets: 16, timeout: 30_000, scheduling: 'lifo' }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 16, timeout: 30_000, scheduling: 'lifo' }),
  };
  return sharedAgents;
}

/** Close the shared agents' sockets (end of CLI run, end of a test file). */
export async function closeSharedDispatchers(): Promise<void> {
  const a = sharedAgents;
  sharedAgents = undefined;
  a?.http.destroy();
  a?.https.destroy();
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
  'ERR_STREAM_PREMATURE_CLOSE',
  'E_CONNECT_TIMEOUT',
]);

const CONNECT_CODES = new Set(['ENOTFOUND', 'ECONNREFUSED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'E_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['E_CONNECT_TIMEOUT', 'ETIMEDOUT']);
/** llhttp parse errors (a server sending something that is not HTTP): retried, reported as a bad response. */
const PARSER_CODE = /^HPE_/;

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

function flattenHeaders(h: IncomingMessage['headers']): Record<string, string> {
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
  let code: NetworkError['code'] = 'E_HTTP_STATUS';
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
  private readonly connectTimeoutMs: number;
  private readonly minSpeed: MinSpeed;
  private readonly userAgent: string;
  private readonly limit: LimitFunction;
  private readonly onRetry?: (info: RetryInfo) => void;

  constructor(options: HttpClientOptions = {}) {
    this.retries = Math.max(0, options.retries ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.minSpeed = options.minSpeed ?? DEFAULT_MIN_SPEED;
    this.limit = pLimit(Math.max(1, options.concurrency ?? 8));
    this.onRetry = options.onRetry;
  }

  /** GET (or HEAD) returning the whole body. Resolves for 2xx and 304; throws NetworkError otherwise. */
  async request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
    if (isFileUrl(url)) return this.readFileUrl(url);
    return this.withRetries(url, options.signal, () => this.limit(() => this.attemptRequest(url, options)));
  }

  /**
   * GET with the body handed to `consume` as it arrives (nothing is held whole), which must read it
   * to the end. Resolves for 2xx (with what `consume` returned) and 304 (without calling it); throws
   * NetworkError otherwise, like `request`. A transfer that fails is retried as `request` retries,
   * with a new call of `consume` on the new body — so `consume` must start from scratch each time
   * (write to a fresh temp file, say). Whatever `consume` throws on its own is thrown as it is,
   * never retried.
   */
  async stream<T>(url: string, options: RequestOptions, consume: (res: StreamedResponse) => Promise<T>): Promise<StreamResult<T>> {
    if (isFileUrl(url)) {
      const res = await this.readFileUrl(url);
      const body = (async function* () {
        yield res.body;
      })();
      return { status: 200, headers: res.headers, value: await consume({ status: 200, headers: res.headers, body }) };
    }
    return this.withRetries(url, options.signal, () => this.limit(() => this.attemptStream(url, options, consume)));
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
        if (exitSignal.aborted) throw exitSignal.reason ?? err;
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
        await sleep(delay, signal ? AbortSignal.any([signal, exitSignal]) : exitSignal);
      }
    }
  }

  /**
   * Send one request and follow its redirects. A watchdog of our own aborts the attempt when neither
   * headers nor body bytes arrive for `timeoutMs`, or when the body arrives slower than `minSpeed`;
   * `touch(n)` feeds it on every body chunk, `done()` disarms it.
   */
  private async send(url: string, options: SendOptions): Promise<{ res: IncomingMessage; idle: Watchdog }> {
    const idle = new Watchdog(this.timeoutMs, this.minSpeed, url);
    // The watchdog's signal also stops the request when the process starts exiting (src/cleanup.ts).
    const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
    if (options.acceptEncoding) headers['accept-encoding'] ??= 'gzip, br';
    const method = options.method ?? 'GET';
    const visited = new Set<string>();
    let target = url;
    try {
      for (let hop = 0; ; hop++) {
        // `user:password@` in a URL becomes an Authorization header (and never reaches a log line).
        let plain = target;
        const hopHeaders = { ...headers };
        const userinfo = USERINFO_RE.exec(target);
        if (userinfo) {
          plain = userinfo[1] + target.slice(userinfo[0].length);
          const [user = '', ...pass] = userinfo[2]!.split(':');
          hopHeaders.authorization ??= `Basic ${Buffer.from(`${decodeURIComponent(user)}:${decodeURIComponent(pass.join(':'))}`).toString('base64')}`;
        }
        const res = await this.sendOnce(plain, method, hopHeaders, signal);
        idle.touch();
        const location = res.headers.location;
        if (!REDIRECT_STATUSES.has(res.statusCode ?? 0) || !location) return { res, idle };
        res.on('error', () => undefined);
        res.resume();
        visited.add(plain);
        const next = redirectTarget(plain, location, url);
        if (visited.has(next)) throw redirectFailure(`redirect loop at ${redactUrl(next)} (reached from ${redactUrl(url)})`, url);
        if (hop + 1 > MAX_REDIRECTS) throw redirectFailure(`more than ${MAX_REDIRECTS} redirects starting at ${redactUrl(url)} (last: ${redactUrl(next)})`, url);
        // Credentials are for the origin they were given to: a redirect elsewhere drops them (as browsers and curl do).
        if (new URL(next).origin !== new URL(plain).origin) delete headers.authorization;
        target = next;
      }
    } catch (err) {
      idle.done();
      throw idle.fired ?? err;
    }
  }

  /** One HTTP exchange up to the response headers; the body is the caller's to read. */
  private sendOnce(url: string, method: string, headers: OutgoingHttpHeaders, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const https = u.protocol === 'https:';
      const options = { method, headers, signal, agent: https ? agents().https : agents().http };
      const req = https ? httpsRequest(u, options, resolve) : httpRequest(u, options, resolve);
      // Errors after the response started reach the body stream; this listener keeps a late one
      // from becoming an unhandled 'error' event.
      req.on('error', reject);
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          const err = Object.assign(new Error(`connect timed out after ${this.connectTimeoutMs} ms`), { code: 'E_CONNECT_TIMEOUT' });
          req.destroy(err);
        }, this.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(timer));
        req.once('close', () => clearTimeout(timer));
      });
      req.end();
    });
  }

  private async attemptRequest(url: string, options: RequestOptions): Promise<HttpResponse> {
    const { res, idle } = await this.send(url, { ...options, acceptEncoding: true });
    try {
      const { status, headers } = okOrNotModified(res, url);
      if (status === 304) return { status: 304, headers, body: Buffer.alloc(0) };
      const chunks: Buffer[] = [];
      let received = 0;
      idle.startBody();
      for await (const chunk of res) {
        const b = chunk as Buffer;
        idle.touch(b.length);
        chunks.push(b);
        received += b.length;
      }
      checkLength(headers, received, url, options.method === 'HEAD');
      const raw = Buffer.concat(chunks, received);
      return { status, headers, body: await decodeBody(raw, headers['content-encoding'], url) };
    } catch (err) {
      res.destroy();
      throw idle.fired ?? err;
    } finally {
      idle.done();
    }
  }

  private async attemptStream<T>(url: string, options: RequestOptions, consume: (res: StreamedResponse) => Promise<T>): Promise<StreamResult<T>> {
    const { res, idle } = await this.send(url, { ...options, acceptEncoding: true });
    try {
      const { status, headers } = okOrNotModified(res, url);
      if (status === 304) return { status: 304, headers };
      idle.startBody();
      const raw = (async function* (): AsyncGenerator<Buffer> {
        let received = 0;
        try {
          for await (const chunk of res) {
            const b = chunk as Buffer;
            idle.touch(b.length);
            received += b.length;
            yield b;
          }
        } catch (err) {
          throw idle.fired ?? (err instanceof AttemptFailure ? err : classifyThrown(err, url));
        }
        if (idle.fired) throw idle.fired;
        checkLength(headers, received, url, false);
      })();
      const body = decodeStream(raw, headers['content-encoding'], url);
      let value: T;
      try {
        value = await consume({ status, headers, body });
      } catch (err) {
        if (err instanceof AttemptFailure) throw idle.fired ?? err; // the transfer failed
        throw new AttemptFailure(err instanceof Error ? err : new Error(String(err)), false);
      }
      return { status, headers, value };
    } catch (err) {
      res.destroy();
      throw idle.fired ?? err;
    } finally {
      idle.done();
    }
  }

  private async attemptDownload(url: string, destFile: string, options: DownloadOptions): Promise<DownloadResult> {
    // A `.part` name: a killed download's leftover is recognisable as one.
    const tempPath = join(dirname(destFile), `.${basename(destFile)}.${randomBytes(6).toString('hex')}.part`);
    let idle: Watchdog | undefined;
    try {
      // Not fsynced: whoever reads a download verifies its hashes first.
      return await withAtomicFile(destFile, async (tmp) => {
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
          headers = flattenHeaders(res.headers);
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            discard(res);
            const failure = statusError(status, res.statusMessage ?? '', url);
            throw new AttemptFailure(failure.error, failure.retryable, parseRetryAfter(headers['retry-after']));
          }
          const cl = headers['content-length'];
          if (cl !== undefined && total === undefined) total = Number(cl);
          body = res;
          idle.startBody();
        }
        const sha256 = createHash('sha256');
        const md5 = options.md5 !== false || options.expectedMd5 !== undefined ? createHash('md5') : undefined;
        let received = 0;
        const onProgress = options.onProgress;
        const timer = idle;
        onProgress?.(0, total);
        // (hashed as the chunks pass: a listener beside the pipe, not a Transform stage of its own)
        body.on('data', (chunk: Buffer) => {
          timer?.touch(chunk.length);
          sha256.update(chunk);
          md5?.update(chunk);
          received += chunk.length;
          try {
            onProgress?.(received, total);
          } catch (e) {
            // (a failing progress callback fails the download: the chunk it threw on would not be written)
            body.destroy(e instanceof Error ? e : new Error(String(e)));
          }
        });
        await pipeline(body, createWriteStream(tmp, { highWaterMark: 1 << 20 }));
        idle?.done();
        checkLength(headers, received, url, false);
        const result: DownloadResult = { size: received, sha256: sha256.digest('hex') };
        if (md5) result.md5 = md5.digest('hex');
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
        return result;
      }, { tempPath, durable: false });
    } catch (err) {
      idle?.done();
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

/**
 * Aborts an attempt when no headers/body bytes arrive for `idleMs`, or when, once the body started,
 * a window of `minSpeed.windowMs` brings fewer than `bytesPerSecond * windowMs / 1000` bytes.
 */
class Watchdog {
  private readonly controller = new AbortController();
  private idleTimer: NodeJS.Timeout | undefined;
  private speedTimer: NodeJS.Timeout | undefined;
  private windowBytes = 0;
  /** The timeout error once it fired. */
  fired: AttemptFailure | undefined;

  constructor(
    private readonly idleMs: number,
    private readonly minSpeed: MinSpeed,
    private readonly url: string,
  ) {
    this.touch();
    // The process starts exiting (SIGINT/SIGTERM, a crash; src/cleanup.ts): the request stops.
    if (exitSignal.aborted) this.controller.abort(exitSignal.reason);
    else exitSignal.addEventListener('abort', this.onExit, { once: true });
  }

  private readonly onExit = () => this.controller.abort(exitSignal.reason);

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(bytes = 0): void {
    if (this.fired) return;
    this.windowBytes += bytes;
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.fire(`no data for ${this.idleMs} ms`, 'E_TIMEOUT'), this.idleMs);
  }

  /** Start measuring the transfer speed (headers arrived, the body follows). */
  startBody(): void {
    const { bytesPerSecond, windowMs } = this.minSpeed;
    if (this.speedTimer || !(bytesPerSecond > 0) || !(windowMs > 0)) return;
    this.windowBytes = 0;
    const needed = (bytesPerSecond * windowMs) / 1000;
    this.speedTimer = setInterval(() => {
      if (this.windowBytes < needed) {
        const rate = Math.round((this.windowBytes * 1000) / windowMs);
        this.fire(`transfer too slow: ${rate} bytes/s over ${windowMs / 1000} s, below the minimum ${bytesPerSecond} bytes/s`, 'E_TOO_SLOW');
      }
      this.windowBytes = 0;
    }, windowMs);
  }

  done(): void {
    exitSignal.removeEventListener('abort', this.onExit);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.speedTimer) clearInterval(this.speedTimer);
    this.idleTimer = undefined;
    this.speedTimer = undefined;
  }

  private fire(why: string, code: NetworkError['code']): void {
    if (this.fired) return;
    this.done();
    const r = redactUrl(this.url);
    this.fired = new AttemptFailure(new NetworkError(`request to ${r} ${code === 'E_TIMEOUT' ? 'timed out: ' : 'aborted: '}${why}`, { code, url: r }), true);
    this.controller.abort(this.fired);
  }
}

/**
 * A response's status and headers when it is a 2xx (its body is the caller's to read) or a 304 (its
 * body discarded); any other status is an AttemptFailure (retryable or not, with its Retry-After).
 */
function okOrNotModified(res: IncomingMessage, url: string): { status: number; headers: Record<string, string> } {
  const headers = flattenHeaders(res.headers);
  const status = res.statusCode ?? 0;
  if (status === 304 || status < 200 || status >= 300) {
    discard(res);
    if (status === 304) return { status, headers };
    const failure = statusError(status, res.statusMessage ?? '', url);
    throw new AttemptFailure(failure.error, failure.retryable, parseRetryAfter(headers['retry-after']));
  }
  return { status, headers };
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The absolute URL a Location header points to; only http(s) is followed. */
function redirectTarget(from: string, location: string, original: string): string {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw redirectFailure(`${redactUrl(from)} redirects to an invalid URL ${JSON.stringify(redactText(location))}`, original);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw redirectFailure(`${redactUrl(from)} redirects to ${redactUrl(next.href)}, which is not an http(s) URL`, original);
  }
  next.hash = '';
  return next.href;
}

function redirectFailure(message: string, url: string): AttemptFailure {
  return new AttemptFailure(new NetworkError(message, { code: 'E_REDIRECT', url: redactUrl(url) }), false);
}

/** Read and drop the rest of a response we do not use (keeps the keep-alive socket usable). */
function discard(res: IncomingMessage): void {
  res.on('error', () => undefined);
  res.resume();
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

/** A content-encoding (gzip / br / deflate) undone chunk by chunk; a corrupt one is E_BAD_RESPONSE (retried). */
function decodeStream(src: AsyncGenerator<Buffer>, encoding: string | undefined, url: string): AsyncIterable<Buffer> {
  const enc = encoding?.trim().toLowerCase();
  if (!enc || enc === 'identity') return src;
  const r = redactUrl(url);
  const decoder =
    enc === 'gzip' || enc === 'x-gzip' ? createGunzip() : enc === 'br' ? createBrotliDecompress() : enc === 'deflate' ? createInflate() : undefined;
  if (!decoder) {
    void src.return(undefined);
    throw new AttemptFailure(
      new NetworkError(`response from ${r} uses an unsupported content-encoding '${enc}'`, { code: 'E_BAD_RESPONSE', url: r }),
      false,
    );
  }
  // The transfer's own failure (a reset, a timeout) is reported as such, not as a corrupt encoding.
  let srcFailure: unknown;
  const input = (async function* () {
    try {
      yield* src;
    } catch (err) {
      srcFailure = err;
      throw err;
    }
  })();
  let failure: unknown;
  const out = pipelineStreams(Readable.from(input, { objectMode: false }), decoder, (err) => {
    if (err) failure ??= err;
  });
  return (async function* () {
    try {
      for await (const chunk of out) yield chunk as Buffer;
    } catch (err) {
      const e = srcFailure ?? failure ?? err;
      if (e instanceof AttemptFailure) throw e;
      throw new AttemptFailure(
        new NetworkError(`response from ${r} has a corrupt ${enc} encoding: ${(e as Error).message}`, { code: 'E_BAD_RESPONSE', url: r, cause: e }),
        true,
      );
    }
    const late = srcFailure ?? failure;
    if (late !== undefined) throw late instanceof AttemptFailure ? late : new AttemptFailure(late as Error, true);
  })();
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
  const retryable = code !== undefined && (RETRYABLE_CODES.has(code) || PARSER_CODE.test(code));
  let netCode: NetworkError['code'] = 'E_NETWORK';
  if (code && TIMEOUT_CODES.has(code)) netCode = 'E_TIMEOUT';
  else if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') netCode = 'E_CONNECTION';
  else if (code && PARSER_CODE.test(code)) netCode = 'E_BAD_RESPONSE';
  const hint = code !== undefined && (CONNECT_CODES.has(code) || TIMEOUT_CODES.has(code))
    ? ' — check the network connection, proxy and URL (or use --offline with a filled cache)'
    : '';
  return new AttemptFailure(
    new NetworkError(`request to ${r} failed: ${describe(err)}${hint}`, { code: netCode, url: r, cause: err }),
    retryable,
  );
}
