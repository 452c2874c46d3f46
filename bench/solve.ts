/**
 * Solver benchmark: our solver vs rattler (WASM build) on real conda-forge solves, plus a scale
 * case on a synthetic 200,000-record channel.
 *
 *   node --import tsx bench/solve.ts [--repeat 5] [--no-real] [--no-memory] [--no-scale]
 *                                    [--scale-records 200000] [--version-bumps 6] [--no-stress] [--scale-rattler]
 *
 * Time: measured in this process. Ours = solve() only (records already parsed; the one-off
 * parseRepoData time of the subdir + noarch is shown separately). rattler = simpleSolve() inside its
 * worker thread, which includes reading and parsing the repodata it is served (rattler cannot be
 * given parsed records), so "ours parse+solve" is the like-for-like column. Each case is run once to
 * warm up, then --repeat times; the median is shown.
 *
 * Memory: one child process per engine and subdir solves that subdir's cases once and reports its
 * peak RSS (getrusage maxrss). A baseline child per engine loads the engine only (modules; the rattler
 * worker with its WASM instance) and solves nothing; "Δ" is the child's peak minus its baseline,
 * i.e. what the repodata and the solves cost.
 *
 * Scale: a child process reads the synthetic channel (written to a temp file as raw repodata JSON),
 * parses it (timed, not counted as solve time), then solves; it reports the first (cold) solve
 * time (and the best of 3 when the cold one is under 5 s), and peak RSS. PASS needs cold solve
 * < 2 s and peak RSS < 1 GB. Two channels (bench/lib/synthetic.ts):
 * - "Scale": ≥200k records as renamed copies (`name-k`) of the real linux-64 + noarch records;
 * - "Stress": the same size as 12 name groups × 6 version bumps, so every name has 6× its real
 *   number of candidates and the version constraints chain across them (--version-bumps N, --no-stress).
 * --scale-rattler also solves both with rattler (child process; includes its JSON parse).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CHANNEL_DIR, CHANNEL_URL, SUBDIRS, VIRTUAL_PACKAGES, handCases, type FixtureSubdir, type SolveCase } from '../test/solver/rattler-cases.js';
import { RattlerSolver } from '../test/solver/rattler-harness.js';
import { fixturesSkipReason, haveFixtures } from '../test/support/fixtures.js';
import { ChannelRecords, solveOurs } from './lib/ours.js';
import { buildSyntheticChannel, loadBaseRecords } from './lib/synthetic.js';

const thisFile = fileURLToPath(import.meta.url);

/** The real solves: satisfiable hand-chosen cases, a few per subdir. */
const BENCH_SPECS: string[][] = [
  ['python 3.9.*'],
  ['python 3.9.*', 'pip', 'setuptools', 'wheel'],
  ['python', 'openssl >=3'],
  ['python >=3.9.10', 'sqlite <3.40'],
  ['curl'],
  ['zlib'],
  ['zstd'],
];

