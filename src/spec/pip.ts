/**
 * The `pip:` section of environment.yml: PEP 508 requirement lines and pip's own option lines
 * (`--index-url`, `--extra-index-url`, `-r file`) — parsed, located, never executed.
 *
 * Refused with the line named: direct references (`name @ URL`, bare URLs, `git+…`), editable
 * and local paths (`-e`, `./pkg`), and options that would change what pip builds or trusts
 * (`--no-binary`, `--find-links`, `--trusted-host`, …): conda-go-lock locks wheels from indexes.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError, type SourceLocation } from '../errors.js';
import { parseRequirement, type Requirement } from '../pypi/requirement.js';

export interface PipRequirement {
  requirement: Requirement;
  /** The line as written (comments and surrounding whitespace removed). */
  text: string;
  location: SourceLocation;
  /** pyproject.toml's category of the requirement (undefined: main). */
  category?: string;
}

export interface PipSection {
  requirements: PipRequirement[];
  /** `--index-url` / `-i` (as written; `${VAR}` kept). Undefined: the default index. */
  indexUrl?: string;
  extraIndexUrls: string[];
  /** Requirement files read through `-r`, relative to the environment file's directory as given. */
  files: string[];
  location: SourceLocation;
}

export interface PipProblem {
  message: string;
  location: SourceLocation;
  code: InputError['code'];
}

const REFUSED_OPTIONS: Record<string, string> = {
  '-e': 'editable installs are not locked',
  '--editable': 'editable installs are not locked',
  '-f': 'find-links pages are not supported; use an index (--extra-index-url)',
  '--find-links': 'find-links pages are not supported; use an index (--extra-index-url)',
  '--no-binary': 'conda-go-lock locks wheels only (sdists are not built)',
  '--only-binary': 'conda-go-lock always uses wheels only; drop the option',
  '--trusted-host': 'use an https index instead',
  '-c': 'constraints files are not supported; write the constraint as a requirement',
  '--constraint': 'constraints files are not supported; write the constraint as a requirement',
  '--no-index': 'an index is needed to lock',
};

/** Options pip accepts that do not change what is locked: warned about and ignored. */
const IGNORED_OPTIONS = new Set(['--pre', '--prefer-binary', '--no-deps', '--upgrade', '-U', '--use-pep517', '--no-build-isolation']);

/**
 * Parse one `pip:` list. `itemLocation(i)` locates the i-th item; `baseDir` resolves `-r` paths.
 * Problems are returned (not thrown) so the environment reader reports them with the others.
 */
