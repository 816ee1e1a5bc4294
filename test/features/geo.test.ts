import { describe, expect, it } from 'vitest';
import { cellId, cellOf, parseCellId, project } from '../../src/features/geo.ts';

describe('EPSG:3035 projection', () => {
  it('matches the EPSG Guidance Note 7-2 example (50N 5E)', () => {
    const { x, y } = project(50, 5, 3035);
    expect(x).toBeCloseTo(3962799.45, 2);
    expect(y).toBeCloseTo(2999718.85, 2);
  });
});

describe('200 m cells', () => {
  it('floors the projected point to the south-west corner and writes the INSEE id', () => {
    const cell = cellOf(50, 5);
    expect(cell).toEqual({ crs: 3035, x: 3962600, y: 2999600 });
    expect(cellId(cell)).toBe('CRS3035RES200mN2999600E3962600');
  });

  it('parses ids case-insensitively and rejects other forms', () => {
    expect(parseCellId('CRS3035RES200mN2029800E4252400')).toEqual({ crs: 3035, size: 200, y: 2029800, x: 4252400 });
    expect(parseCellId('crs3035res200mn2029800e4252400')?.x).toBe(4252400);
    expect(parseCellId('N2029800E4252400')).toBeUndefined();
    expect(parseCellId('CRS4326RES200mN1E1')).toBeUndefined();
  });

  it('uses the Réunion grid for a point in Réunion', () => {
    expect(cellOf(-21.1, 55.5).crs).toBe(2975);
  });
});
