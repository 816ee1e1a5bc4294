// A client value written several ways but for case, accents or spaces (`Gold`, `gold`, `GOLD`):
// kept as written (the client's labels), and named to be checked, since each is a segment of its
// own in the crossing with the personas and in a rule.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSpellings } from '../../src/features/formats.ts';
import { buildFeatures, categoricalColumn } from '../../src/features/index.ts';
import { readDataSummary } from '../../src/features/summary.ts';
import { writeBase } from '../helpers/hand-base.ts';
import { tempDir } from '../helpers/world.ts';

/** The hand base with its customers' segments replaced by `segments` (A, B, C, D in order). */
function base(segments: string[]): string {
  const dir = tempDir('personas-spellings-');
  writeBase(dir);
  const [header, ...rows] = readFileSync(join(dir, 'customers.csv'), 'utf8').trim().split('\n');
  const at = header.split(',').findIndex((c) => c.toLowerCase() === 'segment');
  writeFileSync(join(dir, 'customers.csv'), [header, ...rows.map((r, i) => r.split(',').map((v, j) => (j === at ? segments[i] : v)).join(','))].join('\n') + '\n');
  return dir;
}

describe('segments written several ways', () => {
  it('are kept as written and named, the largest group first, in the summary and in words', async () => {
    const out = tempDir('personas-spellings-out-');
    const built = await buildFeatures({ dataDir: base(['Gold', 'gold', 'Île de France', 'ile  de france']), outDir: out, asOf: '2026-06-30' });
    expect(categoricalColumn(built.table, 'segment')).toEqual(['Gold', 'gold', 'Île de France', 'ile  de france']);
    const expected = {
      file: 'customers',
      column: 'segment',
      groups: [
        [{ value: 'Gold', rows: 1 }, { value: 'gold', rows: 1 }],
        [{ value: 'ile  de france', rows: 1 }, { value: 'Île de France', rows: 1 }],
      ],
    };
    expect(readDataSummary(join(out, 'features.json'))!.spellings).toEqual([expected]);
    expect(describeSpellings(expected)).toBe(
      'segment written several ways, each read as a value of its own (in the crossing with the personas, in a rule): "Gold" (1) / "gold" (1); "ile  de france" (1) / "Île de France" (1); write them one way in the file to count them as one',
    );
    expect(describeSpellings(expected, 'fr')).toMatch(/^segment écrit de plusieurs façons, chacune lue comme une valeur à part/);
  });

  it('are not named when each is written one way', async () => {
    const built = await buildFeatures({ dataDir: base(['Gold', 'Silver', '', 'Gold']), asOf: '2026-06-30' });
    expect(built.summary.spellings).toBeUndefined();
  });
});
