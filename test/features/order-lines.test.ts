// Purchases written as order lines (an `order_id` column: a till's ticket lines, an order's
// products): one purchase per order, each line counted in the shares for its part of the order.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readColumnMap } from '../../src/features/column-map.ts';
import { describeFormat } from '../../src/features/formats.ts';
import { buildFeatures, numericColumn, type FeatureBuild } from '../../src/features/index.ts';
import { readDataSummary } from '../../src/features/summary.ts';
import { writeBase } from '../helpers/hand-base.ts';
import { tempDir } from '../helpers/world.ts';

const LINES = [
  'customer_id,ts,amount,channel,category,promo,order_id',
  // A's first order: two lines in the store, 60 of food on promotion, 40 of gifts.
  'A,2026-06-01,60,store,food,1,T1',
  'A,2026-06-01,40,store,gifts,0,T1',
  // A web order with a discount line: 40 net, all food.
  'A,2026-06-10,50,web,food,0,T2',
  'A,2026-06-10,-10,web,food,0,T2',
  // A refund order: no purchase, 20 off the net amount.
  'A,2026-06-15,-20,store,food,0,T3',
  // A line without an order id: a purchase of its own.
  'A,2026-06-20,30,app,gifts,0,',
  // B's order T1 is not A's.
  'B,2026-06-05,10,store,food,0,T1',
];

async function build(lines: string[], columns?: string): Promise<{ built: FeatureBuild; out: string; feature: (name: string, row: number) => number }> {
  const data = tempDir();
  writeBase(data);
  writeFileSync(join(data, 'transactions.csv'), lines.join('\n') + '\n');
  const out = tempDir();
  const built = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30', ...(columns ? { columnMap: readColumnMap(columns) } : {}) });
  return { built, out, feature: (name, row) => numericColumn(built.table, name)![row] };
}

describe('purchases written as order lines', () => {
  it('count one purchase per order: its net amount, each line in the shares for its part of the order', async () => {
    const { built, out, feature } = await build(LINES);
    const a = built.table.ids.indexOf('A');
    const b = built.table.ids.indexOf('B');
    expect(feature('frequency_12m', a)).toBe(3);
    expect(feature('monetary_12m', a)).toBe(150);
    expect(feature('avg_basket_12m', a)).toBeCloseTo((100 + 40 + 30) / 3, 4);
    expect([feature('share_store', a), feature('share_web', a), feature('share_app', a)].map((v) => +v.toFixed(6))).toEqual([0.333333, 0.333333, 0.333333]);
    expect(feature('promo_share', a)).toBeCloseTo(0.6 / 3, 6);
    expect(feature('share_cat_food', a)).toBeCloseTo((0.6 + 1) / 3, 6);
    expect(feature('share_cat_gifts', a)).toBeCloseTo((0.4 + 1) / 3, 6);
    expect(feature('recency_days', a)).toBe(10);
    expect([feature('frequency_12m', b), feature('monetary_12m', b), feature('share_cat_food', b)]).toEqual([1, 10, 1]);
    // Said: six lines with an order id, of four orders (A's T1, T2, T3 and B's T1).
    const summary = readDataSummary(join(out, 'features.json'))!;
    expect(summary.formats?.transactions?.orderLines).toEqual({ lines: 6, orders: 4 });
    expect(describeFormat(summary.formats!.transactions)).toEqual(['6 order lines of 4 orders (order_id), each order read as one purchase']);
    expect(describeFormat(summary.formats!.transactions, 'fr')).toEqual(['6 lignes de 4 commandes (order_id), chaque commande lue comme un achat']);
  });

  it("count an order as it stood at as_of: its lines after as_of left out", async () => {
    // A's first order gets a line on 2 July, after as_of (2026-06-30): a backdated run does not see it.
    const { feature, built } = await build([...LINES, 'A,2026-07-02,500,web,home,0,T1']);
    const a = built.table.ids.indexOf('A');
    expect(feature('frequency_12m', a)).toBe(3);
    expect(feature('monetary_12m', a)).toBe(150);
    expect(feature('share_web', a)).toBeCloseTo(1 / 3, 6);
    expect(feature('avg_basket_12m', a)).toBeCloseTo((100 + 40 + 30) / 3, 4);
  });

  it('give the features of the same purchases written one row each', async () => {
    const purchases = [
      'customer_id,ts,amount,channel,category,promo',
      'A,2026-06-01,100,store,food,1',
      'A,2026-06-10,40,web,food,0',
      'A,2026-06-15,-20,store,food,0',
      'A,2026-06-20,30,app,gifts,1',
      'B,2026-06-05,10,store,food,0',
    ];
    // Each purchase split into lines of one order (same channel, category and promotion), a zero line among them.
    const lines = [
      'customer_id,ts,amount,channel,category,promo,order_id',
      'A,2026-06-01,70.5,store,food,1,1',
      'A,2026-06-01,29.5,store,food,1,1',
      'A,2026-06-10,40,web,food,0,2',
      'A,2026-06-10,0,web,food,0,2',
      'A,2026-06-15,-20,store,food,0,3',
      'A,2026-06-20,10,app,gifts,1,4',
      'A,2026-06-20,20,app,gifts,1,4',
      'B,2026-06-05,10,store,food,0,1',
    ];
    const one = (await build(purchases)).built.table;
    const split = (await build(lines)).built.table;
    expect(split.numericNames).toEqual(one.numericNames);
    for (const [k, name] of one.numericNames.entries()) {
      const [x, y] = [Array.from(one.numeric[k]), Array.from(split.numeric[k])];
      expect(y.map((v) => (Number.isNaN(v) ? 'NaN' : +v.toFixed(5))), name).toEqual(x.map((v) => (Number.isNaN(v) ? 'NaN' : +v.toFixed(5))));
    }
  });

  it("are read from a ticket column under the client's name once mapped, which the summary suggests", async () => {
    const renamed = [LINES[0].replace('order_id', 'N° ticket'), ...LINES.slice(1)];
    const unmapped = await build(renamed);
    expect(unmapped.built.summary.suggestions).toContainEqual({ file: 'transactions', column: 'N° ticket', contract: 'order_id' });
    // Unmapped, each line with an amount above 0 is a purchase.
    expect(unmapped.feature('frequency_12m', unmapped.built.table.ids.indexOf('A'))).toBe(4);
    const columns = join(tempDir(), 'columns.yaml');
    writeFileSync(columns, 'transactions: { "N° ticket": order_id }\n');
    const mapped = await build(renamed, columns);
    expect(mapped.feature('frequency_12m', mapped.built.table.ids.indexOf('A'))).toBe(3);
    expect(readFileSync(join(mapped.out, 'features.json'), 'utf8')).toContain('"orderLines"');
  });
});
