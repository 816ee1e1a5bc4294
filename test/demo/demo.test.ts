// The demo base: deterministic, in the contract's formats, internally consistent, usable.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SURVEY_SHARE, writeDemoBase } from '../../src/demo/index.ts';
import { knownPersonas } from '../../src/models/personas/evaluate.ts';
import { parseCellId } from '../../src/features/geo.ts';
import { buildFeatures } from '../../src/features/index.ts';
import { tempDir } from '../helpers/world.ts';

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
const csv = (dir: string, file: string) => read(dir, file).trim().split('\n').map((l) => l.split(','));

describe('personas demo base', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tempDir(), 'data');
    await writeDemoBase(dir, { customers: 600, seed: 4 });
  });

  it('is deterministic for a seed and differs for another', async () => {
    const again = join(tempDir(), 'data');
    await writeDemoBase(again, { customers: 600, seed: 4 });
    const other = join(tempDir(), 'data');
    await writeDemoBase(other, { customers: 600, seed: 5 });
    for (const f of ['customers.csv', 'transactions.csv', 'interactions.csv', 'tiles.csv', 'first_names.csv', 'truth.csv', 'survey.csv']) {
      expect(read(again, f), f).toBe(read(dir, f));
    }
    expect(read(other, 'transactions.csv')).not.toBe(read(dir, 'transactions.csv'));
  });

  it('writes a survey: customers drawn at random with the portrait they picked, as the truth has it, read as known customers are', () => {
    const truth = new Map(csv(dir, 'truth.csv').slice(1).map(([id, persona]) => [id, persona || null]));
    const spec = parseYaml(read(dir, 'personas.yaml')) as { personas: { id: string; label: string }[] };
    const rows = read(dir, 'survey.csv').trim().split('\n');
    expect(rows[0]).toBe('customer_id,persona');
    const { known } = knownPersonas(
      rows.slice(1).map((l, k) => {
        const [id, ...rest] = l.split(',');
        return { customerId: id, value: rest.join(',').replace(/^"|"$/g, ''), line: k + 2 };
      }),
      spec.personas,
      'survey.csv',
    );
    // About a tenth of the 600 customers (SURVEY_SHARE), each with the persona the truth gives them, by its label.
    expect(known.size).toBeGreaterThan(600 * SURVEY_SHARE * 0.5);
    expect(known.size).toBeLessThan(600 * SURVEY_SHARE * 1.6);
    for (const [id, persona] of known) expect(persona, id).toBe(truth.get(id));
    expect(rows.some((l) => /^D\d+,"[^"]+, [^"]+"$/.test(l))).toBe(true);
    expect(rows.some((l) => /^D\d+,none$/.test(l))).toBe(true);
  });

  it("writes the contract's columns in every file", () => {
    expect(csv(dir, 'customers.csv')[0]).toEqual(['customer_id', 'first_name', 'sex', 'birth_year', 'postcode', 'lat', 'lon', 'signup_date', 'segment', 'optin_email']);
    expect(csv(dir, 'transactions.csv')[0]).toEqual(['customer_id', 'ts', 'amount', 'channel', 'category', 'promo']);
    expect(csv(dir, 'interactions.csv')[0]).toEqual(['customer_id', 'ts', 'type']);
    expect(read(dir, 'first_names.csv').split('\r\n')[0]).toBe('sexe;preusuel;annais;nombre');
    expect(read(dir, 'first_names.csv')).toContain('_PRENOMS_RARES');
    expect(read(dir, 'first_names.csv')).toMatch(/;XXXX;/);
    expect(csv(dir, 'customers.csv').length - 1).toBe(600);
  });

  it('writes INSEE cells whose values are consistent with each other', () => {
    const rows = csv(dir, 'tiles.csv');
    const h = rows[0];
    const col = (r: string[], name: string) => Number(r[h.indexOf(name)]);
    expect(h).toHaveLength(29);
    for (const r of rows.slice(1)) {
      expect(parseCellId(r[0])).toBeDefined();
      const ind = col(r, 'ind');
      const men = col(r, 'men');
      const ages = ['ind_0_3', 'ind_4_5', 'ind_6_10', 'ind_11_17', 'ind_18_24', 'ind_25_39', 'ind_40_54', 'ind_55_64', 'ind_65_79', 'ind_80p'];
      expect(ages.reduce((s, a) => s + col(r, a), 0)).toBe(ind);
      expect(col(r, 'men_coll') + col(r, 'men_mais')).toBe(men);
      expect(['log_av45', 'log_45_70', 'log_70_90', 'log_ap90', 'log_inc'].reduce((s, a) => s + col(r, a), 0)).toBe(men);
      for (const share of ['men_pauv', 'men_1ind', 'men_5ind', 'men_prop', 'men_fmp', 'log_soc']) expect(col(r, share)).toBeLessThanOrEqual(men);
      expect(col(r, 'men_1ind') + col(r, 'men_5ind')).toBeLessThanOrEqual(men);
    }
  });

  it('places most customers in a cell of the tiles file, and their first names carry their age', async () => {
    const out = tempDir();
    const { table, rejects } = await buildFeatures({ dataDir: dir, outDir: out });
    expect(rejects).toEqual([]);
    const found = table.numeric[table.numericNames.indexOf('tile_found')];
    expect(found.reduce((s, v) => s + v, 0) / table.rows).toBeGreaterThan(0.8);
    // Name-based ages against the true ages of customers whose birth year is given.
    const customers = csv(dir, 'customers.csv').slice(1);
    const byName = new Map<string, number[]>();
    for (const c of customers) if (c[1] && c[3]) byName.set(c[1], [...(byName.get(c[1]) ?? []), Number(c[3])]);
    const mean = (xs: number[] = []) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(byName.get('Monique'))).toBeLessThan(mean(byName.get('Julie')));
  });

  it('ships a persona file with the contract keys', () => {
    const spec = parseYaml(read(dir, 'personas.yaml')) as { as_of: string; personas: { id: string; key_drivers: unknown; min_seeds: number }[] };
    expect(spec.as_of).toBe('2026-06-30');
    expect(spec.personas.map((p) => p.id)).toEqual(['urban_digital', 'suburban_family', 'affluent_senior', 'bargain_hunter', 'rural_traditional']);
    for (const p of spec.personas) expect(p.key_drivers).toBeTruthy();
    expect(read(dir, 'personas.yaml')).toBe(readFileSync('data/demo-personas.yaml', 'utf8'));
  });
});

describe('personas demo command', () => {
  it('writes the base and refuses to replace a directory that is not a demo output', () => {
    const root = tempDir();
    const cli = ['--import', 'tsx', 'src/cli.ts', 'demo', '--out', root, '--customers', '200'];
    execFileSync(process.execPath, cli, { stdio: 'pipe' });
    expect(existsSync(join(root, 'data', 'customers.csv'))).toBe(true);
    execFileSync(process.execPath, cli, { stdio: 'pipe' });

    const mine = tempDir();
    mkdirSync(join(mine, 'data'));
    writeFileSync(join(mine, 'data', 'precious.csv'), 'keep me');
    let stderr = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo', '--out', mine, '--customers', '200'], { stdio: 'pipe' });
    } catch (err) {
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(stderr).toMatch(/exists and is not a demo output/);
    let seedError = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo', '--out', tempDir(), '--seed', 'abc'], { stdio: 'pipe' });
    } catch (err) {
      seedError = String((err as { stderr: Buffer }).stderr);
    }
    expect(seedError).toMatch(/--seed must be a whole number \(got "abc"\)/);
    expect(readFileSync(join(mine, 'data', 'precious.csv'), 'utf8')).toBe('keep me');
  });
});
