// A tiny hand-written base (four customers, their purchases and contacts, four tiles, a births
// file) whose feature values were computed by hand: the fixture of the feature tests.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cellId, cellOf } from '../../src/features/index.ts';

export const TILE_HEADER =
  'IdCar_200m,Ind,Men,Men_pauv,Men_1ind,Men_5ind,Men_prop,Men_fmp,Ind_snv,Men_surf,Men_coll,Men_mais,Log_av45,Log_45_70,Log_70_90,Log_ap90,Log_inc,Log_soc,Ind_0_3,Ind_4_5,Ind_6_10,Ind_11_17,Ind_18_24,Ind_25_39,Ind_40_54,Ind_55_64,Ind_65_79,Ind_80p,Ind_inc';

/** A tile row: 100 inhabitants, 50 households, values chosen for easy shares. */
export function tile(id: string, ind: number): string {
  // men=50 pauv=5 1ind=20 5ind=2 prop=10 fmp=4 snv=ind*20000 surf=3000 coll=40 mais=10
  // log periods 10,10,10,10,10 soc=15; ages: 0_3..11_17 = 5,5,5,5 (20), 18_24,25_39 = 10,20 (30),
  // 40_54,55_64 = 20,10 (30), 65_79,80p = 15,5 (20), scaled to ind/100.
  const k = ind / 100;
  return [id, ind, 50, 5, 20, 2, 10, 4, ind * 20000, 3000, 40, 10, 10, 10, 10, 10, 10, 15, 5 * k, 5 * k, 5 * k, 5 * k, 10 * k, 20 * k, 20 * k, 10 * k, 15 * k, 5 * k, 0].join(',');
}

export const A = { lat: 48.8566, lon: 2.3522 };
export const D = { lat: 44.8378, lon: -0.5792 };

export function writeBase(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'customers.csv'),
    [
      'Customer_ID,First_Name,Sex,Birth_Year,Postcode,Lat,Lon,Signup_Date,Segment,loyalty_tier,household_size',
      `A,Marie,F,1976,75011,${A.lat},${A.lon},2020-06-30,gold,platinum,3`,
      'B,Jade,F,,69001,,,2026-01-01,,silver,',
      'C,,M,,,,,2025-06-30,new,,2',
      `D,Zoé,,,,${D.lat},${D.lon},2026-06-30,bronze,silver,1`,
    ].join('\n') + '\n',
  );
  writeFileSync(
    join(dir, 'transactions.csv'),
    [
      'customer_id,ts,amount,channel,category,promo',
      'A,2026-06-27,100,store,food,0',
      'A,2025-12-10,50,web,gifts,1',
      'A,2026-03-01,-20,store,food,0',
      'A,2025-06-30,999,store,food,0',
      'A,2026-06-30T18:30:00,30,app,food,0',
      'B,2024-01-01,10,store,food,0',
    ].join('\n') + '\n',
  );
  writeFileSync(
    join(dir, 'interactions.csv'),
    [
      'customer_id,ts,type',
      ...['2026-01-01', '2026-02-01', '2026-03-01', '2026-04-01'].map((d) => `A,${d}T10:00:00,email_sent`),
      'A,2026-01-02T10:00:00,email_open',
      'A,2026-02-02T10:00:00,email_open',
      'A,2026-02-02T10:05:00,email_click',
      'A,2026-05-05T12:00:00,web_visit',
      'A,2026-05-06T12:00:00,web_visit',
      'A,2025-01-01T12:00:00,web_visit',
      'A,2026-05-07T12:00:00,complaint',
    ].join('\n') + '\n',
  );
  const a = cellOf(A.lat, A.lon);
  const d = cellOf(D.lat, D.lon);
  // D's own cell is absent; one neighbour 200 m east (ind 100) and one 400 m north (ind 300);
  // one 1.2 km away (ind 1000) that must not count.
  writeFileSync(
    join(dir, 'tiles.csv'),
    [
      TILE_HEADER,
      tile(cellId(a), 100),
      tile(cellId({ ...d, x: d.x + 200 }), 100),
      tile(cellId({ ...d, y: d.y + 400 }), 300),
      tile(cellId({ ...d, x: d.x + 1200 }), 1000),
    ].join('\n') + '\n',
  );
  writeFileSync(
    join(dir, 'first_names.csv'),
    ['sexe;preusuel;annais;nombre', '2;JADE;2015;100', '2;JADE;XXXX;50', '2;MARIE;1976;10', '2;_PRENOMS_RARES;2015;10', '2;ZOÉ;2010;40', '1;ZOÉ;2020;40'].join('\r\n') + '\r\n',
  );
}

/**
 * Writes the hand base into `dir` (writeBase), then one of its files (`name`, e.g. `transactions.csv`)
 * as `rewrite` makes it from its header and its lines; returns the file's path.
 */
export function writeBaseWith(dir: string, name: string, rewrite: (header: string, lines: string[]) => string[]): string {
  writeBase(dir);
  const path = join(dir, name);
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  writeFileSync(path, rewrite(header, lines).join('\n') + '\n');
  return path;
}
