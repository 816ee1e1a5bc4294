// A child process run to its end without blocking the test worker's event loop: a synchronous
// spawn of a minute (a CLI training run) starves vitest's worker messages, which then time out
// ("Timeout calling onTaskUpdate") and fail the suite although every test passed.
import { spawn, type SpawnOptions } from 'node:child_process';

export interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` to its end (killed after `timeout` ms if given), with its output as text. */
export function runToEnd(command: string, args: string[], opts: Pick<SpawnOptions, 'env' | 'cwd'> & { timeout?: number } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeout ? setTimeout(() => child.kill('SIGKILL'), opts.timeout) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
