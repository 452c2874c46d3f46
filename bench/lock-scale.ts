/**
 * Lock at conda-forge scale: `conda-go-lock lock` vs rattler 0.3.5 on a synthetic channel shaped
 * like today's conda-forge (bench/lib/forge.ts), served on loopback (bench/lib/static-server.ts).
 *
 *   node --import tsx bench/lock-scale.ts [--records 573000] [--repeat 3] [--cases LIST]
 *                                         [--scale 50000,143000,573000,1000000] [--no-build]
 *                                         [--ours path/to/bin/conda-go-lock.js] [--base path/to/old/bin/conda-go-lock.js] [--no-rattler]
 *
 * Cases (--cases, comma-separated; default all but the scale table):
 *   cold-zst    1 platform, empty cache, repodata.json.zst served
 *   cold-json   1 platform, empty cache, only repodata.json served
 *   cold3-zst   3 platforms (linux-64, osx-64, win-64 — copies of linux-64), empty cache, .zst
 *   warm        1 platform, cache filled by a previous run (the server answers 304)
 *   shards-cold 1 platform, CEP-16 shards only, empty cache (also: request count)
 *   shards-warm 1 platform, shards, cache filled
 * --scale N,M,... adds the cold-zst case at each total record count (linux-64 : noarch = 3 : 1).
 *
 * Each run is its own process under `/usr/bin/time` (wall, user+sys CPU including child processes,
 * peak RSS). Ours runs the built CLI (dist/, rebuilt first unless --no-build); rattler runs
 * bench/lib/rattler-lock.mjs (simpleSolve per platform with real HTTP). rattler's WASM build has no
 * disk cache, so its "warm" number is another cold run. Runs alternate ours/rattler and the medians
 * of --repeat runs are compared; the answers (name, version, build per platform) are compared too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { generateForge, type ForgeChannel } from './lib/forge.js';
import { StaticServer } from './lib/static-server.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '573000' },
    repeat: { type: 'string', default: '3' },
    cases: { type: 'string', default: 'cold-zst,cold-json,cold3-zst,warm,shards-cold,shards-warm' },
    scale: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'no-rattler': { type: 'boolean', default: false },
    dir: { type: 'string', default: join(tmpdir(), 'conda-go-lock-bench') },
    /** Another build's CLI to run as "ours" (e.g. a copy of main's, for before/after numbers). */
    ours: { type: 'string' },
    /** A second build's CLI (e.g. before this change) run in the same loop, reported as "base". */
    base: { type: 'string' },
  },
});
const repeat = Number(args.repeat);
const shapeSource = resolve(root, '..', 'shared', 'fixtures', 'repodata', 'conda-forge-subchannel-py39-2024-05');

