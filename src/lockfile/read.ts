/**
 * Lockfile reader: YAML → validated `Lockfile`.
 *
 * YAML syntax errors and schema violations become a `LockfileError` naming the file, the line
 * (and column) where possible, and the field (`packages[3].sha256`, with the package it belongs to).
 */
import { readFile } from 'node:fs/promises';
import type { Document, LineCounter, Node } from 'yaml';
import { yaml } from '../yaml-lazy.js';
import { Channel } from '../conda/channel.js';
import { unsafeRecordField } from '../conda/record.js';
import { escapeControl } from '../escape.js';
import { LockfileError } from '../errors.js';
import { LOCKFILE_VERSION, type Lockfile } from './model.js';
import { parseCanonicalLockfile } from './read-fast.js';
import { describeSchemaError, instancePathSegments, schemaErrors } from './schema.js';

const MAX_REPORTED = 10;

export async function readLockfile(path: string): Promise<Lockfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LockfileError(`lockfile ${path} not found: create it with \`conda-go-lock lock\``, {
        code: 'E_LOCKFILE_NOT_FOUND',
        cause: err,
      });
    }
    throw new LockfileError(`cannot read lockfile ${path}: ${(err as Error).message}`, { code: 'E_LOCKFILE_READ', cause: err });
  }
  return parseLockfile(text, path);
}

export function parseLockfile(text: string, path = '<lockfile>'): Lockfile {
  // Our own layout is read by the fast path; anything it does not take, and any file with a problem
  // (so that the message can name the line), goes through the generic YAML parser below.
  const fast = parseCanonicalLockfile(text);
  if (fast !== undefined) {
    try {
      return checkData(fast, path, NO_LINES);
    } catch (err) {
      if (!(err instanceof NeedLines)) throw err;
    }
  }
  return parseLockfileWithYaml(text, path);
}

/** Thrown by the fast path's locator: the data has a problem, read the file again with line numbers. */
class NeedLines extends Error {}
const NO_LINES: Locate = () => {
  throw new NeedLines();
};

/** `:line:col` of a field (see lineOf), or '' when unknown. */
type Locate = (segs: Array<string | number>, wantKey?: boolean) => string;

/** The generic reader: `yaml` with positions, for any YAML (hand-edited files) and for every error message. */
export function parseLockfileWithYaml(text: string, path = '<lockfile>'): Lockfile {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2' });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0];
    throw new LockfileError(`${path}:${pos.line}:${pos.col}: not valid YAML: ${msg}`, { code: 'E_LOCKFILE_YAML' });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new LockfileError(`${path}: cannot read YAML: ${(err as Error).message}`, { code: 'E_LOCKFILE_YAML', cause: err });
  }
  return checkData(data, path, (segs, wantKey) => lineOf(doc, lineCounter, segs, wantKey));
}

/** Shape, schema and consistency checks of the parsed data; `locate` gives positions for messages. */
function checkData(data: unknown, path: string, locate: Locate): Lockfile {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new LockfileError(`${path}: not a conda-go-lock lockfile (expected a mapping with version, metadata, packages, go)`, {
      code: 'E_LOCKFILE_SCHEMA',
    });
  }
  const obj = data as Record<string, unknown>;
  if (Array.isArray(obj.package) && !('packages' in obj)) {
    throw new LockfileError(
      `${path}: this is a conda-lock lockfile (it has \`package:\`), not a conda-go-lock one; create ours with \`conda-go-lock lock -f environment.yml\` (\`conda-go-lock render --kind conda-lock\` writes the conda-lock format)`,
      { code: 'E_LOCKFILE_SCHEMA' },
    );
  }
  if (('dependencies' in obj || 'channels' in obj) && !('packages' in obj)) {
    throw new LockfileError(
      `${path}: this is an environment file (it has \`${'dependencies' in obj ? 'dependencies' : 'channels'}:\`), not a lockfile; pass it with -f and name the lockfile with --lockfile (default conda-go-lock.yml)`,
      { code: 'E_LOCKFILE_SCHEMA' },
    );
  }
  const version = obj.version;
  if (typeof version === 'number' && version !== LOCKFILE_VERSION) {
    throw new LockfileError(
      `${path}${locate(['version'])}: lockfile version ${version} is not supported (this conda-go-lock reads version ${LOCKFILE_VERSION}); ` +
        (version > LOCKFILE_VERSION ? 'upgrade conda-go-lock' : 'regenerate it with `conda-go-lock lock`'),
      { code: 'E_LOCKFILE_VERSION' },
    );
  }

  const errors = schemaErrors(data);
  if (errors.length > 0) {
    if (locate === NO_LINES) throw new NeedLines();
    const lines = errors.slice(0, MAX_REPORTED).map((e) => {
      const segs = instancePathSegments(e.instancePath);
      // For a missing/unknown key point at the key itself when it exists, else the enclosing node.
      const p = e.params as Record<string, unknown>;
      let at = segs;
      if (e.keyword === 'additionalProperties') at = [...segs, String(p.additionalProperty)];
      if (e.keyword === 'propertyNames' || (e.params as { propertyName?: string }).propertyName !== undefined) {
        at = [...segs, String(p.propertyName)];
      }
      const d = describeSchemaError(e);
      const loc = locate(at, e.keyword === 'additionalProperties' || e.keyword === 'propertyNames');
      return `${path}${loc}: ${d.field}${owner(data, segs)}: ${d.message}`;
    });
    if (errors.length > MAX_REPORTED) lines.push(`... and ${errors.length - MAX_REPORTED} more`);
    const head = errors.length === 1 ? lines[0]! : `${path}: ${errors.length} schema errors:\n  ${lines.join('\n  ')}`;
    throw new LockfileError(`${head}\n(the lockfile does not match schemas/lockfile.schema.json; regenerate it with \`conda-go-lock lock\`)`, {
      code: 'E_LOCKFILE_SCHEMA',
    });
  }

  const lockfile = data as Lockfile;
  checkConsistency(lockfile, path, locate);
  return lockfile;
}

