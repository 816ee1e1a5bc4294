// `personas jobs start` without Redis, through the command line: its jobs run in its own process,
// as many at a time as --concurrency says (one per core unless told), read back from the store's
// job rows (a job's start and end times); and the flags' mistakes, named.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBase } from '../../src/demo/index.ts';
import { activeVersion, getRun, listRuns, openStore, versionDetail } from '../../src/store/index.ts';
import { runToEnd } from '../helpers/spawn.ts';
import { tempDir } from '../helpers/world.ts';

const root = tempDir();
const data = join(root, 'data');
const personas = join(data, 'personas.yaml');

/** `personas jobs start` on the demo base into an embedded store of its own; Redis kept out. */
function start(store: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.REDIS_URL;
  delete env.DATABASE_URL;
  return runToEnd(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'jobs', 'start', '--data', data, '--personas', personas, '--store', store, '--partitions', '2', '--folds', '2', '--bags', '1', ...args],
    { env, timeout: 240_000 },
  );
}

interface Span { id: string; kind: string; start: number; end: number }

/** The jobs of the store's one run, each with the times it ran. */
async function spans(store: string): Promise<Span[]> {
  const db = await openStore({ databaseUrl: null, dataDir: store });
  try {
    const [run] = await listRuns(db, 1);
    expect(run.status).toBe('done');
    const { jobs } = await getRun(db, run.id);
    return jobs.map((j) => ({ id: j.id, kind: j.kind, start: Date.parse(j.startedAt!), end: Date.parse(j.finishedAt!) }));
  } finally {
    await db.close();
  }
}

/** The most jobs that ran at one time. */
function mostAtOnce(jobs: Span[]): number {
  return Math.max(...jobs.map((a) => jobs.filter((b) => b.start <= a.start && a.start < b.end).length));
}

