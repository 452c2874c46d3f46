/** `conda-go-lock tree` and `why NAME`: the dependency graph of one platform, from the lockfile alone. */
import { hostPlatform, parsePlatform } from '../../conda/platform.js';
import { ExitCode, LockfileError, UsageError } from '../../errors.js';
import type { Lockfile } from '../../lockfile/model.js';
import { readLockfile } from '../../lockfile/read.js';
import { dependencyGraph, formatTree, whyChains } from '../../lockfile/tree.js';

export interface TreeCommandOptions {
  lockfile: string;
  platform?: string;
  invert?: string;
  depth?: string;
}

function pickPlatform(lockfile: Lockfile, path: string, given: string | undefined): string {
  if (given) {
    const p = parsePlatform(given, '--platform');
    if (!lockfile.metadata.platforms.includes(p)) {
      throw new LockfileError(`${path} has no ${p} lock (it has ${lockfile.metadata.platforms.join(', ')})`, { code: 'E_LOCKFILE_PLATFORM' });
    }
    return p;
  }
  // This machine's platform when locked, else the first one (said on stderr).
  const host = hostPlatform();
  if (lockfile.metadata.platforms.includes(host)) return host;
  const first = lockfile.metadata.platforms[0]!;
  process.stderr.write(`(${path} has no ${host} lock; showing ${first}: pass -p for another)\n`);
  return first;
}

export async function treeCommand(opts: TreeCommandOptions): Promise<number> {
  const lockfile = await readLockfile(opts.lockfile);
  const g = dependencyGraph(lockfile, pickPlatform(lockfile, opts.lockfile, opts.platform));
  if (opts.invert && !g.packages.has(opts.invert)) throw new UsageError(`${opts.invert} is not locked for ${g.platform}`);
  const depth = opts.depth === undefined ? undefined : Number(opts.depth);
  if (depth !== undefined && (!Number.isInteger(depth) || depth < 1)) throw new UsageError(`--depth must be a whole number >= 1, got '${opts.depth}'`);
  process.stdout.write(formatTree(g, { ...(opts.invert ? { invert: opts.invert } : {}), ...(depth ? { maxDepth: depth } : {}) }));
  return ExitCode.ok;
}

export async function whyCommand(name: string, opts: TreeCommandOptions): Promise<number> {
  const lockfile = await readLockfile(opts.lockfile);
  const g = dependencyGraph(lockfile, pickPlatform(lockfile, opts.lockfile, opts.platform));
  const p = g.packages.get(name);
  if (!p) {
    const elsewhere = lockfile.packages.filter((x) => x.name === name).map((x) => x.platform);
    throw new UsageError(`${name} is not locked for ${g.platform}${elsewhere.length ? ` (it is for ${elsewhere.join(', ')}: pass -p)` : ''}`);
  }
  const chains = whyChains(g, name);
  const lines = [`${name} ${p.version} ${p.build} (${g.platform}):`];
  for (const c of chains) {
    lines.push(c.chain.length === 1 ? `  requested: ${c.spec}` : `  ${c.spec} → ${c.chain.slice(1).join(' → ')}`);
  }
  if (chains.length === 0) lines.push('  not reachable from a requested spec (a virtual or constraint-only dependency)');
  process.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}
