/**
 * src/worker-entry.ts: an error crosses a thread boundary (serializeError → structured clone →
 * deserializeError) as the class its caller names, with its cause rebuilt the same way; a name the
 * caller does not know comes back through its `other` maker (the solver's SolverWorkerError) or as a
 * plain Error with the code and the worker's stack.
 */
import { describe, expect, it } from 'vitest';
import { IntegrityError, UnsatisfiableError } from '../src/errors.js';
import { deserializeError, serializeError, type ErrorMakers } from '../src/worker-entry.js';

const across = (e: unknown) => structuredClone(serializeError(e));

describe('deserializeError', () => {
  const makers: ErrorMakers = { UnsatisfiableError: (s) => new UnsatisfiableError(s.message) };

  it('rebuilds the classes the caller names, and nothing else as them', () => {
    const back = deserializeError(across(new UnsatisfiableError('no solution: a conflicts with b')), makers);
    expect(back).toBeInstanceOf(UnsatisfiableError);
    expect(back.message).toBe('no solution: a conflicts with b');
    // the extraction classes are not the solver's: an IntegrityError from a solver worker is a bug there
    const other = deserializeError(across(new IntegrityError('x')), makers, (s) => new Error(`bug: ${s.name}`));
    expect(other.message).toBe('bug: IntegrityError');
    // the default makers are extraction's
    expect(deserializeError(across(new IntegrityError('bad sha'))).constructor).toBe(IntegrityError);
  });

  it('an unknown error keeps its name, code and the worker stack; a cause is rebuilt with the same makers', () => {
    const inner = Object.assign(new Error('disk full'), { code: 'ENOSPC', errno: -28 });
    const outer = new Error('write failed', { cause: new UnsatisfiableError('inner solve') });
    const back = deserializeError(across(inner), makers) as NodeJS.ErrnoException;
    expect([back.name, back.code, back.errno]).toEqual(['Error', 'ENOSPC', -28]);
    expect(back.stack).toBe(inner.stack);
    expect((deserializeError(across(outer), makers).cause as Error)).toBeInstanceOf(UnsatisfiableError);
    // a name that is only an inherited property is not a maker
    expect(deserializeError({ name: 'toString', message: 'm' }, makers).message).toBe('m');
  });
});
