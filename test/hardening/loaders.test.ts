// Property tests of the loaders: random corruption of a valid base never crashes the feature
// pipeline; every customer line (CSV) or record (Parquet) is either a row of the feature table or
// a dropped reject with its reason and line, never lost; a damaged Parquet file (truncated,
// overwritten bytes) is a clear error naming it; and random persona files give a valid parse or a
// clear PersonaFileError, never another exception.
import { copyFileSync, readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBase } from '../../src/demo/index.ts';
import { PersonasError, PersonaFileError } from '../../src/errors.ts';
import { buildFeatures } from '../../src/features/index.ts';
import { openDuck } from '../../src/features/duck.ts';
import { evaluateRule, parsePersonaFile } from '../../src/models/personas/index.ts';
import { tempDir } from '../helpers/world.ts';

const customerRecords = (base: string) => readFileSync(join(base, 'customers.csv'), 'utf8').trimEnd().split('\n').length - 1;

const corruption = fc.constantFrom(
  (l: string) => l.replace(/,[^,]*$/, ''), // a field short
  (l: string) => `${l},extra`, // a field too many
  (l: string) => l.replace(',', ',"'), // a stray quote
  (l: string) => l.replace(/\d{4}-\d{2}-\d{2}/, '2026-13-45'), // an impossible date
  (l: string) => l.replace(/^[^,]*/, ''), // no customer id
  () => '', // a blank line
  (l: string) => l, // a duplicate (the line is inserted twice)
  (l: string) => l.replace(/,(F|M),/, ',X,'), // an unknown sex
  (l: string) => l.replace(/,(\d{4}),/, ',19x5,'), // a broken birth year
  (l: string) => l.replace(/[aeiou]/g, '\uFFFD'), // mangled text
);

// Corruptions that keep a line's fields (a Parquet file holds records, not lines).
const valueCorruption = fc.constantFrom(
  (l: string) => l.replace(/\d{4}-\d{2}-\d{2}/, '2026-13-45'), // an impossible date
  (l: string) => l.replace(/^[^,]*/, ''), // no customer id (a null in Parquet)
  (l: string) => l, // a duplicate
  (l: string) => l.replace(/,(F|M),/, ',X,'), // an unknown sex
  (l: string) => l.replace(/,(\d{4}),/, ',19x5,'), // a broken birth year
  (l: string) => l.replace(/[aeiou]/g, '\uFFFD'), // mangled text
  (l: string) => l.replace(/,[^,]*,/, ',,'), // a field emptied (null)
);

/** Writes `csvText` as `parquetPath` with every column as text, the way an export tool would. */
async function csvToParquet(csvText: string, parquetPath: string): Promise<void> {
  const csv = `${parquetPath}.csv`;
  writeFileSync(csv, csvText);
  const { db, conn } = await openDuck();
  try {
    await conn.run(`COPY (SELECT * FROM read_csv('${csv}', all_varchar = true, header = true)) TO '${parquetPath}' (FORMAT PARQUET)`);
  } finally {
    conn.closeSync();
    db.closeSync();
    rmSync(csv);
  }
}

/** A copy of the base with customers given as Parquet (the CSV removed). */
function parquetBase(base: string): string {
  const dir = tempDir();
  for (const f of readdirSync(base)) if (f !== 'customers.csv') copyFileSync(join(base, f), join(dir, f));
  return dir;
}

