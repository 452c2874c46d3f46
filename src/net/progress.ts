/**
 * Progress on stderr: cli-progress bars on a TTY, nothing per task otherwise (plain `log` lines
 * still print), and silence with `quiet`. Never prints URLs unredacted: callers pass labels.
 */
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import { redactText } from './redact.js';

export interface ProgressTask {
  /** Set the absolute progress (bytes or items); `total` may arrive late (Content-Length). */
  update(value: number, total?: number): void;
  increment(by?: number): void;
  /** Finish the task (removes its bar). */
  done(): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  /** Default: process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force bar mode on or off (default: the stream's isTTY). */
  tty?: boolean;
}

/** cli-progress (and its string-width dependencies, ~20 modules), loaded when the first bar is drawn. */
let bars: typeof cliProgressModule | undefined;
const cliProgress = (): typeof cliProgressModule => (bars ??= createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule);

const NOOP_TASK: ProgressTask = { update() {}, increment() {}, done() {} };

export class ProgressReporter {
  readonly quiet: boolean;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly tty: boolean;
  private multibar: cliProgressModule.MultiBar | undefined;
  private active = 0;

  constructor(options: ProgressOptions = {}) {
    this.quiet = options.quiet ?? false;
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean(this.stream.isTTY);
  }

  /** Whether bars are drawn. */
  get interactive(): boolean {
    return this.tty && !this.quiet;
  }

  /** Start a task; on a non-TTY stream this draws nothing. */
  task(label: string, total?: number): ProgressTask {
    if (!this.interactive) return NOOP_TASK;
    this.multibar ??= new (cliProgress().MultiBar)(
      {
        stream: this.stream as NodeJS.WriteStream,
        format: ' {bar} {percentage}% | {label}',
        hideCursor: true,
        clearOnComplete: true,
        stopOnComplete: false,
        barsize: 24,
        noTTYOutput: false,
      },
      cliProgress().Presets.shades_classic,
    );
    const bar = this.multibar.create(total ?? 0, 0, { label });
    this.active++;
    let finished = false;
    return {
      update: (value, t) => {
        if (finished) return;
        if (t !== undefined && t !== bar.getTotal()) bar.setTotal(t);
        bar.update(value);
      },
      increment: (by = 1) => {
        if (!finished) bar.increment(by);
      },
      done: () => {
        if (finished) return;
        finished = true;
        this.multibar?.remove(bar);
        if (--this.active === 0) this.stop();
      },
    };
  }

  /** A plain status line (kept above the bars on a TTY). Silent when quiet. */
  log(text: string): void {
    if (this.quiet) return;
    // Callers pass labels, but a warning may quote user input (a spec with a channel URL): mask secrets.
    const line = redactText(text);
    if (this.multibar) this.multibar.log(`${line}\n`);
    else this.stream.write(`${line}\n`);
  }

  /** Stop drawing (idempotent). */
  stop(): void {
    this.multibar?.stop();
    this.multibar = undefined;
    this.active = 0;
  }
}

/** A reporter that never prints. */
export const silentProgress = new ProgressReporter({ quiet: true });
