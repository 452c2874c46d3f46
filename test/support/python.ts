/**
 * The host python 3.9 that stands in for a conda python in tests (see ../shared/fixtures/packages
 * SOURCES.md): `python3.9` on PATH, else `$(pyenv root)/versions/3.9*\/bin/python3.9`. Tests that
 * need it skip with `python39SkipReason` when there is none.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function works(exe: string): boolean {
  try {
    return execFileSync(exe, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim() === '3.9';
  } catch {
    return false;
  }
}

function find(): string | undefined {
  if (works('python3.9')) return 'python3.9';
  const roots: string[] = [];
  try {
    roots.push(execFileSync('pyenv', ['root'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    /* no pyenv on PATH */
  }
  roots.push(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'));
  for (const root of roots) {
    const versions = join(root, 'versions');
    if (!existsSync(versions)) continue;
    for (const v of readdirSync(versions).filter((n) => n.startsWith('3.9')).sort().reverse()) {
      const exe = join(versions, v, 'bin', 'python3.9');
      if (existsSync(exe) && works(exe)) return exe;
    }
  }
  return undefined;
}

export const python39 = find();
export const python39SkipReason = 'no host python3.9 (PATH or pyenv): skipping tests that import installed wheels';
if (!python39) console.warn(`[conda-go-lock tests] ${python39SkipReason}`);

/** Run python 3.9 with `sitePackages` first on sys.path; returns stdout. */
export function runPython39(sitePackages: string, code: string): string {
  return execFileSync(python39!, ['-I', '-c', `import sys; sys.path.insert(0, ${JSON.stringify(sitePackages)})\n${code}`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}
