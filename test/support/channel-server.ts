/**
 * A real HTTP server on 127.0.0.1 (random port) for tests.
 *
 * It serves files from one or more mounted directories and in-memory routes,
 * answers conditional requests (ETag / If-None-Match, Last-Modified / If-Modified-Since)
 * with 304, and can inject faults per path: error statuses, slow responses,
 * truncated bodies, corrupted bytes, connection resets. Every request is logged
 * so tests can assert what was (and was not) fetched.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Answer with this HTTP status (and a short text body). */
  | { kind: 'status'; status: number }
  /** Wait this long before answering normally. */
  | { kind: 'delay'; ms: number }
  /** Send the headers with the full Content-Length but only the first `bytes` of the body, then destroy the socket. */
  | { kind: 'truncate'; bytes: number }
  /** Flip bytes in the body (same length). */
  | { kind: 'corrupt' }
  /** Destroy the socket without any response. */
  | { kind: 'reset' }
  /** Send the body `bytes` at a time, one piece every `intervalMs` (a slow or hung mirror). */
  | { kind: 'trickle'; bytes: number; intervalMs: number }
  /** Answer with a redirect to `to` (a path on this server or a URL), e.g. back to itself. */
  | { kind: 'redirect'; to: string; status?: number };

export interface FaultRule {
  /** Exact path or a RegExp matched against the request path (without query). */
  path: string | RegExp;
  fault: Fault;
  /** How many requests the fault applies to; afterwards the path behaves normally. Default: every request. */
  times?: number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  url: string;
  status: number;
  headers: IncomingMessage['headers'];
}

interface Mount {
  prefix: string;
  dir: string;
}

export class ChannelServer {
  readonly requests: RequestLogEntry[] = [];
  private server: Server | undefined;
  private mounts: Mount[] = [];
  private routes = new Map<string, { body: Buffer; contentType: string; lastModified: Date }>();
  private faults: Array<FaultRule & { used: number }> = [];
  private port = 0;
  private encoding: 'gzip' | 'br' | undefined;
  /** Responses per path whose body is still being sent. */
  private readonly active = new Map<string, number>();

