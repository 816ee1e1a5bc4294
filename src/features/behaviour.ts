// Behaviour and contact features per customer over the 12 months before as_of (CONTRACT.md
// section 2), in DuckDB SQL. Conventions: the window is the calendar dates
// [as_of - 12 months + 1 day, as_of]; purchases are rows with amount > 0 (frequency, shares and
// baskets count them); monetary_12m is the net sum including refunds; recency counts from the
// last purchase in the whole history up to as_of; a share or rate with no denominator is
// missing, a count with no event is 0.
//
// A file of order lines (an `order_id` column: a till's ticket lines, an order's products) gives
// one purchase per order: its net amount, its day (its first line's), and each of its lines
// counted in the shares (channel, promotion, category) for its part of the order's positive
// amount. Lines without an order id are purchases of their own, as in a file without the column.
import { CHANNELS } from './clean.ts';
import { ident, literal, rows, run, type Duck } from './duck.ts';
import { AS_OF_GAP_DAYS, type AsOfCheck } from './formats.ts';

/** Feature-safe name of a category: lower case, [a-z0-9_]. */
export function categoryFeatureName(category: string): string {
  const slug = category
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `share_cat_${slug || 'unnamed'}`;
}

/**
 * The categories behind a model's `share_cat_*` features, for building a new table with the same
 * columns: each feature's slug stands for its category (a slug is already feature-safe, so
 * `share_cat_<slug>` comes out the same; rows whose category is spelt differently are not counted,
 * so pass the run's own spelling when it is known).
 */
export function categoriesOfFeatures(featureNames: readonly string[]): string[] {
  return featureNames.filter((n) => n.startsWith('share_cat_')).map((n) => n.slice('share_cat_'.length));
}

/** How purchases are counted: one per row of the purchase file, or one per order of its lines. */
interface Counting {
  /** The relation of purchases (or refunds): customer_id, day, amount, and what the counts below read. */
  from: string;
  /** SQL: the condition of a purchase (its amount, net of its lines, above 0). */
  positive: string;
  /** SQL: how many purchases meet `when`, a condition on the whole purchase (its day). */
  when(when: string): string;
  /** SQL: how many purchases meeting `when` were made in channel `c`, on promotion, in the `k`-th category `c` (an order counted for its lines' parts). */
  channel(c: string, when: string): string;
  promo(when: string): string;
  category(c: string, k: number, when: string): string;
}

const count = (when: string) => `count(*) FILTER (WHERE amount > 0 AND ${when})`;
const PLAIN: Counting = {
  from: 'transactions_clean',
  positive: 'amount > 0',
  when: count,
  channel: (c, when) => count(`${when} AND channel = ${literal(c)}`),
  promo: (when) => count(`${when} AND promo = 1`),
  category: (c, _k, when) => count(`${when} AND category = ${literal(c)}`),
};

/** Of an order, the part of its positive amount on lines meeting `when` (0 to 1). */
const part = (when: string) => `coalesce(sum(amount) FILTER (WHERE amount > 0 AND ${when}) / sum(amount) FILTER (WHERE amount > 0), 0)`;
const parts = (name: string, when: string) => `coalesce(sum(${name}) FILTER (WHERE positive AND ${when}), 0)`;

/** The purchases of order lines (the view createOrderPurchases makes): an order counted for its lines' parts. */
const ORDERS: Counting = {
  from: 'purchases',
  positive: 'positive',
  when: (when) => `count(*) FILTER (WHERE positive AND ${when})`,
  channel: (c, when) => parts(`ch_${c}`, when),
  promo: (when) => parts('promo_part', when),
  category: (_c, k, when) => parts(`cat_${k}`, when),
};

/**
 * Purchases from order lines: the view `purchases`, one row per order (its lines grouped by
 * customer and order id: its first line's day, net amount, and the part of its positive amount in
 * each channel, on promotion and in each of `categories`) and one per line without an order id.
 * A view: the grouping runs where the features read it (a table of the orders' parts held 20
 * million rows more on a million customers, and spilled). An order's lines after as_of are left
 * out (a line delivered or amended later had not happened at as_of): a backdated run counts what
 * the order was then.
 */
