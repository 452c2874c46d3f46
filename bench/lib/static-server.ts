/**
 * A plain static file server on 127.0.0.1 for the benchmarks: streams files from disk (no
 * buffering of 300 MB bodies), answers If-None-Match / If-Modified-Since with 304 using an ETag
 * made of size + mtime (no hashing per request, so the server costs the measured processes as
 * little CPU as possible), counts requests per mount, and can hide files by suffix (e.g. serve a
 * channel without its .zst or its shards).
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface StaticMount {
  /** URL prefix, e.g. '/full/conda-forge'. */
  prefix: string;
  dir: string;
  /** Answer 404 for paths ending in one of these. */
  hide?: string[];
}

export class StaticServer {
  private server: Server | undefined;
  private mounts: StaticMount[] = [];
  port = 0;
  /** Requests per mount prefix (reset with resetCounts). */
  counts = new Map<string, { requests: number; notModified: number; bytes: number }>();

  mount(m: StaticMount): this {
    this.mounts.push({ ...m, prefix: m.prefix.replace(/\/+$/, '') });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  url(prefix: string): string {
    return `http://127.0.0.1:${this.port}${prefix}`;
  }

  resetCounts(): void {
    this.counts.clear();
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const m = this.mounts.find((mm) => path.startsWith(`${mm.prefix}/`));
      const c = m ? (this.counts.get(m.prefix) ?? { requests: 0, notModified: 0, bytes: 0 }) : undefined;
      if (m && c) {
        c.requests++;
        this.counts.set(m.prefix, c);
      }
      const notFound = () => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      };
      if (!m || m.hide?.some((h) => path.endsWith(h))) return notFound();
      const file = normalize(join(m.dir, path.slice(m.prefix.length)));
      if (!file.startsWith(m.dir.endsWith(sep) ? m.dir : m.dir + sep)) return notFound();
      let st;
      try {
        st = statSync(file);
      } catch {
        return notFound();
      }
      if (!st.isFile()) return notFound();
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
      if (req.headers['if-none-match'] === etag) {
        c!.notModified++;
        res.writeHead(304, { etag, 'last-modified': lastModified });
        res.end();
        return;
      }
      c!.bytes += st.size;
      res.writeHead(200, {
        'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        'content-length': String(st.size),
        etag,
        'last-modified': lastModified,
      });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
