/**
 * Starting zstddec's WASM decoder (shards, small repodata) must not load Node's fetch (undici, ~20–35
 * ms of a warm lock), and must leave `fetch` working. Run in a fresh process: the test runner itself
 * may have loaded undici already.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { haveZstdCli, zstdCompress } from '../support/shards.js';

const zstdModule = fileURLToPath(new URL('../../src/compress/zstd.ts', import.meta.url));

describe.skipIf(!haveZstdCli)('zstd WASM start-up', () => {
  it('decodes without loading undici, and fetch still works afterwards', () => {
    const input = zstdCompress(Buffer.from('{"packages":{}}'.repeat(50))).toString('base64');
    const script = `
      const { decompressZstd } = await import(${JSON.stringify(zstdModule)});
      const out = await decompressZstd(Buffer.from(${JSON.stringify(input)}, 'base64'), 'wasm');
      const undiciBefore = process.moduleLoadList.some((m) => m.includes('undici'));
      const fetchType = typeof fetch;
      const res = await fetch('data:text/plain,ok');
      console.log(JSON.stringify({ length: out.length, undiciBefore, fetchType, text: await res.text() }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ length: 15 * 50, undiciBefore: false, fetchType: 'function', text: 'ok' });
  });
});
