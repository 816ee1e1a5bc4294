// Every route, status and scope of the REST API, on embedded PGlite and on the real PostgreSQL.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { buildFeatures, type FeatureTable } from '../../src/features/index.ts';
import { loadSavedProjection } from '../../src/models/personas/index.ts';
import { evaluateVersion } from '../../src/cli/evaluate.ts';
import { activateVersion, createKey, publishRun, revokeKey, runSource, type Db } from '../../src/store/index.ts';
import { recordEvaluation } from '../../src/store/registry.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
type App = ReturnType<typeof createApp>;

function assignmentRows(run: string) {
  const [header, ...lines] = readFileSync(join(run, 'assignments.csv'), 'utf8').trim().split('\n');
  const cols = header.split(',');
  return new Map(lines.map((l) => {
    const row = Object.fromEntries(l.split(',').map((v, k) => [cols[k], v]));
    return [row.customer_id, row];
  }));
}

const versionA = loadSavedProjection(runs.a).manifest.modelVersion;
const versionB = loadSavedProjection(runs.b).manifest.modelVersion;
const rowsA = assignmentRows(runs.a);
const rowsB = assignmentRows(runs.b);
const idsA = [...rowsA.keys()];

function expectProblem(res: request.Response, status: number, detail?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |SELECT |INSERT |node_modules/);
  if (detail) expect(res.body.detail).toMatch(detail);
}

