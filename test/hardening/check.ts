// Shared checks of the fault tests, through the public HTTP surface only (so they hold whatever
// the store's tables look like): every label of a version, and waiting for a run to end.
import request from 'supertest';
import { expect } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { runStatus, type RunStatus } from '../../src/jobs/index.ts';
import type { Db } from '../../src/store/index.ts';

/** Every label of `version` as GET /v1/assignments streams it (CSV), one row per customer. */
export async function labelsOf(app: ReturnType<typeof createApp>, token: string, version: string): Promise<{ ids: string[]; personas: string[]; rows: string[][] }> {
  const res = await request(app).get(`/v1/assignments?format=csv&limit=100000&version=${version}`).set('Authorization', `Bearer ${token}`);
  expect(res.status, res.text.slice(0, 300)).toBe(200);
  expect(res.headers['x-next-cursor'], 'one page holds the whole base').toBeUndefined();
  const [header, ...lines] = res.text.trim().split('\n');
  const cols = header.split(',');
  const rows = lines.map((l) => l.split(','));
  return { ids: rows.map((r) => r[0]), personas: cols.filter((c) => c.startsWith('score_')).map((c) => c.slice(6)), rows };
}

/** Exactly one label per customer of the base, each with a score for every persona of the version. */
export async function expectOneScorePerCustomerAndPersona(app: ReturnType<typeof createApp>, token: string, version: string, customers: number, personas: string[]): Promise<void> {
  const l = await labelsOf(app, token, version);
  expect(l.ids.length).toBe(customers);
  expect(new Set(l.ids).size).toBe(customers);
  expect([...l.personas].sort()).toEqual([...personas].sort());
  const scoreCols = l.personas.map((_, k) => 5 + k);
  const missing = l.rows.filter((r) => scoreCols.some((c) => r[c] === '' || r[c] === undefined || Number.isNaN(Number(r[c]))));
  expect(missing.length, `labels without a score for some persona, e.g. ${missing[0]?.join(',')}`).toBe(0);
}

/** Polls a run until it is done, failed or cancelled (or `ms` pass). */
export async function waitForRun(db: Db, runId: string, ms: number): Promise<RunStatus> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await runStatus(db, runId).catch(() => null);
    if (s && ['done', 'failed', 'cancelled'].includes(s.run.status)) return s;
    if (Date.now() > end) throw new Error(`run ${runId} did not end within ${ms} ms: ${s ? `${s.run.status}, stage ${s.run.stage}, jobs ${s.jobs.map((j) => `${j.id}=${j.status}`).join(' ')}` : 'store unreachable'}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls `ok` every 20 ms until it holds (or `ms` pass). */
export async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not seen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
