/** The error-code table in src/errors.ts and the one in docs/exit-codes.md are the same table. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ExitCode, GoToolchainError, InputError, InstallError, LockfileError, NetworkError, UsageError } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/exit-codes.md', import.meta.url), 'utf8');

/** `| \`E_X\` | 3 | ... |` rows of the "Every code" table. */
function documentedCodes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `(E_[A-Z0-9_]+)` \| (\d+) \|/gm)) {
    const [, code, status] = m;
    expect(out.has(code!), `${code} documented twice`).toBe(false);
    out.set(code!, Number(status));
  }
  return out;
}

describe('error codes', () => {
  it('docs/exit-codes.md lists every code with the exit status src/errors.ts gives it, and no other', () => {
    expect(Object.fromEntries(documentedCodes())).toEqual({ ...ERROR_CODES });
  });

  it("the status overview's typical codes have the status of their row", () => {
    for (const m of doc.matchAll(/^\| (\d+) \| [^\n]*\| ([^|\n]*) \|$/gm)) {
      const status = Number(m[1]);
      for (const c of m[2]!.matchAll(/`(E_[A-Z0-9_]+)`/g)) expect([c[1], ERROR_CODES[c[1] as keyof typeof ERROR_CODES]]).toEqual([c[1], status]);
    }
  });

  it('an error exits with the status of its code', () => {
    expect(new UsageError('x').exitCode).toBe(ExitCode.usage);
    expect(new InputError('x', { code: 'E_GO_SPEC' }).exitCode).toBe(ExitCode.input);
    expect(new GoToolchainError('x', { code: 'E_GO_NO_MATCH' }).exitCode).toBe(ExitCode.unsatisfiable);
    expect(new NetworkError('x', { code: 'E_HTTP_AUTH' }).exitCode).toBe(ExitCode.network);
    expect(new LockfileError('x').exitCode).toBe(ExitCode.lockfile);
    expect(new InstallError('x', { code: 'E_PREFIX_LOCKED' }).exitCode).toBe(ExitCode.install);
  });

  // Codes passed to error classes are type-checked; this catches the ones in messages and comments.
  it('every code named in a message or comment in src/ is a known code', async () => {
    const { default: fg } = await import('fast-glob');
    const files = await fg('src/**/*.ts', { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    const unknown: string[] = [];
    for (const f of files) {
      const text = readFileSync(new URL(`../${f}`, import.meta.url), 'utf8');
      for (const m of text.matchAll(/[`\[](E_[A-Z][A-Z0-9_]*)[`\]]/g)) if (!(m[1]! in ERROR_CODES)) unknown.push(`${f}: ${m[1]}`);
    }
    expect(unknown).toEqual([]);
  });
});
