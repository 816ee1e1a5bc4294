// Running one job, the same way under every runner: mark it running (unless its run was cancelled
// or failed), run the step with persisted progress, then in one transaction record the result and,
// when it was the last job of its stage, create the next stage's jobs. A failed attempt is
// recorded; the last allowed attempt fails the run, and a version the run had started is dropped,
// so the active version stays what it was.
import { hostname } from 'node:os';
import { PersonasError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import {
  advanceStage, createJob, discardScoringVersion, getJob, getRun, jobFailed, jobProgress, jobStarted, pruneRunFiles, setRun, type Db, type JobRecord, type Sql,
} from '../store/index.ts';
import { runStep } from './steps.ts';
import { jobId, nextStage, STAGE_WEIGHT, STAGES, type JobData, type RetryPolicy, type RunParams, type StepKind } from './types.ts';

export class RunCancelled extends Error {}

export const workerName = () => `${hostname()}:${process.pid}`;

/** Log lines a job keeps (the first ones; a step logs a few, warnings mostly). */
const JOB_LOG_LINES = 200;

/**
 * Persists a job's progress at most every 500 ms (and every stage change), and times its stages:
 * `stageSeconds()` gives the wall time spent in each (summed when a stage comes back; `start`
 * before the first), kept with the job's result, as are the lines it logs (`logLines()`: what
 * `personas run` says on the terminal, a persona's or the data's warnings among them).
 */
function persistedProgress(db: Db, id: string): Progress & { stageSeconds(): Record<string, number>; logLines(): string[] } {
  let stage = '';
  let total = 0;
  let last = 0;
  let since = performance.now();
  const seconds: Record<string, number> = {};
  const lap = () => {
    const now = performance.now();
    const name = stage || 'start';
    seconds[name] = (seconds[name] ?? 0) + (now - since) / 1000;
    since = now;
  };
  const logs: string[] = [];
  let pending: Promise<void> = Promise.resolve();
  const write = (p: { stage?: string; percent?: number }) => {
    pending = pending.then(() => jobProgress(db, id, p)).catch(() => undefined);
  };
  return {
    stageSeconds() {
      lap();
      return Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Math.round(v * 100) / 100]));
    },
    stage(name, t) {
      lap();
      stage = name;
      total = t ?? 0;
      write({ stage: name, percent: 0 });
    },
    tick(done) {
      const now = Date.now();
      if (!total || now - last < 500) return;
      last = now;
      write({ stage, percent: Math.min(99, (100 * (done ?? 0)) / total) });
    },
    log(line) {
      if (logs.length < JOB_LOG_LINES) logs.push(line);
    },
    logLines() {
      return logs;
    },
  };
}

/** The next stage's jobs once `kind` is complete (creating their rows); [] when the stage goes on. */
async function planNext(tx: Sql, job: JobData, params: RunParams): Promise<JobData[]> {
  const next = nextStage(job.kind, params);
  if (!(await advanceStage(tx, job.runId, job.kind, next))) return [];
  const runId = job.runId;
  let jobs: JobData[] = [];
  if (next === 'train' || next === 'retrain') {
    const ids = (await tx.query<{ p: string }>(`SELECT jsonb_array_elements_text(params->'personaIds') AS p FROM jobs WHERE id = $1`, [runId])).map((r) => r.p);
    jobs = ids.map((persona) => ({ id: jobId(runId, next, persona), runId, kind: next, persona }));
  } else if (next === 'assemble' || next === 'publish' || next === 'clean' || next === 'report') {
    jobs = [{ id: jobId(runId, next), runId, kind: next }];
  } else if (next === 'score') {
    jobs = Array.from({ length: params.partitions }, (_, k) => ({ id: jobId(runId, 'score', k), runId, kind: 'score' as const, partition: k }));
  } else {
    await setRun(tx, runId, { status: 'done', percent: 100 });
    await pruneRunFiles(tx, runId);
    return [];
  }
  for (const j of jobs) await createJob(tx, { id: j.id, runId, kind: j.kind, params: { ...(j.persona ? { persona: j.persona } : {}), ...(j.partition !== undefined ? { partition: j.partition } : {}) } });
  return jobs;
}

export interface ExecuteEnv {
  db: Db;
  retry: RetryPolicy;
  /** Hands the next stage's jobs to the queue. */
  enqueue(jobs: JobData[]): Promise<void>;
}

/** Fails a run, dropping the version it had started. */
export async function failRun(db: Db, runId: string, error: string): Promise<void> {
  await setRun(db, runId, { status: 'failed', error });
  // Its other jobs will not run: say so rather than leave them queued.
  await db.query(
    `UPDATE jobs SET status = 'cancelled', error = coalesce(error || '; ', '') || 'run failed', finished_at = now(), updated_at = now()
     WHERE run_id = $1 AND status IN ('queued', 'running')`,
    [runId],
  );
  await dropStartedVersion(db, runId);
  await pruneRunFiles(db, runId);
}

