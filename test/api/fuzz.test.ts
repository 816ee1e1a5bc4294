// Fuzzing every route's inputs: random JSON bodies, raw text bodies, unicode and SQL
// metacharacters in ids and query parameters, huge arrays. The API answers each with a 2xx or a
// 4xx problem+json, never a 500, and keeps answering afterwards.
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { createKey, publishRun, runSource, type Db } from '../../src/store/index.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';

const runs = inject('runs');
const [pglite] = STORE_VARIANTS;

const nasty = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom("' OR '1'='1", '"; DROP TABLE assignments; --', '%00', '..%2F..%2Fetc%2Fpasswd', '\u0000', '🙂'.repeat(30), 'a'.repeat(500), '$1', '\\', '{}', '[]'),
);

describe('API under random input', () => {
  let db: Db;
  let app: ReturnType<typeof createApp>;
  let token: string;
  beforeAll(async () => {
    db = await pglite.open();
    const version = (await publishRun(db, runSource(runs.a), { activate: true })).version;
    expect(version).toBeTruthy();
    token = (await createKey(db, { name: 'fuzz', scopes: ['admin'], rateLimit: 1_000_000 })).token;
    // Runs POSTed here must not start real work: a queue that records and drops.
    app = createApp({ db, queue: { kind: 'in-process', enqueue: async () => undefined, close: async () => undefined } });
  });
  afterAll(async () => {
    if (db) await pglite.dispose(db);
  });

  const check = (res: request.Response) => {
    expect(res.status, `${res.status} ${res.text.slice(0, 200)}`).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.status).toBe(res.status);
      expect(res.text).not.toMatch(/\n\s+at |SELECT |INSERT |node_modules/);
    }
  };
  const posts = ['/v1/customers/personas:batch', '/v1/score', '/v1/jobs'];

  it('never answers 500 to random JSON bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...posts), fc.jsonValue({ maxDepth: 4 }), async (path, body) => {
        check(await request(app).post(path).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(body)));
      }),
      { numRuns: 120 },
    );
  });

  it('never answers 500 to bodies of almost the right shape', async () => {
    const ids = fc.array(fc.oneof(nasty, fc.integer(), fc.constant(null)), { maxLength: 30 });
    const features = fc.dictionary(fc.oneof(fc.constantFrom('age', 'sex', 'postcode', 'segment', 'monetary_12m', 'tile_found'), nasty), fc.oneof(fc.double(), fc.integer(), nasty, fc.constant(null), fc.boolean()), { maxKeys: 8 });
    await fc.assert(
      fc.asyncProperty(ids, fc.array(fc.record({ customer_id: fc.option(nasty), features }, { requiredKeys: [] }), { maxLength: 5 }), async (idList, customers) => {
        check(await request(app).post('/v1/customers/personas:batch').set('Authorization', `Bearer ${token}`).send({ ids: idList }));
        check(await request(app).post('/v1/score').set('Authorization', `Bearer ${token}`).send({ customers }));
        check(await request(app).post('/v1/jobs').set('Authorization', `Bearer ${token}`).send({ data: idList[0] ?? '', personas: customers[0]?.customer_id ?? '', partitions: idList.length }));
      }),
      { numRuns: 80 },
    );
  });

  it('never answers 500 to raw text, wrong content types or malformed JSON', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...posts), fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'), async (path, text, type) => {
        check(await request(app).post(path).set('Authorization', `Bearer ${token}`).set('Content-Type', type).send(text));
      }),
      { numRuns: 120 },
    );
  });

  it('never answers 500 to odd ids and query parameters', async () => {
    await fc.assert(
      fc.asyncProperty(nasty, nasty, nasty, async (id, key, value) => {
        const q = `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
        for (const path of [`/v1/customers/${encodeURIComponent(id)}/persona`, `/v1/models/${encodeURIComponent(id)}`, `/v1/jobs/${encodeURIComponent(id)}`, `/v1/assignments?${q}`, `/v1/quantification?${q}`, `/v1/personas?${q}`, `/v1/jobs?${q}`, `/v1/assignments?cursor=${encodeURIComponent(value)}`]) {
          check(await request(app).get(path).set('Authorization', `Bearer ${token}`));
        }
        check(await request(app).post(`/v1/models/${encodeURIComponent(id)}/activate`).set('Authorization', `Bearer ${token}`));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses huge arrays without falling over, and still answers afterwards', async () => {
    const huge = Array.from({ length: 200_000 }, (_, i) => `c${i}`);
    check(await request(app).post('/v1/customers/personas:batch').set('Authorization', `Bearer ${token}`).send({ ids: huge }));
    check(await request(app).post('/v1/score').set('Authorization', `Bearer ${token}`).send({ customers: Array.from({ length: 5000 }, () => ({ features: {} })) }));
    expect((await request(app).get('/v1/models').set('Authorization', `Bearer ${token}`)).status).toBe(200);
  });
});
