/**
 * Byte-compiling noarch: python packages at install, as conda, micromamba and pixi do.
 *
 * A noarch: python package ships only `.py` sources (one archive for every python); the `.pyc` files
 * are made in the environment by the environment's own interpreter, so their magic number and cache
 * tag are the prefix's python's. Only `site-packages/**.py` of such packages are compiled (not
 * `python-scripts/`, as conda does), each to `__pycache__/<name>.<cache_tag>.pyc` (python 3) or
 * `<name>.pyc` (python 2), with the FINAL prefix path as the file name recorded in the code objects
 * (tracebacks), although the files are compiled in a staging directory.
 *
 * The compiled files are recorded in the package's conda-meta record (`files`, and `paths_data` with
 * `path_type: pyc_file` plus their sha256/size), so the transaction removes them with the package and
 * `verify` checks them. A source that does not compile for this python (python-2-only syntax) gets no
 * `.pyc` and no record, as with conda.
 *
 * The interpreter only runs when the prefix is for this machine's platform: a cross-platform install
 * (an osx-64 prefix made on linux) is not compiled, and the caller says so in one line.
 */
import { spawn } from 'node:child_process';
import { exitSignal } from '../cleanup.js';
import { lstat, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, posix, relative, sep } from 'node:path';
import { hostPlatform } from '../conda/platform.js';
import type { InstalledPath } from './link.js';
import { sitePackagesDir, type PythonTarget } from './noarch-python.js';
import { isWindowsPlatform } from './prefix-replace.js';
import { sha256Hex } from './extract/hash.js';

/**
 * Compiles the sources named on stdin (a JSON list of [source path, path recorded in the code
 * object]) and prints a JSON list of [source path, .pyc file] for those it wrote. Runs on python 2.7 and 3.x; the cache
 * file is computed here (not by cache_from_source) so PYTHONPYCACHEPREFIX or -X pycache_prefix can
 * never send it outside the prefix.
 */
const DRIVER = String.raw`
import json, os, sys, py_compile
req = json.loads(sys.stdin.read())
tag = getattr(getattr(sys, 'implementation', None), 'cache_tag', None)
py3 = sys.version_info[0] >= 3
out = []
if not py3 or tag is not None:
    for src, dfile in req:
        if py3:
            d, b = os.path.split(src)
            cfile = os.path.join(d, '__pycache__', os.path.splitext(b)[0] + '.' + tag + '.pyc')
        else:
            cfile = src + 'c'
        try:
            py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True)
        except Exception:
            continue
        out.append([src, cfile])
sys.stdout.write(json.dumps(out))
`;

/** One linked noarch: python package whose sources may be compiled. */
export interface PycPackage {
  dist: string;
  /** Its paths as installed (prefix-relative). */
  paths: readonly InstalledPath[];
}

export interface CompileOptions {
  /** Where the packages' files were written (a staging directory, or the prefix). */
  destDir: string;
  /** Where the python package's files are (destDir when it was linked in this install, else the prefix). */
  pythonRoot: string;
  /** The prefix path the environment will live at (recorded in code objects). */
  targetPrefix: string;
  platform: string;
  python: PythonTarget;
  packages: readonly PycPackage[];
  /** Processes run at once (default: up to 4, by the machine's parallelism and the number of files). */
  processes?: number;
}

export interface CompileResult {
  /** dist → the pyc_file entries to add to its record. */
  pyc: Map<string, InstalledPath[]>;
  /** Sources given to the interpreter, and .pyc files it wrote. */
  sources: number;
  compiled: number;
  /** Set when nothing was compiled on purpose or because the interpreter failed: one line for the user. */
  skipped?: string;
}

/** The sources conda compiles: `.py` files of the package's site-packages (not symlinks). */
export function pycSources(pkg: PycPackage, python: PythonTarget, platform: string): string[] {
  const sp = `${sitePackagesDir(python, platform)}/`;
  const own = new Set(pkg.paths.map((p) => p._path));
  return pkg.paths
    .filter((p) => p.path_type === 'hardlink' && p._path.startsWith(sp) && p._path.endsWith('.py') && !/[\t\n\r\f\v]/.test(p._path))
    .map((p) => p._path)
    .filter((p) => !own.has(pycPathGuess(p, python.version)));
}

/** Where CPython X.Y puts the .pyc of `path` (used only to skip sources whose .pyc the package ships). */
function pycPathGuess(path: string, version: string): string {
  const [maj, min] = version.split('.');
  if (maj === '2') return `${path}c`;
  const dir = posix.dirname(path);
  return `${dir}/__pycache__/${posix.basename(path, '.py')}.cpython-${maj}${min}.pyc`;
}

/** The interpreter of a prefix laid out at `root`: `bin/pythonX.Y` (then `python3`, `python`), `python.exe` on Windows. */
export async function findInterpreter(root: string, python: PythonTarget, platform: string): Promise<string | undefined> {
  const names = isWindowsPlatform(platform) ? ['python.exe'] : [`bin/python${python.version}`, 'bin/python3', 'bin/python'];
  for (const n of names) {
    const st = await stat(join(root, n)).catch(() => undefined);
    if (st?.isFile()) return join(root, n);
  }
  return undefined;
}