export async function dropStartedVersion(db: Db, runId: string): Promise<void> {
  const [row] = await db.query<{ v: string | null }>(`SELECT result->>'version' AS v FROM jobs WHERE id = $1`, [`${runId}.assemble`]);
  if (row?.v) await discardScoringVersion(db, row.v);
}

/**
 * Runs attempt `attempt` (1-based) of a job. Resolves when the job is done, skipped (cancelled
 * run) or recorded as failed for good; rejects when the attempt failed and another is allowed
 * (the runner retries it after its backoff).
 */
export async function executeJob(env: ExecuteEnv, job: JobData, attempt: number): Promise<void> {
  const { db } = env;
  if (!(await jobStarted(db, job.id, workerName(), attempt))) return;
  const run = (await getJob(db, job.runId)) as JobRecord;
  if (run.status === 'queued') await setRun(db, job.runId, { status: 'running' });
  const params = run.params as unknown as RunParams;
  const checkCancelled = async () => {
    const r = await getJob(db, job.runId);
    if (r?.status === 'cancelled') throw new RunCancelled(`run ${job.runId} was cancelled`);
  };
  let result: Record<string, unknown>;
  const progress = persistedProgress(db, job.id);
  // What the attempt logged and where its time went, kept with the job whether it ends or fails.
  const kept = () => {
    const log = progress.logLines();
    return { stageSeconds: progress.stageSeconds(), ...(log.length ? { log } : {}) };
  };
  try {
    result = await runStep({ db, job, run, params, progress, checkCancelled });
    result = { ...result, ...kept() };
  } catch (e) {
    // Cancelled meanwhile: whatever the job met (its run's files go at the cancel), the run stays cancelled, not failed.
    if (e instanceof RunCancelled || (await getJob(db, job.runId))?.status === 'cancelled') {
      await dropStartedVersion(db, job.runId);
      await pruneRunFiles(db, job.runId);
      return;
    }
    const message = e instanceof PersonasError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const final = attempt >= env.retry.attempts;
    await jobFailed(db, job.id, `attempt ${attempt} of ${env.retry.attempts}: ${message}`, final, kept());
    if (final) {
      await failRun(db, job.runId, `${job.kind}${job.persona ? ` ${job.persona}` : ''}${job.partition !== undefined ? ` partition ${job.partition}` : ''} failed after ${attempt} attempts: ${message}`);
      return;
    }
    throw e;
  }
  const next = await db.transaction(async (tx) => {
    await tx.query(`UPDATE jobs SET status = 'done', percent = 100, result = $2, error = NULL, finished_at = now(), updated_at = now() WHERE id = $1 AND status = 'running'`, [job.id, JSON.stringify(result)]);
    return planNext(tx, job, params);
  });
  if (next.length) await env.enqueue(next);
  const { run: r, jobs } = await getRun(db, job.runId);
  // A job that ended after its run was cancelled or failed: what it wrote goes too.
  if (r.status === 'cancelled' || r.status === 'failed') return void (await pruneRunFiles(db, job.runId));
  await setRun(db, job.runId, { percent: summarise(r, jobs).percent });
}

export interface RunStatus {
  run: JobRecord;
  /** Weighted progress of the whole run, 0-100. */
  percent: number;
  stages: { stage: StepKind; jobs: number; done: number; running: number; failed: number; percent: number }[];
  jobs: JobRecord[];
}

export function summarise(run: JobRecord, jobs: JobRecord[]): RunStatus {
  const scoringOnly = !!(run.params as { model?: string }).model;
  const secondRound = !!(run.params as { secondRound?: boolean }).secondRound;
  const stages = STAGES.filter((stage) => !(scoringOnly && ['train', 'clean', 'retrain'].includes(stage)) && !(!secondRound && ['clean', 'retrain'].includes(stage))).map((stage) => {
    const own = jobs.filter((j) => j.kind === stage);
    const percent = own.length ? own.reduce((a, j) => a + (j.status === 'done' ? 100 : j.percent), 0) / own.length : 0;
    return { stage, jobs: own.length, done: own.filter((j) => j.status === 'done').length, running: own.filter((j) => j.status === 'running').length, failed: own.filter((j) => j.status === 'failed').length, percent };
  });
  const weight = stages.reduce((a, s) => a + STAGE_WEIGHT[s.stage], 0);
  const percent = run.status === 'done' ? 100 : stages.reduce((a, s) => a + (STAGE_WEIGHT[s.stage] * s.percent) / weight, 0);
  return { run, percent: Math.round(percent * 10) / 10, stages, jobs };
}
