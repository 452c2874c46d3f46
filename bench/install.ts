/**
 * Extraction throughput: our extractor (src/install/extract) against the CLI pipeline
 * (`unzip -p | zstd -d | tar -x` for .conda, `tar -xjf` for .tar.bz2) on the same packages.
 * `.tar.bz2` rows are measured twice: through `bzip2 -dc` (the default when the program exists)
 * and through the seek-bzip fallback (CONDA_GO_LOCK_BZIP2=js).
 *
 *   node --import tsx bench/install.ts [--quick]
 *
 * Packages: the real fixture .conda/.tar.bz2 files (small, 0.1 MB) when ../shared/fixtures is
 * present, plus generated ones: a ~50 MB .conda (random + text files; tar | zstd -10 from stdin so
 * the frames carry no content size, like conda-package-handling's) and a ~20 MB .tar.bz2.
 * One run each (the machine is shared); MB/s is extracted (uncompressed) file bytes per second.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { extractPackage } from '../src/install/extract/index.js';
import { fixture, haveFixtures } from '../test/support/fixtures.js';

const quick = process.argv.includes('--quick');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

async function buildTree(dir: string, randomMB: number, textMB: number): Promise<void> {
  const next = rng(42);
  await mkdir(join(dir, 'info'), { recursive: true });
  await writeFile(join(dir, 'info', 'index.json'), JSON.stringify({ name: 'bench', version: '1.0', build: '0' }));
  await mkdir(join(dir, 'lib'), { recursive: true });
  const chunk = 1 << 20;
  for (let f = 0; f < Math.ceil(randomMB / 8); f++) {
    const size = Math.min(8, randomMB - f * 8) * chunk;
    const buf = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i += 4) buf.writeUInt32LE(next(), i);
    await writeFile(join(dir, 'lib', `blob${f}.so`), buf);
  }
  const words = ['conda', 'go', 'lock', 'package', 'solver', 'version', 'channel', 'platform', 'prefix', 'toolchain'];
  const files = Math.max(1, Math.floor((textMB * chunk) / 16384));
  for (let f = 0; f < files; f++) {
    const d = join(dir, 'share', `d${f % 50}`);
    await mkdir(d, { recursive: true });
    let text = '';
    while (text.length < 16384) text += `${words[next() % words.length]} ${next() % 100000}\n`;
    await writeFile(join(d, `f${f}.txt`), text.slice(0, 16384));
  }
}

function sh(cmd: string): void {
  execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function makeConda(src: string, out: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'cgl-bench-conda-'));
  const stem = basename(out, '.conda');
  sh(`cd "${src}" && tar -cf - --exclude=info . | zstd -q -10 -c > "${work}/pkg-${stem}.tar.zst"`);
  sh(`cd "${src}" && tar -cf - info | zstd -q -10 -c > "${work}/info-${stem}.tar.zst"`);
  await writeFile(join(work, 'metadata.json'), '{"conda_pkg_format_version": 2}');
  sh(`cd "${work}" && rm -f "${out}" && zip -q -0 "${out}" metadata.json "info-${stem}.tar.zst" "pkg-${stem}.tar.zst"`);
  await rm(work, { recursive: true, force: true });
}

async function makeTarBz2(src: string, out: string): Promise<void> {
  sh(`cd "${src}" && tar -cf - . | bzip2 -9 -c > "${out}"`);
}

function cliCommand(archive: string, dest: string): string {
  if (archive.endsWith('.tar.bz2')) return `tar -xjf "${archive}" -C "${dest}"`;
  return (
    `unzip -p "${archive}" '*pkg-*.tar.zst' | zstd -d -c | tar -xf - -C "${dest}" && ` +
    `unzip -p "${archive}" '*info-*.tar.zst' | zstd -d -c | tar -xf - -C "${dest}"`
  );
}

interface Row {
  name: string;
  archiveMB: number;
  dataMB: number;
  oursMs: number;
  cliMs: number;
}

async function measure(archive: string, scratch: string): Promise<Row> {
  const ours = join(scratch, 'ours');
  const cli = join(scratch, 'cli');
  await rm(ours, { recursive: true, force: true });
  await rm(cli, { recursive: true, force: true });
  let t = performance.now();
  const r = await extractPackage(archive, ours);
  const oursMs = performance.now() - t;
  await mkdir(cli, { recursive: true });
  t = performance.now();
  const p = spawnSync('sh', ['-c', cliCommand(archive, cli)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const cliMs = performance.now() - t;
  if (p.status !== 0) throw new Error(`CLI extraction of ${archive} failed: ${p.stderr}`);
  await rm(ours, { recursive: true, force: true });
  await rm(cli, { recursive: true, force: true });
  return { name: basename(archive), archiveMB: (await stat(archive)).size / 1e6, dataMB: r.bytes / 1e6, oursMs, cliMs };
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'cgl-bench-install-'));
  try {
    const archives: string[] = [];
    if (haveFixtures) {
      for (const p of [
        ['packages', 'defaults-zlib', 'linux-64', 'zlib-1.2.11-h7b6447c_3.tar.bz2'],
        ['packages', 'defaults-zlib', 'win-64', 'zlib-1.2.11-h62dcd97_3.conda'],
        ['packages', 'mock-2.0.0-py37_1000.conda'],
        ['packages', 'mock-2.0.0-py37_1000.tar.bz2'],
        ['packages', 'edge-cases', 'ca-certificates-2024.7.4-hbcca054_0.conda'],
      ]) {
        if (existsSync(fixture(...p))) archives.push(fixture(...p));
      }
    }
    const big = join(scratch, 'src-big');
    await buildTree(big, quick ? 4 : 25, quick ? 4 : 25);
    const bigConda = join(scratch, 'bench-big-1.0-0.conda');
    await makeConda(big, bigConda);
    archives.push(bigConda);
    const mid = join(scratch, 'src-mid');
    await buildTree(mid, quick ? 2 : 10, quick ? 2 : 10);
    const midConda = join(scratch, 'bench-mid-1.0-0.conda');
    const midBz2 = join(scratch, 'bench-mid-1.0-0.tar.bz2');
    await makeConda(mid, midConda);
    await makeTarBz2(mid, midBz2);
    archives.push(midConda, midBz2);

    const rows: Row[] = [];
    for (const a of archives) {
      rows.push(await measure(a, scratch));
      if (a.endsWith('.tar.bz2')) {
        // The same archive through the pure-JS fallback (what runs when there is no bzip2 program).
        process.env.CONDA_GO_LOCK_BZIP2 = 'js';
        try {
          const r = await measure(a, scratch);
          rows.push({ ...r, name: `${r.name} (seek-bzip fallback)` });
        } finally {
          delete process.env.CONDA_GO_LOCK_BZIP2;
        }
      }
    }

    const mbps = (mb: number, ms: number) => (mb / (ms / 1000)).toFixed(1);
    console.log(`node ${process.version}, ${process.platform}-${process.arch}; one run each (shared 2-core machine)`);
    console.log('');
    console.log('| package | archive MB | data MB | ours ms | ours MB/s | CLI ms | CLI MB/s | ours/CLI time |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${r.archiveMB.toFixed(2)} | ${r.dataMB.toFixed(2)} | ${r.oursMs.toFixed(0)} | ${mbps(r.dataMB, r.oursMs)} | ` +
          `${r.cliMs.toFixed(0)} | ${mbps(r.dataMB, r.cliMs)} | ${(r.oursMs / r.cliMs).toFixed(2)}x |`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