describe('loaders under random corruption', () => {
  let base: string;
  beforeAll(async () => {
    base = join(tempDir(), 'base');
    await writeDemoBase(base, { customers: 300, seed: 9 });
  }, 60_000);

  it('keeps or rejects every customer line, with a reason, and never crashes', async () => {
    const lines = readFileSync(join(base, 'customers.csv'), 'utf8').trimEnd().split('\n');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 1, max: lines.length - 1 }), corruption), { minLength: 1, maxLength: 12 }), async (edits) => {
        const dir = tempDir();
        for (const f of readdirSync(base)) copyFileSync(join(base, f), join(dir, f));
        const out = [...lines];
        for (const [at, edit] of edits) out.splice(at, 0, edit(lines[at]));
        writeFileSync(join(dir, 'customers.csv'), out.join('\n') + '\n');
        const outDir = join(dir, 'out');
        mkdirSync(outDir);
        let build;
        try {
          build = await buildFeatures({ dataDir: dir, outDir });
        } catch (e) {
          // Only a product error that names the file may stop a run (e.g. every line broken).
          expect(e).toBeInstanceOf(PersonasError);
          expect((e as Error).message).toMatch(/customers/);
          return;
        }
        const dropped = build.rejects.filter((r) => r.file === 'customers' && r.action === 'dropped').reduce((a, r) => a + r.rows, 0);
        const dataLines = out.length - 1;
        expect(build.table.rows + dropped).toBe(dataLines);
        const rejectFile = join(outDir, 'rejects', 'customers.csv');
        if (dropped) {
          const rows = readFileSync(rejectFile, 'utf8').trim().split('\n').slice(1);
          expect(rows.length).toBeGreaterThanOrEqual(dropped);
          for (const r of rows) expect(r).toMatch(/^\d+,/);
        }
      }),
      // Always also the case a run found (session 23): two stray quotes leaving a quoted field open at the end of the file.
      { numRuns: 12, examples: [[[[296, (l: string) => l.replace(',', ',"')], [1, (l: string) => l.replace(',', ',"')]]]] },
    );
  }, 240_000);

  it('keeps or rejects every customer record of a Parquet file with corrupted values, with a reason', async () => {
    const lines = readFileSync(join(base, 'customers.csv'), 'utf8').trimEnd().split('\n');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 1, max: lines.length - 1 }), valueCorruption), { minLength: 1, maxLength: 12 }), async (edits) => {
        const dir = parquetBase(base);
        const out = [...lines];
        for (const [at, edit] of edits) out.splice(at, 0, edit(lines[at]));
        await csvToParquet(out.join('\n') + '\n', join(dir, 'customers.parquet'));
        const outDir = join(dir, 'out');
        mkdirSync(outDir);
        const build = await buildFeatures({ dataDir: dir, outDir });
        const dropped = build.rejects.filter((r) => r.file === 'customers' && r.action === 'dropped').reduce((a, r) => a + r.rows, 0);
        expect(build.table.rows + dropped).toBe(out.length - 1);
        // The corrupted values that make a record unusable are among the dropped ones.
        const broken = edits.filter(([at, edit]) => /^,/.test(edit(lines[at]))).length;
        expect(dropped).toBeGreaterThanOrEqual(broken);
        if (dropped) {
          const rows = readFileSync(join(outDir, 'rejects', 'customers.csv'), 'utf8').trim().split('\n').slice(1);
          expect(rows.length).toBeGreaterThanOrEqual(dropped);
          for (const r of rows) expect(r).toMatch(/^\d+,/);
        }
      }),
      { numRuns: 8 },
    );
  }, 240_000);

  it('refuses a damaged Parquet file with an error naming it, never a crash', async () => {
    const good = join(tempDir(), 'customers.parquet');
    await csvToParquet(readFileSync(join(base, 'customers.csv'), 'utf8'), good);
    const bytes = readFileSync(good);
    const damage = fc.oneof(
      fc.integer({ min: 0, max: bytes.length - 1 }).map((n) => ({ what: `truncated to ${n} bytes`, file: bytes.subarray(0, n) })),
      fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }).map((edits) => {
        const copy = Buffer.from(bytes);
        for (const [at, v] of edits) copy[at] = v;
        return { what: `${edits.length} bytes overwritten`, file: copy };
      }),
      fc.constant({ what: 'CSV text under a .parquet name', file: readFileSync(join(base, 'customers.csv')) }),
    );
    await fc.assert(
      fc.asyncProperty(damage, async ({ file }) => {
        const dir = parquetBase(base);
        writeFileSync(join(dir, 'customers.parquet'), file);
        try {
          const build = await buildFeatures({ dataDir: dir });
          // Damage DuckDB could not see (bytes of a value overwritten): records kept or rejected, none lost.
          const dropped = build.rejects.filter((r) => r.file === 'customers' && r.action === 'dropped').reduce((a, r) => a + r.rows, 0);
          expect(build.table.rows + dropped).toBe(customerRecords(base));
        } catch (e) {
          expect(e).toBeInstanceOf(PersonasError);
          expect((e as Error).message).toMatch(/customers\.parquet/);
        }
      }),
      { numRuns: 25 },
    );
  }, 240_000);

  it('parses random persona files into a valid spec or a PersonaFileError, never anything else', () => {
    const valid = readFileSync(join(base, 'personas.yaml'), 'utf8');
    const table = { rows: 3, ids: ['a', 'b', 'c'], numericNames: ['age', 'monetary_12m'], numeric: [Float32Array.of(30, NaN, 70), Float32Array.of(10, 200, NaN)], categoricalNames: ['segment'], categorical: [['x', null, 'y']] };
    const tryParse = (text: string) => {
      try {
        const spec = parsePersonaFile(text, 'fuzz.yaml');
        for (const [i, p] of spec.personas.entries()) {
          try {
            evaluateRule(p.key_drivers, table, `personas[${i}].key_drivers`);
          } catch (e) {
            expect(e).toBeInstanceOf(PersonasError);
          }
        }
      } catch (e) {
        expect(e).toBeInstanceOf(PersonaFileError);
        expect((e as Error).message).toMatch(/^fuzz\.yaml/);
      }
    };
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => tryParse(stringify(v))), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => tryParse(s)), { numRuns: 300 });
    const lines = valid.split('\n');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), fc.string({ maxLength: 12 })), { minLength: 1, maxLength: 5 }), (edits) => {
        const copy = [...lines];
        for (const [at, text] of edits) copy[at] = copy[at].slice(0, Math.floor(copy[at].length / 2)) + text;
        tryParse(copy.join('\n'));
      }),
      { numRuns: 300 },
    );
  });
});
