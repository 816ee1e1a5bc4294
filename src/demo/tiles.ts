// INSEE Filosofi 200 m cells of the demo base (2019 schema, lower-case columns), internally
// consistent as the real file is: age bands sum to `ind`, `men_coll + men_mais = men`, the five
// `log_*` construction periods sum to `men`, and every household share lies within `men`.
import { Random } from '../random.ts';
import type { PlaceKind } from './places.ts';

export const TILE_HEADER =
  'idcar_200m,ind,men,men_pauv,men_1ind,men_5ind,men_prop,men_fmp,ind_snv,men_surf,men_coll,men_mais,' +
  'log_av45,log_45_70,log_70_90,log_ap90,log_inc,log_soc,ind_0_3,ind_4_5,ind_6_10,ind_11_17,ind_18_24,' +
  'ind_25_39,ind_40_54,ind_55_64,ind_65_79,ind_80p,ind_inc';

const PEOPLE: Record<PlaceKind, [number, number]> = { city: [450, 0.5], suburb: [180, 0.5], town: [110, 0.6], rural: [22, 0.7] };
const HOUSEHOLD: Record<PlaceKind, number> = { city: 1.8, suburb: 2.5, town: 2.1, rural: 2.3 };
const SINGLE: Record<PlaceKind, number> = { city: 0.5, suburb: 0.28, town: 0.38, rural: 0.27 };
const FLAT: Record<PlaceKind, number> = { city: 0.95, suburb: 0.45, town: 0.6, rural: 0.08 };
const OWNER: Record<PlaceKind, number> = { city: 0.3, suburb: 0.62, town: 0.5, rural: 0.76 };
// Age band weights: 0-3, 4-5, 6-10, 11-17, 18-24, 25-39, 40-54, 55-64, 65-79, 80+.
const AGES: Record<PlaceKind, number[]> = {
  city: [4, 2, 5, 7, 12, 28, 18, 10, 10, 4],
  suburb: [5, 3, 7, 10, 8, 19, 22, 11, 11, 4],
  town: [4, 2, 5, 8, 9, 18, 19, 12, 15, 8],
  rural: [3, 2, 5, 7, 5, 13, 20, 16, 20, 9],
};
const PERIODS: Record<PlaceKind, number[]> = {
  city: [45, 25, 15, 13, 2],
  suburb: [10, 35, 30, 23, 2],
  town: [25, 30, 25, 18, 2],
  rural: [40, 15, 20, 22, 3],
};

const clamp = (x: number, lo = 0, hi = 1) => Math.max(lo, Math.min(hi, x));

/** Splits `total` into integer parts proportional to `weights`, summing exactly to `total`. */
function split(total: number, weights: number[], rng: Random): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((w) => (total * w * (0.8 + 0.4 * rng.next())) / sum);
  const scale = total / raw.reduce((a, b) => a + b, 0);
  const parts = raw.map((r) => Math.floor(r * scale));
  let rest = total - parts.reduce((a, b) => a + b, 0);
  for (let k = 0; rest > 0; k = (k + 1) % parts.length, rest--) parts[k]++;
  return parts;
}

/** One cell's row of the tiles file. */
export function tileRow(id: string, kind: PlaceKind, affluence: number, rng: Random): string {
  const ind = Math.max(1, Math.round(rng.lognormal(Math.log(PEOPLE[kind][0]), PEOPLE[kind][1])));
  const men = Math.max(1, Math.round(ind / (HOUSEHOLD[kind] * (0.85 + 0.3 * rng.next()))));
  const share = (x: number) => Math.round(clamp(x + rng.normal(0, 0.04)) * men);
  const poorEstate = kind === 'suburb' && affluence < -0.5;
  const pauv = share(0.15 - 0.12 * affluence);
  const single = share(SINGLE[kind]);
  const large = Math.min(men - single, share(poorEstate ? 0.16 : 0.07));
  const owner = share(poorEstate ? 0.2 : OWNER[kind] + 0.12 * affluence);
  const fmp = share(0.1 - 0.04 * affluence);
  const coll = share(poorEstate ? 0.85 : FLAT[kind]);
  const periods = split(men, PERIODS[kind], rng);
  const social = Math.min(men, share(Math.max(0, (poorEstate ? 0.55 : 0.12) - 0.2 * affluence)));
  const income = ind * 22000 * Math.exp(0.35 * affluence + rng.normal(0, 0.12));
  const ages = split(ind, AGES[kind], rng);
  const surface = Math.round(men * (kind === 'city' ? 55 : kind === 'rural' ? 105 : 85) * (0.9 + 0.2 * rng.next()));
  return [id, ind, men, pauv, single, large, owner, fmp, income.toFixed(1), surface, coll, men - coll, ...periods, social, ...ages, 0].join(',');
}
