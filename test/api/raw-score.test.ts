// POST /v1/score with raw rows of new customers: the features the API builds from a customer's
// own rows and the version's reference files are those the batch built for that customer, and
// so are the scores; bad rows are refused with their path; a version without its reference
// files says so. On PGlite and on the real PostgreSQL.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { buildFeatures, type FeatureTable } from '../../src/features/index.ts';
import { loadSavedProjection } from '../../src/models/personas/index.ts';
import { activateVersion, createKey, publishRun, runSource, type Db } from '../../src/store/index.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');

/** A demo CSV as records (the demo files hold no quoted fields). */
function readCsv(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, k) => [cols[k], v])));
}

const customers = readCsv(join(runs.data, 'customers.csv'));
const transactions = readCsv(join(runs.data, 'transactions.csv'));
const interactions = readCsv(join(runs.data, 'interactions.csv'));

/** The rows of some customers, as a CRM would send them (numbers as JSON numbers where they are numbers). */
function baseOf(ids: string[]) {
  const want = new Set(ids);
  const typed = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === '' ? null : ['lat', 'lon', 'amount', 'birth_year'].includes(k) ? Number(v) : v]));
  return {
    customers: ids.map((id) => customers.find((c) => c.customer_id === id)!).map(typed),
    transactions: transactions.filter((t) => want.has(t.customer_id)).map(typed),
    interactions: interactions.filter((t) => want.has(t.customer_id)).map(typed),
  };
}

/** A batch feature table's row as the API returns features (float32 values, missing as null). */
function batchRow(table: FeatureTable, id: string): Record<string, number | string | null> {
  const i = table.ids.indexOf(id);
  const out: Record<string, number | string | null> = {};
  table.numericNames.forEach((n, k) => (out[n] = Number.isNaN(table.numeric[k][i]) ? null : table.numeric[k][i]));
  table.categoricalNames.forEach((n, k) => (out[n] = table.categorical[k][i]));
  return out;
}

