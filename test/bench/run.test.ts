// `npm run bench` (bench/run.ts): the suite's runner lists its benchmarks (every script it names
// exists), refuses an unknown name, skips the server-backed ones when their server does not answer
// (saying which and where), and runs a benchmark for real, its output kept in a log.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const exec = promisify(execFile);

/** bench/run.ts with these arguments; its exit code, output and error output. */
async function bench(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, ['--import', 'tsx', join(repo, 'bench', 'run.ts'), ...args], { cwd: repo, env: { ...process.env, ...env }, timeout: 180_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('npm run bench', () => {
  it('is the suite runner, and every benchmark it lists is a script of the repository', async () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.bench).toBe('tsx bench/run.ts');
    const { code, stdout } = await bench(['--list']);
    expect(code).toBe(0);
    const rows = stdout.trim().split('\n');
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(['gbdt', 'features', 'projection', 'api', 'jobs', 'soak', 'learners', 'known-seeds', 'scale']);
    for (const row of rows) expect(existsSync(join(repo, row.split(/\s+/)[1].replace(/,$/, '')))).toBe(true);
    expect(stdout).toMatch(/jobs\s+bench\/jobs\.ts, needs postgres and redis/);
    expect(stdout).toMatch(/soak\s+bench\/soak\.ts \(not in the default suite: --only soak\)/);
  }, 60_000);

  it('refuses an unknown benchmark, naming the known ones', async () => {
    const { code, stderr } = await bench(['--only', 'gbdt,latency']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown benchmark latency in --only; expected some of gbdt, features, projection, api, jobs, soak, learners, known-seeds, scale');
  }, 60_000);

  it('skips the benchmarks whose server does not answer, saying which and where, and plans the others', async () => {
    const { code, stdout } = await bench(['--dry-run', '--quick', '--only', 'api,jobs,projection'], { DATABASE_URL: 'postgres://root@127.0.0.1:1/postgres', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(0);
    expect(stdout).toContain('| api | skipped: postgres not reachable at postgres://root@127.0.0.1:1/postgres (DATABASE_URL) |');
    expect(stdout).toContain('| jobs | skipped: postgres not reachable at postgres://root@127.0.0.1:1/postgres (DATABASE_URL), redis not reachable at redis://127.0.0.1:1 (REDIS_URL) |');
    expect(stdout).toContain('| projection | would run: `npx tsx bench/projection.ts --worlds .tmp/w20k-1 --customers 20000 --references --surveys --out .tmp/bench/projection-quick` |');
  }, 60_000);

  it('runs a benchmark and keeps its output in .tmp/bench/<name>.log', async () => {
    const log = join(repo, '.tmp', 'bench', 'gbdt.log');
    rmSync(log, { force: true });
    const { code, stdout } = await bench(['--quick', '--only', 'gbdt']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\| gbdt \| ok \| \d+\.\d \| \.tmp\/bench\/gbdt\.log \|/);
    const line = readFileSync(log, 'utf8').split('\n').find((l) => l.startsWith('{"rows":20000'));
    expect(line, 'the 20,000-row measurement in the log').toBeDefined();
    const figures = JSON.parse(line!) as { train_s: number; auc: number };
    expect(figures.train_s).toBeGreaterThan(0);
    expect(figures.auc).toBeGreaterThan(0.7);
  }, 180_000);
});
