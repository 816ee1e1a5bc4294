// Shared set-up of the API benchmarks (bench/api.ts, bench/soak.ts):
// a scratch PostgreSQL database, run directories of a large base made from small real models, and
// `personas serve` in its own process, as a user starts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeDemoBase } from '../src/demo/index.ts';
import { buildFeatures } from '../src/features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection } from '../src/models/personas/index.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { makeBigRun } from '../test/helpers/big-run.ts';

export const BIN = resolve('bin/personas.js');

export { arg } from './worlds.ts';

/**
 * A fresh database `name` on the PostgreSQL of DATABASE_URL (default the local one), dropped by
 * `drop`; null, after saying so, when PostgreSQL is not reachable.
 */
export async function scratchDatabase(bench: string, name: string): Promise<{ url: string; adminUrl: string; drop(): Promise<void> } | null> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
  let admin;
  try {
    admin = await openPostgres(adminUrl, { poolSize: 1 });
  } catch (e) {
    console.log(`${bench} skipped: PostgreSQL is not reachable at ${adminUrl} (${(e as Error).message})`);
    return null;
  }
  await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.exec(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    adminUrl,
    async drop() {
      await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    },
  };
}

/**
 * `count` run directories of `customers` customers each, under distinct model versions: each a
 * real model trained on a 3,000-customer demo base, with a synthetic assignment file of
 * `customers` rows (ids `bigId(i)`) under its version. `data`: the demo base's directory (contract
 * inputs, reference files).
 */
export async function bigRuns(root: string, customers: number, count = 1): Promise<{ dir: string; version: string; personas: string[]; data: string }[]> {
  const data = join(root, 'data');
  await writeDemoBase(data, { customers: 3000, seed: 1 });
  const personaFile = loadPersonaFile(join(data, 'personas.yaml'));
  const { table } = await buildFeatures({ dataDir: data });
  const out = [];
  for (let k = 0; k < count; k++) {
    if (k) await new Promise((r) => setTimeout(r, 1100)); // versions are stamped to the second
    const small = join(root, `small-${k}`);
    writeProjection(small, table, await projectPersonas({ table, personaFile, asOf: '2026-06-30', seed: k + 1, train: { folds: 2 } }));
    const dir = join(root, `run-${k}`);
    out.push({ dir, data, ...(await makeBigRun(small, dir, customers, 7 + k)) });
  }
  return out;
}

/** `personas serve` on a free port of loopback, in its own process; its stderr (the access log) to `logFile` when given. */
export async function startServer(databaseUrl: string, extra: string[] = [], logFile?: string, nodeArgs: string[] = []): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const stderr = logFile ? openSync(logFile, 'w') : 'inherit';
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...extra], { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', stderr] });
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.on('exit', (code) => fail(new Error(`personas serve exited with ${code}`)));
  });
  return {
    port,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
