import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HttpClient, isNotFound } from '../../src/net/http.js';
import { IntegrityError, NetworkError } from '../../src/errors.js';
import { ChannelServer, startChannelServer } from '../support/channel-server.js';

const BODY = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31 + 7) & 0xff));
const SHA = createHash('sha256').update(BODY).digest('hex');
const MD5 = createHash('md5').update(BODY).digest('hex');

let server: ChannelServer;
let dir: string;
const fast = (extra: ConstructorParameters<typeof HttpClient>[0] = {}) =>
  new HttpClient({ retries: 3, retryDelayMs: 1, maxRetryDelayMs: 5, timeoutMs: 2_000, ...extra });

beforeAll(async () => {
  server = await startChannelServer();
  server.route('/data.bin', BODY);
  server.route('/slow.bin', BODY);
  server.route('/slow2.bin', BODY);
  server.route('/doc.json', JSON.stringify({ hello: 'world' }), 'application/json');
  dir = await mkdtemp(join(tmpdir(), 'cgl-http-'));
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.clearFaults();
  server.requests.length = 0;
});

describe('HttpClient.request', () => {
  it('returns the body, status and lower-case headers', async () => {
    const res = await fast().request(server.url('/data.bin'));
    expect(res.status).toBe(200);
    expect(res.body.equals(BODY)).toBe(true);
    expect(res.headers['content-length']).toBe(String(BODY.length));
    expect(res.headers.etag).toMatch(/^"/);
  });

  it('getJson parses JSON', async () => {
    expect(await fast().getJson(server.url('/doc.json'))).toEqual({ hello: 'world' });
  });

  it('returns 304 for a matching If-None-Match', async () => {
    const first = await fast().request(server.url('/data.bin'));
    const second = await fast().request(server.url('/data.bin'), { headers: { 'if-none-match': first.headers.etag! } });
    expect(second.status).toBe(304);
    expect(second.body.length).toBe(0);
  });

  const retried: Array<[string, Parameters<ChannelServer['fault']>[0]['fault']]> = [
    ['HTTP 500', { kind: 'status', status: 500 }],
    ['HTTP 503', { kind: 'status', status: 503 }],
    ['HTTP 429', { kind: 'status', status: 429 }],
    ['connection reset', { kind: 'reset' }],
    ['truncated body', { kind: 'truncate', bytes: 1000 }],
  ];
  it.each(retried)('retries after %s and then succeeds', async (_name, fault) => {
    server.fault({ path: '/data.bin', fault, times: 2 });
    const retries: string[] = [];
    const res = await fast({ onRetry: (i) => retries.push(i.reason) }).request(server.url('/data.bin'));
    expect(res.body.equals(BODY)).toBe(true);
    expect(server.requestsTo('/data.bin')).toHaveLength(3);
    expect(retries).toHaveLength(2);
  });

  it('gives up after the configured number of retries with a NetworkError', async () => {
    server.fault({ path: '/data.bin', fault: { kind: 'status', status: 502 } });
    const err = await fast({ retries: 2 }).request(server.url('/data.bin')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).status).toBe(502);
    expect((err as Error).message).toContain('HTTP 502');
    expect(server.requestsTo('/data.bin')).toHaveLength(3);
  });

  it('never retries a 404 and says "not found" with the redacted URL', async () => {
    const url = server.url('/t/secret-token-123/conda-forge/linux-64/missing.json');
    const err = await fast().request(url).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toMatch(/not found/);
    expect((err as Error).message).toContain('/t/********/conda-forge/linux-64/missing.json');
    expect((err as Error).message).not.toContain('secret-token-123');
    expect(JSON.stringify({ ...(err as NetworkError), message: (err as Error).message })).not.toContain('secret-token-123');
    expect(server.requestsTo(/missing\.json$/)).toHaveLength(1);
  });

  it.each([401, 403, 410])('does not retry HTTP %i', async (status) => {
    server.fault({ path: '/data.bin', fault: { kind: 'status', status } });
    const err = await fast().request(server.url('/data.bin')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).status).toBe(status);
    expect(server.requestsTo('/data.bin')).toHaveLength(1);
  });

  it('times out a slow response, retries, and succeeds when the server recovers', async () => {
    // The server logs a delayed request only once it answers, so count attempts via onRetry.
    server.fault({ path: '/slow.bin', fault: { kind: 'delay', ms: 600 }, times: 1 });
    const reasons: string[] = [];
    const t0 = Date.now();
    const res = await fast({ timeoutMs: 150, onRetry: (i) => reasons.push(i.reason) }).request(server.url('/slow.bin'));
    expect(res.body.equals(BODY)).toBe(true);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/timed out/);
    expect(Date.now() - t0).toBeLessThan(550);
  });

  it('reports a timeout as a NetworkError once retries are exhausted', async () => {
    server.fault({ path: '/slow2.bin', fault: { kind: 'delay', ms: 600 } });
    const err = await fast({ timeoutMs: 100, retries: 1 }).request(server.url('/slow2.bin')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_TIMEOUT');
    expect((err as Error).message).toMatch(/timed out/);
  });

  it('retries a refused connection, then fails with a NetworkError naming the URL', async () => {
    const probe = await startChannelServer();
    const deadUrl = probe.url('/t/tok-dead/x.json');
    await probe.stop();
    const retries: number[] = [];
    const err = await fast({ retries: 2, onRetry: (i) => retries.push(i.attempt) }).request(deadUrl).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(retries).toEqual([1, 2]);
    expect((err as Error).message).toContain('/t/********/x.json');
    expect((err as Error).message).not.toContain('tok-dead');
  });

  it('reads file:// URLs and maps a missing file to not found', async () => {
    const f = join(dir, 'local.json');
    await writeFile(f, '{"a":1}');
    expect(await fast().getJson(pathToFileURL(f).href)).toEqual({ a: 1 });
    const err = await fast().request(pathToFileURL(join(dir, 'nope.json')).href).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
  });

  it('sends user:password@ credentials as Basic auth and keeps them out of errors', async () => {
    const url = server.url('/doc.json').replace('http://', 'http://alice:s3cr%40t@');
    expect(await fast().getJson(url)).toEqual({ hello: 'world' });
    const sent = server.requestsTo('/doc.json')[0]!.headers.authorization;
    expect(sent).toBe(`Basic ${Buffer.from('alice:s3cr@t').toString('base64')}`);
    const err = await fast().request(url.replace('doc.json', 'gone.json')).catch((e: unknown) => e);
    expect((err as Error).message).not.toContain('s3cr');
  });

  it.each(['gzip', 'br'] as const)('asks for and decodes %s content-encoding', async (enc) => {
    const { createServer } = await import('node:http');
    const { gzipSync, brotliCompressSync } = await import('node:zlib');
    const seen: Array<string | undefined> = [];
    const srv = createServer((req, res) => {
      seen.push(req.headers['accept-encoding']);
      const body = enc === 'gzip' ? gzipSync(BODY) : brotliCompressSync(BODY);
      res.writeHead(200, { 'content-encoding': enc, 'content-length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as import('node:net').AddressInfo).port;
      const res = await fast().request(`http://127.0.0.1:${port}/x`);
      expect(res.body.equals(BODY)).toBe(true);
      expect(seen[0]).toContain(enc);
    } finally {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  it('limits concurrency', async () => {
    server.fault({ path: '/data.bin', fault: { kind: 'delay', ms: 60 } });
    const client = fast({ concurrency: 2 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => client.request(server.url('/data.bin'))));
    // 4 requests, 2 at a time, 60 ms each: at least two rounds.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });
});

describe('HttpClient.download', () => {
  const listParts = async () => (await readdir(dir)).filter((f) => f.endsWith('.part'));

  it('streams to disk and returns size, sha256 and md5', async () => {
    const dest = join(dir, 'sub', 'out.bin');
    const progress: number[] = [];
    const r = await fast().download(server.url('/data.bin'), dest, { onProgress: (n) => progress.push(n) });
    expect(r).toEqual({ size: BODY.length, sha256: SHA, md5: MD5 });
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(progress.at(-1)).toBe(BODY.length);
  });

  it('a progress callback that throws fails the download and leaves no file (never a short one that looks whole)', async () => {
    const dest = join(dir, 'progress-throws.bin');
    const onProgress = (n: number) => {
      if (n > 0) throw new Error('progress display broke'); // on the first chunk
    };
    await expect(fast().download(server.url('/data.bin'), dest, { onProgress })).rejects.toThrow(/progress display broke/);
    await expect(readFile(dest)).rejects.toThrow(/ENOENT/);
    expect(await listParts()).toEqual([]);
  });

  it('md5: false skips the md5 (an expected md5 still computes and checks it)', async () => {
    const r = await fast().download(server.url('/data.bin'), join(dir, 'nomd5.bin'), { md5: false });
    expect(r).toEqual({ size: BODY.length, sha256: SHA });
    const m = await fast().download(server.url('/data.bin'), join(dir, 'md5.bin'), { md5: false, expectedMd5: MD5 });
    expect(m.md5).toBe(MD5);
    await expect(fast().download(server.url('/data.bin'), join(dir, 'bad.bin'), { md5: false, expectedMd5: '0'.repeat(32) })).rejects.toThrow(/md5 mismatch/);
  });

  it('retries a truncated body and leaves no temp file behind', async () => {
    server.fault({ path: '/data.bin', fault: { kind: 'truncate', bytes: 4096 }, times: 1 });
    const dest = join(dir, 'trunc.bin');
    const r = await fast().download(server.url('/data.bin'), dest, { expectedSize: BODY.length, expectedSha256: SHA });
    expect(r.sha256).toBe(SHA);
    expect(server.requestsTo('/data.bin')).toHaveLength(2);
    expect(await listParts()).toEqual([]);
  });

  it('fails with NetworkError when every attempt is truncated, removing the temp file', async () => {
    server.fault({ path: '/data.bin', fault: { kind: 'truncate', bytes: 4096 } });
    const dest = join(dir, 'never.bin');
    const err = await fast({ retries: 1 }).download(server.url('/data.bin'), dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(await listParts()).toEqual([]);
    expect((await readdir(dir)).includes('never.bin')).toBe(false);
  });

  it('rejects corrupted bytes with IntegrityError (not retried) and keeps dest absent', async () => {
    server.fault({ path: '/data.bin', fault: { kind: 'corrupt' } });
    const dest = join(dir, 'corrupt.bin');
    const err = await fast().download(server.url('/data.bin'), dest, { expectedSha256: SHA }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain('sha256 mismatch');
    expect(server.requestsTo('/data.bin')).toHaveLength(1);
    expect((await readdir(dir)).includes('corrupt.bin')).toBe(false);
    expect(await listParts()).toEqual([]);
  });

  it('rejects a size different from expectedSize', async () => {
    const err = await fast()
      .download(server.url('/data.bin'), join(dir, 'size.bin'), { expectedSize: BODY.length + 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain('size mismatch');
  });

  it('404 is not retried and names the redacted URL', async () => {
    const err = await fast()
      .download(server.url('/t/tok-abc/x/missing.conda'), join(dir, 'm.conda'))
      .catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).not.toContain('tok-abc');
    expect(server.requestsTo(/missing\.conda$/)).toHaveLength(1);
  });

  it('copies file:// sources with hashes', async () => {
    const src = join(dir, 'src.bin');
    await writeFile(src, BODY);
    const r = await fast().download(pathToFileURL(src).href, join(dir, 'copy.bin'));
    expect(r).toEqual({ size: BODY.length, sha256: SHA, md5: MD5 });
  });
});
