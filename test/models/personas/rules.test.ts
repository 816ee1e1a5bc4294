// Persona file validation and the key-driver rule evaluator.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parsePersonaFile, type Rule } from '../../../src/models/personas/file.ts';
import { closestHint, evaluateRule, percentile } from '../../../src/models/personas/rules.ts';
import type { FeatureTable } from '../../../src/features/table.ts';
import { PersonaFileError } from '../../../src/errors.ts';

// Ten customers: age 10..100 (the 4th missing), monetary 0..900, postcode, sex (one missing).
const table: FeatureTable = {
  rows: 10,
  ids: Array.from({ length: 10 }, (_, i) => `c${i}`),
  numericNames: ['age', 'monetary_12m'],
  numeric: [Float32Array.from([10, 20, 30, NaN, 50, 60, 70, 80, 90, 100]), Float32Array.from([0, 100, 200, 300, 400, 500, 600, 700, 800, 900])],
  categoricalNames: ['postcode', 'sex'],
  categorical: [
    ['75011', '75016', '92200', '69001', '13008', '75019', null, '93200', '94000', '33000'],
    ['F', 'M', 'F', 'M', 'F', 'M', 'F', 'M', null, 'F'],
  ],
};
const picked = (rule: Rule) => Array.from(evaluateRule(rule, table).mask).flatMap((v, i) => (v ? [i] : []));

