/**
 * A PyPI simple index on 127.0.0.1 for tests and bench/pypi.ts.
 *
 * `/simple/<name>/` answers PEP 691 JSON when the Accept header asks for it (and `html` mode is
 * off), else PEP 503 HTML; `/files/<filename>` serves the file (GET and HEAD), and
 * `/files/<filename>.metadata` its PEP 658 metadata. Every response has an ETag and honours
 * If-None-Match. Requests and bytes are logged so tests can assert what was (not) fetched.
 *
 * Projects come from real data in ../shared/fixtures/pypi:
 * - `addResolvelibIndex`: resolvelib's frozen PyPI indexes (real Requires-Dist of every version):
 *   each version becomes a tiny py3-none-any wheel whose METADATA carries those requirements,
 *   built with yazl on first request, so hashes and sizes are the served bytes';
 * - `addPoetryProject`: poetry's self-consistent fixture (real PEP 691 pages, PEP 658 files and
 *   stubbed dists whose sha256 match the pages), URLs rewritten to this server;
 * - `addRaw`: a byte-exact PyPI response (micropip's numpy/pytest JSON and HTML), URLs rewritten.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { fixture } from './fixtures.js';

export interface ServedFile {
  filename: string;
  /** File bytes (built lazily when absent and `build` is set). */
  body?: Buffer;
  build?: () => Promise<Buffer>;
  requiresPython?: string;
  yanked?: boolean | string;
  /** PEP 658 metadata bytes; undefined = the index has no metadata file for it. */
  metadata?: Buffer;
  /** Advertise metadata even though the file is missing (PEP 714 index bug). */
  advertiseMissingMetadata?: boolean;
  /** Hash and size as the page states them (poetry's fixture); default: computed from body. */
  statedSha256?: string | null;
  statedSize?: number | null;
}