describe('personas jobs start, jobs in process', () => {
  beforeAll(async () => {
    await writeDemoBase(data, { customers: 2000, seed: 6 });
    // Keep the runs short: a small learner.
    writeFileSync(personas, readFileSync(personas, 'utf8') + '\nmodel:\n  kind: gbdt\n  params:\n    numTrees: 15\n');
  }, 60_000);

  it('runs one job at a time with --concurrency 1; each job keeps the time of its stages, which `jobs show --jobs` prints', async () => {
    const store = join(root, 'store-1');
    const r = await start(store, '--concurrency', '1');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('in this process, 1 job at a time');
    expect(mostAtOnce(await spans(store))).toBe(1);
    const db = await openStore({ databaseUrl: null, dataDir: store });
    let runId: string;
    try {
      const [run] = await listRuns(db, 1);
      runId = run.id;
      const { jobs } = await getRun(db, run.id);
      for (const j of jobs.filter((x) => x.kind !== 'run')) {
        const seconds = j.result!.stageSeconds as Record<string, number>;
        const wall = (Date.parse(j.finishedAt!) - Date.parse(j.startedAt!)) / 1000;
        const sum = Object.values(seconds).reduce((a, b) => a + b, 0);
        // The stages cover the step: between its start and end, less the job's own bookkeeping.
        expect(sum, j.id).toBeLessThanOrEqual(wall + 0.05);
        if (wall > 1) expect(sum, j.id).toBeGreaterThan(0.5 * wall);
      }
      const retrain = jobs.find((j) => j.kind === 'retrain' && (j.result as { status: string }).status === 'trained')!;
      expect(Object.keys(retrain.result!.stageSeconds as object)).toEqual(expect.arrayContaining(['read features', 'seeds', 'twins', 'design', 'train', 'condition views', 'keep model and probabilities']));
      // The lines the job logged, as `personas run` prints them, kept with its result.
      expect(retrain.result!.log as string[]).toContainEqual(expect.stringMatching(/^\w+: condition views' weights [\w+ ]+ \(key_drivers/));
      // (jsonb keeps an object's keys in an order of its own.)
      expect(Object.keys(jobs.find((j) => j.kind === 'score')!.result!.stageSeconds as object).sort()).toEqual(['load models', 'read partition', 'score', 'start', 'write labels']);
    } finally {
      await db.close();
    }
    const env = { ...process.env };
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    const show = await runToEnd(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'jobs', 'show', runId, '--jobs', '--store', store], { env, timeout: 60_000 });
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^ {2}features +done +attempts 1 +\d+\.\d s {2}on \S+:\d+ {2}\(/m);
    expect(show.stdout).toMatch(/^ {2}retrain\.\w+ +done +attempts 1 +\d+\.\d s .*\(.*condition views \d+\.\d s/m);
    expect(show.stdout).toMatch(/^ {2}score\.1 +done /m);
    // Under a job, the lines it logged.
    expect(show.stdout).toMatch(/^ {2}retrain\.\w+ +done .*\n( {6}.*\n)* {6}\w+: condition views' weights/m);
    // And once, after the run, from `jobs start`.
    expect(r.stdout).toMatch(/^what the jobs said:\n( {2}.*\n)* {2}\w+: condition views' weights/m);
    // Each stage's span, first job start to last job end.
    expect(show.stdout).toMatch(/^ {2}retrain +\d+\/\d+ done in \d+\.\d s$/m);
    expect(show.stdout).toMatch(/^ {2}publish +1\/1 done in \d+\.\d s$/m);
  }, 240_000);

  it('runs two jobs at a time with --concurrency 2: the personas train side by side; with --no-activate, says how its labels move from the active version', async () => {
    // The store of the run above, whose version is active; this run also learns from known customers (every tenth).
    const store = join(root, 'store-1');
    const known = join(root, 'known.csv');
    const truth = readFileSync(join(data, 'truth.csv'), 'utf8').trim().split('\n').slice(1);
    writeFileSync(known, ['customer_id,persona', ...truth.filter((_, i) => i % 10 === 0).map((l) => (l.endsWith(',') ? `${l}none` : l))].join('\n') + '\n');
    const r = await start(store, '--concurrency', '2', '--seed', '2', '--no-activate', '--known', known, '--learn-from-known');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('in this process, 2 jobs at a time');
    expect(r.stdout).toMatch(/run-\S+ {2}done/);
    const jobs = await spans(store);
    expect(jobs.filter((j) => j.kind === 'train').length).toBeGreaterThanOrEqual(2);
    expect(mostAtOnce(jobs)).toBe(2);
    // The training jobs, one per persona, are the ones that overlap.
    expect(mostAtOnce(jobs.filter((j) => j.kind === 'train'))).toBe(2);
    // Published, not activated; its labels against the active version's, counted here in SQL.
    const db = await openStore({ databaseUrl: null, dataDir: store });
    try {
      const [run, before] = await listRuns(db, 2);
      const published = async (id: string) => (await getRun(db, id)).jobs.find((j) => j.kind === 'publish')!.result!.version as string;
      const version = await published(run.id);
      expect((await versionDetail(db, version)).manifest.learner.params.knownSeeds).toEqual({ file: known, customers: 200 });
      const active = (await activeVersion(db))!;
      expect(active).toBe(await published(before.id));
      const [same] = await db.query<{ n: number; both: number }>(
        `SELECT count(*) FILTER (WHERE a.persona IS NOT DISTINCT FROM b.persona)::int AS n, count(*)::int AS both
         FROM assignments a JOIN assignments b ON a.customer_id = b.customer_id WHERE a.version = $1 AND b.version = $2`,
        [active, version],
      );
      expect(same.both).toBe(2000);
      expect(same.n).toBeLessThan(2000);
      expect(r.stdout).toContain(`  against the active version ${active}: ${same.n.toLocaleString('en-US')} of 2,000 customers (${((100 * same.n) / 2000).toFixed(1)} %) keep their label; the detail: personas models changes ${version}\n`);
      expect(r.stdout).toContain(`  not active; activate with: personas activate ${version}\n`);
    } finally {
      await db.close();
    }
  }, 240_000);

  it('refuses a concurrency that is not a whole number of at least 1, and one given with Redis', async () => {
    for (const bad of ['0', 'two']) {
      const r = await start(join(root, 'never'), '--concurrency', bad);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`--concurrency must be a whole number of at least 1 (got "${bad}")`);
    }
    const r = await start(join(root, 'never'), '--concurrency', '2', '--redis', 'redis://127.0.0.1:1');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('give it to `personas worker --concurrency`');
    const learn = await start(join(root, 'never'), '--learn-from-known');
    expect(learn.status).not.toBe(0);
    expect(learn.stderr).toContain('--learn-from-known learns from the --known customers: give --known FILE too');
  });

  it('reads the column file when the run starts: a bad one stops it before any job, naming the file and the value', async () => {
    const columns = join(root, 'columns.yaml');
    writeFileSync(columns, 'values:\n  channel: { Magasin: boutique }\n');
    const store = join(root, 'bad-columns');
    const r = await start(store, '--columns', columns);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${columns}: column map invalid at values.channel.Magasin: expected one of store, web, app, phone`);
    const db = await openStore({ databaseUrl: null, dataDir: store });
    try {
      expect(await listRuns(db, 5)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