describe('rule operators', () => {
  it('compares numbers; a missing value never satisfies a comparison', () => {
    expect(picked({ age: { gt: 80 } })).toEqual([8, 9]);
    expect(picked({ age: { gte: 80 } })).toEqual([7, 8, 9]);
    expect(picked({ age: { lt: 30 } })).toEqual([0, 1]);
    expect(picked({ age: { lte: 30 } })).toEqual([0, 1, 2]);
    expect(picked({ age: { between: [30, 60] } })).toEqual([2, 4, 5]);
    expect(picked({ age: { ne: 10 } })).toEqual([1, 2, 4, 5, 6, 7, 8, 9]);
    expect(picked({ age: { eq: 50 } })).toEqual([4]);
    expect(picked({ age: { in: [10, 20, 99] } })).toEqual([0, 1]);
    expect(picked({ age: { not_in: [10, 20] } })).toEqual([2, 4, 5, 6, 7, 8, 9]);
  });

  it('says where missing values leave a rule undecided (three-valued logic)', () => {
    const undecided = (rule: Rule) => Array.from(evaluateRule(rule, table).unknown).flatMap((v, i) => (v ? [i] : []));
    // A comparison on a missing value: unknown, not false; is_missing always decides.
    expect(undecided({ age: { gt: 80 } })).toEqual([3]);
    expect(undecided({ sex: { eq: 'F' } })).toEqual([8]);
    expect(undecided({ age: { is_missing: false } })).toEqual([]);
    // all: unknown where no part is false and one is unknown (3: age unknown, monetary 300 >= 200 true).
    expect(undecided({ all: [{ age: { gt: 5 } }, { monetary_12m: { gte: 200 } }] })).toEqual([3]);
    expect(undecided({ all: [{ age: { gt: 5 } }, { monetary_12m: { gte: 400 } }] })).toEqual([]);
    // Both unknown parts: 8 (sex missing, age 90 passes), and 3 only where sex decides nothing.
    expect(undecided({ all: [{ age: { gt: 5 } }, { sex: { eq: 'M' } }] })).toEqual([3, 8]);
    // any: unknown where no part is true and one is unknown.
    expect(undecided({ any: [{ age: { gt: 95 } }, { sex: { eq: 'M' } }] })).toEqual([8]);
    expect(undecided({ any: [{ age: { gt: 5 } }, { monetary_12m: { gte: 300 } }] })).toEqual([]);
    expect(undecided({ any: [{ age: { gt: 50 } }, { monetary_12m: { gte: 900 } }] })).toEqual([3]);
    // Nested: an unknown `any` inside an `all` whose other part holds.
    expect(undecided({ all: [{ monetary_12m: { gte: 100 } }, { any: [{ age: { gt: 95 } }, { sex: { eq: 'X' } }] }] })).toEqual([3, 8]);
    // A customer picked is never undecided.
    const r = evaluateRule({ all: [{ age: { gt: 5 } }, { sex: { eq: 'M' } }] }, table);
    r.mask.forEach((m, i) => expect(m && r.unknown[i]).toBeFalsy());
  });

  it('names the values a rule compares a categorical feature with that no customer holds, with the one the base writes', () => {
    const absent = (rule: Rule) => evaluateRule(rule, { ...table, categoricalNames: [...table.categoricalNames, 'segment'], categorical: [...table.categorical, ['Gold', 'Gold', 'Île de France', null, 'Silver', 'Gold', 'Silver', 'Gold', 'Silver', 'Gold']] }, 'key_drivers').absentValues;
    expect(absent({ segment: { eq: 'Gold' } })).toEqual([]);
    expect(absent({ segment: { eq: 'gold' } })).toEqual([{ path: 'key_drivers.segment.eq', value: 'gold', like: 'Gold' }]);
    // Of a list, the values held by no one; case, accents and spaces aside, the base's value.
    expect(absent({ segment: { in: ['Silver', ' ile  de france', 'Bronze'] } })).toEqual([
      { path: 'key_drivers.segment.in', value: ' ile  de france', like: 'Île de France' },
      { path: 'key_drivers.segment.in', value: 'Bronze' },
    ]);
    expect(absent({ all: [{ age: { gt: 5 } }, { any: [{ segment: { not_in: ['GOLD'] } }, { postcode: { prefix: ['75', '01'] } }] }] })).toEqual([
      { path: 'key_drivers.all[1].any[0].segment.not_in', value: 'GOLD', like: 'Gold' },
      { path: 'key_drivers.all[1].any[1].postcode.prefix', value: '01' },
    ]);
    // A number no customer has is a threshold like another: not named.
    expect(absent({ age: { eq: 55 } })).toEqual([]);
  });

  it('tests missing values with is_missing', () => {
    expect(picked({ age: { is_missing: true } })).toEqual([3]);
    expect(picked({ sex: { is_missing: true } })).toEqual([8]);
    expect(picked({ sex: { is_missing: false } })).toHaveLength(9);
  });

  it('matches text with eq, ne, in, not_in and prefix', () => {
    expect(picked({ postcode: { prefix: ['75', '92'] } })).toEqual([0, 1, 2, 5]);
    expect(picked({ postcode: { prefix: '69' } })).toEqual([3]);
    expect(picked({ sex: { eq: 'F' } })).toEqual([0, 2, 4, 6, 9]);
    expect(picked({ sex: { ne: 'F' } })).toEqual([1, 3, 5, 7]);
    expect(picked({ postcode: { in: ['33000', '13008'] } })).toEqual([4, 9]);
    expect(picked({ postcode: { not_in: ['33000'] } })).toHaveLength(8);
  });

  it('resolves percentiles over present values and multiples of the mean and median', () => {
    // Ages present: 10,20,30,50,60,70,80,90,100 -> p50 = 60, p90 = 92 (linear interpolation).
    const r = evaluateRule({ age: { gte: 'p90' } }, table);
    expect(r.thresholds).toEqual([{ feature: 'age', spec: 'p90', value: 92 }]);
    expect(picked({ age: { gte: 'p90' } })).toEqual([9]);
    // monetary mean 450: 1.5x mean = 675; median 450: 2x median = 900.
    expect(picked({ monetary_12m: { gte: '1.5x mean' } })).toEqual([7, 8, 9]);
    expect(picked({ monetary_12m: { gte: '2x median' } })).toEqual([9]);
    expect(percentile(Float64Array.from([1, 2, 3, 4]), 25)).toBe(1.75);
  });

  it('nests all and any', () => {
    const rule: Rule = { all: [{ age: { gte: 50 } }, { any: [{ sex: { eq: 'F' } }, { postcode: { prefix: '93' } }] }] };
    expect(picked(rule)).toEqual([4, 6, 7, 9]);
  });

  it('names an unknown feature and lists the known ones, with the one it most likely meant', () => {
    expect(() => evaluateRule({ all: [{ agee: { gt: 1 } }] }, table)).toThrow(
      'key_drivers.all[0].agee: unknown feature "agee" (did you mean "age"?); known features: age, monetary_12m, postcode, sex',
    );
    expect(() => evaluateRule({ zzz: { gt: 1 } }, table)).toThrow('zzz: unknown feature "zzz"; known features: age, monetary_12m, postcode, sex');
  });

  it('says which known feature a mistyped name most likely meant, or none where none stands out', () => {
    const known = ['age', 'monetary_12m', 'frequency_12m', 'share_app', 'share_web', 'share_cat_kids', 'loyalty_tier', 'tile_share_owner'];
    expect(closestHint('Share App', known)).toBe(' (did you mean "share_app"?)');
    expect(closestHint('monetary', known)).toBe(' (did you mean "monetary_12m"?)');
    expect(closestHint('shar_app', known)).toBe(' (did you mean "share_app"?)');
    expect(closestHint('Loyalty-Tier', known)).toBe(' (did you mean "loyalty_tier"?)');
    expect(closestHint('share_cat_kid', known)).toBe(' (did you mean "share_cat_kids"?)');
    expect(closestHint('share', known)).toBe(''); // starts several
    expect(closestHint('income', known)).toBe('');
  });

  it('refuses a numeric comparison on a text feature', () => {
    expect(() => evaluateRule({ postcode: { gte: 75000 } }, table)).toThrow(/"postcode" is not numeric/);
  });
});

