// Single lookups asked for in the same turn of the event loop share one query, on both stores:
// each gets its own customer's label (unknown ids none), all of one version, a turn of more than
// `maxIds` is split, a failed query (a closed store) fails every lookup it carried, and lookups over the HTTP
// server that arrive together are answered right.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { LookupCoalescer } from '../../src/api/coalesce.ts';
import { createKey, lookupLabels, publishRun, runSource, type Db } from '../../src/store/index.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';

const runs = inject('runs');

for (const variant of STORE_VARIANTS) {
  describe.skipIf(!!variant.skip)(`coalesced lookups on ${variant.name}`, () => {
    let db: Db;
    let ids: string[];
    let version: string;
    beforeAll(async () => {
      db = await variant.open();
      version = (await publishRun(db, runSource(runs.a), { activate: true })).version;
      ids = (await db.query<{ customer_id: string }>('SELECT customer_id FROM assignments WHERE version = $1 ORDER BY customer_id LIMIT 40', [version])).map((r) => r.customer_id);
    });
    afterAll(async () => {
      if (db) await variant.dispose(db);
    });

    it('answers every lookup of one turn from one query, each with its own label', async () => {
      const c = new LookupCoalescer(db);
      const asked = [...ids.slice(0, 30), 'nobody', ids[0]];
      const got = await Promise.all(asked.map((id) => c.lookup(id)));
      expect(c.stats).toEqual({ queries: 1, lookups: asked.length });
      const direct = await lookupLabels(db, ids.slice(0, 30), null);
      got.forEach((g, i) => {
        expect(g.version).toBe(version);
        expect(g.label).toEqual(direct.labels.get(asked[i]));
      });
      expect(got[30].label).toBeUndefined();
      expect(got[31].label!.customerId).toBe(ids[0]);
      // Lookups of later turns make their own queries.
      await c.lookup(ids[1]);
      await c.lookup(ids[2]);
      expect(c.stats.queries).toBe(3);
    });

    it('splits a turn with more than maxIds ids', async () => {
      const c = new LookupCoalescer(db, 10);
      const got = await Promise.all(ids.slice(0, 25).map((id) => c.lookup(id)));
      expect(c.stats).toEqual({ queries: 3, lookups: 25 });
      expect(got.map((g) => g.label!.customerId)).toEqual(ids.slice(0, 25));
    });

    it('fails every lookup that a failed query carried', async () => {
      const broken = await variant.open();
      await publishRun(broken, runSource(runs.a), { activate: true });
      await variant.dispose(broken); // a store that no longer answers
      const c = new LookupCoalescer(broken);
      const settled = await Promise.allSettled(ids.slice(0, 3).map((id) => c.lookup(id)));
      expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(c.stats.queries).toBe(1);
      expect(String((settled[0] as PromiseRejectedResult).reason)).toMatch(/closed|after calling end/i);
    });

    it('answers concurrent HTTP lookups right', async () => {
      const { token } = await createKey(db, { name: 'crm', scopes: ['read'], rateLimit: 1_000_000 });
      const server = createApp({ db }).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const direct = await lookupLabels(db, ids, null);
        const asked = [...ids, 'nobody'];
        const answers = await Promise.all(asked.map((id) => fetch(`${base}/v1/customers/${id}/persona`, { headers: { authorization: `Bearer ${token}` } })));
        const bodies = (await Promise.all(answers.map((r) => r.json()))) as { customerId: string; persona: string | null; modelVersion: string }[];
        expect(answers.map((r) => r.status)).toEqual([...ids.map(() => 200), 404]);
        ids.forEach((id, i) => {
          expect(bodies[i].customerId).toBe(id);
          expect(bodies[i].persona).toBe(direct.labels.get(id)!.persona);
          expect(bodies[i].modelVersion).toBe(version);
        });
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  });
}
