// `personas doctor`: every check passes on this machine (wasm backend, a worker thread, the
// store, DuckDB, and PostgreSQL/Redis at DATABASE_URL/REDIS_URL when set); a configured server
// that does not answer, or a tfjs backend that cannot load, is a failure with exit code 1.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatDoctor, runDoctor } from '../../src/cli/doctor.ts';

const repo = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** Runs `personas doctor` from the sources; resolves with its exit code and output. */
async function doctor(env: Record<string, string | undefined>, args: string[] = []): Promise<{ code: number; stdout: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(repo, 'src', 'cli.ts'), 'doctor', ...args], { cwd: repo, env: { ...process.env, ...env }, timeout: 240_000 });
    return { code: 0, stdout: r.stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '' };
  }
}

describe('personas doctor', () => {
  it('passes every check here and names the tfjs backend (wasm: tfjs-node is not installed)', async () => {
    const checks = await runDoctor({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL });
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(Object.keys(by)).toEqual(['node', 'tfjs', 'worker threads', 'postgresql', 'redis', 'duckdb']);
    for (const c of checks) expect(c.status, `${c.name}: ${c.detail}`).not.toBe('fail');
    expect(by.node.detail).toContain(process.versions.node);
    expect(by.tfjs.detail).toMatch(/^backend wasm \(tfjs-core 4\.\d+\.\d+; \.wasm files from .*tfjs-backend-wasm.*\); @tensorflow\/tfjs-node not installed$/);
    expect(by['worker threads'].detail).toMatch(/trained an mlp on tfjs wasm/);
    expect(by.postgresql.detail).toMatch(process.env.DATABASE_URL ? /PostgreSQL \d+/ : /embedded store \(PGlite/);
    if (process.env.REDIS_URL) expect(by.redis).toMatchObject({ status: 'ok', detail: expect.stringMatching(/Redis \d/) });
    else expect(by.redis.status).toBe('skip');
    expect(by.duckdb.detail).toMatch(/^DuckDB v\d/);
    expect(formatDoctor(checks)).toMatch(/everything personas needs works here\n$/);
  }, 240_000);

  it('fails, exit code 1, when a configured Redis or PostgreSQL does not answer', async () => {
    const r = await doctor({ REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}redis +redis:\/\/127\.0\.0\.1:1: /m);
    expect(r.stdout).toMatch(/^FAIL {2}postgresql +postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: /m);
    expect(r.stdout).not.toContain('secret');
    expect(r.stdout).toMatch(/^ok {4}duckdb/m);
    expect(r.stdout).toMatch(/2 check\(s\) failed: postgresql, redis\n$/);
  }, 240_000);

  it('fails when the tfjs backend asked for cannot load (PERSONAS_TF_BACKEND=tensorflow without tfjs-node), as JSON', async () => {
    // A cache of its own: the embedded store's check makes the first new store, so it writes the cluster there.
    const cache = mkdtempSync(join(tmpdir(), 'personas-doctor-cache-'));
    const r = await doctor({ PERSONAS_TF_BACKEND: 'tensorflow', REDIS_URL: '', DATABASE_URL: '', XDG_CACHE_HOME: cache }, ['--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
    expect(out.ok).toBe(false);
    const tfjs = out.checks.find((c) => c.name === 'tfjs')!;
    expect(tfjs.status).toBe('fail');
    expect(tfjs.detail).toMatch(/PERSONAS_TF_BACKEND=tensorflow: @tensorflow\/tfjs-node not installed/);
    const store = out.checks.find((c) => c.name === 'postgresql')!;
    expect(store.status).toBe('ok');
    expect(store.detail).toMatch(/^embedded store \(PGlite: PostgreSQL \d+\.\d+\); new stores start from the cluster cached in (.*) \(written now\); DATABASE_URL not set$/);
    expect(readdirSync(join(cache, 'personas'))).toEqual([expect.stringMatching(/^pglite-[\d.]+-cluster\.tar\.gz$/)]);
  }, 240_000);
});
