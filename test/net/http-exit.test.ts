/**
 * When the process starts exiting (SIGINT/SIGTERM or a crash, src/cleanup.ts runExitCleanups), every
 * HTTP request stops — one stalled in its body and one still waiting for its response headers — so
 * a download cannot open or rename its `.part` after the task that removes it has run (the
 * install-signals failure on CI); their temp files are gone once the cleanups return, and nothing is
 * retried. (A writer already creating its temp is waited for: test/fs/atomic.test.ts.) The exit
 * signal stays aborted, so this file runs on its own (vitest isolates test files).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitSignal, runExitCleanups } from '../../src/cleanup.js';
import { HttpClient } from '../../src/net/http.js';

const dir = mkdtempSync(join(tmpdir(), 'cgl-http-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('downloads when the process exits', () => {
  it('a stalled body and a response still on its way are both abandoned, leaving no temp file', async () => {
    const held: ServerResponse[] = [];
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      if (req.url === '/half') {
        res.writeHead(200, { 'content-length': '2000' });
        res.write(Buffer.alloc(1000, 1));
      }
      held.push(res); // '/late' gets nothing until the exit has started
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const http = new HttpClient({ retries: 3, retryDelayMs: 10, timeoutMs: 30_000 });
      const half = http.download(`${base}/half`, join(dir, 'half.bin'));
      const late = http.download(`${base}/late`, join(dir, 'late.bin'));
      half.catch(() => undefined);
      late.catch(() => undefined);
      while (requests < 2 || !readdirSync(dir).some((n) => n.endsWith('.part'))) await new Promise((r) => setTimeout(r, 10));

      const cleaning = runExitCleanups();
      // The late response arrives just after the exit began.
      const lateRes = held.find((r) => !r.headersSent)!;
      lateRes.writeHead(200, { 'content-length': '2000' });
      lateRes.write(Buffer.alloc(1000, 2));
      await cleaning;

      expect(exitSignal.aborted).toBe(true);
      await expect(half).rejects.toThrow();
      await expect(late).rejects.toThrow();
      expect(readdirSync(dir)).toEqual([]);
      // Nothing is retried, and nothing new starts.
      const before = requests;
      await expect(http.download(`${base}/half`, join(dir, 'again.bin'))).rejects.toThrow();
      expect(requests).toBe(before);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