function benchCases(): SolveCase[] {
  const wanted = new Set(BENCH_SPECS.map((s) => JSON.stringify(s)));
  const fromHand = handCases().filter((c) => wanted.has(JSON.stringify(c.specs)));
  const have = new Set(fromHand.map((c) => `${c.subdir} ${JSON.stringify(c.specs)}`));
  // zlib/zstd are hand cases only on some subdirs: add them where the names exist
  const extra: SolveCase[] = [];
  for (const subdir of SUBDIRS) {
    for (const specs of [['zlib'], ['zstd']]) {
      if (!have.has(`${subdir} ${JSON.stringify(specs)}`)) extra.push({ id: `${subdir} bench`, subdir, specs });
    }
  }
  return [...fromHand, ...extra].sort((a, b) => SUBDIRS.indexOf(a.subdir) - SUBDIRS.indexOf(b.subdir));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const maxRssMB = (): number => process.resourceUsage().maxRSS / 1024;
const mb = (x: number): string => x.toFixed(0);
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i <= 1 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function key(rs: { name: string; version: string; build: string }[]): string {
  return rs
    .map((r) => `${r.name}=${r.version}=${r.build}`)
    .sort()
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// children (memory)
// ---------------------------------------------------------------------------------------------

async function child(kind: string, arg: string | undefined): Promise<void> {
  const report = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  switch (kind) {
    case 'ours-baseline':
      report({ maxRssMB: maxRssMB() });
      return;
    case 'ours': {
      const subdir = arg as FixtureSubdir;
      const ch = new ChannelRecords(CHANNEL_DIR, CHANNEL_URL);
      const records = ch.forSubdir(subdir);
      for (const c of benchCases().filter((c) => c.subdir === subdir)) {
        solveOurs(c.specs, records, subdir, VIRTUAL_PACKAGES[subdir], [CHANNEL_URL]);
      }
      report({ maxRssMB: maxRssMB() });
      return;
    }
    case 'rattler-baseline': {
      const r = new RattlerSolver();
      await r.warmUp();
      const peak = maxRssMB();
      await r.close();
      report({ maxRssMB: peak });
      return;
    }
    case 'rattler': {
      const subdir = arg as FixtureSubdir;
      const r = new RattlerSolver();
      for (const c of benchCases().filter((c) => c.subdir === subdir)) {
        await r.solve(c.specs, CHANNEL_DIR, subdir, VIRTUAL_PACKAGES[subdir]);
      }
      const peak = maxRssMB();
      await r.close();
      report({ maxRssMB: peak });
      return;
    }
    case 'rattler-scale': {
      const { dir, specs } = JSON.parse(arg!) as { dir: string; specs: string[] };
      const r = new RattlerSolver({ timeoutMs: 900_000 });
      const vps = VIRTUAL_PACKAGES['linux-64'];
      const baseline = await r.solve(['zlib'], dir, 'linux-64', vps);
      const res = await r.solve(specs, dir, 'linux-64', vps);
      const peak = maxRssMB();
      await r.close();
      report({
        ok: res.ok,
        ms: res.ms,
        baselineMs: baseline.ms,
        maxRssMB: peak,
        solved: res.ok ? res.records.map((p) => `${p.name}=${p.version}`).sort() : res.error,
      });
      return;
    }
    case 'scale': {
      const { file, specs } = JSON.parse(arg!) as { file: string; specs: string[] };
      const rssStart = maxRssMB();
      const t0 = performance.now();
      const text = readFileSync(file, 'utf8');
      const readMs = performance.now() - t0;
      const { parseRepoData } = await import('../src/repodata/parse.js');
      const t1 = performance.now();
      let records = parseRepoData(text, { channel: CHANNEL_URL, subdir: 'linux-64', baseUrl: `${CHANNEL_URL}/linux-64` });
      const parseMs = performance.now() - t1;
      const vps = VIRTUAL_PACKAGES['linux-64'];
      const times: number[] = [];
      let last: ReturnType<typeof solveOurs> | undefined;
      // the cold solve is what a user sees; repeat (best of 3) only when it is quick
      for (let i = 0; i < 3 && (i === 0 || times[0]! < 5000); i++) {
        last = solveOurs(specs, records, 'linux-64', vps, [CHANNEL_URL]);
        times.push(last.ms);
      }
      report({
        records: records.length,
        readMs,
        parseMs,
        coldSolveMs: times[0],
        bestSolveMs: Math.min(...times),
        solveRuns: times.length,
        maxRssMB: maxRssMB(),
        rssStartMB: rssStart,
        ok: last!.ok,
        solved: last!.ok ? last!.records.map((r) => `${r.name}=${r.version}`).sort() : last!.error,
      });
      records = [];
      return;
    }
    default:
      throw new Error(`unknown child kind ${kind}`);
  }
}

function runChild(kind: string, arg?: string): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', thisFile, '--child', kind, ...(arg ? ['--arg', arg] : [])], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      arg: { type: 'string' },
      repeat: { type: 'string', default: '5' },
      'no-memory': { type: 'boolean', default: false },
      'no-scale': { type: 'boolean', default: false },
      'no-real': { type: 'boolean', default: false },
      'scale-records': { type: 'string', default: '200000' },
      'version-bumps': { type: 'string', default: '6' },
      'no-stress': { type: 'boolean', default: false },
      'scale-rattler': { type: 'boolean', default: false },
    },
  });
  if (values.child) return child(values.child, values.arg);
  if (!haveFixtures) {
    console.error(`bench/solve.ts needs the real repodata fixtures: ${fixturesSkipReason}`);
    process.exitCode = 2;
    return;
  }

  const repeat = Math.max(1, Number(values.repeat));
  console.log(`conda-go-lock solver benchmark — node ${process.version}, ${new Date().toISOString()}`);
  console.log(`fixture: ${CHANNEL_DIR}\n`);

  if (!values['no-real']) {
    const cases = benchCases();
    const ch = new ChannelRecords(CHANNEL_DIR, CHANNEL_URL);
    const rattler = new RattlerSolver();
    await rattler.warmUp();
    const rows: string[][] = [];
    const sums = { ours: 0, oursTotal: 0, rattler: 0 };
    let disagreements = 0;
    for (const c of cases) {
      const records = ch.forSubdir(c.subdir);
      const parseMs = ch.parseMs(c.subdir);
      const vps = VIRTUAL_PACKAGES[c.subdir];
      const oursTimes: number[] = [];
      const rTimes: number[] = [];
      let oursRes = solveOurs(c.specs, records, c.subdir, vps, [CHANNEL_URL]);
      let rRes = await rattler.solve(c.specs, CHANNEL_DIR, c.subdir, vps);
      for (let i = 0; i < repeat; i++) {
        oursRes = solveOurs(c.specs, records, c.subdir, vps, [CHANNEL_URL]);
        oursTimes.push(oursRes.ms);
        rRes = await rattler.solve(c.specs, CHANNEL_DIR, c.subdir, vps);
        rTimes.push(rRes.ms);
      }
      const o = median(oursTimes);
      const r = median(rTimes);
      const same = oursRes.ok && rRes.ok ? key(oursRes.records) === key(rRes.records) : oursRes.ok === rRes.ok;
      if (!same) disagreements++;
      sums.ours += o;
      sums.oursTotal += o + parseMs;
      sums.rattler += r;
      rows.push([
        c.subdir,
        c.specs.join(', '),
        oursRes.ok ? String(oursRes.records.length) : 'unsat',
        ms(o),
        ms(parseMs),
        ms(o + parseMs),
        ms(r),
        ratio(o, r),
        ratio(o + parseMs, r),
        same ? 'yes' : 'NO',
      ]);
    }
    await rattler.close();
    rows.push(['TOTAL', `${cases.length} solves`, '', ms(sums.ours), '', ms(sums.oursTotal), ms(sums.rattler), ratio(sums.ours, sums.rattler), ratio(sums.oursTotal, sums.rattler), disagreements ? `${disagreements} differ` : 'all']);
    console.log(`Time (median of ${repeat} after 1 warm-up; ms)`);
    console.log(
      table(['subdir', 'specs', 'pkgs', 'ours solve', 'ours parse', 'ours parse+solve', 'rattler', 'solve/rattler', '(parse+solve)/rattler', 'same'], rows),
    );
    console.log('ours parse = parseRepoData of subdir + noarch (once per subdir); rattler = fetch-from-memory + parse + solve.\n');

    if (!values['no-memory']) {
      const ob = runChild('ours-baseline').maxRssMB as number;
      const rb = runChild('rattler-baseline').maxRssMB as number;
      const mrows: string[][] = [];
      for (const subdir of SUBDIRS) {
        const n = cases.filter((c) => c.subdir === subdir).length;
        const o = runChild('ours', subdir).maxRssMB as number;
        const r = runChild('rattler', subdir).maxRssMB as number;
        mrows.push([subdir, `${n} solves`, mb(o), mb(o - ob), mb(r), mb(r - rb), ratio(o, r), ratio(o - ob, r - rb)]);
      }
      console.log('Peak RSS (MB; separate child process per engine and subdir, getrusage maxrss)');
      console.log(`baselines: ours ${mb(ob)} MB (node + tsx + modules), rattler ${mb(rb)} MB (node + tsx + worker + WASM)`);
      console.log(table(['subdir', 'cases', 'ours peak', 'ours Δ', 'rattler peak', 'rattler Δ', 'peak ratio', 'Δ ratio'], mrows));
      console.log('');
    }
  }

  if (!values['no-scale']) {
    const target = Number(values['scale-records']);
    const withRattler = values['scale-rattler'] === true;
    // 1. the scale case: renamed copies only (each name keeps its real candidate count)
    const primary = scaleCase('Scale', target, 1, withRattler);
    // 2. stress variant: fewer name groups, each name's candidates ×N through version bumps
    const bumps = Math.max(1, Number(values['version-bumps']));
    const stress = bumps > 1 && !values['no-stress'] ? scaleCase('Stress', target, bumps, withRattler) : true;
    if (!primary || !stress) process.exitCode = 1;
  }
}

