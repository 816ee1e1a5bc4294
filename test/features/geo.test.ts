import { describe, expect, it } from 'vitest';
import { cellId, cellOf, customerPoint, parseCellId, project } from '../../src/features/geo.ts';

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

describe("a customer's point as the pipeline reads it", () => {
  it('is swapped back where only the swapped point lies where the grid has cells', () => {
    expect(customerPoint(48.8566, 2.3522)).toEqual({ lat: 48.8566, lon: 2.3522, swapped: false });
    expect(customerPoint(2.3522, 48.8566)).toEqual({ lat: 48.8566, lon: 2.3522, swapped: true }); // Paris
    expect(customerPoint(-61.0, 14.6)).toEqual({ lat: 14.6, lon: -61.0, swapped: true }); // Fort-de-France
    expect(customerPoint(55.45, -20.88)).toEqual({ lat: -20.88, lon: 55.45, swapped: true }); // Saint-Denis, Réunion
    expect(customerPoint(41.9, 8.7)).toEqual({ lat: 41.9, lon: 8.7, swapped: false }); // Ajaccio, as written
  });

  it('stays as written abroad, and is none at 0, 0 or past the degrees', () => {
    expect(customerPoint(40.71, -74.0)).toEqual({ lat: 40.71, lon: -74.0, swapped: false }); // New York
    expect(customerPoint(4.93, -52.33)).toEqual({ lat: 4.93, lon: -52.33, swapped: false }); // Cayenne: no grid, not swapped
    expect(customerPoint(0, 0)).toBeNull();
    expect(customerPoint(48.85, 2352.2)).toBeNull();
    expect(customerPoint(6862000, 652000)).toBeNull(); // Lambert 93 metres
    expect(customerPoint(NaN, 2.35)).toBeNull();
  });
});
