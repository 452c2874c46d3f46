/**
 * Lockfile read speed: the fast path for our own layout (src/lockfile/read-fast.ts) against the
 * generic `yaml` parser, in the same process, on generated lockfiles (bench/lib/lockfile-gen.ts:
 * conda + PyPI + Go entries for 3 platforms). Also the lockfile write time (the schema is compiled
 * once per process, on first use).
 *
 *   node --import tsx bench/lockfile-read.ts [--packages 1500] [--big-mb 50] [--repeat 5] [--no-yaml-big]
 *
 * "fast parse" = text → data; "read" = parseLockfile (fast parse + schema + consistency checks),
 * what install/check/verify/diff/render pay; "yaml parse" = parseDocument + toJS. Medians of --repeat
 * runs after one warm-up (the 50 MB yaml parse runs once: it takes minutes). Goal: read ≥ 20 MB/s.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { parseDocument } from 'yaml';
import { generateLockfile } from './lib/lockfile-gen.js';
import { serializeLockfile, serializeWithYaml, assertValidLockfile } from '../src/lockfile/write.js';
import { normaliseLockfile } from '../src/lockfile/normalise.js';
import { parseCanonicalLockfile } from '../src/lockfile/read-fast.js';
import { parseLockfile } from '../src/lockfile/read.js';

const { values } = parseArgs({
  options: {
    packages: { type: 'string', default: '1500' },
    'big-mb': { type: 'string', default: '50' },
    repeat: { type: 'string', default: '5' },
    'no-yaml-big': { type: 'boolean', default: false },
  },
});
const repeat = Math.max(1, Number(values.repeat));

function time(f: () => unknown, n: number): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}
const mbps = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(1);

function row(label: string, text: string, yamlRuns: number): void {
  const bytes = Buffer.byteLength(text);
  if (parseCanonicalLockfile(text) === undefined) throw new Error('the fast path declined a generated lockfile');
  const fast = time(() => parseCanonicalLockfile(text), repeat);
  const read = time(() => parseLockfile(text), repeat);
  let yamlCell = 'skipped';
  let ratio = '';
  if (yamlRuns > 0) {
    const y = yamlRuns === 1 ? (() => { const t0 = performance.now(); parseDocument(text, { version: '1.2' }).toJS(); return performance.now() - t0; })() : time(() => parseDocument(text, { version: '1.2' }).toJS(), yamlRuns);
    yamlCell = `${y.toFixed(0)} ms = ${mbps(bytes, y)} MB/s`;
    ratio = `${(y / read).toFixed(1)}×`;
  }
  console.log(
    `| ${label} | ${(bytes / 1e6).toFixed(1)} MB | ${fast.toFixed(0)} ms = ${mbps(bytes, fast)} MB/s | ${read.toFixed(0)} ms = ${mbps(bytes, read)} MB/s | ${yamlCell} | ${ratio} |`,
  );
}

console.log(`lockfile read — node ${process.version}, ${new Date().toISOString()}`);
console.log('| case | size | fast parse | read (fast + schema + checks) | yaml parse | yaml / read |');
console.log('|---|---|---|---|---|---|');
const n = Number(values.packages);
const lf = generateLockfile({ packages: n });
const text = serializeLockfile(lf);
row(`${n} packages × 3 platforms`, text, 3);
// the big file: as many packages as it takes to reach --big-mb
const perPkg = Buffer.byteLength(text) / (3 * n);
const bigN = Math.ceil((Number(values['big-mb']) * 1e6) / (3 * perPkg));
const big = serializeLockfile(generateLockfile({ packages: bigN }));
row(`${bigN} packages × 3 platforms`, big, values['no-yaml-big'] ? 0 : 1);

// write side: normalise + validate (the schema is compiled on first use, once per process) + serialise
const tFirst = performance.now();
assertValidLockfile(normaliseLockfile(lf));
const first = performance.now() - tFirst;
const validate = time(() => assertValidLockfile(normaliseLockfile(lf)), repeat);
const ser = time(() => serializeLockfile(lf), Math.min(repeat, 3));
const canonical = normaliseLockfile(lf);
const serYaml = time(() => serializeWithYaml(canonical), Math.min(repeat, 3));
console.log(`\nwrite of the ${n}-package file: first validation ${first.toFixed(0)} ms, later validations ${validate.toFixed(0)} ms, serialise ${ser.toFixed(0)} ms (the yaml Document path: ${serYaml.toFixed(0)} ms, ${(serYaml / ser).toFixed(1)}× that)`);
