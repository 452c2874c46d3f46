/**
 * `conda-go-lock import`: a conda-lock file's pins as complete locked records.
 *
 * A conda-lock v1 file has no size, often no sha256, and no constrains; our lockfile pins all of
 * them. Each pin is therefore looked up in its channel's repodata (the records passed in) by URL
 * file name, and its md5 (and sha256, when the file has one) must equal the record's: the imported
 * lockfile holds the channel's record for exactly the file conda-lock pinned, never another build.
 */
import { LockfileError } from '../../errors.js';
import { stripTokenSegment } from '../../net/redact.js';
import type { RepoDataRecord } from '../../conda/record.js';
import type { LockedCondaPackage } from '../model.js';

/** The repodata record of every pin of one platform; throws naming the pins that have none or differ. */
export function recordsForPins(pins: readonly LockedCondaPackage[], records: readonly RepoDataRecord[], file: string): RepoDataRecord[] {
  const byFn = new Map<string, RepoDataRecord[]>();
  for (const r of records) {
    const list = byFn.get(r.fn);
    if (list) list.push(r);
    else byFn.set(r.fn, [r]);
  }
  const out: RepoDataRecord[] = [];
  const problems: string[] = [];
  for (const p of pins) {
    // The same file: by its URL, or by the channel it sits in (a mirror's records may carry either).
    const candidates = (byFn.get(p.fn) ?? []).filter((r) => r.subdir === p.subdir && (r.url === p.url || sameChannel(r.channel, p.channel)));
    const r = candidates[0];
    if (!r) {
      problems.push(`${p.platform} ${p.fn} (${p.channel}): not in the channel's repodata any more (or the channel is not in the environment file)`);
      continue;
    }
    if (p.md5 && r.md5 && r.md5.toLowerCase() !== p.md5) {
      problems.push(`${p.platform} ${p.fn}: md5 ${p.md5} in ${file}, ${r.md5} in the channel's repodata`);
      continue;
    }
    if (p.sha256 && r.sha256 && r.sha256.toLowerCase() !== p.sha256) {
      problems.push(`${p.platform} ${p.fn}: sha256 ${p.sha256} in ${file}, ${r.sha256} in the channel's repodata`);
      continue;
    }
    out.push(r);
  }
  if (problems.length > 0) {
    throw new LockfileError(
      `cannot import ${file}: ${problems.length} pin(s) do not match a channel record:\n  ${problems.slice(0, 10).join('\n  ')}${problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : ''}\nre-lock from the environment file instead (conda-go-lock lock)`,
      { code: 'E_LOCKFILE_IMPORT' },
    );
  }
  return out;
}

function sameChannel(a: string, b: string): boolean {
  const norm = (s: string) => stripTokenSegment(s.replace(/\/+$/, ''));
  return norm(a) === norm(b);
}
