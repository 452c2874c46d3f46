/** `conda-go-lock diff OLD NEW`: what changed, per platform. */
import { ExitCode } from '../../errors.js';
import { diffLockfiles, formatDiffMarkdown, formatDiffText } from '../../lockfile/diff.js';
import { readLockfile } from '../../lockfile/read.js';
import { diffJson, writeJson } from '../json.js';

export async function diffCommand(oldPath: string, newPath: string, opts: { format: 'text' | 'markdown' | 'json'; exitCode?: boolean; json?: boolean }): Promise<number> {
  const [oldLf, newLf] = await Promise.all([readLockfile(oldPath), readLockfile(newPath)]);
  const d = diffLockfiles(oldLf, newLf);
  if (opts.json || opts.format === 'json') writeJson('diff', { old: oldPath, new: newPath, ...diffJson(d) });
  else process.stdout.write(opts.format === 'markdown' ? formatDiffMarkdown(d) : formatDiffText(d));
  return opts.exitCode && !d.empty ? ExitCode.failed : ExitCode.ok;
}
