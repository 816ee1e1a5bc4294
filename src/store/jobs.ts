// Job and run status, persisted so that any process (a worker, the API, `personas jobs`) sees the
// same stage, percent, counts and errors; and the files a run produces (feature tables, models),
// kept in the store so a worker on any machine can take any job.
import { PersonasError } from '../errors.ts';
import type { Sql } from './db.ts';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  runId: string | null;
  parentId: string | null;
  kind: string;
  status: JobStatus;
  stage: string | null;
  percent: number;
  counts: Record<string, number>;
  params: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
  attemptsAllowed: number;
  worker: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

function toJob(r: Record<string, unknown>): JobRecord {
  return {
    id: r.id as string,
    runId: (r.run_id as string | null) ?? null,
    parentId: (r.parent_id as string | null) ?? null,
    kind: r.kind as string,
    status: r.status as JobStatus,
    stage: (r.stage as string | null) ?? null,
    percent: Number(r.percent),
    counts: (r.counts as Record<string, number>) ?? {},
    params: (r.params as Record<string, unknown>) ?? {},
    result: (r.result as Record<string, unknown> | null) ?? null,
    error: (r.error as string | null) ?? null,
    attempts: Number(r.attempts),
    attemptsAllowed: Number(r.attempts_allowed),
    worker: (r.worker as string | null) ?? null,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    updatedAt: iso(r.updated_at)!,
  };
}

export async function createJob(db: Sql, j: { id: string; runId: string | null; kind: string; params?: Record<string, unknown>; attemptsAllowed?: number; stage?: string }): Promise<void> {
  await db.query(
    `INSERT INTO jobs (id, run_id, parent_id, kind, status, stage, params, attempts_allowed) VALUES ($1, $2, $2, $3, 'queued', $4, $5, $6)
     ON CONFLICT (id) DO NOTHING`,
    [j.id, j.runId, j.kind, j.stage ?? null, JSON.stringify(j.params ?? {}), j.attemptsAllowed ?? 1],
  );
}

export async function getJob(db: Sql, id: string): Promise<JobRecord | null> {
  const [row] = await db.query<Record<string, unknown>>('SELECT * FROM jobs WHERE id = $1', [id]);
  return row ? toJob(row) : null;
}

/** A run and its jobs, or a clear error. */
export async function getRun(db: Sql, id: string): Promise<{ run: JobRecord; jobs: JobRecord[] }> {
  const run = await getJob(db, id);
  if (!run || run.runId !== null) throw new PersonasError('NOT_FOUND', `no run with id '${id}'`);
  const jobs = (await db.query<Record<string, unknown>>('SELECT * FROM jobs WHERE run_id = $1 ORDER BY created_at, id', [id])).map(toJob);
  return { run, jobs };
}

export async function listRuns(db: Sql, limit = 20): Promise<JobRecord[]> {
  return (await db.query<Record<string, unknown>>('SELECT * FROM jobs WHERE run_id IS NULL ORDER BY created_at DESC, id DESC LIMIT $1', [limit])).map(toJob);
}

