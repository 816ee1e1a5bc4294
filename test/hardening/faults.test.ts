// Faults caused for real: a `personas publish` process killed with SIGKILL in the middle of its
// COPY (the active version stays, nothing half-published is visible, a re-run completes), and a
// full disk under `personas run` (a clear error, the previous outputs intact).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { activeVersion, listVersions, openStore, publishRun, runSource } from '../../src/store/index.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { makeBigRun } from '../helpers/big-run.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const bin = resolve('bin/personas.js');
const pgUrl = process.env.DATABASE_URL;

describe.skipIf(!pgUrl)('a publish killed midway', () => {
  const name = `personas_fault_${randomBytes(4).toString('hex')}`;
  const dbUrl = Object.assign(new URL(pgUrl ?? 'postgres://x/y'), { pathname: `/${name}` }).toString();
  afterAll(async () => {
    const admin = await openPostgres(pgUrl!, { poolSize: 1 });
    await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.close();
  });

  it('leaves the old version active and nothing of the new one; publishing again completes', async () => {
    const admin = await openPostgres(pgUrl!, { poolSize: 1 });
    await admin.exec(`CREATE DATABASE ${name}`);
    await admin.close();
    const db = await openStore({ databaseUrl: dbUrl });
    const old = (await publishRun(db, runSource(runs.a), { activate: true })).version;
    const big = tempDir();
    const made = await makeBigRun(runs.b, big, 400_000);
    const child = spawn(process.execPath, [bin, 'publish', '--run', big, '--activate'], { env: { ...process.env, DATABASE_URL: dbUrl }, stdio: 'ignore' });
    const exited = new Promise((ok) => child.on('exit', ok));
    // Kill it once its COPY is under way.
    let copying = false;
    for (let i = 0; i < 600 && !copying; i++) {
      const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'COPY%'`, [name]);
      copying = r.n > 0;
      if (!copying) await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(copying, 'the publish reached its COPY').toBe(true);
    child.kill('SIGKILL');
    await exited;
    // The server ends the dead client's transaction: nothing of it is visible, the old version serves.
    await new Promise((ok) => setTimeout(ok, 500));
    expect(await activeVersion(db)).toBe(old);
    expect((await listVersions(db)).map((v) => v.version)).toEqual([old]);
    const [left] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM assignments WHERE version = $1', [made.version]);
    expect(left.n).toBe(0);
    const again = await promisify(execFile)(process.execPath, [bin, 'publish', '--run', big, '--activate'], { env: { ...process.env, DATABASE_URL: dbUrl } });
    expect(again.stdout).toMatch(/400000 customers/);
    expect(await activeVersion(db)).toBe(made.version);
    await db.close();
  }, 240_000);
});

describe('a full disk under personas run', () => {
  it('stops with a clear error and leaves the previous outputs whole', async () => {
    const out = tempDir();
    cpSync(runs.a, out, { recursive: true });
    const before = readFileSync(join(out, 'assignments.csv'), 'utf8');
    // A file size limit makes writes fail with EFBIG, as a full disk fails them with ENOSPC
    // (SIGXFSZ ignored so the write returns the error instead of killing the process).
    const script = `trap '' XFSZ; ulimit -f 16; exec "${process.execPath}" "${bin}" run --data "${runs.data}" --personas "${join(runs.data, 'personas.yaml')}" --out "${out}"`;
    const result = await promisify(execFile)('bash', ['-c', script], { env: { ...process.env, DATABASE_URL: '' } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/EFBIG|file too large/i);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(out, 'assignments.csv'), 'utf8')).toBe(before);
  }, 180_000);
});
