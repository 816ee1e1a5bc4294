// The store on both databases: migrations, publishing a run, activation and rollback, label
// lookups and pages, API keys; every bad artefact refused with the file and line, nothing half
// published.
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  activateVersion, activeVersion, createKey, deleteVersion, exportLabels, labelPage, listKeys, listVersions, loadVersionModels,
  lookupLabels, migrate, modelChanges, openStore, pageEnd, pruneVersions, publishRun, readMigrations, revokeKey, rollback, runSource, splitCsvLine, verifyToken, type Db,
} from '../../src/store/index.ts';
import { loadSavedProjection } from '../../src/models/personas/index.ts';
import { evaluateVersion } from '../../src/cli/evaluate.ts';
import { describeModelChanges } from '../../src/cli/store.ts';
import { recordEvaluation } from '../../src/store/registry.ts';
import { STORE_VARIANTS } from '../helpers/stores.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');

function readAssignments(run: string) {
  const [header, ...lines] = readFileSync(join(run, 'assignments.csv'), 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, k) => [cols[k], v])));
}

function brokenRun(edit: (csv: string) => string): string {
  const dir = tempDir();
  cpSync(runs.a, dir, { recursive: true });
  const path = join(dir, 'assignments.csv');
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
  return dir;
}

/** `db`, whose label pages fail after the first `pages` (the store going away: a fault not caused for real). */
function failingAfterPages<T extends { query: (text: string, params?: unknown[]) => Promise<unknown> }>(db: T, pages: number): T {
  let seen = 0;
  return new Proxy(db, {
    get(target, key) {
      if (key !== 'query') return Reflect.get(target, key) as unknown;
      return async (text: string, params?: unknown[]) => {
        if (/FROM assignments a WHERE/.test(text) && ++seen > pages) throw new Error('connection terminated unexpectedly');
        return target.query(text, params);
      };
    },
  });
}

describe('CSV line splitting', () => {
  it('reads quoted fields with commas and doubled quotes, and refuses malformed quoting', () => {
    expect(splitCsvLine('a,"b,c","d""e",')).toEqual(['a', 'b,c', 'd"e', '']);
    expect(splitCsvLine('"open')).toBeNull();
    expect(splitCsvLine('a"b,c')).toBeNull();
    expect(splitCsvLine('"a"b,c')).toBeNull();
  });
});

describe('migration 004 (scores on the assignment row)', () => {
  it('moves every published score of the long table onto its assignment row, in the order of the version personas', async () => {
    const db = await openStore({ databaseUrl: null, dataDir: 'memory', migrate: 'none' });
    try {
      const all = readMigrations();
      await migrate(db, all.filter((m) => m.version < 4));
      await db.exec(`INSERT INTO model_versions (version, status, persona_file_sha, manifest, design, metrics, quantification, personas, customers, created_at)
        VALUES ('v1', 'ready', 'sha', '{}', '{}', '{}', '{}', ARRAY['b', 'a', 'c'], 2, now())`);
      await db.exec(`INSERT INTO assignments VALUES ('v1', 'x', 'a', 0.5, 0.1), ('v1', 'y', NULL, 0.2, 0.0)`);
      await db.exec(`INSERT INTO scores VALUES ('v1', 'x', 'a', 0.5), ('v1', 'x', 'c', 0.25), ('v1', 'x', 'b', 0.125),
        ('v1', 'y', 'c', 0.75), ('v1', 'y', 'b', 0.0625), ('v1', 'y', 'a', 0.2)`);
      expect((await migrate(db, all)).applied.map((m) => m.version)).toEqual(all.filter((m) => m.version >= 4).map((m) => m.version));
      const rows = await db.query<{ customer_id: string; scores: number[] }>(`SELECT customer_id, scores FROM assignments ORDER BY customer_id`);
      expect(rows).toEqual([{ customer_id: 'x', scores: [0.125, 0.5, 0.25] }, { customer_id: 'y', scores: [0.0625, 0.2, 0.75] }]);
      await db.exec(`UPDATE active_version SET version = 'v1'`);
      const { labels } = await lookupLabels(db, ['x', 'y'], null);
      expect(labels.get('y')).toEqual({ customerId: 'y', persona: null, confidence: expect.closeTo(0.2, 6), margin: 0, scores: { b: 0.0625, a: expect.closeTo(0.2, 6), c: 0.75 } });
      await expect(db.query('SELECT 1 FROM scores')).rejects.toThrow(/scores/);
    } finally {
      await db.close();
    }
  });
});

