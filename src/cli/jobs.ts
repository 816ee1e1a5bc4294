// Batch runs: `personas jobs start|list|show|cancel` and `personas worker`. With REDIS_URL (or
// --redis) runs go to BullMQ and `personas worker` processes take their jobs; without it,
// `jobs start` runs every job in its own process.
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { BullQueue, defaultConcurrency, InProcessQueue, redisConnection, runStatus, startBullWorker, startRun, type JobQueue, type RunStatus } from '../jobs/index.ts';
import { learnerKind } from '../models/learners.ts';
import { activeVersion, cancelRun, labelChanges, listRuns, openStore, type Db } from '../store/index.ts';
import { terminalProgress } from './progress-bar.ts';
import { addTrainingFlags, trainingSize, whole, type TrainingFlags } from './training-flags.ts';
import { withStore, withStoreFlags, type StoreFlags } from './store.ts';

interface QueueFlags extends StoreFlags {
  redis?: string;
}

const out = (line: string) => process.stdout.write(line + '\n');
function describe(s: RunStatus): string[] {
  const lines = [`${s.run.id}  ${s.run.status}  stage ${s.run.stage ?? '-'}  ${s.percent.toFixed(1)}%${s.run.error ? `  error: ${s.run.error}` : ''}`];
  for (const st of s.stages.filter((x) => x.jobs)) {
    const span = stageSpan(s.jobs.filter((j) => j.kind === st.stage));
    lines.push(`  ${st.stage.padEnd(9)} ${st.done}/${st.jobs} done${st.running ? `, ${st.running} running` : ''}${st.failed ? `, ${st.failed} failed` : ''}${span === null ? '' : ` in ${span.toFixed(1)} s`}`);
  }
  for (const j of s.jobs.filter((x) => x.status === 'failed' || (x.error && x.status !== 'done'))) lines.push(`  ${j.id}: ${j.status}, ${j.error}`);
  const version = (s.jobs.find((j) => j.kind === 'publish')?.result as { version?: string } | null)?.version;
  if (version) lines.push(`  version ${version}`);
  return lines;
}

/**
 * For a run that published without activating: how its labels move from the active version's
 * (the detail: `personas models changes`), and how to activate it.
 */
async function notActivated(db: Db, s: RunStatus): Promise<string[]> {
  const version = (s.jobs.find((j) => j.kind === 'publish')?.result as { version?: string } | null)?.version;
  if (!version) return [];
  const active = await activeVersion(db);
  const lines: string[] = [];
  if (active && active !== version) {
    const c = await labelChanges(db, active, version);
    lines.push(`  against the active version ${active}: ${c.unchanged.toLocaleString('en-US')} of ${c.customers.both.toLocaleString('en-US')} customers (${(100 * c.unchangedShare).toFixed(1)} %) keep their label; the detail: personas models changes ${version}`);
  }
  lines.push(`  not active; activate with: personas activate ${version}`);
  return lines;
}

/** Seconds from a stage's first job start to its last job end, once every one of its jobs has ended; else null. */
function stageSpan(jobs: RunStatus['jobs']): number | null {
  if (!jobs.length || jobs.some((j) => !j.startedAt || !j.finishedAt)) return null;
  return (Math.max(...jobs.map((j) => Date.parse(j.finishedAt!))) - Math.min(...jobs.map((j) => Date.parse(j.startedAt!)))) / 1000;
}

/**
 * One line per job of a run: what ran where, how long, and the time in each of its stages (longest
 * first; under 0.05 s left out); under it, indented, the lines the job logged.
 */
export function jobLines(s: RunStatus): string[] {
  const named = (j: RunStatus['jobs'][number]) => j.id.slice(s.run.id.length + 1);
  const width = Math.max(0, ...s.jobs.map((j) => named(j).length));
  return s.jobs.map((j) => {
    const wall = j.startedAt && j.finishedAt ? `${((Date.parse(j.finishedAt) - Date.parse(j.startedAt)) / 1000).toFixed(1)} s` : '-';
    const stages = Object.entries((j.result?.stageSeconds ?? {}) as Record<string, number>)
      .filter(([, seconds]) => seconds >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([stage, seconds]) => `${stage} ${seconds.toFixed(1)} s`);
    const logged = ((j.result?.log ?? []) as string[]).map((line) => `      ${line}`);
    return [`  ${named(j).padEnd(width)}  ${j.status.padEnd(9)}  attempts ${j.attempts}  ${wall.padStart(8)}${j.worker ? `  on ${j.worker}` : ''}${stages.length ? `  (${stages.join(', ')})` : ''}`, ...logged];
  }).flat();
}

/** The lines a run's jobs logged (what `personas run` says on the terminal), each once: several partitions say the same. */
export function runLogLines(s: RunStatus): string[] {
  const lines = [...new Set(s.jobs.flatMap((j) => (j.result?.log ?? []) as string[]))];
  return lines.length ? ['what the jobs said:', ...lines.map((line) => `  ${line}`)] : [];
}

