// Publish / activate / rollback while a CRM reads: every response is entirely of one version
// (its labels equal that version's assignment file), never a mix of two; with the server's
// in-memory label cache (as `personas serve` runs) and without it (every lookup to the store).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { LabelCache } from '../../src/api/label-cache.ts';
import { loadSavedProjection } from '../../src/models/personas/index.ts';
import { activateVersion, createKey, publishRun, rollback, runSource, type Db } from '../../src/store/index.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';

const runs = inject('runs');

function labelsOf(run: string): Map<string, { persona: string | null; confidence: number }> {
  const [, ...lines] = readFileSync(join(run, 'assignments.csv'), 'utf8').trim().split('\n');
  return new Map(lines.map((l) => {
    const f = l.split(',');
    return [f[0], { persona: f[1] || null, confidence: Number(f[2]) }];
  }));
}

const differ = (x?: { persona: string | null; confidence: number }, y?: { persona: string | null; confidence: number }) =>
  !x || !y || x.persona !== y.persona || Math.abs(x.confidence - y.confidence) > 1e-5;

for (const [variant, cached] of STORE_VARIANTS.flatMap((v) => [[v, false], [v, true]] as const)) {
  describe.skipIf(!!variant.skip)(`version switches on ${variant.name}${cached ? ', labels cached in memory' : ''}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await variant.open();
    });
    afterAll(async () => {
      if (db) await variant.dispose(db);
    });

    it('never lets a request see a mix of two versions', async () => {
      const a = loadSavedProjection(runs.a).manifest.modelVersion;
      const b = loadSavedProjection(runs.b).manifest.modelVersion;
      const expected = new Map([[a, labelsOf(runs.a)], [b, labelsOf(runs.b)]]);
      const ids = [...expected.get(a)!.keys()];
      // The two runs must disagree somewhere, or the test could not see a mix.
      expect(ids.filter((id) => differ(expected.get(a)!.get(id), expected.get(b)!.get(id))).length).toBeGreaterThan(100);
      await publishRun(db, runSource(runs.a), { activate: true });
      const { token } = await createKey(db, { name: 'crm', scopes: ['read'], rateLimit: 1_000_000 });
      // Polling every 20 ms, with pages of 500 labels: a switch is seen quickly and a copy takes several queries to load.
      const cache = cached ? new LabelCache(db, { refreshMs: 20, pageSize: 500 }).start() : undefined;
      const app = createApp({ db, labelCache: cache });

      let switching = true;
      let answered = 0;
      const seen = new Set<string>();
      const readers = Array.from({ length: 4 }, async (_, r) => {
        let checked = 0;
        while (switching || checked < 3) {
          const start = (checked * 97 + r * 331) % (ids.length - 300);
          const res = await request(app).post('/v1/customers/personas:batch').set('Authorization', `Bearer ${token}`).send({ ids: ids.slice(start, start + 300) });
          expect(res.status).toBe(200);
          const version = res.body.modelVersion as string;
          seen.add(version);
          const truth = expected.get(version)!;
          for (const l of res.body.results) {
            expect(l.found).toBe(true);
            expect(l.modelVersion).toBe(version);
            expect(differ(l, truth.get(l.customerId))).toBe(false);
          }
          checked++;
          answered++;
        }
        return checked;
      });
      // Meanwhile: publish b (a stays active), activate b, roll back to a, activate b again.
      await publishRun(db, runSource(runs.b));
      // Each switch waits until the readers have answered a few more requests, however slow the machine.
      const someAnswers = async () => {
        const target = answered + 6;
        const start = Date.now();
        while (answered < target && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 10));
      };
      // With the cache, each switch is also waited for until the cache has seen it (its own polling).
      const cacheSees = async (version: string) => {
        const start = Date.now();
        while (cache && cache.status().version !== version && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 5));
      };
      for (const [step, now] of [[() => activateVersion(db, b), b], [() => rollback(db), a], [() => activateVersion(db, b), b], [() => rollback(db), a]] as const) {
        await someAnswers();
        await step();
        await cacheSees(now);
      }
      await someAnswers();
      switching = false;
      const counts = await Promise.all(readers);
      if (cache) {
        // Answers came from memory too, not only from the store while copies loaded.
        expect(cache.stats.hits).toBeGreaterThan(0);
        expect(cache.stats.loads).toBeGreaterThan(0);
        cache.close();
      }
      expect(counts.every((c) => c >= 3)).toBe(true);
      expect([...seen].sort()).toEqual([a, b].sort());
    });
  });
}
