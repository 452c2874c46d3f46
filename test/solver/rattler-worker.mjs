// Worker thread that runs rattler's WASM solver (@conda-org/rattler, devDependency) fully offline.
//
// Why a worker: a WASM panic (e.g. a `channel::name` spec makes rattler ask for the current
// directory, which WASM does not have) is an uncaught `RuntimeError: unreachable` that would take
// the whole test process down. Here it only ends this thread; the harness (rattler-harness.ts)
// reports it as a failed solve and starts a fresh worker for the next request.
//
// Why plain .mjs: it is loaded by `new Worker(url)` without any TypeScript loader, so it runs the
// same under vitest, tsx and bare node.
//
// How rattler is fed offline: simpleSolve() builds a repodata gateway that uses the global
// `fetch`. For a channel URL `http://fixtures.invalid/c<n>` it requests, per platform in
// [subdir, 'noarch']:
//   <channel>/<subdir>/repodata_shards.msgpack.zst   (sharded repodata, CEP-16)
//   <channel>/<subdir>/repodata.json.zst
//   <channel>/<subdir>/repodata.json.bz2
//   <channel>/<subdir>/repodata.json
// We answer 404 to the first three and serve `<channelDir>/<subdir>/repodata.json` from disk
// (cached in memory) for the last. rattler accepts the fixture's dumped form (top-level `metadata`
// instead of `info`, records carrying `fn`/`url`/`channel`), so no rewriting is needed. The
// Response constructor leaves `url` empty and rattler's HTTP client reads it, so it is set with
// Object.defineProperty.
//
// Virtual packages: simpleSolve has no virtual-package parameter. Its last argument ("locked
// packages", rattler_solve's SolverTask.locked_packages = preferred records) adds the given records
// to the candidate pool, so passing one record per virtual package (__glibc, __osx, ...) makes them
// available exactly like virtual packages. rattler then lists them in its result; they are removed
// here before replying.
//
// Locked (preferred) records: the same argument is also what rattler_solve calls locked packages
// (preferred, not forced: SolverTask.locked_packages). A locked record is sent with the url of the
// matching repodata record on the fake channel; js-rattler rebuilds it with `constrains: []`, so a
// locked record's constrains are not seen by rattler (ours sees them).
//
// Protocol (one request at a time; the harness serialises):
//   in:  { id, specs: string[], channelDir: string | string[] (priority order), subdir, virtualPackages: {name, version, build, build_number}[],
//          locked?: {name, version, build, build_number, subdir, fn, depends}[] }
//   out: { id, ok: true, records: {name, version, build, build_number, subdir, url, fn, depends}[], ms }
//      | { id, ok: false, error: string, ms }
import { parentPort } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const HOST = 'http://fixtures.invalid';

/** channelDir → channel index (stable URL per directory). */
const channelIds = new Map();
/** index → channelDir */
const channelDirs = [];
/** absolute repodata.json path → Promise<Buffer | null> */
const fileCache = new Map();

function channelUrl(channelDir) {
  let id = channelIds.get(channelDir);
  if (id === undefined) {
    id = channelDirs.length;
    channelDirs.push(channelDir);
    channelIds.set(channelDir, id);
  }
  return `${HOST}/c${id}`;
}

function loadFile(path) {
  let p = fileCache.get(path);
  if (!p) {
    p = readFile(path).catch(() => null);
    fileCache.set(path, p);
  }
  return p;
}

function respond(url, status, body) {
  const res = new Response(body, {
    status,
    headers: { 'content-type': status === 200 ? 'application/json' : 'text/plain' },
  });
  Object.defineProperty(res, 'url', { value: url });
  return res;
}

/** Requests seen during the current solve (for diagnostics). */
let requested = [];

globalThis.fetch = async (input) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  requested.push(url);
  const m = /^http:\/\/fixtures\.invalid\/c(\d+)\/([^/]+)\/repodata\.json$/.exec(url);
  if (m) {
    const dir = channelDirs[Number(m[1])];
    const body = dir === undefined ? null : await loadFile(join(dir, m[2], 'repodata.json'));
    if (body) return respond(url, 200, body);
  }
  return respond(url, 404, 'not found');
};

// The WASM panic hook reports through console.error before the RuntimeError is thrown: keep the
// last message so the harness can say why the solve failed, without printing a stack per panic.
let lastConsoleError = '';
console.error = (...args) => {
  lastConsoleError = args.map(String).join(' ');
};

let currentId = null;
let currentStart = 0;

process.on('uncaughtException', (err) => {
  const panic = lastConsoleError.split('\n').slice(0, 3).join(' ').trim();
  parentPort.postMessage({
    id: currentId,
    ok: false,
    panic: true,
    error: `rattler panicked: ${panic || String(err)}`,
    ms: performance.now() - currentStart,
  });
  process.exit(1);
});

const rattler = await import('@conda-org/rattler');

function virtualRecord(v, subdir) {
  const build = v.build ?? '0';
  const filename = `${v.name}-${v.version}-${build}.conda`;
  return {
    url: `${HOST}/virtual/${subdir}/${filename}`,
    packageName: v.name,
    version: v.version,
    build,
    buildNumber: BigInt(v.build_number ?? 0),
    filename,
    subdir,
    depends: [],
  };
}

parentPort.on('message', async (msg) => {
  currentId = msg.id;
  requested = [];
  lastConsoleError = '';
  const platforms = msg.subdir === 'noarch' ? ['noarch'] : [msg.subdir, 'noarch'];
  const virtualNames = new Set(msg.virtualPackages.map((v) => v.name));
  // several channel dirs = several channels in priority order (rattler's default: strict priority)
  const channels = (Array.isArray(msg.channelDir) ? msg.channelDir : [msg.channelDir]).map(channelUrl);
  const channel = channels[0];
  const locked = (msg.locked ?? []).map((r) => ({
    url: `${channel}/${r.subdir}/${r.fn}`,
    packageName: r.name,
    version: r.version,
    build: r.build,
    buildNumber: BigInt(r.build_number ?? 0),
    filename: r.fn,
    subdir: r.subdir,
    depends: r.depends ?? [],
  }));
  currentStart = performance.now();
  try {
    const solved = await rattler.simpleSolve(
      msg.specs,
      channels,
      platforms,
      [...msg.virtualPackages.map((v) => virtualRecord(v, msg.subdir)), ...locked],
    );
    const ms = performance.now() - currentStart;
    const records = [];
    for (const p of solved) {
      if (!virtualNames.has(p.packageName)) {
        records.push({
          name: p.packageName,
          version: p.version,
          build: p.build,
          build_number: p.buildNumber === undefined ? undefined : Number(p.buildNumber),
          subdir: p.subdir,
          url: p.url,
          fn: p.filename,
          depends: p.depends ?? [],
        });
      }
      p.free();
    }
    parentPort.postMessage({ id: msg.id, ok: true, records, ms, requested });
  } catch (err) {
    const ms = performance.now() - currentStart;
    parentPort.postMessage({ id: msg.id, ok: false, error: String(err?.message ?? err), ms, requested });
  } finally {
    currentId = null;
  }
});

parentPort.postMessage({ ready: true });