function thisMachine(): string | undefined {
  try {
    return hostPlatform();
  } catch {
    return undefined;
  }
}

function runDriver(python: string, items: Array<[string, string]>, cwd: string): Promise<{ written: Array<[string, string]>; error?: string }> {
  return new Promise((resolveRun) => {
    // -E: no PYTHONPATH / PYTHONHOME / PYTHONPYCACHEPREFIX of the caller; -s: no user site; -Wi: no warnings (as conda).
    const child = spawn(python, ['-E', '-s', '-Wi', '-c', DRIVER], { cwd, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < 4096) err.push(b);
      errLen += b.length;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    // Interrupted: stop compiling (what it wrote is in a staging directory or stage being removed).
    const stop = () => child.kill('SIGKILL');
    exitSignal.addEventListener('abort', stop, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      exitSignal.removeEventListener('abort', stop);
      resolveRun({ written: [], error: e.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      exitSignal.removeEventListener('abort', stop);
      const text = Buffer.concat(out).toString('utf8');
      if (code !== 0) {
        const why = Buffer.concat(err).toString('utf8').trim().split('\n').pop() ?? '';
        resolveRun({ written: [], error: `${python} exited with ${signal ?? code}${why ? ` (${why})` : ''}` });
        return;
      }
      try {
        const list = JSON.parse(text) as unknown;
        const pairs = Array.isArray(list) ? list.filter((x): x is [string, string] => Array.isArray(x) && x.length === 2 && x.every((y) => typeof y === 'string')) : [];
        resolveRun({ written: pairs });
      } catch {
        resolveRun({ written: [], error: `${python} printed no list of compiled files` });
      }
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(items));
  });
}

/** Compile the packages' sources with the prefix's python; never throws for a python that cannot run. */
export async function compileNoarchPython(opts: CompileOptions): Promise<CompileResult> {
  const result: CompileResult = { pyc: new Map(), sources: 0, compiled: 0 };
  const sources = opts.packages.flatMap((pkg) => pycSources(pkg, opts.python, opts.platform).map((rel) => ({ dist: pkg.dist, rel })));
  if (sources.length === 0) return result;
  const n = opts.packages.filter((p) => pycSources(p, opts.python, opts.platform).length > 0).length;
  const what = `${n} noarch: python package(s) not byte-compiled`;
  const host = thisMachine();
  if (host !== opts.platform) {
    result.skipped = `${what}: the prefix is for ${opts.platform} and its python cannot run on this machine (${host ?? 'unknown platform'}); python compiles them on first import where it runs`;
    return result;
  }
  const python = await findInterpreter(opts.pythonRoot, opts.python, opts.platform);
  if (!python) {
    result.skipped = `${what}: the environment has no python interpreter (${isWindowsPlatform(opts.platform) ? 'python.exe' : `bin/python${opts.python.version}`})`;
    return result;
  }
  result.sources = sources.length;
  const native = (rel: string) => rel.split('/').join(sep);
  const finalPath = (rel: string) => (isWindowsPlatform(opts.platform) ? `${opts.targetPrefix}\\${rel.replace(/\//g, '\\')}` : `${opts.targetPrefix}/${rel}`);
  const procs = Math.max(1, Math.min(opts.processes ?? Math.min(4, availableParallelism()), Math.ceil(sources.length / 50)));
  // Contiguous chunks keep one package's files in one process (their __pycache__ dirs are made once).
  const size = Math.ceil(sources.length / procs);
  const chunks: Array<typeof sources> = [];
  for (let i = 0; i < sources.length; i += size) chunks.push(sources.slice(i, i + size));
  const runs = await Promise.all(
    chunks.map((chunk) => runDriver(python, chunk.map((s) => [join(opts.destDir, native(s.rel)), finalPath(s.rel)]), opts.destDir)),
  );
  const failed = runs.find((r) => r.error !== undefined);
  // Back from absolute paths to prefix-relative ones, keeping only files inside destDir.
  const toRel = (abs: string) => {
    const rel = relative(opts.destDir, abs).split(sep).join('/');
    return rel === '' || rel.startsWith('../') || rel === '..' || posix.isAbsolute(rel) || /^[A-Za-z]:/.test(rel) ? undefined : rel;
  };
  const bySource = new Map<string, string>();
  for (const [src, cfile] of runs.flatMap((r) => r.written)) {
    const s = toRel(src);
    const c = toRel(cfile);
    if (s !== undefined && c !== undefined) bySource.set(s, c);
  }
  for (const s of sources) {
    const rel = bySource.get(s.rel);
    if (rel === undefined) continue;
    const file = join(opts.destDir, native(rel));
    const st = await lstat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const list = result.pyc.get(s.dist) ?? [];
    list.push({ _path: rel, path_type: 'pyc_file', sha256_in_prefix: await sha256Hex(file), size_in_bytes: st.size });
    result.pyc.set(s.dist, list);
    result.compiled++;
  }
  if (failed && result.compiled === 0) result.skipped = `${what}: ${failed.error}`;
  return result;
}