describe('persona file', () => {
  const valid = `
as_of: 2026-06-30
personas:
  - id: philippe
    label: "Philippe, generous urban donor"
    key_drivers:
      all:
        - age: { between: [45, 55] }
        - monetary_12m: { gte: 3x mean }
`;
  it('parses the contract example with its defaults', () => {
    const f = parsePersonaFile(valid);
    expect(f.as_of).toBe('2026-06-30');
    expect(f.personas[0]).toMatchObject({ id: 'philippe', min_seeds: 200, threshold: 'auto', description: '' });
    expect(f.assignment).toEqual({ target_precision: 0.9, min_margin: 0.1 });
  });

  it('parses the demo and benchmark persona files', () => {
    expect(parsePersonaFile(readFileSync('data/demo-personas.yaml', 'utf8')).personas).toHaveLength(5);
  });

  it('names the persona and the path of a bad value', () => {
    const bad = valid.replace('between: [45, 55]', 'between: [45]');
    const err = (() => {
      try {
        parsePersonaFile(bad, 'p.yaml');
      } catch (e) {
        return e as PersonaFileError;
      }
    })();
    expect(err).toBeInstanceOf(PersonaFileError);
    expect(err!.message).toMatch(/^p\.yaml: personas\[0\]\.key_drivers/);
    expect(err!.message).toContain('(persona "philippe")');
  });

  it('rejects a bad numeric spec, a bad id, a duplicate id and a threshold outside (0, 1)', () => {
    expect(() => parsePersonaFile(valid.replace('3x mean', '3 times mean'))).toThrow(/pNN/);
    expect(() => parsePersonaFile(valid.replace('id: philippe', 'id: Philippe'))).toThrow(/personas\[0\]\.id.*lower-case/);
    const twice = valid + valid.split('personas:\n')[1];
    expect(() => parsePersonaFile(twice)).toThrow(/duplicate persona id "philippe"/);
    expect(() => parsePersonaFile(valid.replace('    key_drivers:', '    threshold: 1.5\n    key_drivers:'))).toThrow(/personas\[0\]\.threshold/);
  });

  it("says what a value written the way people write numbers meant (a decimal comma, a percent, P90, 3x moyenne)", () => {
    const error = (value: string) => {
      try {
        parsePersonaFile(valid.replace('gte: 3x mean', `gte: ${value}`), 'p.yaml');
      } catch (e) {
        return (e as PersonaFileError).message;
      }
      return 'parsed';
    };
    expect(error("'0,3'")).toBe('p.yaml: personas[0].key_drivers.all[1].monetary_12m.gte (persona "philippe"): expected a number, pNN (a percentile such as p90) or "Kx mean" / "Kx median" (such as 3x mean): "0,3" has a decimal comma, write 0.3');
    expect(error('30%')).toMatch(/: write a share as a number from 0 to 1 \(30% is 0\.3\)$/);
    expect(error('P90')).toMatch(/: write the percentile in lower case, p90$/);
    expect(error('3x moyenne')).toMatch(/: write 3x mean$/);
    expect(error("'1,5 fois la médiane'")).toMatch(/: write 1\.5x median$/);
    expect(error('lots')).toMatch(/\(such as 3x mean\)$/);
    // In braces, YAML reads 0,3 as the key 0 and a second key "3".
    expect(error('0,3')).toMatch(/monetary_12m \(persona "philippe"\): Unrecognized key: "3" \(a decimal comma in \{ \} cuts a number in two: write 0\.3, not 0,3\)/);
    expect(error('p90')).toBe('parsed');
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parsePersonaFile('personas: [\n  - id: x', 'bad.yaml')).toThrow(/bad\.yaml: not valid YAML at line/);
  });
});
