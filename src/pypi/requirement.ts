/**
 * PEP 508 dependency specifiers: `name[extra1,extra2] (>=1.0,!=1.3.*) ; python_version < "3.11"`
 * and direct references `name @ https://host/file.whl`.
 *
 * `parseRequirement` is the public parse API (also used for pyproject.toml [project]
 * dependencies). It throws `InvalidRequirement` (an InputError, exit status 3) naming the text
 * and what is wrong.
 */
import { InputError } from '../errors.js';
import { Marker } from './markers.js';
import { canonicalName } from './name.js';
import { SpecifierSet } from './version.js';

export class InvalidRequirement extends InputError {
  constructor(text: string, why: string) {
    super(`invalid requirement '${text}': ${why}`, { code: 'E_PYPI_REQUIREMENT' });
  }
}

export interface Requirement {
  /** The name as written. */
  name: string;
  /** PEP 503-normalised name. */
  key: string;
  /** Extras, normalised, sorted, unique. */
  extras: string[];
  specifier: SpecifierSet;
  /** Direct reference (`name @ URL`). */
  url?: string;
  marker?: Marker;
  /** The original text. */
  text: string;
}

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/;

export function parseRequirement(text: string): Requirement {
  if (/[\r\n]/.test(text)) throw new InvalidRequirement(text, 'a line break inside the requirement');
  let pos = 0;
  const ws = () => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t')) pos++;
  };
  ws();
  const m = NAME_RE.exec(text.slice(pos));
  if (!m) throw new InvalidRequirement(text, 'expected a package name');
  const name = m[0];
  pos += name.length;
  ws();
  let extras: string[] = [];
  if (text[pos] === '[') {
    const end = text.indexOf(']', pos);
    if (end < 0) throw new InvalidRequirement(text, "missing ']' after the extras");
    const inner = text.slice(pos + 1, end).trim();
    if (inner !== '') {
      extras = inner.split(',').map((e) => {
        const t = e.trim();
        if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(t)) throw new InvalidRequirement(text, `invalid extra '${t}'`);
        return canonicalName(t);
      });
    }
    pos = end + 1;
    ws();
  }
  let url: string | undefined;
  let specText = '';
  if (text[pos] === '@') {
    pos++;
    ws();
    const start = pos;
    while (pos < text.length && text[pos] !== ' ' && text[pos] !== '\t') pos++;
    url = text.slice(start, pos);
    if (url === '') throw new InvalidRequirement(text, "expected a URL after '@'");
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) throw new InvalidRequirement(text, `'${url}' is not a URL`);
    const before = pos;
    ws();
    if (pos < text.length && text[pos] === ';' && before === pos && !url.endsWith(';')) {
      // `name @ url;marker` without a space: the ; belongs to the URL per PEP 508.
    }
  } else {
    const semi = text.indexOf(';', pos);
    const end = semi < 0 ? text.length : semi;
    specText = text.slice(pos, end).trim();
    pos = end;
    if (specText.startsWith('(')) {
      if (!specText.endsWith(')')) throw new InvalidRequirement(text, "missing ')' after the version specifier");
      specText = specText.slice(1, -1).trim();
    }
  }
  let marker: Marker | undefined;
  ws();
  if (pos < text.length) {
    if (text[pos] !== ';') throw new InvalidRequirement(text, `unexpected '${text.slice(pos)}' (a marker starts with ';')`);
    const markerText = text.slice(pos + 1);
    if (markerText.trim() === '') throw new InvalidRequirement(text, "expected a marker after ';'");
    try {
      marker = Marker.parse(markerText, pos + 1);
    } catch (err) {
      throw new InvalidRequirement(text, (err as Error).message);
    }
  }
  let specifier: SpecifierSet;
  try {
    specifier = SpecifierSet.parse(specText);
  } catch (err) {
    throw new InvalidRequirement(text, (err as Error).message);
  }
  const req: Requirement = {
    name,
    key: canonicalName(name),
    extras: [...new Set(extras)].sort(),
    specifier,
    text,
  };
  if (url !== undefined) req.url = url;
  if (marker) req.marker = marker;
  return req;
}

/** packaging's str(Requirement): `name[a,b]>=1,<2; marker` / `name @ url ; marker`. */
export function formatRequirement(r: Requirement): string {
  let s = r.name;
  if (r.extras.length) s += `[${r.extras.join(',')}]`;
  if (r.url) s += ` @ ${r.url}`;
  else s += r.specifier.toString();
  if (r.marker) s += `${r.url ? ' ' : ''}; ${r.marker.toString()}`;
  return s;
}
