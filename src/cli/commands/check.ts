/** `conda-go-lock check`: is the lockfile stale against its inputs? No network. */
import { existsSync } from 'node:fs';
import type { Lockfile } from '../../lockfile/model.js';
import { readLockfile } from '../../lockfile/read.js';
import { resolveInputs, type InputOptions, type LockInputs } from '../inputs.js';
import { ExitCode, LockfileError } from '../../errors.js';

/** Why the lockfile no longer matches the inputs; empty when it is up to date. */
export function staleReasons(inputs: LockInputs, lockfile: Lockfile | undefined): string[] {
  if (!lockfile) return ['the lockfile does not exist'];
  const reasons: string[] = [];
  const locked = new Set(lockfile.metadata.platforms);
  for (const p of inputs.platforms) {
    if (!locked.has(p)) {
      reasons.push(`platform ${p} is requested but not locked`);
      continue;
    }
    const want = inputs.perPlatform.get(p)!.contentHash;
    if (lockfile.metadata.content_hash[p] !== want) {
      reasons.push(`${p}: inputs changed (specs, channels, virtual packages or Go spec) since the lock was made`);
    }
  }
  for (const p of locked) {
    if (!inputs.platforms.includes(p as never)) reasons.push(`platform ${p} is locked but no longer requested`);
  }
  return reasons;
}

export async function checkCommand(opts: InputOptions): Promise<number> {
  if (!existsSync(opts.lockfile)) {
    throw new LockfileError(`${opts.lockfile} does not exist: run \`conda-go-lock lock\` first`, { code: 'E_LOCKFILE_MISSING' });
  }
  const lockfile = await readLockfile(opts.lockfile);
  const inputs = resolveInputs({ ...opts, fallbackPlatforms: lockfile.metadata.platforms });
  return reportCheck(opts.lockfile, staleReasons(inputs, lockfile));
}

export function reportCheck(lockfilePath: string, reasons: string[]): number {
  if (reasons.length === 0) {
    process.stderr.write(`${lockfilePath} is up to date\n`);
    return ExitCode.ok;
  }
  process.stderr.write(`${lockfilePath} is stale:\n${reasons.map((r) => `  - ${r}`).join('\n')}\nRun \`conda-go-lock lock\` to update it.\n`);
  return ExitCode.failed;
}