export function parsePipSection(
  items: unknown,
  sectionLocation: SourceLocation,
  itemLocation: (i: number) => SourceLocation,
  baseDir: string,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): { section: PipSection; problems: PipProblem[]; warnings: PipProblem[] } {
  const section: PipSection = { requirements: [], extraIndexUrls: [], files: [], location: sectionLocation };
  const problems: PipProblem[] = [];
  const warnings: PipProblem[] = [];
  if (items === null || items === undefined) return { section, problems, warnings };
  if (!Array.isArray(items)) {
    problems.push({ message: "'pip' must be a list of requirement lines", location: sectionLocation, code: 'E_ENV_PIP' });
    return { section, problems, warnings };
  }
  const seenFiles = new Set<string>();
  const line = (raw: string, loc: SourceLocation, dir: string, depth: number): void => {
    const text = raw.replace(/(^|\s)#.*$/, '').trim();
    if (text === '') return;
    if (text.startsWith('-')) {
      const m = /^(-[A-Za-z]|--[A-Za-z-]+)(?:[=\s]\s*(.*))?$/.exec(text);
      const opt = m?.[1] ?? text;
      const value = m?.[2]?.trim();
      if (opt === '-i' || opt === '--index-url') {
        if (!value) problems.push({ message: `'${text}': ${opt} needs a URL`, location: loc, code: 'E_ENV_PIP' });
        else if (section.indexUrl !== undefined && section.indexUrl !== value) {
          problems.push({ message: `'${text}': a second --index-url (the first is ${section.indexUrl}); use --extra-index-url for more indexes`, location: loc, code: 'E_ENV_PIP' });
        } else section.indexUrl = value;
        return;
      }
      if (opt === '--extra-index-url') {
        if (!value) problems.push({ message: `'${text}': --extra-index-url needs a URL`, location: loc, code: 'E_ENV_PIP' });
        else if (!section.extraIndexUrls.includes(value)) section.extraIndexUrls.push(value);
        return;
      }
      if (opt === '-r' || opt === '--requirement') {
        if (!value) {
          problems.push({ message: `'${text}': ${opt} needs a file`, location: loc, code: 'E_ENV_PIP' });
          return;
        }
        const path = resolve(dir, value);
        if (seenFiles.has(path) || depth > 10) {
          problems.push({ message: `'${text}': ${value} is included again (a -r cycle)`, location: loc, code: 'E_ENV_PIP' });
          return;
        }
        seenFiles.add(path);
        let body: string;
        try {
          body = readFile(path);
        } catch (err) {
          problems.push({ message: `'${text}': cannot read ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, location: loc, code: 'E_ENV_PIP_FILE' });
          return;
        }
        section.files.push(value);
        // Backslash continuations join lines, as pip reads requirement files.
        const lines = body.replace(/\\\r?\n/g, '').split(/\r?\n/);
        lines.forEach((l, n) => line(l, { file: path, line: n + 1, column: 1 }, dirname(path), depth + 1));
        return;
      }
      if (REFUSED_OPTIONS[opt]) {
        problems.push({ message: `'${text}' is not supported: ${REFUSED_OPTIONS[opt]}`, location: loc, code: 'E_ENV_PIP_OPTION' });
        return;
      }
      if (IGNORED_OPTIONS.has(opt)) {
        warnings.push({ message: `pip option '${text}' is ignored`, location: loc, code: 'E_ENV_PIP_OPTION' });
        return;
      }
      problems.push({ message: `unknown pip option '${text}' (supported: --index-url, --extra-index-url, -r FILE)`, location: loc, code: 'E_ENV_PIP_OPTION' });
      return;
    }
    // pip's per-requirement options (`--hash=…`) after the requirement.
    const body = text.replace(/\s+--hash[=\s]\S+/g, '').trim();
    if (/^(git\+|hg\+|svn\+|bzr\+)/.test(body) || /^[a-z][a-z0-9+.-]*:\/\//i.test(body)) {
      problems.push({ message: `'${text}': direct URL / VCS requirements are not locked (conda-go-lock locks wheels from indexes); publish the package to an index or install it after \`conda-go-lock install\``, location: loc, code: 'E_ENV_PIP_URL' });
      return;
    }
    if (/^(\.|\/|~)/.test(body) || /^[A-Za-z]:[\\/]/.test(body)) {
      problems.push({ message: `'${text}': local paths are not locked; build a wheel and publish it to an index`, location: loc, code: 'E_ENV_PIP_URL' });
      return;
    }
    let req: Requirement;
    try {
      req = parseRequirement(body);
    } catch (err) {
      problems.push({ message: (err as InputError).message, location: loc, code: 'E_ENV_PIP_REQUIREMENT' });
      return;
    }
    if (req.url) {
      problems.push({ message: `'${text}': direct references (name @ URL) are not locked (conda-go-lock locks wheels from indexes); name a version from an index instead`, location: loc, code: 'E_ENV_PIP_URL' });
      return;
    }
    section.requirements.push({ requirement: req, text: body, location: loc });
  };
  items.forEach((it, i) => {
    const loc = itemLocation(i);
    if (typeof it !== 'string') {
      problems.push({ message: 'a pip: entry must be a string (a requirement or a pip option line)', location: loc, code: 'E_ENV_PIP' });
      return;
    }
    line(it, loc, baseDir, 0);
  });
  return { section, problems, warnings };
}
