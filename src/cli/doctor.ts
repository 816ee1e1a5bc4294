// `personas doctor`: checks what the product needs on this machine and says what it will use:
// the Node version, the TensorFlow.js backend the mlp trains on (wasm, or tensorflow when
// @tensorflow/tfjs-node is installed), worker threads (a small mlp trained in one, so the
// backend is checked where training runs), PostgreSQL (DATABASE_URL, else the embedded PGlite
// store), Redis (REDIS_URL; without it jobs run in-process) and DuckDB. Exit code 1 when
// something required is broken; a service that is configured but unreachable is broken.
import type { Command } from 'commander';
import pg from 'pg';
import { Redis } from 'ioredis';
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { trainMany } from '../models/gbdt/workers.ts';
import { modelBackend, tfjsBackend } from '../models/learners.ts';
import { redactUrl } from '../store/db.ts';
import { clusterTemplatePath, openPglite } from '../store/pglite.ts';

export interface DoctorCheck {
  name: string;
  status: 'ok' | 'fail' | 'skip';
  detail: string;
}

export interface DoctorOptions {
  databaseUrl?: string;
  redisUrl?: string;
  /** Seconds to wait for a server (default 5). */
  timeout?: number;
}

const MIN_NODE = [20, 19];

async function check(name: string, body: () => Promise<string | { skip: string }>): Promise<DoctorCheck> {
  try {
    const r = await body();
    return typeof r === 'string' ? { name, status: 'ok', detail: r } : { name, status: 'skip', detail: r.skip };
  } catch (err) {
    const e = err as Error & { code?: string };
    const msg = e.message || (e as { errors?: Error[] }).errors?.map((x) => x.message).join('; ') || String(err);
    return { name, status: 'fail', detail: `${msg}${e.code && !msg.includes(e.code) ? ` (${e.code})` : ''}` };
  }
}

function withTimeout<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${seconds} s`)), seconds * 1000)))]).finally(() => clearTimeout(timer));
}

/** Runs every check; none throws (a failure is a check with status "fail"). */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const timeout = opts.timeout ?? 5;
  const checks: DoctorCheck[] = [];
  checks.push(
    await check('node', async () => {
      const [major, minor] = process.versions.node.split('.').map(Number);
      if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) throw new Error(`Node ${process.versions.node}: personas needs Node >= ${MIN_NODE.join('.')}`);
      return `Node ${process.versions.node} (${process.platform} ${process.arch})`;
    }),
  );
  checks.push(
    await check('tfjs', async () => {
      const info = await tfjsBackend();
      return `backend ${info.name} (tfjs-core ${info.tfjsVersion}; ${info.name === 'wasm' ? `.wasm files from ${info.detail}` : info.detail})${info.nativeNote ? `; ${info.nativeNote}` : ''}`;
    }),
  );
  checks.push(
    await check('worker threads', async () => {
      const t0 = performance.now();
      const rows = 200;
      const x = { rows, columns: [Float32Array.from({ length: rows }, (_, i) => i % 10), Float32Array.from({ length: rows }, (_, i) => (i * 7) % 13)] };
      const [model] = await withTimeout(
        trainMany([{ kind: 'mlp', options: { hidden: [4], maxEpochs: 2, seed: 1 }, input: { x, y: Uint8Array.from({ length: rows }, (_, i) => (i % 10 >= 5 ? 1 : 0)) } }], { workers: 1 }),
        Math.max(timeout, 60),
        'a worker thread',
      );
      return `a worker thread trained an mlp on ${modelBackend(model)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    }),
  );
  checks.push(
    await check('postgresql', async () => {
      if (opts.databaseUrl) {
        const client = new pg.Client({ connectionString: opts.databaseUrl, connectionTimeoutMillis: timeout * 1000 });
        try {
          await client.connect();
          const { rows } = await client.query<{ v: string }>('SELECT version() AS v');
          return `${redactUrl(opts.databaseUrl)}: ${rows[0].v.split(' ').slice(0, 2).join(' ')}`;
        } catch (err) {
          throw new Error(`${redactUrl(opts.databaseUrl)}: ${(err as Error).message}`);
        } finally {
          await client.end().catch(() => undefined);
        }
      }
      // A new store in memory, as the first `personas publish` makes one: from the cached cluster, or by initdb (then cached).
      const template = clusterTemplatePath();
      const cached = existsSync(template);
      const db = await openPglite();
      try {
        const [{ v }] = await db.query<{ v: string }>('SELECT version() AS v');
        const cache = cached
          ? `new stores start from the cluster cached in ${template}`
          : existsSync(template)
            ? `new stores start from the cluster cached in ${template} (written now)`
            : `the cluster cache ${template} cannot be written: each new store runs initdb (seconds, near 1 GB)`;
        return `embedded store (PGlite: ${v.split(' ').slice(0, 2).join(' ')}); ${cache}; DATABASE_URL not set`;
      } finally {
        await db.close();
      }
    }),
  );
  checks.push(
    await check('redis', async () => {
      if (!opts.redisUrl) return { skip: 'REDIS_URL not set: batch jobs run in the process that starts them' };
      const redis = new Redis(opts.redisUrl, { lazyConnect: true, connectTimeout: timeout * 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => undefined);
      try {
        await withTimeout(redis.connect(), timeout, redactUrl(opts.redisUrl));
        const info = await withTimeout(redis.info('server'), timeout, redactUrl(opts.redisUrl));
        return `${redactUrl(opts.redisUrl)}: Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}`;
      } catch (err) {
        throw new Error(`${redactUrl(opts.redisUrl)}: ${(err as Error).message || 'connection refused'}`);
      } finally {
        redis.disconnect();
      }
    }),
  );
  checks.push(
    await check('duckdb', async () => {
      const db = await DuckDBInstance.create(':memory:');
      const conn = await db.connect();
      try {
        const reader = await conn.runAndReadAll('SELECT version() AS v, 6 * 7 AS answer');
        const [v, answer] = reader.getRows()[0];
        if (Number(answer) !== 42) throw new Error(`DuckDB computed 6 * 7 = ${String(answer)}`);
        return `DuckDB ${String(v)} (in memory)`;
      } finally {
        conn.closeSync();
        db.closeSync();
      }
    }),
  );
  return checks;
}

export function formatDoctor(checks: DoctorCheck[]): string {
  const label = { ok: 'ok  ', fail: 'FAIL', skip: '-   ' } as const;
  const lines = checks.map((c) => `${label[c.status]}  ${c.name.padEnd(15)} ${c.detail}`);
  const failed = checks.filter((c) => c.status === 'fail');
  lines.push(failed.length ? `${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}` : 'everything personas needs works here');
  return lines.join('\n') + '\n';
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check this machine: Node, the TensorFlow.js backend (wasm or tensorflow), worker threads, PostgreSQL, Redis, DuckDB')
    .option('--database <url>', 'PostgreSQL URL (default: DATABASE_URL; without either, the embedded store is checked)')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--json', 'print the checks as JSON')
    .action(async (o: { database?: string; redis?: string; json?: boolean }) => {
      const checks = await runDoctor({ databaseUrl: o.database ?? process.env.DATABASE_URL, redisUrl: o.redis ?? process.env.REDIS_URL });
      process.stdout.write(o.json ? JSON.stringify({ ok: checks.every((c) => c.status !== 'fail'), checks }, null, 2) + '\n' : formatDoctor(checks));
      if (checks.some((c) => c.status === 'fail')) process.exitCode = 1;
    });
}