for (const variant of STORE_VARIANTS) {
  describe.skipIf(!!variant.skip)(`API on ${variant.name}`, () => {
    let db: Db;
    let app: App;
    const token: Record<string, string> = {};
    const auth = (who: string) => ({ Authorization: `Bearer ${token[who]}` });
    const logs: Record<string, unknown>[] = [];

    beforeAll(async () => {
      db = await variant.open();
      app = createApp({ db, auth: { cacheSeconds: 0 }, log: (l) => logs.push(l) });
      for (const [who, scopes, rate] of [['read', ['read'], 10_000], ['score', ['score'], 10_000], ['admin', ['admin'], 10_000], ['slow', ['read'], 3], ['gone', ['read'], 100]] as const) {
        const k = await createKey(db, { name: who, scopes: [...scopes], rateLimit: rate });
        token[who] = k.token;
        if (who === 'gone') await revokeKey(db, k.key.id);
      }
    });
    afterAll(async () => {
      if (db) await variant.dispose(db);
    });

    it('is alive but not ready, and says why, before a version is active', async () => {
      expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
      const ready = await request(app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'not ready', activeVersion: null, reason: 'no model version is active' });
      expectProblem(await request(app).get('/v1/customers/x/persona').set(auth('read')), 503, /no model version is active yet/);
      await publishRun(db, runSource(runs.a), { activate: true });
      await publishRun(db, runSource(runs.b));
      expect((await request(app).get('/readyz')).body).toMatchObject({ status: 'ready', activeVersion: versionA });
    });

    it('answers 401 without a valid key on every keyed route, with a Bearer challenge', async () => {
      const routes: [string, string][] = [
        ['get', '/v1/customers/x/persona'], ['post', '/v1/customers/personas:batch'], ['post', '/v1/score'], ['get', '/v1/personas'],
        ['get', '/v1/quantification'], ['get', '/v1/assignments'], ['get', '/v1/models'], ['get', `/v1/models/${versionA}`], ['post', `/v1/models/${versionA}/activate`],
        ['get', `/v1/models/${versionB}/changes`],
      ];
      for (const [method, path] of routes) {
        const call = () => (method === 'get' ? request(app).get(path) : request(app).post(path).send({}));
        const none = await call();
        expectProblem(none, 401, /needs an API key/);
        expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
        expectProblem(await call().set('Authorization', 'Basic abc'), 401, /must read `Bearer <key>`/);
        expectProblem(await call().set('Authorization', 'Bearer psk_0000000000000000_' + 'a'.repeat(43)), 401, /unknown or revoked/);
        expectProblem(await call().set(auth('gone')), 401, /unknown or revoked/);
      }
    });

    it('answers 403 when the key lacks the scope, and lets admin do everything', async () => {
      expectProblem(await request(app).get('/v1/personas').set(auth('score')), 403, /needs the 'read' scope; key \w+ has score/);
      expectProblem(await request(app).post('/v1/score').set(auth('read')).send({ customers: [{ features: {} }] }), 403, /'score' scope/);
      expectProblem(await request(app).post(`/v1/models/${versionB}/activate`).set(auth('read')), 403, /'admin' scope/);
      expect((await request(app).get('/v1/personas').set(auth('admin'))).status).toBe(200);
      expect((await request(app).post('/v1/score').set(auth('admin')).send({ customers: [{ features: {} }] })).status).toBe(200);
    });

    it("serves one customer's persona as the assignment file has it, and 404 for an unknown one", async () => {
      const id = idsA[11];
      const res = await request(app).get(`/v1/customers/${encodeURIComponent(id)}/persona`).set(auth('read'));
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const row = rowsA.get(id)!;
      expect(res.body).toMatchObject({ customerId: id, persona: row.persona || null, modelVersion: versionA });
      expect(res.body.confidence).toBeCloseTo(Number(row.confidence), 5);
      for (const [k, v] of Object.entries(row)) if (k.startsWith('score_') && v) expect(res.body.scores[k.slice(6)]).toBeCloseTo(Number(v), 5);
      for (const odd of ['nobody', "x' OR '1'='1", 'Zoë 🙂', '%00', 'a'.repeat(200)]) {
        expectProblem(await request(app).get(`/v1/customers/${encodeURIComponent(odd)}/persona`).set(auth('read')), 404, /has no label in model version/);
      }
      expectProblem(await request(app).get(`/v1/customers/${'a'.repeat(201)}/persona`).set(auth('read')), 400, /path\.id/);
    });

    it('answers a batch in request order, flags unknown ids, and refuses bad bodies', async () => {
      const ids = [idsA[5], 'unknown-1', idsA[0], idsA[5], "'; DROP TABLE scores; --"];
      const res = await request(app).post('/v1/customers/personas:batch').set(auth('read')).send({ ids });
      expect(res.status).toBe(200);
      expect(res.body.modelVersion).toBe(versionA);
      expect(res.body.results.map((r: { customerId: string; found: boolean }) => [r.customerId, r.found])).toEqual([[idsA[5], true], ['unknown-1', false], [idsA[0], true], [idsA[5], true], [ids[4], false]]);
      expect(res.body.results[2].persona).toBe(rowsA.get(idsA[0])!.persona || null);
      const big = await request(app).post('/v1/customers/personas:batch').set(auth('read')).send({ ids: Array.from({ length: 10_000 }, (_, i) => idsA[i % idsA.length]) });
      expect(big.status).toBe(200);
      expect(big.body.results).toHaveLength(10_000);
      const post = (body: unknown) => request(app).post('/v1/customers/personas:batch').set(auth('read')).set('Content-Type', 'application/json').send(body as string);
      expectProblem(await post({ ids: Array.from({ length: 10_001 }, (_, i) => `c${i}`) }), 400, /body\.ids/);
      expectProblem(await post({ ids: [] }), 400, /body\.ids/);
      expectProblem(await post({ ids: 'c1' }), 400, /body\.ids/);
      expectProblem(await post({ ids: [1, 2] }), 400, /body\.ids\.0/);
      expectProblem(await post({ ids: ['a'], extra: 1 }), 400, /extra/);
      expectProblem(await post('{"ids": ["a"'), 400, /not valid JSON/);
      expectProblem(await post(JSON.stringify({ ids: ['x'.repeat(200)], pad: 'y'.repeat(2_200_000) })), 413, /larger than the server accepts/);
    });

    it('scores new customers from their feature values exactly as the saved models do', async () => {
      const table: FeatureTable = (await buildFeatures({ dataDir: runs.data })).table;
      const saved = loadSavedProjection(runs.a);
      const rows = [0, 3, 17, 400, 1499];
      const customers = rows.map((i) => ({
        customer_id: table.ids[i],
        features: Object.fromEntries([
          ...table.numericNames.map((n, j) => [n, Number.isNaN(table.numeric[j][i]) ? null : table.numeric[j][i]]),
          ...table.categoricalNames.filter((n) => ['sex', 'postcode', 'segment'].includes(n)).map((n) => [n, table.categorical[table.categoricalNames.indexOf(n)][i]]),
        ]),
      }));
      const res = await request(app).post('/v1/score').set(auth('score')).send({ customers });
      expect(res.status).toBe(200);
      expect(res.body.modelVersion).toBe(versionA);
      const pick = { ...table, rows: rows.length, ids: rows.map((i) => table.ids[i]), numeric: table.numeric.map((c) => Float32Array.from(rows, (i) => c[i])), categorical: table.categorical.map((c) => rows.map((i) => c[i])) };
      const expected = saved.score(pick);
      rows.forEach((_, r) => {
        const got = res.body.results[r];
        expect(got.customerId).toBe(table.ids[rows[r]]);
        expected.personas.forEach((p, k) => expect(got.scores[p]).toBeCloseTo(expected.probabilities[k][r], 10));
        expect(got.persona).toBe(expected.assignment.persona[r] >= 0 ? expected.personas[expected.assignment.persona[r]] : null);
      });
      const bad = await request(app).post('/v1/score').set(auth('score')).send({ customers: [{ features: { age: 'old', shoe_size: 42 } }] });
      expectProblem(bad, 400, /features\.age: expected a number or null; .*features\.shoe_size: unknown feature\. Known features: .*monetary_12m/);
      expectProblem(await request(app).post('/v1/score').set(auth('score')).send({ customers: Array.from({ length: 1001 }, () => ({ features: {} })) }), 400, /body\.customers/);
      expectProblem(await request(app).post('/v1/score').set(auth('score')).send({ customers: [{ features: { sex: 1 } }] }), 400, /features\.sex: expected text or null/);
    });

    it('describes the personas and the quantification of a version', async () => {
      const q = JSON.parse(readFileSync(join(runs.a, 'quantification.json'), 'utf8'));
      const personas = await request(app).get('/v1/personas').set(auth('read'));
      expect(personas.body.modelVersion).toBe(versionA);
      for (const p of personas.body.personas) {
        const row = q.personas.find((r: { persona: string }) => r.persona === p.id);
        expect(p.customers).toBe(row?.customers ?? 0);
        // Not checked against customers drawn at random: no corrected size.
        expect(p.correctedSize).toBeNull();
      }
      // Version B checked against a random sample of known customers: each trained persona's size corrected by them.
      const truth = readFileSync(join(runs.data, 'truth.csv'), 'utf8').trim().split('\n');
      const known = join(tempDir(), 'survey.csv');
      writeFileSync(known, [truth[0], ...truth.slice(1).filter((_, i) => i % 3 === 2)].join('\n') + '\n');
      const evaluation = await evaluateVersion(db, versionB, known, { empty: 'none', randomSample: true });
      await recordEvaluation(db, evaluation);
      const checked = (await request(app).get(`/v1/personas?version=${versionB}`).set(auth('read'))).body as { personas: { id: string; correctedSize: unknown }[] };
      expect(evaluation.sizes.length).toBeGreaterThan(0);
      expect(checked.personas.filter((p) => p.correctedSize !== null).map((p) => [p.id, p.correctedSize])).toEqual(
        evaluation.sizes.map((z) => [z.persona, { share: z.corrected, interval: z.interval, knownCustomers: evaluation.matched }]),
      );
      const plain = await request(app).get('/v1/quantification').set(auth('read'));
      expect(plain.body).toEqual({ modelVersion: q.modelVersion, customers: q.customers, personas: q.personas });
      const bySegment = await request(app).get('/v1/quantification?by=segment').set(auth('read'));
      expect(bySegment.body.bySegment).toEqual(q.bySegment);
      expect((await request(app).get(`/v1/quantification?version=${versionB}`).set(auth('read'))).body.modelVersion).toBe(versionB);
      expectProblem(await request(app).get('/v1/quantification?by=region').set(auth('read')), 400, /query\.by/);
      expectProblem(await request(app).get('/v1/quantification?version=19990101T000000Z-deadbeef').set(auth('read')), 404, /is not published/);
      expectProblem(await request(app).get('/v1/quantification?colour=red').set(auth('read')), 400, /colour/);
    });

    it('streams every label a page at a time, as NDJSON or CSV, following the cursor', async () => {
      const seen = new Set<string>();
      let url: string | null = '/v1/assignments?limit=400';
      let pages = 0;
      while (url) {
        const res: request.Response = await request(app).get(url).set(auth('read'));
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
        expect(res.headers['x-model-version']).toBe(versionA);
        for (const line of res.text.trim().split('\n')) {
          const l = JSON.parse(line);
          expect(seen.has(l.customerId)).toBe(false);
          seen.add(l.customerId);
          expect(l.persona).toBe(rowsA.get(l.customerId)!.persona || null);
        }
        pages++;
        url = res.headers.link ? /<([^>]+)>; rel="next"/.exec(res.headers.link)![1] : null;
      }
      expect(pages).toBe(4);
      expect(seen.size).toBe(1500);
      const csv = await request(app).get(`/v1/assignments?format=csv&limit=100000&version=${versionB}`).set(auth('read'));
      const lines = csv.text.trim().split('\n');
      expect(lines[0]).toMatch(/^customer_id,persona,confidence,margin,model_version,score_/);
      expect(lines).toHaveLength(1501);
      expect(csv.headers['x-next-cursor']).toBeUndefined();
      const first = lines[1].split(',');
      expect(first[1]).toBe(rowsB.get(first[0])!.persona);
      expectProblem(await request(app).get('/v1/assignments?cursor=%%%').set(auth('read')), 400, /cursor/);
      expectProblem(await request(app).get('/v1/assignments?limit=0').set(auth('read')), 400, /query\.limit/);
      expectProblem(await request(app).get('/v1/assignments?format=xml').set(auth('read')), 400, /query\.format/);
    });

    it('streams only the labels that changed since another version (a CRM update), following the cursor with it', async () => {
      const changed = [...rowsB].filter(([id, b]) => b.persona !== rowsA.get(id)!.persona).map(([id]) => id).sort();
      expect(changed.length).toBeGreaterThan(20);
      expect(changed.length).toBeLessThan(1500);
      const seen: string[] = [];
      let url: string | null = `/v1/assignments?format=csv&limit=10&version=${versionB}&since=${versionA}`;
      let pages = 0;
      while (url) {
        const res: request.Response = await request(app).get(url).set(auth('read'));
        expect(res.status).toBe(200);
        const [header, ...lines] = res.text.trim().split('\n');
        expect(header).toMatch(/^customer_id,persona,confidence,margin,model_version,score_/);
        for (const line of lines) {
          const [id, persona, , , version] = line.split(',');
          expect(version).toBe(versionB);
          expect(persona).toBe(rowsB.get(id)!.persona);
          seen.push(id);
        }
        pages++;
        url = res.headers.link ? /<([^>]+)>; rel="next"/.exec(res.headers.link)![1] : null;
        if (url) expect(url).toContain(`since=${versionA}`);
      }
      expect(seen).toEqual(changed);
      expect(pages).toBe(Math.ceil(changed.length / 10));
      // Since itself: nothing changed.
      const none = await request(app).get(`/v1/assignments?version=${versionA}&since=${versionA}`).set(auth('read'));
      expect(none.status).toBe(200);
      expect(none.text).toBe('');
      expectProblem(await request(app).get('/v1/assignments?since=19990101T000000Z-deadbeef').set(auth('read')), 404, /'19990101T000000Z-deadbeef' is not published/);
      expectProblem(await request(app).get('/v1/assignments?since=a%20b').set(auth('read')), 400, /query\.since/);
    });

    it("serves the consultant's report of a version as one offline page, in English or French", async () => {
      const en = await request(app).get('/v1/report').set(auth('read'));
      expect(en.status).toBe(200);
      expect(en.headers['content-type']).toMatch(/^text\/html/);
      for (const id of ['quantification', 'portraits', 'reach', 'segments', 'quality', 'data']) expect(en.text).toContain(`id="${id}"`);
      // What the version's base held, kept at publish from the run's features.json.
      expect(en.text).toContain('<tr data-file="transactions">');
      expect(en.text).not.toContain('id="data-unavailable"');
      expect(en.text).toContain(versionA);
      expect(en.text).not.toMatch(/<script[^>]+src=["']https?:/);
      const fr = await request(app).get(`/v1/report?lang=fr&version=${versionB}`).set(auth('read'));
      expect(fr.status).toBe(200);
      expect(fr.text).toContain('lang="fr"');
      expect(fr.text).toContain(versionB);
      expectProblem(await request(app).get('/v1/report?lang=de').set(auth('read')), 400, /query\.lang/);
      expectProblem(await request(app).get('/v1/report').set(auth('score')), 403, /'read' scope/);
    });

    it('lists, shows and activates model versions (admin), with clear errors', async () => {
      const list = await request(app).get('/v1/models').set(auth('read'));
      expect(list.body.active).toBe(versionA);
      expect(list.body.models.map((m: { version: string; status: string }) => [m.version, m.status]).sort()).toEqual([[versionA, 'active'], [versionB, 'ready']].sort());
      const show = await request(app).get(`/v1/models/${versionB}`).set(auth('read'));
      expect(show.body.manifest.modelVersion).toBe(versionB);
      expect(show.body.metrics.modelVersion).toBe(versionB);
      expectProblem(await request(app).get('/v1/models/no..such!').set(auth('read')), 400, /path\.version/);
      expectProblem(await request(app).post('/v1/models/19990101T000000Z-deadbeef/activate').set(auth('admin')), 404, /is not published/);
      const act = await request(app).post(`/v1/models/${versionB}/activate`).set(auth('admin'));
      expect(act.body).toEqual({ version: versionB, previous: versionA });
      const after = await request(app).get(`/v1/customers/${encodeURIComponent(idsA[0])}/persona`).set(auth('read'));
      expect(after.body.modelVersion).toBe(versionB);
      expect(logs.some((l) => l.msg === 'model version activated' && l.version === versionB)).toBe(true);
      await activateVersion(db, versionA);
    });

    it("says how the labels move from the active version (or the one asked for) to another, counted from the two assignment files", async () => {
      const res = await request(app).get(`/v1/models/${versionB}/changes`).set(auth('read'));
      expect(res.status).toBe(200);
      // Counted here from the files the two versions were published from.
      const pairs = new Map<string, number>();
      for (const [id, a] of rowsA) {
        const key = JSON.stringify([a.persona || null, rowsB.get(id)!.persona || null]);
        pairs.set(key, (pairs.get(key) ?? 0) + 1);
      }
      const body = res.body as { from: string; to: string; customers: object; unchanged: number; unchangedShare: number; transitions: { from: string | null; to: string | null; customers: number }[]; personas: { persona: string; from: number; to: number; kept: number; joined: number; left: number }[] };
      expect(body).toMatchObject({ from: versionA, to: versionB, customers: { both: rowsA.size, onlyFrom: 0, onlyTo: 0 } });
      expect(new Map(body.transitions.map((t) => [JSON.stringify([t.from, t.to]), t.customers]))).toEqual(pairs);
      expect(body.transitions.map((t) => t.customers)).toEqual([...pairs.values()].sort((x, y) => y - x));
      const same = [...rowsA].filter(([id, a]) => a.persona === rowsB.get(id)!.persona).length;
      expect(body.unchanged).toBe(same);
      expect(same).toBeLessThan(rowsA.size); // two seeds: some labels move
      expect(body.unchangedShare).toBeCloseTo(same / rowsA.size, 12);
      for (const p of body.personas) {
        const inA = [...rowsA.values()].filter((r) => r.persona === p.persona).length;
        const inB = [...rowsB.values()].filter((r) => r.persona === p.persona).length;
        const kept = [...rowsA].filter(([id, a]) => a.persona === p.persona && rowsB.get(id)!.persona === p.persona).length;
        expect(p).toEqual({ persona: p.persona, from: inA, to: inB, kept, joined: inB - kept, left: inA - kept });
      }
      expect(body.personas.map((p) => p.persona).sort()).toEqual(loadSavedProjection(runs.b).personas.map((p) => p.id).sort());
      // And what differs in their models: the two runs differ by their seed; each persona's figures, from metrics.json.
      const models = (res.body as { models: { from: string; to: string; settings: unknown[]; personas: { persona: string; from: { validationAuc: number } | null; to: { validationAuc: number } | null; definition: string[] }[] } }).models;
      expect(models).toMatchObject({ from: versionA, to: versionB, settings: [{ setting: 'seed', from: '1', to: '2' }] });
      const auc = (run: string) => new Map((JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8')) as { personas: { persona: string; validationAuc: number }[] }).personas.map((p) => [p.persona, p.validationAuc]));
      expect(new Map(models.personas.map((p) => [p.persona, [p.from?.validationAuc, p.to?.validationAuc]]))).toEqual(new Map([...auc(runs.b)].map(([p, v]) => [p, [auc(runs.a).get(p), v]])));
      // From a version named: the other way round, and a version to itself.
      const back = (await request(app).get(`/v1/models/${versionA}/changes?from=${versionB}`).set(auth('read'))).body as typeof body;
      expect(back).toMatchObject({ from: versionB, to: versionA, unchanged: same });
      expect(back.transitions.map((t) => [t.to, t.from, t.customers]).sort()).toEqual(body.transitions.map((t) => [t.from, t.to, t.customers]).sort());
      const itself = (await request(app).get(`/v1/models/${versionA}/changes?from=${versionA}`).set(auth('read'))).body as typeof body;
      expect(itself).toMatchObject({ unchanged: rowsA.size, unchangedShare: 1 });
      expect(itself.personas.every((p) => p.joined === 0 && p.left === 0)).toBe(true);
      expectProblem(await request(app).get(`/v1/models/${versionB}/changes?from=19990101T000000Z-deadbeef`).set(auth('read')), 404, /'19990101T000000Z-deadbeef' is not published/);
      expectProblem(await request(app).get('/v1/models/19990101T000000Z-deadbeef/changes').set(auth('read')), 404, /is not published/);
      expectProblem(await request(app).get(`/v1/models/${versionB}/changes?from=a%20b`).set(auth('read')), 400, /query\.from/);
      expectProblem(await request(app).get(`/v1/models/${versionB}/changes?since=${versionA}`).set(auth('read')), 400, /since/);
    });

    it('limits each key to its rate with 429 and Retry-After', async () => {
      const statuses: number[] = [];
      let retry: string | undefined;
      for (let i = 0; i < 6; i++) {
        const res = await request(app).get('/v1/models').set(auth('slow'));
        statuses.push(res.status);
        if (res.status === 429) {
          retry = res.headers['retry-after'];
          expectProblem(res, 429, /limited to 3 requests per second/);
        }
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses).toContain(429);
      expect(Number(retry)).toBeGreaterThanOrEqual(1);
      // Another key is not affected.
      expect((await request(app).get('/v1/models').set(auth('read'))).status).toBe(200);
    });

    it('publishes its OpenAPI document and docs page, and answers unknown routes and methods with problems', async () => {
      const spec = (await request(app).get('/v1/openapi.json')).body;
      expect(spec.openapi).toBe('3.1.0');
      expect(Object.keys(spec.paths).sort()).toEqual(['/healthz', '/readyz', '/v1/assignments', '/v1/customers/personas:batch', '/v1/customers/{id}/persona', '/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/cancel', '/v1/models', '/v1/models/{version}', '/v1/models/{version}/activate', '/v1/models/{version}/changes', '/v1/personas', '/v1/quantification', '/v1/report', '/v1/score']);
      expect(spec.paths['/v1/customers/personas:batch'].post.requestBody.content['application/json'].schema.properties.ids.maxItems).toBe(10_000);
      expect(spec.paths['/v1/models/{version}/activate'].post['x-required-scope']).toBe('admin');
      expect(spec.paths['/v1/score'].post.responses['403'].content['application/problem+json']).toBeDefined();
      const docs = await request(app).get('/v1/docs/');
      expect(docs.status).toBe(200);
      expect(docs.text).toContain('swagger-ui-bundle.js');
      expect((await request(app).get('/v1/docs/swagger-ui-bundle.js')).status).toBe(200);
      expectProblem(await request(app).get('/v2/anything'), 404, /no route GET \/v2\/anything/);
      const wrong = await request(app).delete('/v1/models');
      expectProblem(wrong, 405, /DELETE is not allowed/);
      expect(wrong.headers.allow).toBe('GET');
    });

    it('never logs keys, customer ids or bodies', () => {
      const text = JSON.stringify(logs);
      for (const t of Object.values(token)) expect(text).not.toContain(t.slice(21));
      expect(text).not.toContain(idsA[11]);
      expect(logs.some((l) => l.route === '/v1/customers/:id/persona' && l.status === 200)).toBe(true);
    });

    it('answers 503 with a retry hint, not a 500, when the store is gone', async () => {
      const other = await variant.open();
      const key = await createKey(other, { name: 'x', scopes: ['read'] });
      const orphan = createApp({ db: other });
      await publishRun(other, runSource(runs.a), { activate: true });
      await variant.dispose(other);
      const res = await request(orphan).get('/v1/models').set('Authorization', `Bearer ${key.token}`);
      expectProblem(res, 503, /store is unavailable/);
      expect(res.headers['retry-after']).toBe('5');
      expect((await request(orphan).get('/readyz')).status).toBe(503);
    });
  });
}