for (const variant of STORE_VARIANTS) {
  describe.skipIf(!!variant.skip)(`raw-row scoring on ${variant.name}`, () => {
    let db: Db;
    let app: ReturnType<typeof createApp>;
    let auth: { Authorization: string };
    let table: FeatureTable;
    const version = loadSavedProjection(runs.a).manifest.modelVersion;

    beforeAll(async () => {
      db = await variant.open();
      app = createApp({ db, auth: { cacheSeconds: 0 } });
      auth = { Authorization: `Bearer ${(await createKey(db, { name: 'crm', scopes: ['score'], rateLimit: 10_000 })).token}` };
      // Run a as `personas run` leaves it: with features/features.json naming the reference files.
      const run = tempDir();
      cpSync(runs.a, run, { recursive: true });
      // Its column file reads the client's "Magasin" as a store purchase (the base says "store").
      table = (await buildFeatures({ dataDir: runs.data, outDir: join(run, 'features'), columnMap: { values: { channel: { Magasin: 'store' } } } })).table;
      const published = await publishRun(db, runSource(run), { activate: true });
      expect(Object.keys(published.references).sort()).toEqual(['first_names', 'postcodes', 'tiles']);
    }, 120_000);
    afterAll(async () => {
      if (db) await variant.dispose(db);
    });

    it('builds the features the batch built, and scores them as the batch did', async () => {
      // With coordinates and a birth year, with a first name only (age from the name), with a postcode only.
      const withPoint = customers.find((c) => c.lat && c.birth_year)!.customer_id;
      const fromName = customers.find((c) => c.lat && !c.birth_year && c.first_name)!.customer_id;
      const postcodeOnly = customers.find((c) => !c.lat && c.postcode)!.customer_id;
      const ids = [withPoint, fromName, postcodeOnly];
      const res = await request(app).post('/v1/score').set(auth).send({ base: baseOf(ids) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.modelVersion).toBe(version);
      expect(res.body.results.map((r: { customerId: string }) => r.customerId)).toEqual(ids);
      for (const r of res.body.results as { customerId: string; persona: string | null; scores: Record<string, number>; features: Record<string, unknown> }[]) {
        const expected = batchRow(table, r.customerId);
        expect(Object.keys(r.features).length).toBeGreaterThan(30);
        for (const [name, value] of Object.entries(r.features)) {
          if (typeof value === 'number') expect(value, `${r.customerId} ${name}`).toBeCloseTo(expected[name] as number, 4);
          else expect(value, `${r.customerId} ${name}`).toBe(expected[name]);
        }
      }
      // The scores the saved models give the batch's rows of these customers (the assignment file
      // holds out-of-fold scores for the customers a model trained on, so it is not the reference).
      const rows = ids.map((id) => table.ids.indexOf(id));
      const pick: FeatureTable = { ...table, rows: rows.length, ids, numeric: table.numeric.map((c) => Float32Array.from(rows, (i) => c[i])), categorical: table.categorical.map((c) => rows.map((i) => c[i])) };
      const expected = loadSavedProjection(runs.a).score(pick);
      res.body.results.forEach((r: { persona: string | null; scores: Record<string, number> }, i: number) => {
        expect(r.persona).toBe(expected.assignment.persona[i] >= 0 ? expected.personas[expected.assignment.persona[i]] : null);
        expected.personas.forEach((p, k) => expect(r.scores[p], `${ids[i]} ${p}`).toBeCloseTo(expected.probabilities[k][i], 6));
      });
      const ages = res.body.results.map((r: { features: Record<string, unknown> }) => r.features.age_from_name);
      expect(ages.slice(0, 2)).toEqual([0, 1]);
      expect(res.body.results[2].features.tile_ind).not.toBeNull();
    });

    it('reads coordinates written longitude first, or at 0, 0, as the batch reads them', async () => {
      const id = customers.find((c) => c.lat && c.postcode && c.birth_year)!.customer_id;
      const base = baseOf([id]);
      const c = base.customers[0];
      const send = (row: Record<string, unknown>) => request(app).post('/v1/score').set(auth).send({ base: { ...base, customers: [row] } });
      const [right, swapped, nowhere, postcodeOnly] = await Promise.all([c, { ...c, lat: c.lon, lon: c.lat }, { ...c, lat: 0, lon: 0 }, { ...c, lat: null, lon: null }].map(send));
      for (const res of [right, swapped, nowhere, postcodeOnly]) expect(res.status, JSON.stringify(res.body)).toBe(200);
      // Swapped back: the features and scores of the row written right (its tiles fetched around the right point).
      expect(swapped.body.results).toEqual(right.body.results);
      expect(swapped.body.results[0].features.tile_found).toBe(1);
      expect(swapped.body.warnings).toEqual([{ path: 'body.base.customers.0', reason: expect.stringMatching(/^swapped_coordinates/) }]);
      // At 0, 0: placed by its postcode, as a row without coordinates is (the tiles around its commune fetched).
      expect(nowhere.body.warnings).toEqual([{ path: 'body.base.customers.0', reason: expect.stringMatching(/^bad_coordinates/) }]);
      expect(nowhere.body.results).toEqual(postcodeOnly.body.results);
      expect(nowhere.body.results[0].features.tile_ind).not.toBeNull();
    });

    it("says which features the model reads that the rows do not hold (a client column not sent), read as missing", async () => {
      const id = customers.find((c) => c.optin_email !== '')!.customer_id;
      const base = baseOf([id]);
      const { optin_email: sent, ...without } = base.customers[0];
      expect(sent).not.toBeNull();
      const res = await request(app).post('/v1/score').set(auth).send({ base: { ...base, customers: [without] } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.warnings).toEqual([{ path: 'body.base.customers', reason: expect.stringMatching(/^the models read 1 feature\(s\) these customers' data does not hold, read as missing .*: optin_email; /) }]);
      expect(res.body.results[0].features.optin_email).toBeNull();
      // Sent, nothing is said.
      const full = await request(app).post('/v1/score').set(auth).send({ base });
      expect(full.body.warnings).toEqual([]);
    });

    it('reads a postcode that lost its leading 0, or written as a decimal number, as the batch does', async () => {
      const id = customers.find((c) => !c.lat && /^0[1-9][0-9]{3}$/.test(c.postcode ?? ''))!.customer_id;
      const base = baseOf([id]);
      const c = base.customers[0];
      const send = (postcode: unknown) => request(app).post('/v1/score').set(auth).send({ base: { ...base, customers: [{ ...c, postcode }] } });
      const [right, number, decimal] = await Promise.all([c.postcode, Number(c.postcode), `${Number(c.postcode)}.0`].map(send));
      for (const res of [right, number, decimal]) expect(res.status, JSON.stringify(res.body)).toBe(200);
      const expected = batchRow(table, id);
      expect(right.body.results[0].features.tile_ind).toBeCloseTo(expected.tile_ind as number, 4);
      expect(expected.tile_ind).not.toBeNull();
      // The tiles around the commune of the postcode as read are fetched: the same features.
      expect(number.body.results).toEqual(right.body.results);
      expect(decimal.body.results).toEqual(right.body.results);
      expect(number.body.warnings).toEqual([{ path: 'body.base.customers.0', reason: expect.stringMatching(/^short_postcode/) }]);
    });

    it('reads a first name written without its accents as the batch reads the name with them: every spelling of the name', async () => {
      const id = customers.find((c) => !c.birth_year && /[ÀÂÇÉÈÊËÎÏÔÙÛÜ]/i.test(c.first_name ?? ''))!.customer_id;
      const base = baseOf([id]);
      const c = base.customers[0];
      const plain = String(c.first_name).normalize('NFD').replace(/\p{Mn}/gu, '').toUpperCase();
      expect(plain).not.toBe(String(c.first_name).toUpperCase());
      const expected = batchRow(table, id);
      // Without its accents, and written after a title: the births of the name's every spelling fetched.
      for (const name of [plain, `Mme ${plain}`]) {
        const res = await request(app).post('/v1/score').set(auth).send({ base: { ...base, customers: [{ ...c, first_name: name }] } });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.results[0].features.age_from_name, name).toBe(1);
        expect(res.body.results[0].features.age, name).toBeCloseTo(expected.age as number, 4);
      }
    });

    it('refuses rows the batch would reject, naming each one, and reports repaired rows', async () => {
      const base = baseOf([customers[0].customer_id]);
      const orphan = { ...base.transactions[0], customer_id: 'nobody' };
      const badDate = { ...base.transactions[0], ts: 'yesterday' };
      const res = await request(app).post('/v1/score').set(auth).send({ base: { ...base, transactions: [...base.transactions, orphan, badDate] } });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      const paths = res.body.errors.map((e: { path: string }) => e.path);
      expect(paths).toEqual([`body.base.transactions.${base.transactions.length}`, `body.base.transactions.${base.transactions.length + 1}`]);
      expect(res.body.detail).toMatch(/rejected: /);

      const odd = { ...base.transactions[0], channel: 'carrier pigeon' };
      const kept = await request(app).post('/v1/score').set(auth).send({ base: { ...base, transactions: [...base.transactions, odd] } });
      expect(kept.status).toBe(200);
      expect(kept.body.warnings).toEqual([{ path: `body.base.transactions.${base.transactions.length}`, reason: expect.stringMatching(/channel.*kept/) }]);

      // A value the version's column file maps is read as the batch read it: no warning, the same features.
      const buyer = baseOf([transactions[transactions.length - 1].customer_id]);
      const store = buyer.transactions.map((t) => ({ ...t, channel: 'store' }));
      const magasin = buyer.transactions.map((t) => ({ ...t, channel: ' MAGASIN' }));
      const [asStore, asMagasin] = await Promise.all([store, magasin].map((rows) => request(app).post('/v1/score').set(auth).send({ base: { ...buyer, transactions: rows } })));
      expect(asMagasin.status, JSON.stringify(asMagasin.body)).toBe(200);
      expect(asMagasin.body.warnings).toEqual([]);
      expect(asMagasin.body.results[0].features.share_store).toBe(1);
      expect(asMagasin.body.results).toEqual(asStore.body.results);
      // Purchases sent as order lines (each split in two lines of one ticket): the same purchases.
      const lines = buyer.transactions.flatMap((t, k) => {
        const amount = Number(t.amount);
        return amount > 0 ? [{ ...t, amount: Math.round(amount * 30) / 100, order_id: `T${k}` }, { ...t, amount: Math.round(amount * 100 - Math.round(amount * 30)) / 100, order_id: `T${k}` }] : [{ ...t, order_id: `T${k}` }];
      });
      expect(lines.length).toBeGreaterThan(buyer.transactions.length);
      const asLines = await request(app).post('/v1/score').set(auth).send({ base: { ...buyer, transactions: lines } });
      expect(asLines.status, JSON.stringify(asLines.body)).toBe(200);
      const plain = (await request(app).post('/v1/score').set(auth).send({ base: buyer })).body.results[0];
      expect(asLines.body.results[0].features.frequency_12m).toBe(plain.features.frequency_12m);
      for (const [name, value] of Object.entries(plain.features as Record<string, unknown>)) {
        if (typeof value === 'number') expect(asLines.body.results[0].features[name], name).toBeCloseTo(value, 3);
        else expect(asLines.body.results[0].features[name], name).toEqual(value);
      }
      expect(asLines.body.results[0].persona).toBe(plain.persona);

      const noId = await request(app).post('/v1/score').set(auth).send({ base: { customers: [{ first_name: 'Anne' }] } });
      expect(noId.status).toBe(400);
      expect(noId.body.detail).toMatch(/customer_id/);
      const both = await request(app).post('/v1/score').set(auth).send({ customers: [{ features: {} }], base });
      expect(both.status).toBe(400);
      expect(both.body.detail).toMatch(/either `customers` \(feature records\) or `base`/);
      const tooMany = await request(app).post('/v1/score').set(auth).send({ base: { customers: Array.from({ length: 101 }, (_, i) => ({ customer_id: `n${i}` })) } });
      expect(tooMany.status).toBe(400);
    });

    it('scores a customer with no purchase and no contact, with missing values where the batch has them', async () => {
      const res = await request(app).post('/v1/score').set(auth).send({ base: { customers: [{ customer_id: 'new-1', first_name: 'Camille', sex: 'F', postcode: '75011', signup_date: '2026-06-01' }] } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const f = res.body.results[0].features;
      expect(f.frequency_12m).toBe(0);
      expect(f.avg_basket_12m).toBeNull();
      expect(f.age_from_name).toBe(1);
      expect(Object.values(res.body.results[0].scores).every((s) => typeof s === 'number' && s >= 0 && s <= 1)).toBe(true);
    });

    it('answers concurrent requests alike (builds queue two at a time)', async () => {
      const body = { base: baseOf([customers[3].customer_id]) };
      const answers = await Promise.all(Array.from({ length: 5 }, () => request(app).post('/v1/score').set(auth).send(body)));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(answers.map((r) => JSON.stringify(r.body.results))).size).toBe(1);
    });

    it('says which reference files a version lacks instead of guessing the geo or age features', async () => {
      // Run b published from its bare directory: no features/features.json, so no reference files.
      const b = await publishRun(db, runSource(runs.b));
      expect(b.references).toEqual({});
      await activateVersion(db, b.version);
      const res = await request(app).post('/v1/score').set(auth).send({ base: baseOf([customers[0].customer_id]) });
      expect(res.status).toBe(409);
      expect(res.body.detail).toMatch(/published without its tiles, first_names, postcodes reference file/);
      await activateVersion(db, version);
    });
  });
}
