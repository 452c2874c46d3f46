/**
 * PyPI resolution benchmark (issue 12): a 30-requirement pip: section on 3 platforms against the
 * loopback PyPI index (test/support/pypi-index-server.ts serving resolvelib's frozen 2020-11-17
 * index: 775 projects with their real Requires-Dist, PEP 691 pages + PEP 658 metadata files).
 *
 *   node --import tsx bench/pypi.ts [--repeat 3] [--requirements 30] [--index pypi-2020-11-17-cheroot]
 *
 * One run = what `lock` does: one PypiIndexClient and one PypiFetchState for all platforms
 * (linux-64, osx-arm64, win-64), every platform resolved concurrently, then the sha256/size of each
 * locked file. Three kinds of run, each printed with its time, requests, bytes and counts:
 * - cold: empty cache (every page and metadata file fetched);
 * - warm: the same cache, online (every URL revalidated: 304s, no bodies);
 * - offline: the same cache, no requests at all.
 * The reference is the cold run in this process: warm and offline are shown as ratios of it.
 * It also checks the issue's rules: metadata files fetched only for versions the resolver tried
 * (never more than one per version that has a page), and no wheel downloaded (PEP 658 exists).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HttpClient } from '../src/net/http.js';
import { PypiIndexClient, type IndexStats } from '../src/pypi-index/client.js';
import { parseRequirement } from '../src/pypi/requirement.js';
import { PypiFetchState, resolvePypi } from '../src/solver/pypi/resolve.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../test/support/fixtures.js';
import { PypiIndexServer } from '../test/support/pypi-index-server.js';

const { values } = parseArgs({
  options: {
    repeat: { type: 'string', default: '3' },
    requirements: { type: 'string', default: '30' },
    index: { type: 'string', default: 'pypi-2020-11-17-cheroot' },
  },
});
if (!haveFixtures) {
  console.log(`bench/pypi.ts: skipped (${fixturesSkipReason})`);
  process.exit(0);
}

const PLATFORMS = [
  { platform: 'linux-64', facts: { platform: 'linux-64', glibc: [2, 17] as [number, number] } },
  { platform: 'osx-arm64', facts: { platform: 'osx-arm64', osx: [11, 0] as [number, number] } },
  { platform: 'win-64', facts: { platform: 'win-64' } },
];
const PYTHON = { version: '3.8.6', implementation: 'cpython' as const };

const indexFile = JSON.parse(readFileSync(fixture('pypi', 'resolvelib', 'inputs', 'index', `${values.index}.json`), 'utf8')) as Record<string, Record<string, unknown>>;
const server = await new PypiIndexServer().addResolvelibIndex(values.index!).start();
const http = new HttpClient({ retries: 0, concurrency: 16 });

/** The first N projects of the index that resolve together on every platform (the index's own order). */
async function pickRequirements(n: number): Promise<string[]> {
  const cache = mkdtempSync(join(tmpdir(), 'cgl-bench-pypi-pick-'));
  const state = new PypiFetchState(new PypiIndexClient({ indexes: [{ url: server.indexUrl, redacted: server.indexUrl }], http, cacheDir: cache }));
  const picked: string[] = [];
  try {
    for (const name of Object.keys(indexFile)) {
      if (picked.length >= n) break;
      const trial = [...picked, name];
      try {
        for (const p of PLATFORMS) {
          await resolvePypi({ platform: p.platform, requirements: trial.map(parseRequirement), python: PYTHON, facts: p.facts, conda: [] }, state);
        }
        picked.push(name);
      } catch {
        // conflicts with the ones picked so far (or has no wheel for a platform): skip it
      }
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
  return picked;
}

interface RunResult {
  ms: number;
  stats: IndexStats;
  wheels: number;
  /** Metadata files / distinct (project, version) pairs whose files the pages listed. */
  versionsListed: number;
  log304: number;
}

async function run(requirements: string[], cacheDir: string, offline: boolean): Promise<RunResult> {
  const client = new PypiIndexClient({ indexes: [{ url: server.indexUrl, redacted: server.indexUrl }], http, cacheDir, offline });
  const state = new PypiFetchState(client);
  const before = server.log.length;
  const started = performance.now();
  const results = await Promise.all(
    PLATFORMS.map((p) => resolvePypi({ platform: p.platform, requirements: requirements.map(parseRequirement), python: PYTHON, facts: p.facts, conda: [] }, state)),
  );
  for (const r of results) for (const w of r.wheels) await client.fileDigest(w.file);
  const ms = performance.now() - started;
  let versionsListed = 0;
  for (const data of state.projects.values()) versionsListed += data ? new Set(data.files.map((f) => f.filename)).size : 0;
  return {
    ms,
    stats: { ...client.stats },
    wheels: results.reduce((a, r) => a + r.wheels.length, 0),
    versionsListed,
    log304: server.log.slice(before).filter((l) => l.status === 304).length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

const requirements = await pickRequirements(Number(values.requirements));
console.log(`bench/pypi.ts: ${requirements.length} requirements from ${values.index} × ${PLATFORMS.map((p) => p.platform).join(', ')} (python ${PYTHON.version})`);
console.log(`requirements: ${requirements.join(', ')}\n`);

const rows: Array<{ kind: string; r: RunResult }> = [];
const cold: number[] = [];
const warm: number[] = [];
const off: number[] = [];
for (let i = 0; i < Number(values.repeat); i++) {
  const cacheDir = mkdtempSync(join(tmpdir(), 'cgl-bench-pypi-'));
  try {
    const c = await run(requirements, cacheDir, false);
    const w = await run(requirements, cacheDir, false);
    const o = await run(requirements, cacheDir, true);
    cold.push(c.ms);
    warm.push(w.ms);
    off.push(o.ms);
    if (i === 0) rows.push({ kind: 'cold', r: c }, { kind: 'warm (304s)', r: w }, { kind: 'offline', r: o });
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

const ref = median(cold);
console.log('| run | median ms | vs cold | requests | 304s | bytes | pages | metadata files | versions listed | wheels downloaded | HEADs | wheels locked |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const { kind, r } of rows) {
  const ms = kind === 'cold' ? ref : kind === 'offline' ? median(off) : median(warm);
  console.log(
    `| ${kind} | ${ms.toFixed(0)} | ${(ms / ref).toFixed(2)}× | ${r.stats.requests} | ${r.log304} | ${kb(r.stats.bytes)} | ${r.stats.pages} | ${r.stats.metadataFiles} | ${r.versionsListed} | ${r.stats.wheels} | ${r.stats.heads} | ${r.wheels} |`,
  );
}
const c0 = rows[0]!.r;
const ok = c0.stats.wheels === 0 && c0.stats.metadataFiles <= c0.versionsListed && rows[2]!.r.stats.requests === 0;
console.log(
  `\nchecks: no wheel downloaded at lock time: ${c0.stats.wheels === 0 ? 'yes' : `NO (${c0.stats.wheels})`}; ` +
    `metadata only for versions tried: ${c0.stats.metadataFiles} of ${c0.versionsListed} listed; offline requests: ${rows[2]!.r.stats.requests} → ${ok ? 'PASS' : 'FAIL'}`,
);
await server.stop();
process.exit(ok ? 0 : 1);
