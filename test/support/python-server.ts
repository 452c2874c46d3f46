/**
 * `python3 -m http.server` on 127.0.0.1 for tests: an HTTP/1.0 server that closes the connection
 * after every response — the usual way to serve a local channel, and the server shape that crashed
 * undici 7 (#5360). Tests that need it skip with `pythonServerSkipReason` when there is no python3.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const havePython3 = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;
export const pythonServerSkipReason = 'python3 not found on PATH: skipping tests against python3 -m http.server';

export interface PythonHttpServer {
  baseUrl: string;
  url(path: string): string;
  stop(): Promise<void>;
}

/** Serve `dir` with `python3 -m http.server` on a free port; resolves once it listens. */
export async function startPythonHttpServer(dir: string): Promise<PythonHttpServer> {
  const child: ChildProcess = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`python3 -m http.server did not start: ${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python3 -m http.server exited with ${code}: ${out}`));
    });
  });
  // Its access log goes to stderr: read it so the pipe never fills.
  child.stderr!.resume();
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    url: (path) => baseUrl + (path.startsWith('/') ? path : `/${path}`),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
