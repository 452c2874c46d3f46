/**
 * Which PyPI projects a conda solution already provides, and the interpreter it targets.
 *
 * Names map through a conda→PyPI mapping when one is given (parselmouth's compressed_mapping.json
 * shape: `{conda_name: pypi_name | null}`, null = no PyPI counterpart), else by name equality.
 * The mapping is not shipped (900 kB): `--pypi-mapping FILE` / $CONDA_GO_LOCK_PYPI_MAPPING.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import { canonicalName } from '../../pypi/name.js';
import type { CondaProvided } from './provider.js';
import type { PythonTarget } from './resolve.js';

export interface CondaPypiMapping {
  /** conda name → PyPI names (empty: no counterpart). */
  names: Map<string, string[]>;
  /** `name-equality` or `file:<basename> sha256:<hex>` (recorded in the lockfile). */
  source: string;
}

export const NAME_EQUALITY: CondaPypiMapping = { names: new Map(), source: 'name-equality' };

export function loadCondaPypiMapping(path: string): CondaPypiMapping {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the conda→PyPI mapping ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { code: 'E_PYPI_MAPPING' });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(`the conda→PyPI mapping ${path} is not JSON: ${(err as Error).message}`, { code: 'E_PYPI_MAPPING' });
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError(`the conda→PyPI mapping ${path} must be an object {conda_name: pypi_name | [names] | null}`, { code: 'E_PYPI_MAPPING' });
  }
  const names = new Map<string, string[]>();
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (v === null) names.set(k, []);
    else if (typeof v === 'string') names.set(k, [canonicalName(v)]);
    else if (Array.isArray(v)) names.set(k, v.filter((x): x is string => typeof x === 'string').map(canonicalName));
  }
  return { names, source: `file:${basename(path)} sha256:${createHash('sha256').update(text).digest('hex')}` };
}

interface CondaRecordLike {
  name: string;
  version: string;
  build: string;
}

/** PyPI projects provided by the conda records (python itself and its tooling excluded). */
export function condaProvided(records: readonly CondaRecordLike[], mapping: CondaPypiMapping): CondaProvided[] {
  const out = new Map<string, CondaProvided>();
  for (const r of records) {
    if (r.name === 'python' || r.name.startsWith('_') || r.name.startsWith('__')) continue;
    const names = mapping.names.get(r.name) ?? [canonicalName(r.name)];
    for (const n of names) if (!out.has(n)) out.set(n, { pypiName: n, condaName: r.name, condaVersion: r.version });
  }
  return [...out.values()];
}

/** The interpreter of a conda solution, or undefined when it has no python. */
export function pythonOf(records: readonly CondaRecordLike[]): PythonTarget | undefined {
  const py = records.find((r) => r.name === 'python');
  if (!py) return undefined;
  const pypy = records.some((r) => r.name === 'pypy3.9' || r.name === 'pypy' || r.name.startsWith('pypy3')) || /pypy/.test(py.build);
  const t: PythonTarget = { version: py.version, implementation: pypy ? 'pypy' : 'cpython' };
  if (/_cp3\d+t$|freethreading/.test(py.build) || records.some((r) => r.name === 'python-freethreading')) t.freeThreaded = true;
  return t;
}