for (const variant of STORE_VARIANTS) {
  describe.skipIf(!!variant.skip)(`store on ${variant.name}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await variant.open();
    });
    afterAll(async () => {
      if (db) await variant.dispose(db);
    });

    it('applies the migrations once and refuses an applied migration that was edited', async () => {
      const again = await migrate(db);
      expect(again.applied).toEqual([]);
      expect(again.current).toBe(readMigrations().at(-1)!.version);
      const edited = readMigrations().map((m, k) => (k === 0 ? { ...m, checksum: 'x'.repeat(64) } : m));
      await expect(migrate(db, edited)).rejects.toThrow(/001_registry\.sql was changed after it was applied/);
    });

    it('says clearly that no version is active before the first activation', async () => {
      await expect(lookupLabels(db, ['x'], null)).rejects.toThrow(/no model version is active yet/);
    });

    it('refuses a damaged assignment file with its line and publishes nothing of it', async () => {
      const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM assignments');
      const cases: [(csv: string) => string, RegExp][] = [
        [(csv) => csv.replace('customer_id,', 'client,'), /line 1: header is 'client,/],
        [(csv) => csv.replace(/\n([^,\n]+),[^,\n]*,/, '\n$1,no_such_persona,'), /line 2: persona 'no_such_persona' is not a trained persona/],
        [(csv) => csv.replace(/\n([^,\n]+,[^,\n]*),[^,\n]+,/, '\n$1,1.5,'), /line 2: confidence '1.5' is not a number between 0 and 1/],
        [(csv) => csv + csv.split('\n')[1] + '\n', /a customer_id appears twice/],
        [(csv) => csv.split('\n').slice(0, 5).join('\n') + '\n', /has 4 customers, quantification.json counts 1500/],
        [(csv) => csv.replace(/\n([^\n]*)\n/, '\n$1,extra\n'), /line 2: expected \d+ fields, got \d+/],
      ];
      for (const [edit, message] of cases) {
        await expect(publishRun(db, runSource(brokenRun(edit)))).rejects.toThrow(message);
      }
      expect(await db.query<{ n: number }>('SELECT count(*)::int AS n FROM assignments')).toEqual(before);
      const missing = tempDir();
      mkdirSync(join(missing, 'model'));
      copyFileSync(join(runs.a, 'assignments.csv'), join(missing, 'assignments.csv'));
      await expect(publishRun(db, runSource(missing))).rejects.toThrow(/manifest\.json: model manifest not found/);
    });

    it('publishes a run as a ready version with every label, in SQL counts', async () => {
      const r = await publishRun(db, runSource(runs.a));
      const manifest = loadSavedProjection(runs.a).manifest;
      expect(r.version).toBe(manifest.modelVersion);
      const trained = manifest.personas.filter((p) => p.status === 'trained').length;
      const [counts] = await db.query<{ a: number; s: number; m: number }>(
        `SELECT (SELECT count(*) FROM assignments WHERE version = $1)::int AS a,
                (SELECT sum(cardinality(scores)) FROM assignments WHERE version = $1)::int AS s,
                (SELECT count(*) FROM persona_models WHERE version = $1)::int AS m`,
        [r.version],
      );
      expect(counts).toEqual({ a: 1500, s: 1500 * trained, m: trained });
      expect(await activeVersion(db)).toBeNull();
      expect((await listVersions(db))[0]).toMatchObject({ version: r.version, status: 'ready', customers: 1500 });
      await expect(publishRun(db, runSource(runs.a))).rejects.toThrow(/already published/);
    });

    it('serves the labels of the active version exactly as the assignment file has them', async () => {
      const version = loadSavedProjection(runs.a).manifest.modelVersion;
      await activateVersion(db, version);
      const rows = readAssignments(runs.a);
      const ids = [rows[0].customer_id, rows[7].customer_id, 'nobody', rows[1499].customer_id];
      const { version: v, labels } = await lookupLabels(db, ids, null);
      expect(v).toBe(version);
      expect(labels.has('nobody')).toBe(false);
      for (const row of [rows[0], rows[7], rows[1499]]) {
        const l = labels.get(row.customer_id)!;
        expect(l.persona ?? '').toBe(row.persona);
        expect(l.confidence).toBeCloseTo(Number(row.confidence), 5);
        for (const [k, val] of Object.entries(row)) if (k.startsWith('score_') && val !== '') expect(l.scores[k.slice(6)]).toBeCloseTo(Number(val), 5);
      }
    });

    it('pages through every label once, in order, with the next cursor known in advance', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let guard = 0; guard < 20; guard++) {
        const end = await pageEnd(db, (await activeVersion(db))!, cursor, 400);
        const page = await labelPage(db, null, cursor, 10_000, end.last);
        expect(page.rows.at(-1)?.customerId).toBe(end.last);
        seen.push(...page.rows.map((r) => r.customerId));
        if (!end.more) break;
        cursor = end.last;
      }
      expect(seen).toHaveLength(1500);
      expect(new Set(seen).size).toBe(1500);
      expect([...seen].sort()).toEqual(readAssignments(runs.a).map((r) => r.customer_id).sort());
    });

    it('keeps the active version while another is published, then activates, rolls back and protects the active one', async () => {
      const a = loadSavedProjection(runs.a).manifest.modelVersion;
      const b = (await publishRun(db, runSource(runs.b))).version;
      expect(await activeVersion(db)).toBe(a);
      expect(await activateVersion(db, b)).toEqual({ version: b, previous: a });
      expect((await listVersions(db)).map((v) => [v.version, v.status])).toEqual([[b, 'active'], [a, 'retired']]);
      expect(await rollback(db)).toEqual({ version: a, previous: b });
      await expect(deleteVersion(db, a)).rejects.toThrow(/is active/);
      await expect(activateVersion(db, 'nope')).rejects.toThrow(/'nope' is not published/);
      const models = await loadVersionModels(db, b);
      const fromFiles = loadSavedProjection(runs.b);
      expect(models.personas.map((p) => [p.id, p.c, p.threshold])).toEqual(fromFiles.personas.map((p) => [p.id, p.c, p.threshold]));
    });

    it("says what differs in two versions' models: the settings, each persona's figures, the persona file entries edited", async () => {
      const a = loadSavedProjection(runs.a);
      const b = loadSavedProjection(runs.b);
      // Runs a and b differ by their seed alone.
      const seedOnly = await modelChanges(db, a.manifest.modelVersion, b.manifest.modelVersion);
      expect(seedOnly.settings).toEqual([{ setting: 'seed', from: '1', to: '2' }]);
      const metricsB = JSON.parse(readFileSync(join(runs.b, 'metrics.json'), 'utf8')) as { personas: { persona: string; seeds: number; validationAuc: number; estimatedC: number; threshold: number; coverage: number }[] };
      expect(seedOnly.personas.map((p) => p.persona)).toEqual(metricsB.personas.map((p) => p.persona));
      for (const p of metricsB.personas) {
        expect(seedOnly.personas.find((x) => x.persona === p.persona)?.to).toMatchObject({ seeds: p.seeds, validationAuc: p.validationAuc, estimatedC: p.estimatedC, threshold: p.threshold, coverage: p.coverage });
      }
      expect(seedOnly.personas.every((p) => p.definition.length === 0 && p.from !== null)).toBe(true);
      expect((await modelChanges(db, a.manifest.modelVersion, a.manifest.modelVersion)).settings).toEqual([]);
      // Run b again, its persona file's first persona relabelled and its minimum of seeds raised, with more trees.
      const dir = tempDir();
      cpSync(runs.b, dir, { recursive: true });
      const version = `${b.manifest.modelVersion.slice(0, -8)}0edited0`;
      for (const file of ['model/manifest.json', 'metrics.json', 'quantification.json', 'assignments.csv']) {
        writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replaceAll(b.manifest.modelVersion, version));
      }
      const manifest = JSON.parse(readFileSync(join(dir, 'model/manifest.json'), 'utf8')) as typeof b.manifest;
      const first = b.personas[0].id;
      const content = manifest.personaFile.content.replace(`- id: ${first}\n    label: "`, `- id: ${first}\n    label: "Edited `).replace(/\n {4}min_seeds: \d+\n/, '\n    min_seeds: 7\n');
      expect(content).not.toBe(manifest.personaFile.content);
      manifest.personaFile = { ...manifest.personaFile, content, sha256: createHash('sha256').update(content).digest('hex') };
      manifest.learner.params = { ...manifest.learner.params, numTrees: 20 };
      writeFileSync(join(dir, 'model/manifest.json'), JSON.stringify(manifest));
      await publishRun(db, runSource(dir));
      const edited = await modelChanges(db, b.manifest.modelVersion, version);
      expect(edited.settings.map((x) => x.setting)).toEqual(['persona file', 'learner']);
      expect(edited.settings[0].to).toContain(`(sha256 ${manifest.personaFile.sha256.slice(0, 12)})`);
      expect(edited.settings[1].to).toContain('"numTrees":20');
      expect(edited.personas.filter((p) => p.definition.length).map((p) => [p.persona, p.definition])).toEqual([[first, ['label', 'min_seeds']]]);
      const lines = describeModelChanges(edited);
      expect(lines[0]).toBe(`models of ${version} against those of ${b.manifest.modelVersion}:`);
      expect(lines.filter((l) => /^ {2}persona +seeds +validation AUC +c +threshold +expected precision +assigned +estimated share$/.test(l))).toHaveLength(1);
      expect(lines.at(-1)).toBe(`persona file entries changed: ${first} (label, min_seeds)`);
      // The same figures on both sides: each said once.
      const row = lines.find((l) => l.startsWith(`  ${first} `))!;
      expect(row).not.toContain('->');
      // The edited version checked against customers drawn at random: each persona's corrected share beside its estimate.
      const truth = readFileSync(join(runs.data, 'truth.csv'), 'utf8').trim().split('\n');
      const survey = join(tempDir(), 'survey.csv');
      writeFileSync(survey, [truth[0], ...truth.slice(1).filter((_, i) => i % 4 === 0)].join('\n') + '\n');
      const evaluation = await evaluateVersion(db, version, survey, { empty: 'none', randomSample: true });
      await recordEvaluation(db, evaluation);
      const checked = await modelChanges(db, b.manifest.modelVersion, version);
      const z = evaluation.sizes[0];
      expect(checked.personas.find((p) => p.persona === z.persona)).toMatchObject({ from: { correctedShare: null }, to: { correctedShare: z.corrected } });
      const checkedLines = describeModelChanges(checked);
      expect(checkedLines.filter((l) => /^ {2}persona +seeds +validation AUC +c +threshold +expected precision +assigned +estimated share +corrected share$/.test(l))).toHaveLength(1);
      expect(checkedLines.find((l) => l.startsWith(`  ${z.persona} `))).toMatch(new RegExp(`- -> ${(100 * z.corrected).toFixed(1)} %$`));
      await expect(modelChanges(db, '19990101T000000Z-deadbeef', version)).rejects.toThrow(/is not published/);
      await deleteVersion(db, version);
    });

    it('writes a version\'s labels as the assignment file, all or those changed since another, and keeps the old file when the store fails midway', async () => {
      const a = loadSavedProjection(runs.a).manifest.modelVersion;
      const b = loadSavedProjection(runs.b).manifest.modelVersion;
      const dir = tempDir();
      const file = join(dir, 'labels.csv');
      const all = await exportLabels(db, b, file, { pageRows: 128 });
      expect(all).toEqual({ version: b, since: null, rows: 1500 });
      const source = readAssignments(runs.b);
      const written = readFileSync(file, 'utf8').trim().split('\n');
      expect(written[0]).toBe(readFileSync(join(runs.b, 'assignments.csv'), 'utf8').split('\n')[0]);
      const byId = new Map(written.slice(1).map((l) => [l.split(',')[0], l.split(',')]));
      expect([...byId.keys()]).toEqual(source.map((r) => r.customer_id).sort());
      for (const r of source) {
        const f = byId.get(r.customer_id)!;
        expect(f[1]).toBe(r.persona);
        expect(Number(f[2])).toBeCloseTo(Number(r.confidence), 5);
        expect(f[4]).toBe(b);
      }
      const before = readAssignments(runs.a);
      const changed = source.filter((r, i) => r.customer_id === before[i].customer_id && r.persona !== before[i].persona).map((r) => r.customer_id).sort();
      expect(before.map((r) => r.customer_id)).toEqual(source.map((r) => r.customer_id));
      const delta = await exportLabels(db, b, join(dir, 'delta.csv'), { since: a, pageRows: 50 });
      expect(delta).toEqual({ version: b, since: a, rows: changed.length });
      expect(readFileSync(join(dir, 'delta.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0])).toEqual(changed);
      // The store goes away after the third page (a fault not caused for real here): the file
      // written before stays as it was, and no partial file is left beside it.
      const failing = failingAfterPages(db, 3);
      await expect(exportLabels(failing, a, file, { pageRows: 100 })).rejects.toThrow(/connection terminated/);
      expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual(written);
      expect(readdirSync(dir).sort()).toEqual(['delta.csv', 'labels.csv']);
      await expect(exportLabels(db, b, dir)).rejects.toThrow(/is a directory; give the CSV file to write \(--out\)/);
    });

    it("writes a version's report tables and labels as an Excel workbook, all or those changed since another", async () => {
      const a = loadSavedProjection(runs.a).manifest.modelVersion;
      const b = loadSavedProjection(runs.b).manifest.modelVersion;
      const dir = tempDir();
      const file = join(dir, 'labels.xlsx');
      expect(await exportLabels(db, b, file, { pageRows: 128, lang: 'fr' })).toEqual({ version: b, since: null, rows: 1500 });
      const book = new ExcelJS.Workbook();
      await book.xlsx.readFile(file);
      expect(book.worksheets.map((w) => w.name)).toEqual(['Quantification', 'Segments', 'Qualité des modèles', 'Affectations']);
      const labels = new Map(loadSavedProjection(runs.b).personas.map((p) => [p.id, p.label]));
      const byId = new Map<string, ExcelJS.CellValue[]>();
      book.getWorksheet('Affectations')!.eachRow((row, n) => n > 1 && byId.set(String(row.getCell(1).value), (row.values as ExcelJS.CellValue[]).slice(1)));
      const source = readAssignments(runs.b);
      expect(byId.size).toBe(1500);
      for (const r of source) {
        const cells = byId.get(r.customer_id)!;
        expect([cells[1], cells[2] ?? '']).toEqual([r.persona ? labels.get(r.persona) : 'Non affectés', r.persona]);
        expect(cells[3]).toBeCloseTo(Number(r.confidence), 5);
      }
      const before = readAssignments(runs.a);
      const changed = source.filter((r, i) => r.persona !== before[i].persona).length;
      expect(await exportLabels(db, b, join(dir, 'delta.xlsx'), { since: a, pageRows: 50 })).toEqual({ version: b, since: a, rows: changed });
      // The store goes away midway: the workbook written before stays, no partial file beside it.
      const written = readFileSync(file);
      const failing = failingAfterPages(db, 3);
      await expect(exportLabels(failing, a, file, { pageRows: 100 })).rejects.toThrow(/connection terminated/);
      expect(readFileSync(file).equals(written)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['delta.xlsx', 'labels.xlsx']);
    });

    it('prunes the versions past the newest N, never the active one nor the one a rollback goes back to, then the reference files no version uses', async () => {
      // Two more versions: run b again under new ids, the last one activated.
      const b = loadSavedProjection(runs.b).manifest.modelVersion;
      const copyAs = async (version: string) => {
        const dir = tempDir();
        cpSync(runs.b, dir, { recursive: true });
        for (const file of ['model/manifest.json', 'metrics.json', 'quantification.json', 'assignments.csv']) writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replaceAll(b, version));
        await publishRun(db, runSource(dir));
        return version;
      };
      const c = await copyAs('20990101T000000Z-0000000c');
      const d = await copyAs('20990102T000000Z-0000000d');
      const before = await activeVersion(db);
      await activateVersion(db, d);
      const all = (await listVersions(db)).map((v) => v.version);
      expect(all.slice(0, 2)).toEqual([d, c]);
      // A reference file no version uses, loaded two hours ago, and one loaded just now (a publish under way).
      const sha = (k: string) => k.repeat(64);
      await db.query(`INSERT INTO reference_files (sha, kind, source, rows, content, loaded_at) VALUES ($1, 'postcodes', 'old.csv', 3, $2, now() - interval '2 hours'), ($3, 'postcodes', 'new.csv', 5, $2, now())`, [sha('a'), Buffer.from('x'), sha('b')]);
      const used = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_files'))[0].n - 2;
      const dry = await pruneVersions(db, { keep: 1, dryRun: true });
      const doomed = all.filter((v) => v !== d && v !== before);
      expect(dry.deleted.map((v) => v.version)).toEqual(doomed);
      expect([...dry.kept].sort()).toEqual([d, before!].sort());
      expect(dry.references).toEqual({ files: 1, rows: 3 });
      expect((await listVersions(db)).length).toBe(all.length);
      const done = await pruneVersions(db, { keep: 1 });
      expect(done).toEqual(dry);
      expect((await listVersions(db)).map((v) => v.version).sort()).toEqual([d, before!].sort());
      const [labels] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM assignments WHERE NOT (version = ANY($1::text[]))', [[d, before]]);
      expect(labels.n).toBe(0);
      expect((await db.query<{ sha: string }>('SELECT sha FROM reference_files WHERE sha = ANY($1::text[])', [[sha('a'), sha('b')]])).map((r) => r.sha)).toEqual([sha('b')]);
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_files'))[0].n).toBe(used + 1);
      // The rollback target stays one: back to the version active before.
      expect((await rollback(db)).version).toBe(before);
      await expect(pruneVersions(db, { keep: 0 })).rejects.toThrow(/--keep must be a whole number of versions, at least 1/);
    });

    it('keeps only a hash of API keys, and verifies, lists and revokes them', async () => {
      const { key, token } = await createKey(db, { name: 'crm', scopes: ['read'], rateLimit: 50 });
      expect(token).toMatch(/^psk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const [stored] = await db.query<{ secret_hash: string }>('SELECT secret_hash FROM api_keys WHERE id = $1', [key.id]);
      expect(stored.secret_hash).not.toContain(token.slice(21));
      expect(stored.secret_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(await verifyToken(db, token)).toMatchObject({ id: key.id, scopes: ['read'], rateLimit: 50 });
      expect(await verifyToken(db, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeNull();
      expect(await verifyToken(db, "psk_' OR 1=1 --")).toBeNull();
      await expect(createKey(db, { name: 'x', scopes: ['root'] })).rejects.toThrow(/scopes must be one or more of read, score, admin; got 'root'/);
      await revokeKey(db, key.id);
      expect(await verifyToken(db, token)).toBeNull();
      await expect(revokeKey(db, key.id)).rejects.toThrow(/already revoked/);
      await expect(revokeKey(db, 'ffff')).rejects.toThrow(/no key with id 'ffff'/);
      expect((await listKeys(db)).find((k) => k.id === key.id)?.revokedAt).not.toBeNull();
    });
  });
}