async function createOrderPurchases(conn: Duck, asOf: string, categories: string[]): Promise<void> {
  const columns = (line: (when: string) => string) =>
    [
      ...CHANNELS.map((c) => `${line(`channel = ${literal(c)}`)} AS ch_${c}`),
      `${line('promo = 1')} AS promo_part`,
      ...categories.map((c, k) => `${line(`category = ${literal(c)}`)} AS cat_${k}`),
    ].join(', ');
  await run(
    conn,
    `CREATE OR REPLACE VIEW purchases AS
     SELECT customer_id, min(day) AS day, sum(amount::DECIMAL(38, 6)) AS amount, sum(amount::DECIMAL(38, 6)) > 0 AS positive, ${columns(part)}
     FROM transactions_clean WHERE order_id IS NOT NULL AND day <= DATE ${literal(asOf)} GROUP BY customer_id, order_id
     UNION ALL
     SELECT customer_id, day, amount::DECIMAL(38, 6) AS amount, amount > 0 AS positive, ${columns((when) => `CASE WHEN ${when} THEN 1.0 ELSE 0.0 END`)}
     FROM transactions_clean WHERE order_id IS NULL`,
  );
}

/**
 * Whether the purchase file is order lines (an `order_id` column, `orderColumn`, holding a value),
 * and how many lines and orders it holds, for the summary.
 */
export async function countOrders(conn: Duck, orderColumn: boolean): Promise<{ lines: number; orders: number } | undefined> {
  if (!orderColumn) return undefined;
  const [seen] = (await rows(
    conn,
    'SELECT count(*) AS orders, coalesce(sum(n), 0) AS lines FROM (SELECT count(*) AS n FROM transactions_clean WHERE order_id IS NOT NULL GROUP BY customer_id, order_id)',
  )) as { orders: bigint; lines: bigint }[];
  return Number(seen.orders) ? { lines: Number(seen.lines), orders: Number(seen.orders) } : undefined;
}

/**
 * The most frequent purchase categories in the window (at most `max`): of a file of order lines,
 * the categories of most lines.
 */
export async function topCategories(conn: Duck, asOf: string, max = 12): Promise<string[]> {
  const r = await rows(
    conn,
    `SELECT category, count(*) AS n FROM transactions_clean
     WHERE amount > 0 AND category IS NOT NULL AND day <= DATE ${literal(asOf)}
       AND day >= DATE ${literal(asOf)} - INTERVAL 12 MONTH + INTERVAL 1 DAY
     GROUP BY category ORDER BY n DESC, category LIMIT ${max}`,
  );
  return r.map((x) => String(x.category));
}

/**
 * Creates `behaviour(customer_id, ...)` and `contacts(customer_id, ...)`. A transactions file
 * without a `channel` or `promo` column (both optional) leaves the channel shares or the promotion
 * share missing: unknown, not 0.
 */