interface Run {
  wall: number;
  cpu: number;
  rssMiB: number;
  requests?: number;
  answer?: Record<string, string[]>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function timed(cmd: string[], env: NodeJS.ProcessEnv = {}): Promise<{ wall: number; cpu: number; rssMiB: number }> {
  const tfile = join(tmpdir(), `cgl-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return new Promise((res, rej) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tfile, ...cmd], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const t = existsSync(tfile) ? readFileSync(tfile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [];
      rmSync(tfile, { force: true });
      if (code !== 0) return rej(new Error(`${cmd.slice(0, 3).join(' ')} failed (${code}): ${err.slice(-2000)}`));
      res({ wall: t[0]!, cpu: t[1]! + t[2]!, rssMiB: t[3]! / 1024 });
    });
  });
}

async function runOurs(channelUrl: string, specs: string[], platforms: string[], cacheDir: string, work: string, cli?: string): Promise<Run> {
  const env = join(work, 'environment.yml');
  writeFileSync(env, `channels:\n  - ${channelUrl}\ndependencies:\n${specs.map((s) => `  - ${JSON.stringify(s)}`).join('\n')}\n`);
  const lockfile = join(work, 'lock.yml');
  rmSync(lockfile, { force: true });
  const t = await timed([
    process.execPath,
    cli ?? (args.ours ? resolve(args.ours) : join(root, 'bin', 'conda-go-lock.js')),
    'lock',
    '-f',
    env,
    ...platforms.flatMap((p) => ['-p', p]),
    '--lockfile',
    lockfile,
    '--cache-dir',
    cacheDir,
    '--force',
    '-q',
  ]);
  const lock = parseYaml(readFileSync(lockfile, 'utf8')) as { packages: Array<{ platform: string; name: string; version: string; build: string }> };
  const answer: Record<string, string[]> = {};
  for (const p of lock.packages) (answer[p.platform] ??= []).push(`${p.name} ${p.version} ${p.build}`);
  for (const k in answer) answer[k]!.sort();
  return { ...t, answer };
}

async function runRattler(channelUrl: string, specs: string[], platforms: string[], work: string): Promise<Run> {
  const out = join(work, 'rattler.json');
  const t = await timed([process.execPath, join(root, 'bench', 'lib', 'rattler-lock.mjs'), JSON.stringify({ specs, channel: channelUrl, platforms, out })]);
  const r = JSON.parse(readFileSync(out, 'utf8')) as { packages: Record<string, Array<{ name: string; version: string; build: string }>>; requests: number };
  const answer: Record<string, string[]> = {};
  for (const [p, list] of Object.entries(r.packages)) answer[p] = list.map((x) => `${x.name} ${x.version} ${x.build}`).sort();
  return { ...t, requests: r.requests, answer };
}

/** osx-64 and win-64 copies of linux-64 (same records, their own subdir), for the 3-platform case. */
function ensurePlatformCopies(ch: ForgeChannel): void {
  for (const sub of ['osx-64', 'win-64']) {
    const f = join(ch.dir, sub, 'repodata.json');
    if (existsSync(`${f}.zst`)) continue;
    mkdirSync(join(ch.dir, sub), { recursive: true });
    const text = readFileSync(join(ch.dir, 'linux-64', 'repodata.json'), 'utf8');
    writeFileSync(f, text.replaceAll('"subdir":"linux-64"', `"subdir":"${sub}"`).replace('"subdir": "linux-64"', `"subdir": "${sub}"`));
    execFileSync('zstd', ['-q', '-f', '-T0', '-6', f, '-o', `${f}.zst`]);
  }
}

function sameAnswer(a: Run, b: Run): string {
  const pa = JSON.stringify(a.answer);
  const pb = JSON.stringify(b.answer);
  if (pa === pb) return `identical (${Object.values(a.answer ?? {}).map((l) => l.length).join('+')} packages)`;
  const diffs: string[] = [];
  for (const p of Object.keys({ ...a.answer, ...b.answer })) {
    const x = new Set(a.answer?.[p] ?? []);
    const y = new Set(b.answer?.[p] ?? []);
    for (const s of x) if (!y.has(s)) diffs.push(`${p}: ours ${s}`);
    for (const s of y) if (!x.has(s)) diffs.push(`${p}: rattler ${s}`);
  }
  return `DIFFERENT: ${diffs.slice(0, 8).join('; ')}${diffs.length > 8 ? ` … (${diffs.length})` : ''}`;
}

interface CaseResult {
  name: string;
  ours: Run[];
  rattler: Run[];
  base: Run[];
  note?: string;
}

const fmtRatio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-');

function header(title: string): void {
  console.log(`\n${title}`);
  console.log('| case | wall ours / rattler (s) | wall ratio | CPU ours / rattler (s) | CPU ratio | peak RSS ours / rattler (MiB) | RSS ratio | requests ours | answers | base: wall / CPU / RSS (ratio to rattler) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
}

function row(r: CaseResult): void {
  const med = (xs: Run[]) => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)), rss: median(xs.map((x) => x.rssMiB)) });
  const o = med(r.ours);
  const t = r.rattler.length ? med(r.rattler) : { wall: 0, cpu: 0, rss: 0 };
  const b = r.base.length ? med(r.base) : undefined;
  const req = r.ours[0]?.requests;
  const baseCol = b
    ? `${b.wall.toFixed(2)} s / ${b.cpu.toFixed(2)} s / ${b.rss.toFixed(0)} MiB (${fmtRatio(b.wall, t.wall)} / ${fmtRatio(b.cpu, t.cpu)} / ${fmtRatio(b.rss, t.rss)})${r.base[0]!.requests !== undefined ? `, ${r.base[0]!.requests} requests` : ''}`
    : '-';
  console.log(
    `| ${r.name} | ${o.wall.toFixed(2)} / ${t.wall.toFixed(2)} | ${fmtRatio(o.wall, t.wall)} | ${o.cpu.toFixed(2)} / ${t.cpu.toFixed(2)} | ${fmtRatio(o.cpu, t.cpu)} | ${o.rss.toFixed(0)} / ${t.rss.toFixed(0)} | ${fmtRatio(o.rss, t.rss)} | ${req ?? '-'} | ${r.note ?? (r.rattler.length ? sameAnswer(r.ours[0]!, r.rattler[0]!) : '-')} | ${baseCol} |`,
  );
}

async function main(): Promise<void> {
  if (!args['no-build']) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  mkdirSync(args.dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'cgl-lock-scale-'));
  const server = await new StaticServer().start();
  const withRattler = !args['no-rattler'];
  const cases = new Set(args.cases.split(',').filter(Boolean));
  try {
    const total = Number(args.records);
    const gen = (n: number, shards: boolean) => {
      const t0 = performance.now();
      const ch = generateForge(args.dir, { linuxRecords: Math.round(n * 0.75), noarchRecords: Math.round(n * 0.25), shards, shapeSource });
      console.log(
        `channel ${ch.dir}: linux-64 ${ch.linuxRecords} + noarch ${ch.noarchRecords} records, ${ch.names} names, ` +
          `${(ch.jsonBytes / 2 ** 20).toFixed(0)} MiB JSON, ${(ch.zstBytes / 2 ** 20).toFixed(0)} MiB .zst (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      return ch;
    };
    const wantShards = cases.has('shards-cold') || cases.has('shards-warm');
    const ch = cases.size > 0 ? gen(total, wantShards) : undefined;
    const results: CaseResult[] = [];
    if (ch) {
      server.mount({ prefix: '/zst/cf', dir: ch.dir, hide: ['repodata_shards.msgpack.zst'] });
      server.mount({ prefix: '/json/cf', dir: ch.dir, hide: ['.zst'] });
      server.mount({ prefix: '/shards/cf', dir: join(ch.dir, 'sharded'), hide: ['.json'] });
      if (cases.has('cold3-zst')) ensurePlatformCopies(ch);
      const specs = ch.specs;
      const one = ['linux-64'];
      const three = ['linux-64', 'osx-64', 'win-64'];
      const defs: Array<{ name: string; mount: string; platforms: string[]; warm: boolean }> = [
        { name: 'cold, 1 platform, .zst', mount: '/zst/cf', platforms: one, warm: false },
        { name: 'cold, 1 platform, .json only', mount: '/json/cf', platforms: one, warm: false },
        { name: 'cold, 3 platforms, .zst', mount: '/zst/cf', platforms: three, warm: false },
        { name: 'warm, 1 platform, .zst', mount: '/zst/cf', platforms: one, warm: true },
        { name: 'cold, 1 platform, shards', mount: '/shards/cf', platforms: one, warm: false },
        { name: 'warm, 1 platform, shards', mount: '/shards/cf', platforms: one, warm: true },
      ];
      const keys = ['cold-zst', 'cold-json', 'cold3-zst', 'warm', 'shards-cold', 'shards-warm'];
      header(`median of ${repeat} runs; ${specs.length} specs: ${specs.join(', ')}`);
      for (let i = 0; i < defs.length; i++) {
        if (!cases.has(keys[i]!)) continue;
        const d = defs[i]!;
        const url = server.url(d.mount);
        const res: CaseResult = { name: d.name, ours: [], rattler: [], base: [] };
        const cacheDir = join(work, `cache-${keys[i]}`);
        const baseCache = join(work, `cache-base-${keys[i]}`);
        if (d.warm) {
          rmSync(cacheDir, { recursive: true, force: true });
          rmSync(baseCache, { recursive: true, force: true });
          await runOurs(url, specs, d.platforms, cacheDir, work); // fill the cache
          if (args.base) await runOurs(url, specs, d.platforms, baseCache, work, resolve(args.base));
        }
        for (let k = 0; k < repeat; k++) {
          if (!d.warm) rmSync(cacheDir, { recursive: true, force: true });
          server.resetCounts();
          const o = await runOurs(url, specs, d.platforms, cacheDir, work);
          o.requests = server.counts.get(d.mount)?.requests ?? 0;
          res.ours.push(o);
          if (withRattler) res.rattler.push(await runRattler(url, specs, d.platforms, work));
          if (args.base) {
            if (!d.warm) rmSync(baseCache, { recursive: true, force: true });
            server.resetCounts();
            const b = await runOurs(url, specs, d.platforms, baseCache, work, resolve(args.base));
            b.requests = server.counts.get(d.mount)?.requests ?? 0;
            res.base.push(b);
          }
          process.stderr.write('.');
        }
        results.push(res);
        row(res);
      }
    }
    if (args.scale) {
      header(`scaling (cold, 1 platform, .zst), median of ${repeat}`);
      for (const n of args.scale.split(',').map(Number)) {
        const c = gen(n, false);
        const prefix = `/scale-${n}/cf`;
        server.mount({ prefix, dir: c.dir, hide: ['repodata_shards.msgpack.zst'] });
        const res: CaseResult = { name: `${(c.linuxRecords + c.noarchRecords).toLocaleString('en')} records, cold .zst`, ours: [], rattler: [], base: [] };
        const cacheDir = join(work, 'cache-scale');
        for (let k = 0; k < repeat; k++) {
          rmSync(cacheDir, { recursive: true, force: true });
          res.ours.push(await runOurs(server.url(prefix), c.specs, ['linux-64'], cacheDir, work));
          if (withRattler) res.rattler.push(await runRattler(server.url(prefix), c.specs, ['linux-64'], work));
          if (args.base) {
            rmSync(cacheDir, { recursive: true, force: true });
            res.base.push(await runOurs(server.url(prefix), c.specs, ['linux-64'], cacheDir, work, resolve(args.base)));
          }
          process.stderr.write('.');
        }
        row(res);
      }
    }
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