/** Semantic checks the schema cannot express. */
function checkConsistency(lf: Lockfile, path: string, locate: Locate): void {
  lf.metadata.channels.forEach((c, i) => {
    if (c.url_template === undefined) return;
    const where = () => `${path}${locate(['metadata', 'channels', i, 'url_template'])}: metadata.channels[${i}].url_template`;
    let t: Channel;
    try {
      t = Channel.parse(c.url_template);
    } catch (err) {
      throw new LockfileError(`${where()}: ${(err as Error).message}`, { code: 'E_LOCKFILE_INVALID', cause: err });
    }
    const vars = [...(c.used_env_vars ?? [])].sort();
    if (t.baseUrl !== c.url || t.usedEnvVars.join(',') !== vars.join(',')) {
      throw new LockfileError(
        `${where()} (${c.url_template}) does not match its channel: it stands for ${t.baseUrl} using ${t.usedEnvVars.join(', ') || 'no variables'}, ` +
          `but url is ${c.url} and used_env_vars ${vars.join(', ')}; re-lock`,
        { code: 'E_LOCKFILE_INVALID' },
      );
    }
  });
  const platforms = new Set(lf.metadata.platforms);
  const seen = new Map<string, number>();
  lf.packages.forEach((p, i) => {
    if (!platforms.has(p.platform)) {
      throw new LockfileError(
        `${path}${locate(['packages', i, 'platform'])}: packages[${i}] (${p.name} ${p.version}) is for platform ${p.platform}, which metadata.platforms does not list`,
        { code: 'E_LOCKFILE_INVALID' },
      );
    }
    // The schema's patterns say the same; checked again here because these strings become file names.
    const unsafe = unsafeRecordField(p);
    if (unsafe !== undefined) {
      throw new LockfileError(`${path}${locate(['packages', i])}: packages[${i}]: ${escapeControl(unsafe)}`, {
        code: 'E_LOCKFILE_INVALID',
      });
    }
    const key = `${p.platform}\0${p.name}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      throw new LockfileError(
        `${path}${locate(['packages', i])}: package ${p.name} is locked twice for ${p.platform} (packages[${prev}] and packages[${i}])`,
        { code: 'E_LOCKFILE_INVALID' },
      );
    }
    seen.set(key, i);
  });
  const goSeen = new Set<string>();
  lf.go.forEach((g, i) => {
    if (!platforms.has(g.platform) || goSeen.has(g.platform)) {
      throw new LockfileError(
        `${path}${locate(['go', i, 'platform'])}: go[${i}] (go${g.version}): ` +
          (goSeen.has(g.platform) ? `a second Go toolchain for ${g.platform}` : `platform ${g.platform} is not in metadata.platforms`),
        { code: 'E_LOCKFILE_INVALID' },
      );
    }
    goSeen.add(g.platform);
  });
  const pySeen = new Map<string, number>();
  (lf.pypi ?? []).forEach((p, i) => {
    const key = `${p.platform}\0${p.name}`;
    const prev = pySeen.get(key);
    if (!platforms.has(p.platform) || prev !== undefined) {
      throw new LockfileError(
        `${path}${locate(['pypi', i, 'platform'])}: pypi[${i}] (${p.name} ${p.version}): ` +
          (prev !== undefined ? `locked twice for ${p.platform} (pypi[${prev}] and pypi[${i}])` : `platform ${p.platform} is not in metadata.platforms`),
        { code: 'E_LOCKFILE_INVALID' },
      );
    }
    pySeen.set(key, i);
  });
}

/** ` (package numpy 1.26.4 on linux-64)` for errors inside a package or Go entry. */
function owner(data: unknown, segs: Array<string | number>): string {
  const [section, index] = segs;
  if ((section !== 'packages' && section !== 'go' && section !== 'pypi') || typeof index !== 'number') return '';
  const item = (data as Record<string, unknown[]>)[section]?.[index] as Record<string, unknown> | undefined;
  if (!item || typeof item !== 'object') return '';
  const name = section === 'go' ? 'go' : typeof item.name === 'string' ? item.name : '?';
  const version = typeof item.version === 'string' ? ` ${item.version}` : '';
  const platform = typeof item.platform === 'string' ? ` on ${item.platform}` : '';
  return ` (${section === 'go' ? 'Go toolchain' : section === 'pypi' ? 'PyPI package' : 'package'} ${name}${version}${platform})`;
}

/** `:line:col` of the deepest existing node on `segs` (or of the key when `wantKey`). */
function lineOf(doc: Document, lc: LineCounter, segs: Array<string | number>, wantKey = false): string {
  const { isMap, isNode, isPair, isScalar, isSeq } = yaml();
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let best: Node | undefined = isNode(node) ? node : undefined;
  for (const seg of segs) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      keyNode = isNode(pair.key) ? pair.key : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      break;
    }
    if (isNode(node)) best = node;
    else break;
  }
  const target = wantKey && keyNode ? keyNode : best;
  const offset = target?.range?.[0];
  if (offset === undefined) return '';
  const pos = lc.linePos(offset);
  return `:${pos.line}:${pos.col}`;
}
