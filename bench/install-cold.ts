/**
 * Cold install of a whole environment: `conda-go-lock install` into a new prefix with an empty
 * package cache, against a native pipeline doing the same work on the same loopback server:
 * `curl -o` each archive, then `unzip -p | zstd -d | tar -x` its pkg and info members into the
 * prefix, two packages at a time (`xargs -P 2`). The native pipeline does less than we do (no
 * sha256 check, no cache, no conda-meta, no prefix-placeholder scan, no staging + rename), so the
 * ratio is an upper bound on our overhead.
 *
 *   node --import tsx bench/install-cold.ts [--packages 60] [--mb 65] [--repeat 3] [--no-build]
 *                                           [--ours path/to/bin/conda-go-lock.js] [--base path/to/old/bin/conda-go-lock.js]
 *                                           [--work DIR]   (where prefixes + caches go: default $TMPDIR)
 *
 * On a disk whose speed wanders (a shared VM's), a RAM-backed ext4 of its own gives steadier figures
 * (as root; ~14 GB for 9 repeats with --base):
 *   truncate -s 14G /dev/shm/ext4.img && mkfs.ext4 -q -F /dev/shm/ext4.img && mkdir -p /mnt/e4 && mount -o loop /dev/shm/ext4.img /mnt/e4
 *   node --import tsx bench/install-cold.ts --work /mnt/e4 ...      (mkfs again before each run: deleted inodes slow the next one)
 *
 * Packages (generated once per option set under $TMPDIR/conda-go-lock-bench/install-<n>-<mb>): .conda
 * files (zip -0 of metadata.json + info-*.tar.zst + pkg-*.tar.zst, `zstd -10` from stdin like
 * conda-package-handling) with info/index.json and info/paths.json (sha256 + size per file), text
 * files of 2–24 KiB and a few incompressible blobs, ~150 files per package. The lockfile is made by
 * our `lock` against the same channel (not timed). Each run is its own process under
 * `/usr/bin/time`; runs alternate ours / native (/ base) and the paired median of ours/native is
 * reported with the medians.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StaticServer } from './lib/static-server.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    packages: { type: 'string', default: '60' },
    mb: { type: 'string', default: '65' },
    repeat: { type: 'string', default: '3' },
    'no-build': { type: 'boolean', default: false },
    ours: { type: 'string' },
    base: { type: 'string' },
    dir: { type: 'string', default: join(tmpdir(), 'conda-go-lock-bench') },
    /** Where the runs' prefixes, caches and downloads go (default $TMPDIR; e.g. /dev/shm for a tmpfs). */
    work: { type: 'string', default: tmpdir() },
    /** Run ours once with --cpu-prof into this directory and stop. */
    profile: { type: 'string' },
  },
});
const N = Number(args.packages);
const targetMB = Number(args.mb);
const repeat = Number(args.repeat);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function sh(cmd: string, cwd?: string): void {
  execFileSync('sh', ['-c', cmd], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The channel: linux-64/<fn>.conda × N and linux-64/repodata.json (+ an empty noarch). */
function generate(dir: string): { fns: string[]; bytes: number; files: number } {
  const done = join(dir, 'done.json');
  if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as { fns: string[]; bytes: number; files: number };
  rmSync(dir, { recursive: true, force: true });
  const sub = join(dir, 'linux-64');
  mkdirSync(sub, { recursive: true });
  mkdirSync(join(dir, 'noarch'), { recursive: true });
  writeFileSync(join(dir, 'noarch', 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages: {}, 'packages.conda': {} }));
  const next = rng(7);
  const words = ['conda', 'go', 'lock', 'package', 'solver', 'version', 'channel', 'platform', 'prefix', 'toolchain', 'python', 'numpy'];
  // random bytes compress to themselves: the blobs carry most of the archive size
  const blobBudget = (targetMB * 0.62 * 2 ** 20) / N;
  const records: Record<string, unknown> = {};
  const fns: string[] = [];
  let bytes = 0;
  let files = 0;
  for (let i = 0; i < N; i++) {
    const name = `bench-pkg-${i}`;
    const fn = `${name}-1.0-0.conda`;
    const tree = mkdtempSync(join(tmpdir(), 'cgl-bench-tree-'));
    const paths: Array<{ _path: string; path_type: string; sha256: string; size_in_bytes: number }> = [];
    const put = (rel: string, data: Buffer) => {
      mkdirSync(join(tree, rel, '..'), { recursive: true });
      writeFileSync(join(tree, rel), data);
      paths.push({ _path: rel, path_type: 'hardlink', sha256: createHash('sha256').update(data).digest('hex'), size_in_bytes: data.length });
    };
    const nText = 60 + (next() % 180);
    for (let f = 0; f < nText; f++) {
      const size = 2048 + (next() % 22528);
      let text = '';
      while (text.length < size) text += `${words[next() % words.length]} ${next() % 100000}\n`;
      put(`lib/python3.11/site-packages/${name.replace(/-/g, '_')}/m${f % 12}/f${f}.py`, Buffer.from(text.slice(0, size)));
    }
    const nBlobs = 1 + (next() % 3);
    for (let b = 0; b < nBlobs; b++) {
      const size = Math.max(4096, Math.round((blobBudget / nBlobs) * (0.5 + (next() % 1000) / 1000)) & ~3);
      const buf = Buffer.allocUnsafe(size);
      for (let k = 0; k < size; k += 4) buf.writeUInt32LE(next(), k);
      put(`lib/lib${name}-${b}.so`, buf);
    }
    mkdirSync(join(tree, 'info'), { recursive: true });
    const index = { name, version: '1.0', build: '0', build_number: 0, subdir: 'linux-64', depends: [], license: 'MIT', timestamp: 1_700_000_000_000 };
    writeFileSync(join(tree, 'info', 'index.json'), JSON.stringify(index));
    writeFileSync(join(tree, 'info', 'paths.json'), JSON.stringify({ paths, paths_version: 1 }));
    writeFileSync(join(tree, 'info', 'files'), paths.map((p) => p._path).join('\n') + '\n');
    const work = mkdtempSync(join(tmpdir(), 'cgl-bench-conda-'));
    const stem = fn.slice(0, -'.conda'.length);
    sh(`tar -cf - --exclude=info . | zstd -q -10 -c > "${work}/pkg-${stem}.tar.zst"`, tree);
    sh(`tar -cf - info | zstd -q -10 -c > "${work}/info-${stem}.tar.zst"`, tree);
    writeFileSync(join(work, 'metadata.json'), '{"conda_pkg_format_version": 2}');
    sh(`zip -q -0 "${join(sub, fn)}" metadata.json "info-${stem}.tar.zst" "pkg-${stem}.tar.zst"`, work);
    rmSync(work, { recursive: true, force: true });
    rmSync(tree, { recursive: true, force: true });
    const archive = readFileSync(join(sub, fn));
    records[fn] = {
      ...index,
      md5: createHash('md5').update(archive).digest('hex'),
      sha256: createHash('sha256').update(archive).digest('hex'),
      size: archive.length,
    };
    fns.push(fn);
    bytes += archive.length;
    files += paths.length;
  }
  writeFileSync(join(sub, 'repodata.json'), JSON.stringify({ info: { subdir: 'linux-64' }, packages: {}, 'packages.conda': records }));
  const meta = { fns, bytes, files };
  writeFileSync(done, JSON.stringify(meta));
  return meta;
}

interface Timed {
  wall: number;
  cpu: number;
  sys: number;
  rssMiB: number;
}

function timed(cmd: string[], cwd = root): Promise<Timed> {
  const tfile = join(tmpdir(), `cgl-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return new Promise((res, rej) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tfile, ...cmd], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const t = existsSync(tfile) ? readFileSync(tfile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [];
      rmSync(tfile, { force: true });
      if (code !== 0) return rej(new Error(`${cmd.slice(0, 3).join(' ')} failed (${code}): ${err.slice(-2000)}`));
      res({ wall: t[0]!, cpu: t[1]! + t[2]!, sys: t[2]!, rssMiB: t[3]! / 1024 });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  if (!args['no-build'] && !args.ours) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const chDir = join(args.dir, `install-${N}-${targetMB}`);
  const t0 = performance.now();
  const ch = generate(chDir);
  console.log(
    `channel ${chDir}: ${N} packages, ${(ch.bytes / 2 ** 20).toFixed(1)} MiB of archives, ${ch.files} files (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const server = await new StaticServer().mount({ prefix: '/bench', dir: chDir }).start();
  const work = mkdtempSync(join(resolve(args.work), 'cgl-install-cold-'));
  const cli = args.ours ? resolve(args.ours) : join(root, 'bin', 'conda-go-lock.js');
  try {
    const env = join(work, 'environment.yml');
    writeFileSync(env, `channels:\n  - ${server.url('/bench')}\ndependencies:\n${ch.fns.map((f) => `  - ${f.split('-1.0-0')[0]}`).join('\n')}\n`);
    const lockfile = join(work, 'conda-go-lock.yml');
    // (not execFileSync: the server runs in this process)
    await timed([process.execPath, cli, 'lock', '-f', env, '-p', 'linux-64', '--lockfile', lockfile, '--cache-dir', join(work, 'lock-cache'), '-q']);
    // the native pipeline's script: download, then both members through unzip | zstd | tar (each
    // package's info/ into a directory of its own: two tars writing the same info/paths.json at once
    // fail with "File exists")
    const list = join(work, 'urls.txt');
    writeFileSync(list, ch.fns.map((f) => `${server.url('/bench')}/linux-64/${f}`).join('\n') + '\n');
    const script = join(work, 'native.sh');
    let lastOurs = '';
    let lastNative = '';
    writeFileSync(
      script,
      [
        'set -e',
        'prefix="$1"; dl="$2"; mkdir -p "$prefix" "$dl"',
        `xargs -P 2 -I URL sh -c 'set -e; f="$1/$(basename "$2")"; curl -sf -o "$f" "$2"; ` +
          `unzip -p "$f" "pkg-*.tar.zst" | zstd -q -d -c | tar -xf - -C "$0"; i="$0/.info/$(basename "$f")"; mkdir -p "$i"; unzip -p "$f" "info-*.tar.zst" | zstd -q -d -c | tar -xf - -C "$i"' "$prefix" "$dl" URL < "${list}"`,
      ].join('\n'),
    );
    // Every run writes into directories of its own and nothing is deleted until the end: on ext4
    // without a journal (this build machine's disk) a new inode skips every inode of its group deleted
    // in the last 60+ s, reading each one's table block, so deleting the previous run's 18k files
    // right before the next run made file creation several times slower, for both sides alike.
    let runNo = 0;
    const runOurs = (bin: string) => {
      const n = runNo++;
      const prefix = join(work, `prefix-ours-${n}`);
      const cache = join(work, `cache-ours-${n}`);
      lastOurs = prefix;
      const prof = args.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(args.profile)] : [];
      return timed([process.execPath, ...prof, bin, 'install', '-p', prefix, '--lockfile', lockfile, '--cache-dir', cache, '--platform', 'linux-64', '--no-go', '-q']);
    };
    const runNative = () => {
      const n = runNo++;
      const prefix = join(work, `prefix-native-${n}`);
      const dl = join(work, `dl-native-${n}`);
      lastNative = prefix;
      return timed(['sh', script, prefix, dl]);
    };
    if (args.profile) {
      console.log(await runOurs(cli));
      return;
    }
    const ours: Timed[] = [];
    const native: Timed[] = [];
    const base: Timed[] = [];
    const loads: number[] = [];
    for (let k = 0; k < repeat; k++) {
      loads.push(loadavg()[0]!);
      ours.push(await runOurs(cli));
      native.push(await runNative());
      if (args.base) base.push(await runOurs(resolve(args.base)));
      process.stderr.write('.');
    }
    // the prefixes hold the same files (ours adds conda-meta/)
    const count = (d: string) => Number(execFileSync('sh', ['-c', `find "${d}" -type f -not -path '*/conda-meta/*' -not -path "${d}/info/*" -not -path "${d}/.info/*" | wc -l`]).toString().trim());
    const filesOurs = count(lastOurs);
    const filesNative = count(lastNative);
    const pairs = ours.map((o, i) => o.wall / native[i]!.wall);
    const pairsBase = base.map((b, i) => b.wall / native[i]!.wall);
    console.log(`\nnode ${process.version}, ${cpus().length} cores, load average at the runs: ${loads.map((l) => l.toFixed(1)).join(', ')}; median of ${repeat}`);
    console.log('| run | wall s | CPU s (of it sys) | peak RSS MiB | wall / native (paired median) | files in prefix |');
    console.log('|---|---:|---:|---:|---:|---:|');
    const line = (label: string, xs: Timed[], ratio: string, files: number | string) =>
      console.log(
        `| ${label} | ${median(xs.map((x) => x.wall)).toFixed(2)} | ${median(xs.map((x) => x.cpu)).toFixed(2)} (${median(xs.map((x) => x.sys)).toFixed(2)}) | ${median(xs.map((x) => x.rssMiB)).toFixed(0)} | ${ratio} | ${files} |`,
      );
    line('ours (conda-go-lock install)', ours, `**${median(pairs).toFixed(2)}×**`, filesOurs);
    line('native (curl; unzip -p | zstd -d | tar -x; 2 at a time)', native, '1.00', filesNative);
    if (base.length) line('base', base, `${median(pairsBase).toFixed(2)}×`, '');
    console.log(`paired ours/native per run: ${pairs.map((x) => x.toFixed(2)).join(' ')}${pairsBase.length ? `; base/native: ${pairsBase.map((x) => x.toFixed(2)).join(' ')}` : ''}`);
    if (filesOurs !== filesNative) console.log(`WARNING: ${filesOurs} files in our prefix, ${filesNative} in the native one`);
    console.log(`archives ${(statSync(join(chDir, 'linux-64', ch.fns[0]!)).size / 2 ** 20).toFixed(2)} MiB (first) … ${(ch.bytes / 2 ** 20).toFixed(1)} MiB total`);
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
