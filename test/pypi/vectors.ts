/** pypa/packaging's test vectors (../shared/fixtures/pypi/vectors/packaging, see its SOURCES.md). */
import { existsSync, readFileSync } from 'node:fs';
import { fixture } from '../support/fixtures.js';

export interface VectorCase {
  params: Record<string, unknown>;
  outcome: string;
}
export type VectorFile = Record<string, VectorCase[] | unknown>;

export const vectorsDir = fixture('pypi', 'vectors', 'packaging');
export const haveVectors = existsSync(vectorsDir);
export const vectorsSkip = `pypa/packaging vectors not found at ${vectorsDir}: skipping`;

const cache = new Map<string, VectorFile>();
export function vectors(name: string): VectorFile {
  let v = cache.get(name);
  if (!v) {
    v = JSON.parse(readFileSync(`${vectorsDir}/${name}.vectors.json`, 'utf8')) as VectorFile;
    cache.set(name, v);
  }
  return v;
}

/** The params of every case of one test (all of them passed under packaging). */
export function cases<T = Record<string, unknown>>(file: string, test: string): T[] {
  const list = vectors(file)[test];
  if (!Array.isArray(list)) throw new Error(`no vectors for ${file} ${test}`);
  return (list as VectorCase[]).filter((c) => c.outcome === 'passed').map((c) => c.params as T);
}
