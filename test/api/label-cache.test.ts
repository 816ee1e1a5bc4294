// The server's in-memory copy of the active version's labels, on both stores: it holds exactly
// what the store answers (every customer, paged loading), answers while the store is down, follows
// activations (its own at once, others' within its refresh period), leaves versions larger than
// its limit to the store, and the HTTP routes answer the same with and without it.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { LabelCache, LabelSnapshot } from '../../src/api/label-cache.ts';
import { activateVersion, createKey, lookupLabels, publishRun, runSource, type Db } from '../../src/store/index.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';

const runs = inject('runs');

const until = async (what: () => boolean, ms = 20_000) => {
  const start = Date.now();
  while (!what()) {
    if (Date.now() - start > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('a label snapshot', () => {
  it('finds every id among prefixes of each other, unicode and many colliding slots, and nothing else', () => {
    const ids = ['1', '12', '123', '1234', 'é', 'e\u0301', '😀', '😀x', "x' OR 1=1 --", ...Array.from({ length: 5000 }, (_, i) => `C${i}`)];
    const snap = new LabelSnapshot('v1', ['p1', 'p2'], 10); // too small: it grows
    for (let at = 0; at < ids.length; at += 1000) {
      const part = ids.slice(at, at + 1000);
      snap.append({
        ids: part,
        persona: part.map((_, j) => (j % 3 === 0 ? null : j % 3 === 1 ? 'p1' : 'p2')),
        confidence: part.map((_, j) => (at + j) / 10_000),
        margin: part.map((_, j) => j / 1000),
        scores: part.map((_, j) => [(at + j) / 7, j % 5 === 0 ? null : 0.5]),
      });
    }
    expect(() => snap.get('1')).toThrow(/not sealed/);
    snap.seal();
    expect(snap.rows).toBe(ids.length);
    ids.forEach((id, i) => {
      const j = i % 1000;
      expect(snap.get(id)).toEqual({
        customerId: id,
        persona: j % 3 === 0 ? null : j % 3 === 1 ? 'p1' : 'p2',
        confidence: i / 10_000,
        margin: j / 1000,
        scores: j % 5 === 0 ? { p1: i / 7 } : { p1: i / 7, p2: 0.5 },
      });
    });
    for (const id of ['', '12345', 'C5000', 'c1', 'e', '😀y', '1 ']) expect(snap.get(id)).toBeUndefined();
    expect(() => snap.append({ ids: ['z'], persona: [null], confidence: [0], margin: [0], scores: [[0, 0]] })).toThrow(/sealed/);
    const bad = new LabelSnapshot('v1', ['p1'], 1);
    expect(() => bad.append({ ids: ['a'], persona: ['p9'], confidence: [0], margin: [0], scores: [[0]] })).toThrow(/persona 'p9', not one of version v1/);
  });
});

for (const variant of STORE_VARIANTS) {
  describe.skipIf(!!variant.skip)(`label cache on ${variant.name}`, () => {
    let db: Db;
    let a: string;
    let b: string;
    let ids: string[];
    let token: string;
    beforeAll(async () => {
      db = await variant.open();
      a = (await publishRun(db, runSource(runs.a), { activate: true })).version;
      b = (await publishRun(db, runSource(runs.b))).version;
      ids = (await db.query<{ customer_id: string }>('SELECT customer_id FROM assignments WHERE version = $1 ORDER BY customer_id', [a])).map((r) => r.customer_id);
      token = (await createKey(db, { name: 'crm', scopes: ['read', 'admin'], rateLimit: 1_000_000 })).token;
    });
    afterAll(async () => {
      if (db) await variant.dispose(db);
    });

    it('holds every label of the active version exactly as the store gives it', async () => {
      const cache = new LabelCache(db, { pageSize: 97 }).start();
      try {
        expect(cache.lookupOne(ids[0])).toBeNull(); // not loaded yet: ask the store
        await cache.settled();
        expect(cache.status()).toEqual({ state: 'ready', version: a, rows: ids.length });
        const direct = await lookupLabels(db, ids, null);
        const held = cache.lookup([...ids, 'nobody'])!;
        expect(held.version).toBe(a);
        expect(held.labels.size).toBe(ids.length);
        for (const id of ids) expect(held.labels.get(id)).toEqual(direct.labels.get(id));
        // Unassigned customers and their scores too (the run has some).
        expect([...held.labels.values()].some((l) => l.persona === null)).toBe(true);
        expect(cache.lookupOne('nobody')).toEqual({ version: a, label: undefined });
        expect(cache.stats.hits).toBe(2);
      } finally {
        cache.close();
      }
    });

    it('answers from memory while the store is down', async () => {
      const other = await variant.open();
      const v = (await publishRun(other, runSource(runs.a), { activate: true })).version;
      const cache = new LabelCache(other, { refreshMs: 20 }).start();
      await cache.settled();
      const before = cache.lookupOne(ids[5])!;
      await variant.dispose(other);
      await new Promise((r) => setTimeout(r, 100)); // a few failed refreshes
      expect(cache.lookupOne(ids[5])).toEqual(before);
      expect(before.version).toBe(v);
      expect(cache.status().state).toBe('ready');
      cache.close();
    });

    it("switches at once on the server's own activation, and within its refresh period on anyone else's", async () => {
      const cache = new LabelCache(db, { refreshMs: 60_000 }).start(); // no polling within the test: only the activation route refreshes
      const app = createApp({ db, labelCache: cache });
      const get = async () => (await request(app).get(`/v1/customers/${ids[0]}/persona`).set('Authorization', `Bearer ${token}`)).body.modelVersion as string;
      try {
        await cache.settled();
        expect(await get()).toBe(a);
        const act = await request(app).post(`/v1/models/${b}/activate`).set('Authorization', `Bearer ${token}`);
        expect(act.status).toBe(200);
        expect(await get()).toBe(b); // the next request after the activation answered
        await cache.settled();
        expect(cache.status()).toMatchObject({ state: 'ready', version: b });
        // Activated elsewhere (the store directly, as the CLI or another server does): this cache
        // does not poll within the test, so it still answers b, whole.
        await activateVersion(db, a);
        expect(await get()).toBe(b);
      } finally {
        cache.close();
      }
      const polling = new LabelCache(db, { refreshMs: 30 }).start();
      try {
        await polling.settled();
        expect(polling.status().version).toBe(a);
        await activateVersion(db, b);
        const seen: string[] = [];
        await until(() => {
          const r = polling.lookupOne(ids[0]);
          if (r) seen.push(r.version);
          return polling.status().state === 'ready' && polling.status().version === b && r?.version === b;
        });
        // Once b was seen, never a again.
        expect(seen.slice(seen.indexOf(b)).every((v) => v === b)).toBe(true);
      } finally {
        polling.close();
        await activateVersion(db, a);
      }
    });

    it('leaves a version larger than its limit to the store, and is off at 0', async () => {
      const small = new LabelCache(db, { maxRows: ids.length - 1 }).start();
      const off = new LabelCache(db, { maxRows: 0 }).start();
      try {
        await small.settled();
        expect(small.status()).toEqual({ state: 'too large', version: a, rows: 0 });
        expect(small.lookup(ids.slice(0, 3))).toBeNull();
        expect(off.status().state).toBe('off');
        const app = createApp({ db, labelCache: small });
        const res = await request(app).get(`/v1/customers/${ids[0]}/persona`).set('Authorization', `Bearer ${token}`);
        expect(res.status).toBe(200);
        expect(res.body.modelVersion).toBe(a);
        const ready = await request(app).get('/readyz');
        expect(ready.body.labelCache).toEqual({ state: 'too large', version: a, rows: 0 });
      } finally {
        small.close();
        off.close();
      }
      expect(() => new LabelCache(db, { maxRows: -1 })).toThrow(/maxRows/);
      expect(() => new LabelCache(db, { refreshMs: 0 })).toThrow(/refreshMs/);
    });

    it('gives the same HTTP answers with and without the cache', async () => {
      const cache = new LabelCache(db).start();
      try {
        await cache.settled();
        const withCache = createApp({ db, labelCache: cache });
        const without = createApp({ db });
        const asked = [ids[3], 'nobody', ids[0], ids[3], "x' OR 1=1 --", ids[ids.length - 1]];
        const batch = async (app: ReturnType<typeof createApp>) => (await request(app).post('/v1/customers/personas:batch').set('Authorization', `Bearer ${token}`).send({ ids: asked })).body;
        const one = async (app: ReturnType<typeof createApp>, id: string) => {
          const r = await request(app).get(`/v1/customers/${encodeURIComponent(id)}/persona`).set('Authorization', `Bearer ${token}`);
          return { status: r.status, body: r.body };
        };
        expect(await batch(withCache)).toEqual(await batch(without));
        for (const id of [ids[7], 'nobody']) expect(await one(withCache, id)).toEqual(await one(without, id));
        const hits = cache.stats.hits;
        expect(hits).toBeGreaterThanOrEqual(3);
        const ready = await request(withCache).get('/readyz');
        expect(ready.body.labelCache).toEqual({ state: 'ready', version: a, rows: ids.length });
      } finally {
        cache.close();
      }
    });
  });
}
