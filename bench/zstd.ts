/**
 * zstd engines on one repodata.json.zst: Node's built-in zstd (when the runtime has it), the
 * `zstd -dc` child process, zstddec's WASM streaming decoder. Prints MB/s of decompressed output and
 * the ratio of each engine's time to the CLI's (the native reference), median of --repeat runs.
 *
 *   node --import tsx bench/zstd.ts [FILE.zst] [--repeat 3]
 * Without FILE: the linux-64 file of the lock-scale channel in $TMPDIR/conda-go-lock-bench (generated
 * by bench/lock-scale.ts), else the real 2 MB fixture.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decompressZstd, zstdEngines, type ZstdEngine } from '../src/compress/zstd.js';

const { values, positionals } = parseArgs({ options: { repeat: { type: 'string', default: '3' } }, allowPositionals: true });
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
function defaultFile(): string {
  const dir = join(tmpdir(), 'conda-go-lock-bench');
  if (existsSync(dir)) {
    for (const d of readdirSync(dir).sort()) {
      const f = join(dir, d, 'linux-64', 'repodata.json.zst');
      if (existsSync(f)) return f;
    }
  }
  return resolve(root, '..', 'shared', 'fixtures', 'repodata', 'conda-forge-subchannel-py39-2024-05', 'linux-64', 'repodata.json.zst');
}
const file = positionals[0] ?? defaultFile();
const data = readFileSync(file);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const times = new Map<ZstdEngine, number>();
let size = 0;
for (const engine of zstdEngines()) {
  const ms: number[] = [];
  for (let k = 0; k < Number(values.repeat); k++) {
    const t = performance.now();
    size = (await decompressZstd(data, engine)).length;
    ms.push(performance.now() - t);
  }
  times.set(engine, median(ms));
}
console.log(`${file}: ${(data.length / 2 ** 20).toFixed(1)} MiB → ${(size / 2 ** 20).toFixed(1)} MiB, node ${process.version}`);
console.log('| engine | ms | MB/s | time / zstd CLI |');
console.log('|---|---:|---:|---:|');
const cli = times.get('cli');
for (const [e, ms] of times) console.log(`| ${e} | ${ms.toFixed(0)} | ${(size / 1e6 / (ms / 1000)).toFixed(0)} | ${cli ? (ms / cli).toFixed(2) : '-'} |`);
