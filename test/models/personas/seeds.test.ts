// Seed selection: overlap policy and the min_seeds stop.
import { describe, expect, it } from 'vitest';
import { parsePersonaFile } from '../../../src/models/personas/file.ts';
import { absentValuesWarning, selectSeeds } from '../../../src/models/personas/seeds.ts';
import type { FeatureTable } from '../../../src/features/table.ts';

const table: FeatureTable = {
  rows: 8,
  ids: Array.from({ length: 8 }, (_, i) => `c${i}`),
  numericNames: ['age', 'share_web'],
  numeric: [Float32Array.from([25, 30, 35, 40, 60, 65, 70, 75]), Float32Array.from([0.9, 0.8, 0.1, 0.7, 0.1, 0.6, 0.2, 0.1])],
  categoricalNames: [],
  categorical: [],
};

const spec = parsePersonaFile(`
personas:
  - id: young
    label: Young
    key_drivers: { age: { lt: 45 } }
    min_seeds: 2
  - id: digital
    label: Digital
    key_drivers: { share_web: { gte: 0.6 } }
    min_seeds: 2
  - id: senior
    label: Senior
    key_drivers: { age: { gte: 70 } }
    min_seeds: 3
`);

describe('seed selection', () => {
  const [young, digital, senior] = selectSeeds(table, spec);

  it('keeps customers matched by several rules out of every seed set, and counts them', () => {
    // young: 0,1,2,3; digital: 0,1,3,5 -> shared 0,1,3.
    expect(young.ruleMatches).toBe(4);
    expect(Array.from(young.mask)).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(digital.mask)).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
    expect(young.overlaps).toEqual({ digital: 3 });
    expect(digital.overlaps).toEqual({ young: 3 });
  });

  it('skips a persona below min_seeds with the reason, and the others go on', () => {
    expect(young.status).toBe('skipped');
    expect(young.reason).toMatch(/^1 seed customers \(rule matches 4, 3 shared with other personas\), below min_seeds 2/);
    expect(senior.seeds).toBe(2);
    expect(senior.status).toBe('skipped');
    const relaxed = selectSeeds(table, { ...spec, personas: spec.personas.map((p) => ({ ...p, min_seeds: 1 })) });
    expect(relaxed.map((s) => s.status)).toEqual(['ok', 'ok', 'ok']);
    expect(senior.ruleFeatures).toEqual(['age']);
  });
});

describe('a rule naming a value no customer holds', () => {
  const withSegment: FeatureTable = { ...table, categoricalNames: ['segment'], categorical: [['Gold', 'Gold', 'Gold', 'Silver', 'Silver', 'Gold', 'Silver', 'Gold']] };
  const named = parsePersonaFile(`
personas:
  - id: gold
    label: Gold
    key_drivers: { segment: { eq: gold } }
    min_seeds: 2
  - id: silver
    label: Silver
    key_drivers: { segment: { in: [Silver, Bronze] } }
    min_seeds: 2
`);
  const [gold, silver] = selectSeeds(withSegment, named);

  it('says it in the reason of a persona it leaves without seeds, with the value the base writes', () => {
    expect(gold.status).toBe('skipped');
    expect(gold.reason).toBe(
      '0 seed customers (rule matches 0), below min_seeds 2: personas[0].key_drivers.segment.eq "gold" is held by no customer (the base writes "Gold"); write the values as the base does, loosen the key drivers or lower min_seeds',
    );
    expect(absentValuesWarning(gold)).toBeUndefined();
  });

  it('warns of it for a persona trained all the same', () => {
    expect(silver.status).toBe('ok');
    expect(silver.absentValues).toEqual([{ path: 'personas[1].key_drivers.segment.in', value: 'Bronze' }]);
    expect(absentValuesWarning(silver)).toBe(
      'silver: warning: personas[1].key_drivers.segment.in "Bronze" is held by no customer: a condition on such a value matches no one (negated, everyone); write the values as the base does',
    );
  });
});
