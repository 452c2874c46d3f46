/**
 * The simple repository API, pure parsing: PEP 691 JSON (`application/vnd.pypi.simple.v1+json`)
 * and PEP 503 HTML (with PEP 592 `data-yanked`, `data-requires-python`, PEP 658/714
 * `data-core-metadata` / `data-dist-info-metadata`, `#sha256=` fragments).
 */
import { NetworkError } from '../errors.js';
import { redactUrl } from '../net/redact.js';

export const PEP691_JSON = 'application/vnd.pypi.simple.v1+json';
/** JSON preferred, HTML accepted (PEP 691 content negotiation). */
export const SIMPLE_ACCEPT = `${PEP691_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1`;

export interface IndexFile {
  filename: string;
  /** Absolute URL (resolved against the page URL), without the hash fragment. */
  url: string;
  /** Hex sha256 when the index gives one. */
  sha256?: string;
  requiresPython?: string;
  /** PEP 592: false, or true / the reason. */
  yanked: boolean | string;
  /** PEP 658/714: whether `url + ".metadata"` exists, with its sha256 when given. */
  coreMetadata: false | { sha256?: string };
  size?: number;
}

export interface ProjectPage {
  /** The page URL (token-free). */
  url: string;
  files: IndexFile[];
  /** `json` (PEP 691) or `html` (PEP 503). */
  format: 'json' | 'html';
}

function coreMeta(v: unknown): IndexFile['coreMetadata'] {
  if (v === true) return {};
  if (v && typeof v === 'object') {
    const sha = (v as Record<string, unknown>).sha256;
    return typeof sha === 'string' ? { sha256: sha.toLowerCase() } : {};
  }
  return false;
}

function stripFragment(u: string): string {
  const i = u.indexOf('#');
  return i < 0 ? u : u.slice(0, i);
}

export function parseSimpleJson(body: string, pageUrl: string): ProjectPage {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    throw new NetworkError(`${redactUrl(pageUrl)}: the index answered with invalid PEP 691 JSON: ${(err as Error).message}`, {
      code: 'E_BAD_RESPONSE',
      url: redactUrl(pageUrl),
      cause: err,
    });
  }
  const files = (data as { files?: unknown }).files;
  if (!Array.isArray(files)) {
    throw new NetworkError(`${redactUrl(pageUrl)}: not a PEP 691 project page (no "files" list)`, { code: 'E_BAD_RESPONSE', url: redactUrl(pageUrl) });
  }
  const out: IndexFile[] = [];
  for (const f of files as Array<Record<string, unknown>>) {
    if (typeof f.filename !== 'string' || typeof f.url !== 'string') continue;
    const hashes = (f.hashes ?? {}) as Record<string, unknown>;
    const file: IndexFile = {
      filename: f.filename,
      url: stripFragment(new URL(f.url, pageUrl).href),
      yanked: f.yanked === true ? true : typeof f.yanked === 'string' ? f.yanked || true : false,
      coreMetadata: coreMeta(f['core-metadata'] ?? f['dist-info-metadata'] ?? f['data-dist-info-metadata']),
    };
    if (typeof hashes.sha256 === 'string') file.sha256 = hashes.sha256.toLowerCase();
    if (typeof f['requires-python'] === 'string' && f['requires-python'] !== '') file.requiresPython = f['requires-python'];
    if (typeof f.size === 'number') file.size = f.size;
    out.push(file);
  }
  return { url: pageUrl, files: out, format: 'json' };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function unescapeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+|#39);/gi, (m, e: string) => {
    const k = e.toLowerCase();
    if (ENTITIES[k] !== undefined) return ENTITIES[k]!;
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return m;
  });
}

/** Attributes of one start tag: `name="v"`, `name='v'`, `name=v`, bare `name`. */
function attributes(tag: string): Map<string, string | true> {
  const out = new Map<string, string | true>();
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(tag))) {
    const v = m[2] ?? m[3] ?? m[4];
    out.set(m[1]!.toLowerCase(), v === undefined ? true : unescapeHtml(v));
  }
  return out;
}

export function parseSimpleHtml(body: string, pageUrl: string): ProjectPage {
  const files: IndexFile[] = [];
  // <base href> changes how relative links resolve (PEP 503 allows it).
  let base = pageUrl;
  const baseTag = /<base\s+([^>]*)>/i.exec(body);
  if (baseTag) {
    const href = attributes(baseTag[1]!).get('href');
    if (typeof href === 'string') base = new URL(href, pageUrl).href;
  }
  const re = /<a\s([^>]*)>([\s\S]*?)<\/a\s*>/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    const attrs = attributes(m[1]!);
    const href = attrs.get('href');
    if (typeof href !== 'string') continue;
    const abs = new URL(href, base);
    const frag = /(?:^|&)sha256=([0-9a-fA-F]{64})/.exec(abs.hash.slice(1));
    abs.hash = '';
    const text = unescapeHtml(m[2]!.replace(/<[^>]*>/g, '')).trim();
    const filename = decodeURIComponent(abs.pathname.split('/').pop() ?? '') || text;
    const yanked = attrs.get('data-yanked');
    const meta = attrs.get('data-core-metadata') ?? attrs.get('data-dist-info-metadata');
    const file: IndexFile = {
      filename,
      url: abs.href,
      yanked: yanked === undefined ? false : yanked === true || yanked === '' ? true : yanked,
      coreMetadata:
        meta === undefined || meta === 'false'
          ? false
          : meta === true || meta === 'true'
            ? {}
            : /^sha256=([0-9a-f]{64})$/i.test(meta)
              ? { sha256: meta.slice(7).toLowerCase() }
              : {},
    };
    if (frag) file.sha256 = frag[1]!.toLowerCase();
    const rp = attrs.get('data-requires-python');
    if (typeof rp === 'string' && rp.trim() !== '') file.requiresPython = rp;
    files.push(file);
  }
  return { url: pageUrl, files, format: 'html' };
}

/** Pick the parser by Content-Type, else by the first byte. */
export function parseProjectPage(body: Buffer, contentType: string | undefined, pageUrl: string): ProjectPage {
  const text = body.toString('utf8');
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('json') || (!ct.includes('html') && text.trimStart().startsWith('{'))) return parseSimpleJson(text, pageUrl);
  return parseSimpleHtml(text, pageUrl);
}
