// Private, throw-away server instances for fault tests: a PostgreSQL 15 cluster and a redis-server,
// each on a free port of loopback, that a test may stop, restart or kill without touching the
// shared PostgreSQL (5432) and Redis (6379) other test files use in parallel. Skipped, saying why,
// when the binaries are absent or when the shared DATABASE_URL/REDIS_URL are unset (a machine
// without the services: CI sets both).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PG_BIN = process.env.PERSONAS_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const REDIS_BIN = 'redis-server';

/** Why private PostgreSQL servers cannot run here, or '' when they can. */
export function privatePostgresSkip(): string {
  if (!process.env.DATABASE_URL) return 'DATABASE_URL is not set: the PostgreSQL fault tests are skipped';
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl'))) return `no PostgreSQL binaries in ${PG_BIN} (set PERSONAS_PG_BIN): the PostgreSQL fault tests are skipped`;
  if (userInfo().uid === 0 && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return 'running as root without runuser (initdb refuses root): the PostgreSQL fault tests are skipped';
  return '';
}

/** Why private Redis servers cannot run here, or '' when they can. */
export async function privateRedisSkip(): Promise<string> {
  if (!process.env.REDIS_URL) return 'REDIS_URL is not set: the Redis fault tests are skipped';
  try {
    await run(REDIS_BIN, ['--version']);
    return '';
  } catch {
    return 'redis-server is not on the PATH: the Redis fault tests are skipped';
  }
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not ready after ${ms} ms`);
}

export interface PrivatePostgres {
  /** postgres://root@127.0.0.1:PORT/postgres (trust authentication, superuser root). */
  url: string;
  port: number;
  /** `immediate` is a crash (recovery at the next start); `fast` ends sessions and shuts down cleanly. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  dispose(): Promise<void>;
}

/** initdb + pg_ctl start in a temporary directory (as the `postgres` user when this process is root). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const root = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'personas-pg-'));
  chmodSync(dir, 0o700);
  if (root) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (cmd: string, args: string[]) => (root ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));
  const data = join(dir, 'data');
  await as(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'root', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c shared_buffers=32MB -c max_connections=60`;
  const start = async () => {
    await as(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await as(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  await start();
  let disposed = false;
  return {
    url: `postgres://root@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: whatever is not on disk is lost) or stops it (SIGTERM: a clean shutdown). */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A redis-server on a free port. `persist`: an append-only file fsynced at every write, so a
 * restart keeps the queue; without it nothing is kept on disk and a restart empties Redis.
 */
export async function startPrivateRedis(opts: { persist?: boolean } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'personas-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'log'),
    ...(opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(REDIS_BIN, args, { stdio: 'ignore' });
    const c = child;
    await until(`redis-server on port ${port}`, 10_000, async () => {
      if (c.exitCode !== null) throw new Error('redis-server exited');
      const { stdout } = await run('redis-cli', ['-p', String(port), 'ping']);
      return stdout.trim() === 'PONG';
    });
  };
  const stop = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async dispose() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