  /** Serve files under `dir` at URL path `prefix` (e.g. '/conda-forge'). */
  mount(prefix: string, dir: string): this {
    this.mounts.push({ prefix: prefix.replace(/\/+$/, ''), dir });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  /** Serve `body` at exactly `path`. Replaces an earlier route at that path. */
  route(path: string, body: string | Uint8Array, contentType = 'application/octet-stream'): this {
    this.routes.set(path, { body: Buffer.from(body), contentType, lastModified: new Date() });
    return this;
  }

  /**
   * Send bodies with this content-encoding to clients that accept it (as CDNs do for JSON);
   * Content-Length, the truncate and corrupt faults then apply to the encoded bytes. undefined: off.
   */
  contentEncoding(encoding: 'gzip' | 'br' | undefined): this {
    this.encoding = encoding;
    return this;
  }

  fault(rule: FaultRule): this {
    this.faults.push({ ...rule, used: 0 });
    return this;
  }

  clearFaults(): void {
    this.faults = [];
  }

  get baseUrl(): string {
    if (!this.port) throw new Error('ChannelServer not started');
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return this.baseUrl + (path.startsWith('/') ? path : `/${path}`);
  }

  /** How many responses to `path` are still being sent (the body not yet all handed to the socket). */
  sending(path: string): number {
    return this.active.get(path) ?? 0;
  }

  /** Requests whose path matches. */
  requestsTo(path: string | RegExp): RequestLogEntry[] {
    return this.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end(String(err));
        } else {
          res.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private takeFault(path: string): Fault | undefined {
    for (const rule of this.faults) {
      const hit = typeof rule.path === 'string' ? rule.path === path : rule.path.test(path);
      if (!hit) continue;
      if (rule.times !== undefined && rule.used >= rule.times) continue;
      rule.used++;
      return rule.fault;
    }
    return undefined;
  }

  private async lookup(path: string): Promise<{ body: Buffer; contentType: string; lastModified: Date } | undefined> {
    const route = this.routes.get(path);
    if (route) return route;
    for (const m of this.mounts) {
      if (path !== m.prefix && !path.startsWith(m.prefix + '/')) continue;
      const rel = path.slice(m.prefix.length);
      const file = normalize(join(m.dir, decodeURIComponent(rel)));
      if (file !== m.dir && !file.startsWith(m.dir.endsWith(sep) ? m.dir : m.dir + sep)) return undefined;
      try {
        const st = await stat(file);
        if (!st.isFile()) continue;
        return { body: await readFile(file), contentType: contentTypeFor(file), lastModified: st.mtime };
      } catch {
        continue;
      }
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const log = (status: number) =>
      this.requests.push({ method: req.method ?? 'GET', path, url: url.pathname + url.search, status, headers: req.headers });

    this.active.set(path, (this.active.get(path) ?? 0) + 1);
    let counted = true;
    const finished = () => {
      if (!counted) return;
      counted = false;
      this.active.set(path, (this.active.get(path) ?? 1) - 1);
    };
    res.once('finish', finished);
    res.once('close', finished);
    const fault = this.takeFault(path);
    if (fault?.kind === 'reset') {
      log(0);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      log(fault.status);
      res.writeHead(fault.status, { 'content-type': 'text/plain' });
      res.end(`injected status ${fault.status}`);
      return;
    }
    if (fault?.kind === 'redirect') {
      const status = fault.status ?? 302;
      log(status);
      res.writeHead(status, { location: fault.to });
      res.end();
      return;
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));

    const entry = await this.lookup(path);
    if (!entry) {
      log(404);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const etag = `"${createHash('sha256').update(entry.body).digest('hex').slice(0, 32)}"`;
    const lastModified = new Date(Math.floor(entry.lastModified.getTime() / 1000) * 1000);
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    const notModified =
      (inm !== undefined && inm.split(/\s*,\s*/).includes(etag)) ||
      (inm === undefined && ims !== undefined && new Date(ims).getTime() >= lastModified.getTime());
    if (notModified) {
      log(304);
      res.writeHead(304, { etag, 'last-modified': lastModified.toUTCString() });
      res.end();
      return;
    }
    let body = entry.body;
    const encoded = this.encoding !== undefined && String(req.headers['accept-encoding'] ?? '').split(/\s*,\s*/).includes(this.encoding);
    if (encoded) body = this.encoding === 'gzip' ? gzipSync(body) : brotliCompressSync(body);
    if (fault?.kind === 'corrupt') {
      body = Buffer.from(body);
      for (let i = 0; i < body.length; i += 97) body[i] = body[i]! ^ 0xff;
    }
    log(200);
    res.writeHead(200, {
      'content-type': entry.contentType,
      'content-length': String(body.length),
      ...(encoded ? { 'content-encoding': this.encoding } : {}),
      etag,
      'last-modified': lastModified.toUTCString(),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (fault?.kind === 'trickle') {
      let off = 0;
      const step = Math.max(1, fault.bytes);
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(body.subarray(off, off + step));
        off += step;
        if (off >= body.length) {
          clearInterval(timer);
          res.end();
        }
      }, fault.intervalMs);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (fault?.kind === 'truncate') {
      res.write(body.subarray(0, Math.min(fault.bytes, body.length)));
      // Give the bytes a moment to leave, then cut the connection mid-body.
      setTimeout(() => res.destroy(), 20);
      return;
    }
    res.end(body);
  }
}

function contentTypeFor(file: string): string {
  if (file.endsWith('.json')) return 'application/json';
  if (file.endsWith('.zst')) return 'application/zstd';
  if (file.endsWith('.bz2')) return 'application/x-bzip2';
  if (file.endsWith('.zip') || file.endsWith('.conda')) return 'application/zip';
  if (file.endsWith('.tar.gz')) return 'application/gzip';
  return 'application/octet-stream';
}

/** Start a server for the duration of a test file: `const srv = await startChannelServer()`. */
export async function startChannelServer(): Promise<ChannelServer> {
  return new ChannelServer().start();
}