/** Build, write and solve one synthetic channel in a child process; print the report; true on PASS. */
function scaleCase(label: string, target: number, versionBumps: number, withRattler: boolean): boolean {
  const t0 = performance.now();
  const base = loadBaseRecords(CHANNEL_DIR, ['linux-64', 'noarch']);
  const syn = buildSyntheticChannel(base, { targetRecords: target, versionBumps });
  const dir = mkdtempSync(join(tmpdir(), 'cgl-bench-'));
  mkdirSync(join(dir, 'linux-64'));
  mkdirSync(join(dir, 'noarch'));
  const file = join(dir, 'linux-64', 'repodata.json');
  writeFileSync(file, JSON.stringify(syn.repodata));
  // rattler wants a noarch subdir too
  writeFileSync(join(dir, 'noarch', 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages: {}, 'packages.conda': {} }));
  const buildMs = performance.now() - t0;
  const g = syn.nameGroups;
  const py = syn.versionBumps > 1 ? 1003 : 3;
  const specs = [
    'python',
    'pip',
    'openssl',
    `curl-${Math.floor(g / 3)}`,
    `sqlite-${Math.floor((2 * g) / 3)}`,
    // a constrained request (inside version bump 1 when there are bumps)
    `python-${g - 1} >=${py}.9.10,<${py}.10`,
  ];
  try {
    const res = runChild('scale', JSON.stringify({ file, specs }));
    const cold = res.coldSolveMs as number;
    const peak = res.maxRssMB as number;
    const pass = res.ok === true && cold < 2000 && peak < 1024;
    const shape =
      syn.versionBumps > 1
        ? `${syn.baseRecords} real linux-64+noarch records × ${g} name groups × ${syn.versionBumps} version bumps`
        : `${syn.baseRecords} real linux-64+noarch records × ${g} renamed copies`;
    console.log(`${label}: synthetic channel of ${res.records as number} records (${shape})`);
    console.log(`  build + write synthetic JSON (not measured): ${ms(buildMs)} ms`);
    console.log(`  read file: ${ms(res.readMs as number)} ms, parseRepoData: ${ms(res.parseMs as number)} ms (not solve time)`);
    console.log(`  specs: ${specs.join(', ')}`);
    console.log(`  result: ${res.ok ? `${(res.solved as string[]).length} packages` : `FAILED: ${String(res.solved)}`}`);
    console.log(`  ours solve: cold ${ms(cold)} ms, best of ${res.solveRuns as number} ${ms(res.bestSolveMs as number)} ms`);
    console.log(`  ours peak RSS of the child (read + parse + ${res.solveRuns as number} solve(s)): ${mb(peak)} MB (at start ${mb(res.rssStartMB as number)} MB)`);
    if (withRattler) {
      const r = runChild('rattler-scale', JSON.stringify({ dir, specs }));
      const same = r.ok === true && res.ok === true && JSON.stringify(r.solved) === JSON.stringify(res.solved);
      console.log(
        `  rattler (fetch-from-memory + parse + solve): ${r.ok ? `${ms(r.ms as number)} ms` : `FAILED: ${String(r.solved)}`}` +
          ` (a one-name solve on the same channel: ${ms(r.baselineMs as number)} ms), peak RSS ${mb(r.maxRssMB as number)} MB, same result: ${same ? 'yes' : 'NO'}`,
      );
    }
    console.log(`  ${pass ? 'PASS' : 'FAIL'}: cold solve < 2 s ${cold < 2000 ? 'yes' : 'NO'}, peak RSS < 1 GB ${peak < 1024 ? 'yes' : 'NO'}${res.ok ? '' : ', solve FAILED'}\n`);
    return pass;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