export interface IndexLogEntry {
  method: string;
  path: string;
  status: number;
  bytes: number;
  accept?: string;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function canonical(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export class PypiIndexServer {
  readonly log: IndexLogEntry[] = [];
  /** `html`: never answer JSON (an index without PEP 691). `noHashes`: pages omit sha256. `noSizes`: omit size. */
  mode = { html: false, noHashes: false, noSizes: false, noMetadata: false };
  /** When set, every request must carry this user:password as Basic auth (a private index), else 401. */
  basicAuth: { user: string; password: string } | undefined;
  private readonly projects = new Map<string, ServedFile[]>();
  private readonly raw = new Map<string, { json?: string; html?: string }>();
  private readonly built = new Map<string, Buffer>();
  private server?: Server;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get indexUrl(): string {
    return `${this.url}/simple`;
  }

  addFile(project: string, f: ServedFile): this {
    const key = canonical(project);
    const list = this.projects.get(key) ?? [];
    list.push(f);
    this.projects.set(key, list);
    return this;
  }

  /** One wheel with this METADATA (name, version, Requires-Dist, Requires-Python). */
  addWheel(name: string, version: string, opts: { requires?: string[]; requiresPython?: string; tags?: string; yanked?: boolean | string; metadataFile?: boolean } = {}): this {
    const dist = name.replace(/[-_.]+/g, '_');
    const filename = `${dist}-${version}-${opts.tags ?? 'py3-none-any'}.whl`;
    const metadata = Buffer.from(
      [
        'Metadata-Version: 2.1',
        `Name: ${name}`,
        `Version: ${version}`,
        ...(opts.requiresPython ? [`Requires-Python: ${opts.requiresPython}`] : []),
        ...(opts.requires ?? []).map((r) => `Requires-Dist: ${r}`),
        '',
        '',
      ].join('\n'),
    );
    const f: ServedFile = {
      filename,
      build: () => buildWheel(`${dist}-${version}.dist-info`, metadata),
    };
    if (opts.metadataFile !== false) f.metadata = metadata;
    if (opts.requiresPython) f.requiresPython = opts.requiresPython;
    if (opts.yanked) f.yanked = opts.yanked;
    return this.addFile(name, f);
  }

  /** resolvelib's `{name: {version: {dependencies}}}` frozen index (test/functional/python/inputs/index). */
  addResolvelibIndex(file: string): this {
    const data = JSON.parse(readFileSync(fixture('pypi', 'resolvelib', 'inputs', 'index', `${file}.json`), 'utf8')) as Record<string, unknown>;
    for (const [name, versions] of Object.entries(data)) {
      if (!versions || typeof versions !== 'object') continue;
      for (const [version, info] of Object.entries(versions as Record<string, { dependencies?: unknown }>)) {
        // (dask's toolz 0.10.0 has `"dependencies": {}`.)
        this.addWheel(name, version, { requires: Array.isArray(info?.dependencies) ? (info.dependencies as string[]) : [] });
      }
    }
    return this;
  }

  /** A project of poetry's fixture index (poetry/pypi.org/json/<name>.json + metadata + stubbed dists). */
  addPoetryProject(name: string): this {
    const base = fixture('pypi', 'poetry', 'pypi.org');
    const page = JSON.parse(readFileSync(`${base}/json/${name}.json`, 'utf8')) as { files: Array<Record<string, unknown>> };
    for (const f of page.files) {
      const filename = f.filename as string;
      const path = [`${base}/stubbed/${filename}`, `${base}/dists/${filename}`].find((p) => existsSync(p));
      const md = `${base}/metadata/${filename}.metadata`;
      const served: ServedFile = {
        filename,
        statedSha256: ((f.hashes as Record<string, string> | undefined)?.sha256 as string | undefined) ?? null,
        statedSize: (f.size as number | undefined) ?? null,
      };
      if (path) served.body = readFileSync(path);
      if (existsSync(md)) served.metadata = readFileSync(md);
      if (typeof f['requires-python'] === 'string') served.requiresPython = f['requires-python'] as string;
      if (f.yanked) served.yanked = f.yanked as boolean | string;
      this.addFile(name, served);
    }
    return this;
  }

  /** A byte-exact PyPI response (PEP 691 JSON and/or HTML) for `name`, file URLs pointed here. */
  addRaw(name: string, bodies: { json?: string; html?: string }): this {
    this.raw.set(canonical(name), bodies);
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(String(err.message));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  requestsTo(re: RegExp): IndexLogEntry[] {
    return this.log.filter((l) => re.test(l.path));
  }

  private async fileBody(f: ServedFile): Promise<Buffer | undefined> {
    if (f.body) return f.body;
    if (!f.build) return undefined;
    let b = this.built.get(f.filename);
    if (!b) {
      b = await f.build();
      this.built.set(f.filename, b);
    }
    return b;
  }

  private rewrite(text: string): string {
    return text.replaceAll('https://files.pythonhosted.org/', `${this.url}/files/`);
  }

  private async page(key: string, wantJson: boolean): Promise<{ body: string; type: string } | undefined> {
    const raw = this.raw.get(key);
    if (raw) {
      if (wantJson && raw.json) return { body: this.rewrite(raw.json), type: 'application/vnd.pypi.simple.v1+json' };
      if (raw.html) return { body: this.rewrite(raw.html), type: 'text/html' };
      return undefined;
    }
    const files = this.projects.get(key);
    if (!files) return undefined;
    const entries = await Promise.all(
      files.map(async (f) => {
        const body = await this.fileBody(f);
        const hash = f.statedSha256 !== undefined ? f.statedSha256 : body ? sha(body) : null;
        const size = f.statedSize !== undefined ? f.statedSize : body ? body.length : null;
        const meta = this.mode.noMetadata ? false : f.metadata ? { sha256: sha(f.metadata) } : f.advertiseMissingMetadata ? true : false;
        return { f, hash, size, meta };
      }),
    );
    if (wantJson) {
      const json = {
        meta: { 'api-version': '1.1' },
        name: key,
        files: entries.map(({ f, hash, size, meta }) => ({
          filename: f.filename,
          url: `../../files/${encodeURIComponent(f.filename)}`,
          hashes: hash && !this.mode.noHashes ? { sha256: hash } : {},
          'requires-python': f.requiresPython ?? null,
          'core-metadata': meta,
          'data-dist-info-metadata': meta,
          ...(size !== null && !this.mode.noSizes ? { size } : {}),
          yanked: f.yanked ?? false,
        })),
      };
      return { body: JSON.stringify(json), type: 'application/vnd.pypi.simple.v1+json' };
    }
    const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
    const links = entries.map(({ f, hash, meta }) => {
      const attrs = [`href="../../files/${encodeURIComponent(f.filename)}${hash && !this.mode.noHashes ? `#sha256=${hash}` : ''}"`];
      if (f.requiresPython) attrs.push(`data-requires-python="${esc(f.requiresPython)}"`);
      if (f.yanked) attrs.push(`data-yanked="${typeof f.yanked === 'string' ? esc(f.yanked) : ''}"`);
      if (meta) {
        const v = meta === true ? 'true' : `sha256=${meta.sha256}`;
        attrs.push(`data-core-metadata="${v}"`, `data-dist-info-metadata="${v}"`);
      }
      return `    <a ${attrs.join(' ')}>${esc(f.filename)}</a><br />`;
    });
    const html = `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.1">\n    <title>Links for ${key}</title>\n  </head>\n  <body>\n    <h1>Links for ${key}</h1>\n${links.join('\n')}\n  </body>\n</html>\n`;
    return { body: html, type: 'text/html' };
  }

  private findFile(filename: string): ServedFile | undefined {
    for (const files of this.projects.values()) {
      const f = files.find((x) => x.filename === filename);
      if (f) return f;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const accept = req.headers.accept;
    const send = (status: number, body: Buffer | string, type = 'text/plain') => {
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      const etag = `"${sha(buf).slice(0, 16)}"`;
      if (status === 200 && req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        this.log.push({ method: req.method ?? 'GET', path, status: 304, bytes: 0, ...(accept ? { accept } : {}) });
        return;
      }
      res.writeHead(status, { 'content-type': type, 'content-length': buf.length, etag });
      const head = req.method === 'HEAD';
      res.end(head ? undefined : buf);
      this.log.push({ method: req.method ?? 'GET', path, status, bytes: head ? 0 : buf.length, ...(accept ? { accept } : {}) });
    };
    if (this.basicAuth) {
      const want = `Basic ${Buffer.from(`${this.basicAuth.user}:${this.basicAuth.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="index"', 'content-type': 'text/plain' });
        res.end('Unauthorized');
        this.log.push({ method: req.method ?? 'GET', path, status: 401, bytes: 0, ...(accept ? { accept } : {}) });
        return;
      }
    }
    let m = /^\/simple\/([^/]+)\/?$/.exec(path);
    if (m) {
      const wantJson = !this.mode.html && (accept ?? '').includes('application/vnd.pypi.simple.v1+json');
      const p = await this.page(canonical(m[1]!), wantJson);
      if (!p) return send(404, 'Not Found');
      return send(200, p.body, p.type);
    }
    m = /^\/files\/(.+)$/.exec(path);
    if (m) {
      const name = m[1]!.split('/').pop()!;
      if (name.endsWith('.metadata')) {
        const f = this.findFile(name.slice(0, -'.metadata'.length));
        if (!f?.metadata || this.mode.noMetadata) return send(404, 'Not Found');
        return send(200, f.metadata, 'application/octet-stream');
      }
      const f = this.findFile(name);
      const body = f && (await this.fileBody(f));
      if (!body) return send(404, 'Not Found');
      return send(200, body, 'application/octet-stream');
    }
    send(404, 'Not Found');
  }
}

/**
 * A minimal wheel: `<dist-info>/METADATA`, `WHEEL` and `RECORD`, written as a STORED zip by hand
 * (thousands of versions per index: yazl's streams made big pages slow).
 */
function buildWheel(distInfo: string, metadata: Buffer): Promise<Buffer> {
  const wheel = Buffer.from('Wheel-Version: 1.0\nGenerator: conda-go-lock tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n');
  // RECORD with each file's hash and size (installable by src/install/wheel, which refuses unhashed files).
  const line = (path: string, data: Buffer) => `${path},sha256=${createHash('sha256').update(data).digest('base64url')},${data.length}\n`;
  const record = Buffer.from(`${line(`${distInfo}/METADATA`, metadata)}${line(`${distInfo}/WHEEL`, wheel)}${distInfo}/RECORD,,\n`);
  const entries: Array<[string, Buffer]> = [[`${distInfo}/METADATA`, metadata], [`${distInfo}/WHEEL`, wheel], [`${distInfo}/RECORD`, record]];
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const DOS_TIME = 0;
  const DOS_DATE = (40 << 9) | (1 << 5) | 1; // 2020-01-01
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Promise.resolve(Buffer.concat([...locals, cd, end]));
}