/** Marks a job running for this attempt; false when the job (or its run) was cancelled or is finished. */
export async function jobStarted(db: Sql, id: string, worker: string, attempt: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE jobs SET status = 'running', worker = $2, attempts = $3, started_at = coalesce(started_at, now()), updated_at = now()
     WHERE id = $1 AND status IN ('queued', 'running')
       AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.id = jobs.run_id AND r.status IN ('cancelled', 'failed'))
     RETURNING id`,
    [id, worker, attempt],
  );
  return rows.length > 0;
}

export async function jobProgress(db: Sql, id: string, p: { stage?: string; percent?: number; counts?: Record<string, number> }): Promise<void> {
  await db.query(
    `UPDATE jobs SET stage = coalesce($2, stage), percent = coalesce($3, percent), counts = counts || coalesce($4::jsonb, '{}'::jsonb), updated_at = now()
     WHERE id = $1 AND status = 'running'`,
    [id, p.stage ?? null, p.percent ?? null, p.counts ? JSON.stringify(p.counts) : null],
  );
}

export async function jobDone(db: Sql, id: string, result: Record<string, unknown>): Promise<void> {
  await db.query(
    `UPDATE jobs SET status = 'done', percent = 100, result = $2, error = NULL, finished_at = now(), updated_at = now() WHERE id = $1 AND status = 'running'`,
    [id, JSON.stringify(result)],
  );
}

/**
 * Records a failed attempt: `final` marks the job failed, else it goes back to queued for a retry.
 * `result` keeps what the attempt logged and its stage times (a retry's replaces them).
 */
export async function jobFailed(db: Sql, id: string, error: string, final: boolean, result?: Record<string, unknown>): Promise<void> {
  await db.query(
    `UPDATE jobs SET status = CASE WHEN $3 THEN 'failed' ELSE 'queued' END, error = $2,
       result = coalesce($4::jsonb, result), finished_at = CASE WHEN $3 THEN now() ELSE NULL END, updated_at = now()
     WHERE id = $1 AND status IN ('queued', 'running')`,
    [id, error.slice(0, 4000), final, result ? JSON.stringify(result) : null],
  );
}

/** Run-level status, stage and percent. */
export async function setRun(db: Sql, id: string, p: { status?: JobStatus; stage?: string; percent?: number; error?: string; result?: Record<string, unknown> }): Promise<void> {
  const finished = p.status === 'done' || p.status === 'failed' || p.status === 'cancelled';
  await db.query(
    `UPDATE jobs SET status = coalesce($2, status), stage = coalesce($3, stage), percent = coalesce($4, percent), error = coalesce($5, error),
       result = CASE WHEN $6::jsonb IS NULL THEN result ELSE coalesce(result, '{}'::jsonb) || $6::jsonb END,
       started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
       finished_at = CASE WHEN $7 THEN now() ELSE finished_at END, updated_at = now()
     WHERE id = $1 AND status NOT IN ('done', 'failed', 'cancelled')`,
    [id, p.status ?? null, p.stage ?? null, p.percent ?? null, p.error ?? null, p.result ? JSON.stringify(p.result) : null, finished],
  );
}

/**
 * Called when a job of `stage` is done: true exactly once per stage, when every job of that stage
 * is done (the run row is locked, so two workers finishing together cannot both advance it).
 */
export async function advanceStage(db: Sql, runId: string, stage: string, next: string): Promise<boolean> {
  const [run] = await db.query<{ stage: string; status: string }>('SELECT stage, status FROM jobs WHERE id = $1 FOR UPDATE', [runId]);
  if (!run || run.stage !== stage || run.status !== 'running') return false;
  const [left] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE run_id = $1 AND kind = $2 AND status <> 'done'`, [runId, stage]);
  if (left.n > 0) return false;
  await db.query('UPDATE jobs SET stage = $2, updated_at = now() WHERE id = $1', [runId, next]);
  return true;
}

/** Cancels a run that has not finished, and its unfinished jobs. */
export async function cancelRun(db: Sql, runId: string): Promise<JobRecord> {
  const run = await getJob(db, runId);
  if (!run || run.runId !== null) throw new PersonasError('NOT_FOUND', `no run with id '${runId}'`);
  if (['done', 'failed', 'cancelled'].includes(run.status)) throw new PersonasError('CONFLICT', `run ${runId} is already ${run.status}`);
  await db.query(
    `UPDATE jobs SET status = 'cancelled', finished_at = now(), updated_at = now(), error = coalesce(error, 'cancelled')
     WHERE (id = $1 OR run_id = $1) AND status IN ('queued', 'running')`,
    [runId],
  );
  await pruneRunFiles(db, runId);
  return (await getJob(db, runId))!;
}

/**
 * The files a run keeps once it has ended: its report page and its feature summary. The others
 * (the feature table and its partitions, first-round scores, seed masks, models, out-of-fold
 * probabilities) only carried one stage's output to the next: a 100,000-customer run left 84 of
 * them, 41 MB, in the store (measured), and nothing deleted them.
 */
export const KEPT_RUN_FILES = ['report.html', 'features.json'];

/** Deletes an ended run's working files (all but KEPT_RUN_FILES); returns how many went. */
export async function pruneRunFiles(db: Sql, runId: string): Promise<number> {
  const [r] = await db.query<{ n: number }>(
    'WITH gone AS (DELETE FROM run_files WHERE run_id = $1 AND name <> ALL($2::text[]) RETURNING 1) SELECT count(*)::int AS n FROM gone',
    [runId, KEPT_RUN_FILES],
  );
  return r.n;
}

export async function putRunFile(db: Sql, runId: string, name: string, content: Uint8Array): Promise<void> {
  await db.query(
    `INSERT INTO run_files (run_id, name, content) VALUES ($1, $2, $3) ON CONFLICT (run_id, name) DO UPDATE SET content = EXCLUDED.content, created_at = now()`,
    [runId, name, Buffer.from(content.buffer, content.byteOffset, content.byteLength)],
  );
}

export async function getRunFile(db: Sql, runId: string, name: string): Promise<Buffer> {
  const [row] = await db.query<{ content: Uint8Array }>('SELECT content FROM run_files WHERE run_id = $1 AND name = $2', [runId, name]);
  if (!row) throw new PersonasError('NOT_FOUND', `run ${runId} has no file '${name}' (has its earlier stage finished?)`);
  return Buffer.from(row.content.buffer, row.content.byteOffset, row.content.byteLength);
}