export async function buildBehaviour(
  conn: Duck,
  asOf: string,
  categories: string[],
  has: { channel: boolean; promo: boolean; orders: boolean } = { channel: true, promo: true, orders: false },
): Promise<string[]> {
  if (has.orders) await createOrderPurchases(conn, asOf, categories);
  const counting = has.orders ? ORDERS : PLAIN;
  const { positive } = counting;
  const d = `DATE ${literal(asOf)}`;
  // One pass over the history up to as_of: the window's figures, and the last purchase of all.
  const inWindow = `day >= ${d} - INTERVAL 12 MONTH + INTERVAL 1 DAY`;
  const catNames = categories.map(categoryFeatureName);
  await run(
    conn,
    `CREATE OR REPLACE TABLE behaviour AS
     WITH w AS (
       SELECT customer_id,
         ${counting.when(inWindow)} AS n,
         -- Summed as decimals: exact, so the same whatever order the threads add them in (a sum of
         -- doubles moves in its last digits from one run to the next).
         sum(amount::DECIMAL(38, 6)) FILTER (WHERE ${inWindow})::DOUBLE AS money,
         sum(amount::DECIMAL(38, 6)) FILTER (WHERE ${inWindow} AND ${positive})::DOUBLE AS pos,
         ${CHANNELS.map((c) => `${counting.channel(c, inWindow)} AS ch_${c}`).join(', ')},
         ${counting.promo(inWindow)} AS promo_n,
         ${counting.when(`${inWindow} AND dayofweek(day) IN (0, 6)`)} AS weekend_n,
         ${counting.when(`${inWindow} AND month(day) = 12`)} AS dec_n
         ${categories.map((c, k) => `, ${counting.category(c, k, inWindow)} AS cat_${k}`).join('')},
         max(day) FILTER (WHERE ${positive}) AS last_day
       FROM ${counting.from} WHERE day <= ${d} GROUP BY customer_id
     )
     SELECT c.customer_id,
       coalesce(w.n, 0) AS frequency_12m,
       coalesce(w.money, 0) AS monetary_12m,
       CASE WHEN w.n > 0 THEN w.pos / w.n END AS avg_basket_12m,
       date_diff('day', w.last_day, ${d}) AS recency_days,
       ${CHANNELS.map((ch) => `CASE WHEN w.n > 0 AND ${has.channel} THEN w.ch_${ch} / w.n END AS share_${ch}`).join(', ')},
       CASE WHEN w.n > 0 AND ${has.promo} THEN w.promo_n / w.n END AS promo_share,
       CASE WHEN w.n > 0 THEN w.weekend_n / w.n END AS weekend_share,
       CASE WHEN w.n > 0 THEN w.dec_n / w.n END AS december_share
       ${catNames.map((name, k) => `, CASE WHEN w.n > 0 THEN w.cat_${k} / w.n END AS ${ident(name)}`).join('')}
     FROM customers_clean c LEFT JOIN w USING (customer_id)`,
  );
  await run(
    conn,
    `CREATE OR REPLACE TABLE contacts AS
     WITH e AS (
       SELECT customer_id,
         count(*) FILTER (WHERE type = 'email_sent') AS sent,
         count(*) FILTER (WHERE type = 'email_open') AS opens,
         count(*) FILTER (WHERE type = 'email_click') AS clicks,
         count(*) FILTER (WHERE type = 'web_visit') AS web,
         count(*) FILTER (WHERE type = 'app_session') AS app,
         count(*) FILTER (WHERE type = 'call') AS calls,
         count(*) FILTER (WHERE type = 'complaint') AS complaints
       FROM interactions_clean WHERE ${inWindow} GROUP BY customer_id
     )
     SELECT c.customer_id,
       CASE WHEN e.sent > 0 THEN e.opens / e.sent END AS email_open_rate,
       CASE WHEN e.sent > 0 THEN e.clicks / e.sent END AS email_click_rate,
       coalesce(e.web, 0) AS web_visits_12m,
       coalesce(e.app, 0) AS app_sessions_12m,
       coalesce(e.calls, 0) AS calls_12m,
       coalesce(e.complaints, 0) AS complaints_12m
     FROM customers_clean c LEFT JOIN e USING (customer_id)`,
  );
  return catNames;
}

/**
 * Where a given as_of (the persona file's, --as-of) sits against the purchases, when it is worth
 * a word: long after the last purchase (a year typed wrong: the twelve months before it hold few
 * purchases or none, and every behaviour feature is then empty), or before purchases the features
 * do not count (more than 1 % of them). Undefined otherwise.
 */
export async function asOfCheck(conn: Duck, asOf: string): Promise<AsOfCheck | undefined> {
  const d = `DATE ${literal(asOf)}`;
  const [r] = (await rows(
    conn,
    `SELECT strftime(max(day), '%Y-%m-%d') AS last, count(*) AS n,
       count(*) FILTER (WHERE day >= ${d} - INTERVAL 12 MONTH + INTERVAL 1 DAY AND day <= ${d}) AS within,
       count(*) FILTER (WHERE day > ${d}) AS after
     FROM transactions_clean`,
  )) as { last: string | null; n: bigint; within: bigint; after: bigint }[];
  if (r.last === null) return undefined;
  const check = { asOf, lastPurchase: r.last, purchases: Number(r.n), inWindow: Number(r.within), after: Number(r.after) };
  const gap = (Date.parse(asOf) - Date.parse(r.last)) / 86_400_000;
  return gap >= AS_OF_GAP_DAYS || check.after > check.purchases / 100 ? check : undefined;
}
