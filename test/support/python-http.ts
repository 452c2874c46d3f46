/**
 * `python3 -m http.server` on 127.0.0.1: an HTTP/1.0 server that closes every connection, the
 * other server kind downloads are tested against. `startPythonHttpServer(dir)` returns its base
 * URL and a stop function; undefined (skip) when python3 is absent.
 */
import { spawn, spawnSync } from 'node:child_process';

export const havePython3 = spawnSync('python3', ['-c', 'pass'], { stdio: 'ignore' }).status === 0;
export const python3SkipReason = 'python3 not found: skipping tests against python -m http.server';

export interface PythonHttpServer {
  url: string;
  stop(): Promise<void>;
}

export async function startPythonHttpServer(dir: string): Promise<PythonHttpServer> {
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`python3 -m http.server did not start: ${out}`)), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr.resume(); // request log lines
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python3 -m http.server exited (${code}): ${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
