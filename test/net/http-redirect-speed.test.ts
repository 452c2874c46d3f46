/**
 * Redirects (followed, loops named as such, credentials kept to their origin) and the minimum-speed
 * rule (a trickling server fails after the configured window, retried like any other fault).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, NetworkError } from '../../src/errors.js';
import { DEFAULT_MIN_SPEED, HttpClient, minSpeedFromEnv } from '../../src/net/http.js';
import { ChannelServer, startChannelServer } from '../support/channel-server.js';

const BODY = Buffer.alloc(20_000, 7);

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const close = (s: Server) => {
  s.closeAllConnections();
  return new Promise<void>((r) => s.close(() => r()));
};

describe('redirects', () => {
  let srv: Server;
  let base: string;
  let other: Server;
  let otherBase: string;
  const seenAuth: Record<string, string | undefined> = {};

  beforeAll(async () => {
    ({ server: other, base: otherBase } = await listen((req, res) => {
      seenAuth[`other${req.url}`] = req.headers.authorization;
      res.end(BODY);
    }));
    ({ server: srv, base } = await listen((req, res) => {
      const url = req.url ?? '/';
      seenAuth[url] = req.headers.authorization;
      const to = (location: string, status = 302) => {
        res.writeHead(status, { location });
        res.end();
      };
      if (url === '/a') return to('/b', 301);
      if (url === '/b') return to('/data', 307);
      if (url === '/loop1') return to('/loop2');
      if (url === '/loop2') return to(`${base}/loop1`);
      if (url === '/self') return to('/self');
      if (url.startsWith('/chain/')) return to(`/chain/${Number(url.slice(7)) + 1}`);
      if (url === '/elsewhere') return to(`${otherBase}/data`);
      if (url === '/ftp') return to('ftp://example.invalid/x');
      if (url === '/data') return res.end(BODY);
      res.statusCode = 404;
      res.end();
    }));
  });
  afterAll(async () => {
    await close(srv);
    await close(other);
  });

  const client = () => new HttpClient({ retries: 2, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 2_000 });

  it('follows 301/302/307 to the final body, for request() and download()', async () => {
    expect((await client().request(`${base}/a`)).body.equals(BODY)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'cgl-redir-'));
    try {
      expect((await client().download(`${base}/a`, join(dir, 'x'))).size).toBe(BODY.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['two URLs pointing at each other', '/loop1', '/loop1'],
    ['a URL pointing at itself', '/self', '/self'],
  ])('%s: "redirect loop at URL", not retried', async (_n, start, at) => {
    const retries: string[] = [];
    const c = new HttpClient({ retries: 2, retryDelayMs: 1, onRetry: (r) => retries.push(r.reason) });
    const err = await c.request(`${base}${start}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_REDIRECT');
    expect((err as Error).message).toContain(`redirect loop at ${base}${at}`);
    expect((err as Error).message).not.toMatch(/UND_ERR|Agent/);
    expect(retries).toEqual([]);
  });

  it('more than 10 redirects is an error naming the first and last URL', async () => {
    const err = await client().request(`${base}/chain/0`).catch((e: unknown) => e);
    expect((err as NetworkError).code).toBe('E_REDIRECT');
    expect((err as Error).message).toMatch(/more than 10 redirects starting at .*\/chain\/0 \(last: .*\/chain\/11\)/);
  });

  it('a redirect to a non-http URL is refused', async () => {
    const err = await client().request(`${base}/ftp`).catch((e: unknown) => e);
    expect((err as Error).message).toContain('not an http(s) URL');
  });

  it('credentials go to their own origin only: a cross-origin redirect drops Authorization', async () => {
    const url = `${base}/elsewhere`.replace('http://', 'http://alice:pw@');
    expect((await client().request(url)).body.equals(BODY)).toBe(true);
    expect(seenAuth['/elsewhere']).toMatch(/^Basic /);
    expect(seenAuth['other/data']).toBeUndefined();
  });
});

describe('minimum transfer speed', () => {
  let server: ChannelServer;
  beforeAll(async () => {
    server = await startChannelServer();
    server.route('/pkg.conda', BODY);
  });
  afterAll(() => server.stop());

  it('a server trickling 1 byte per 20 ms fails after the window, retried, with E_TOO_SLOW', async () => {
    server.clearFaults();
    server.fault({ path: '/pkg.conda', fault: { kind: 'trickle', bytes: 1, intervalMs: 20 } });
    const reasons: string[] = [];
    const c = new HttpClient({ retries: 1, retryDelayMs: 1, minSpeed: { bytesPerSecond: 1000, windowMs: 300 }, onRetry: (r) => reasons.push(r.reason) });
    const dir = mkdtempSync(join(tmpdir(), 'cgl-slow-'));
    const t0 = Date.now();
    try {
      const err = await c.download(server.url('/pkg.conda'), join(dir, 'p')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).code).toBe('E_TOO_SLOW');
      expect((err as Error).message).toMatch(/transfer too slow: \d+ bytes\/s over 0\.3 s, below the minimum 1000 bytes\/s/);
      expect(reasons).toHaveLength(1);
      expect(server.requestsTo('/pkg.conda')).toHaveLength(2);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a slow server that recovers succeeds on the retry', async () => {
    server.clearFaults();
    server.fault({ path: '/pkg.conda', fault: { kind: 'trickle', bytes: 1, intervalMs: 20 }, times: 1 });
    const c = new HttpClient({ retries: 2, retryDelayMs: 1, minSpeed: { bytesPerSecond: 1000, windowMs: 300 } });
    expect((await c.request(server.url('/pkg.conda'))).body.equals(BODY)).toBe(true);
  });

  it('a slow but steady transfer above the minimum is left alone', async () => {
    server.clearFaults();
    // 2000 bytes every 50 ms = 40 KB/s for 0.5 s, over a 100 B/s minimum measured every 150 ms.
    server.fault({ path: '/pkg.conda', fault: { kind: 'trickle', bytes: 2000, intervalMs: 50 } });
    const c = new HttpClient({ retries: 0, minSpeed: { bytesPerSecond: 100, windowMs: 150 } });
    expect((await c.request(server.url('/pkg.conda'))).body.equals(BODY)).toBe(true);
  });

  it('CONDA_GO_LOCK_MIN_SPEED / _TIME configure it; 0 turns it off; nonsense is a usage error', () => {
    expect(minSpeedFromEnv({})).toEqual(DEFAULT_MIN_SPEED);
    expect(minSpeedFromEnv({ CONDA_GO_LOCK_MIN_SPEED: '50', CONDA_GO_LOCK_MIN_SPEED_TIME: '2.5' })).toEqual({ bytesPerSecond: 50, windowMs: 2500 });
    expect(minSpeedFromEnv({ CONDA_GO_LOCK_MIN_SPEED: '0' }).bytesPerSecond).toBe(0);
    expect(() => minSpeedFromEnv({ CONDA_GO_LOCK_MIN_SPEED: 'fast' })).toThrow(UsageError);
    expect(() => minSpeedFromEnv({ CONDA_GO_LOCK_MIN_SPEED_TIME: '0' })).toThrow(/CONDA_GO_LOCK_MIN_SPEED_TIME/);
  });
});
