/**
 * Downloads from servers that close the connection after every response (HTTP/1.0,
 * `Connection: close`) while the consumer is slow. undici 7 crashed the whole process here with an
 * uncatchable `assert(!this.paused)` (nodejs/undici #5360) in 5 of 5 runs of 60 files; the client
 * must finish every run, with every byte right.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/net/http.js';
import { havePython3, pythonServerSkipReason, startPythonHttpServer, type PythonHttpServer } from '../support/python-server.js';

interface Served {
  name: string;
  size: number;
  sha256: string;
}

/** `n` files whose sizes spread log-uniformly from 10 KB to `maxBytes`, deterministic per index. */
function writeFiles(dir: string, n: number, maxBytes: number): Served[] {
  const out: Served[] = [];
  for (let i = 0; i < n; i++) {
    const size = Math.round(Math.exp(Math.log(10_000) + ((i * 37) % n) / (n - 1) * (Math.log(maxBytes) - Math.log(10_000))));
    const body = randomBytes(size);
    const name = `pkg-${String(i).padStart(2, '0')}.conda`;
    writeFileSync(join(dir, name), body);
    out.push({ name, size, sha256: createHash('sha256').update(body).digest('hex') });
  }
  return out;
}

/** A slow consumer: the event loop is blocked `ms` out of every `2 * ms` (extraction, hashing, CPU load). */
function blockEventLoop(ms: number): () => void {
  const iv = setInterval(() => {
    const t = Date.now();
    while (Date.now() - t < ms);
  }, ms * 2);
  return () => clearInterval(iv);
}

describe.skipIf(!havePython3)(`downloads from python3 -m http.server (${havePython3 ? 'HTTP/1.0, closes every connection' : pythonServerSkipReason})`, () => {
  let root: string;
  let files: Served[];
  let server: PythonHttpServer;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cgl-close-'));
    const served = join(root, 'served');
    mkdirSync(served);
    files = writeFiles(served, 60, 8_000_000);
    server = await startPythonHttpServer(served);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([1, 2, 3, 4])('downloads 60 packages of 10 KB–8 MB with a slow consumer, every byte checked (run %i)', async (run) => {
    const out = join(root, `out-${run}`);
    const http = new HttpClient({ concurrency: 8, retries: 2, retryDelayMs: 10 });
    const unblock = blockEventLoop(15);
    try {
      const results = await Promise.all(
        files.map((f) => http.download(server.url(`/${f.name}`), join(out, f.name), { expectedSize: f.size, expectedSha256: f.sha256 })),
      );
      expect(results.map((r) => r.sha256)).toEqual(files.map((f) => f.sha256));
    } finally {
      unblock();
    }
    expect((await readdir(out)).filter((n) => n.endsWith('.part'))).toEqual([]);
    rmSync(out, { recursive: true, force: true });
  }, 30_000);
});

describe('downloads from a server that answers HTTP/1.1 with Connection: close and ends the socket', () => {
  let srv: Server;
  let port: number;
  const body = randomBytes(3_000_000);
  const sha = createHash('sha256').update(body).digest('hex');

  beforeAll(async () => {
    // The minimal reproduction of undici #5360: whole response written, then FIN, while the client is busy.
    srv = createServer((sock) => {
      sock.once('data', () => {
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        sock.end(body);
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as import('node:net').AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => srv.close(() => r())));

  it('completes 16 parallel downloads while the event loop is blocked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgl-close1-'));
    const http = new HttpClient({ concurrency: 16, retries: 0 });
    const unblock = blockEventLoop(25);
    try {
      const got = await Promise.all(Array.from({ length: 16 }, (_, i) => http.download(`http://127.0.0.1:${port}/f${i}`, join(dir, `f${i}`))));
      expect(got.every((g) => g.sha256 === sha && g.size === body.length)).toBe(true);
    } finally {
      unblock();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