/** Follows a run with a progress bar until it ends. */
async function follow(db: Db, runId: string): Promise<RunStatus> {
  const progress = terminalProgress();
  let stage = '';
  for (;;) {
    const s = await runStatus(db, runId);
    if (s.run.stage !== stage) {
      stage = s.run.stage ?? '';
      progress.stage(`run: ${stage}`, 100);
    }
    progress.tick(Math.floor(s.percent));
    if (['done', 'failed', 'cancelled'].includes(s.run.status)) return s;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function withQueueFlags(cmd: Command): Command {
  return withStoreFlags(cmd).option('--redis <url>', 'Redis URL for BullMQ (default: REDIS_URL; without either, jobs run in this process)');
}

/** Adds --concurrency for the jobs a command runs in its own process when there is no Redis. */
export function withInProcessConcurrency(cmd: Command): Command {
  return cmd.option('--concurrency <n>', `without Redis: jobs run at a time in this process (default: one per core, ${defaultConcurrency()} here)`);
}

/**
 * The in-process queue's concurrency from --concurrency (default: one per core). With Redis the
 * `personas worker` processes run the jobs, so the flag is refused rather than silently ignored.
 */
export function inProcessConcurrency(flag: string | undefined, redis: string | undefined): number {
  if (flag === undefined) return defaultConcurrency();
  if (redis) {
    throw new InputError('INPUT_INVALID', '--concurrency sets how many jobs run at a time in this process, without Redis; with Redis the workers run them: give it to `personas worker --concurrency`', { field: '--concurrency' });
  }
  return whole('--concurrency', flag);
}

/** --empty as a known file's empty persona says it. */
function knownEmpty(flag: string): 'skip' | 'none' {
  if (flag !== 'skip' && flag !== 'none') throw new InputError('INPUT_INVALID', `--empty must be skip or none (got "${flag}")`, { field: '--empty' });
  return flag;
}

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('batch runs: retrain on a data directory and label every customer, as jobs');
  withQueueFlags(withInProcessConcurrency(
    addTrainingFlags(jobs.command('start'))
      .description('start a run: features -> one training job per persona -> scoring partitions -> publish')
      .requiredOption('--data <dir>', 'directory of contract inputs (readable by every worker)')
      .option('--personas <file>', 'persona file (train new models)')
      .option('--model <version>', 'score with the models of this published version instead of training (a later month\'s base)')
      .option('--partitions <n>', 'scoring partitions (one job each)', '8')
      .option('--as-of <date>', 'date the features are computed at')
      .option('--columns <file>', "JSON or YAML column map for client files named differently (with --model: the version's values, and the file's further ones)")
      .option('--known <file>', 'customers whose persona is known (customer_id, persona): the new version is checked against them (personas evaluate) and the check kept with it')
      .option('--empty <meaning>', 'with --known, an empty persona: skip (the row is left out) or none', 'skip')
      .option('--random-sample', "with --known, the known customers were drawn at random from the base (a survey of a random sample): each persona's size is then corrected by them, with its 95 % interval")
      .option('--learn-from-known', "with --known, the models also learn from them (as personas run --learn-from-known): each persona's known members become seeds, the rule's seeds known to be another persona or none are taken out")
      .option('--seed <n>', 'random seed', '1')
      .option('--no-activate', 'leave the new version ready but not active')
      .option('--learner <kind>', 'learner of every persona: gbdt, forest, mlp or ensemble (default: the persona file model.kind, else gbdt)')
      .option('--detach', 'with BullMQ: return once the run is queued'),
  )).action(async (f: QueueFlags & { data: string; personas?: string; model?: string; partitions: string; asOf?: string; columns?: string; known?: string; empty: string; randomSample?: boolean; learnFromKnown?: boolean; seed: string; activate: boolean; learner?: string; detach?: boolean; concurrency?: string } & TrainingFlags) => {
    if (!f.personas === !f.model) throw new InputError('INPUT_INVALID', 'give --personas FILE (train new models) or --model VERSION (score with a published version)');
    if (f.randomSample && !f.known) throw new InputError('INPUT_INVALID', '--random-sample says how the --known customers were chosen: give --known FILE too', { field: '--random-sample' });
    if (f.learnFromKnown && !f.known) throw new InputError('INPUT_INVALID', '--learn-from-known learns from the --known customers: give --known FILE too', { field: '--learn-from-known' });
    const request = {
      data: f.data,
      ...(f.personas ? { personas: f.personas } : { model: f.model }),
      partitions: whole('--partitions', f.partitions),
      seed: whole('--seed', f.seed, 0),
      activate: f.activate,
      ...(f.asOf ? { asOf: f.asOf } : {}),
      ...(f.columns ? { columns: f.columns } : {}),
      ...(f.known ? { known: { file: f.known, empty: knownEmpty(f.empty), randomSample: f.randomSample === true, learn: f.learnFromKnown === true } } : {}),
      ...(f.learner ? { learner: learnerKind(f.learner, '--learner') } : {}),
      train: trainingSize(f),
    };
    const redis = f.redis ?? process.env.REDIS_URL;
    const concurrency = inProcessConcurrency(f.concurrency, redis);
    await withStore(f, async (db) => {
      let queue: JobQueue;
      let connection;
      if (redis) {
        connection = redisConnection(redis);
        queue = new BullQueue(connection);
      } else {
        queue = new InProcessQueue(db, { concurrency });
      }
      try {
        const started = await startRun(db, queue, request);
        process.stderr.write(`run ${started.run.id} started (${queue.kind === 'bullmq' ? 'BullMQ: `personas worker` processes take its jobs' : `in this process, ${concurrency} job${concurrency > 1 ? 's' : ''} at a time`})\n`);
        if (redis && f.detach) return out(started.run.id);
        const end = await follow(db, started.run.id);
        for (const line of describe(end)) out(line);
        for (const line of runLogLines(end)) out(line);
        if (end.run.status === 'done' && !f.activate) for (const line of await notActivated(db, end)) out(line);
        if (end.run.status !== 'done') process.exitCode = 1;
      } finally {
        await queue.close();
        connection?.disconnect();
      }
    });
  });

  withStoreFlags(jobs.command('list').description('recent runs').option('--limit <n>', 'how many', '20')).action(async (f: StoreFlags & { limit: string }) => {
    await withStore(f, async (db) => {
      const runs = await listRuns(db, whole('--limit', f.limit));
      if (!runs.length) return out('no run yet: personas jobs start --data DIR --personas FILE');
      for (const r of runs) out(`${r.id}  ${r.status.padEnd(9)}  stage ${String(r.stage ?? '-').padEnd(9)}  ${r.percent.toFixed(0).padStart(3)}%  created ${r.createdAt}${r.error ? `  ${r.error}` : ''}`);
    });
  });

  withStoreFlags(
    jobs.command('show').argument('<run>').description('a run, its stages and jobs')
      .option('--watch', 'follow it with a progress bar until it ends')
      .option('--jobs', 'also one line per job: status, attempts, worker, wall time and the time in each of its stages'),
  ).action(async (id: string, f: StoreFlags & { watch?: boolean; jobs?: boolean }) => {
    await withStore(f, async (db) => {
      const s = f.watch ? await follow(db, id) : await runStatus(db, id);
      for (const line of describe(s)) out(line);
      if (f.jobs) for (const line of jobLines(s)) out(line);
    });
  });

  withStoreFlags(jobs.command('cancel').argument('<run>').description('cancel a run (its version, if started, is dropped; the active version is untouched)')).action(async (id: string, f: StoreFlags) => {
    await withStore(f, async (db) => {
      const r = await cancelRun(db, id);
      out(`${r.id} ${r.status}`);
    });
  });

  withQueueFlags(
    program
      .command('worker')
      .description('take batch jobs from Redis (BullMQ) until stopped; run as many as you like, on any machine that reaches Redis and PostgreSQL')
      .option('--concurrency <n>', 'jobs at a time in this process', '1'),
  ).action(async (f: QueueFlags & { concurrency: string }) => {
    const redis = f.redis ?? process.env.REDIS_URL;
    if (!redis) throw new InputError('INPUT_INVALID', 'personas worker needs Redis: set REDIS_URL or pass --redis URL (without Redis, `personas jobs start` runs jobs in its own process)');
    const db = await openStore({ databaseUrl: f.database, dataDir: f.store });
    const connection = redisConnection(redis);
    const lockMs = process.env.PERSONAS_JOB_LOCK_MS ? Number(process.env.PERSONAS_JOB_LOCK_MS) : undefined;
    const reconcileMs = process.env.PERSONAS_RECONCILE_MS ? Number(process.env.PERSONAS_RECONCILE_MS) : undefined;
    const w = startBullWorker(db, connection, {
      concurrency: whole('--concurrency', f.concurrency),
      lockMs,
      reconcileMs,
      // The store and the queue disagreed (Redis lost its data, or the store was down when a job failed for good).
      onReconcile: (r) => process.stderr.write(`personas worker ${process.pid}: queued again ${r.requeued.join(', ') || 'nothing'}; runs failed ${r.failed.join(', ') || 'none'}\n`),
    });
    await w.worker.waitUntilReady();
    process.stderr.write(`personas worker ${process.pid} on ${db.description}, queue ${redis.replace(/\/\/[^@]*@/, '//***@')}\n`);
    process.stdout.write(`worker ready ${process.pid}\n`);
    const stop = () => {
      void w.close().finally(() => {
        connection.disconnect();
        void db.close().finally(() => process.exit(0));
      });
      setTimeout(() => process.exit(0), 30_000).unref();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
