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

/**
 * How purchases are counted over the rows of `purchases` (the view buildPurchases makes): a file of
 * order lines counts each line for its share of its order, a file of purchases counts rows.
 */
export interface Counting {
  /** The view of purchase rows. */
  from: string;
  /** SQL: how many purchases among the rows meeting `when` (a purchase, then the condition). */
  share(when: string): string;
  /** SQL: how many purchases (orders or rows with a positive amount). */
  purchases: string;
  /** SQL: the condition of a row counted as (part of) a purchase. */
  positive: string;
}

const PLAIN: Counting = {
  from: 'transactions_clean',
  share: (when) => `count(*) FILTER (WHERE amount > 0 AND ${when})`,
  purchases: 'count(*) FILTER (WHERE amount > 0)',
  positive: 'amount > 0',
};

const ORDER_LINES: Counting = {
  from: 'purchase_lines',
  share: (when) => `coalesce(sum(share) FILTER (WHERE positive AND ${when}), 0)`,
  purchases: 'count(*) FILTER (WHERE positive AND first)',
  positive: 'positive',
};

/**
 * Whether the transactions are order lines (an `order_id` column, `orderColumn`, with a value): then the view
 * `purchase_lines` holds each line with its order's day, `share` (the line's part of its order's
 * positive amount), `positive` (the order's net amount is above 0: a purchase) and `first` (one
 * line per order, to count orders). How many lines and orders, for the summary.
 */
export async function buildPurchases(conn: Duck, orderColumn: boolean): Promise<{ counting: Counting; lines?: number; orders?: number }> {
  if (!orderColumn) return { counting: PLAIN };
  const [seen] = (await rows(
    conn,
    `SELECT count(order_id) AS lines, count(DISTINCT (customer_id, order_id)) FILTER (WHERE order_id IS NOT NULL) AS orders FROM transactions_clean`,
  )) as { lines: bigint; orders: bigint }[];
  if (Number(seen.lines) === 0) return { counting: PLAIN };
  await run(
    conn,
    `CREATE OR REPLACE VIEW purchase_lines AS
     SELECT customer_id, amount, channel, category, promo,
       CASE WHEN order_id IS NULL THEN day ELSE min(day) OVER o END AS day,
       CASE WHEN order_id IS NULL THEN 1.0 WHEN amount > 0 THEN amount / sum(amount) FILTER (WHERE amount > 0) OVER o ELSE 0.0 END AS share,
       CASE WHEN order_id IS NULL THEN amount > 0 ELSE sum(amount::DECIMAL(38, 6)) OVER o > 0 END AS positive,
       order_id IS NULL OR row_number() OVER o = 1 AS first
     FROM transactions_clean
     WINDOW o AS (PARTITION BY customer_id, order_id)`,
  );
  return { counting: ORDER_LINES, lines: Number(seen.lines), orders: Number(seen.orders) };
}

/** The most frequent purchase categories in the window (at most `max`). */
export async function topCategories(conn: Duck, asOf: string, max = 12, counting: Counting = PLAIN): Promise<string[]> {
  const r = await rows(
    conn,
    `SELECT category, ${counting.share('true')} AS n FROM ${counting.from}
     WHERE category IS NOT NULL AND day <= DATE ${literal(asOf)}
       AND day >= DATE ${literal(asOf)} - INTERVAL 12 MONTH + INTERVAL 1 DAY
     GROUP BY category HAVING n > 0 ORDER BY n DESC, category LIMIT ${max}`,
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
  has: { channel: boolean; promo: boolean } = { channel: true, promo: true },
  counting: Counting = PLAIN,
): Promise<string[]> {
  const { share, positive } = counting;
  const d = `DATE ${literal(asOf)}`;
  const inWindow = `day >= ${d} - INTERVAL 12 MONTH + INTERVAL 1 DAY AND day <= ${d}`;
  const catNames = categories.map(categoryFeatureName);
  await run(
    conn,
    `CREATE OR REPLACE TABLE behaviour AS
     WITH w AS (
       SELECT customer_id,
         ${counting.purchases} AS n,
         -- Summed as decimals: exact, so the same whatever order the threads add them in (a sum of
         -- doubles moves in its last digits from one run to the next).
         sum(amount::DECIMAL(38, 6))::DOUBLE AS money,
         sum(amount::DECIMAL(38, 6)) FILTER (WHERE ${positive})::DOUBLE AS pos,
         ${CHANNELS.map((c) => `${share(`channel = ${literal(c)}`)} AS ch_${c}`).join(', ')},
         ${share('promo = 1')} AS promo_n,
         ${share('dayofweek(day) IN (0, 6)')} AS weekend_n,
         ${share('month(day) = 12')} AS dec_n
         ${categories.map((c, k) => `, ${share(`category = ${literal(c)}`)} AS cat_${k}`).join('')}
       FROM ${counting.from} WHERE ${inWindow} GROUP BY customer_id
     ),
     last AS (
       SELECT customer_id, max(day) AS last_day FROM ${counting.from}
       WHERE ${positive} AND day <= ${d} GROUP BY customer_id
     )
     SELECT c.customer_id,
       coalesce(w.n, 0) AS frequency_12m,
       coalesce(w.money, 0) AS monetary_12m,
       CASE WHEN w.n > 0 THEN w.pos / w.n END AS avg_basket_12m,
       date_diff('day', l.last_day, ${d}) AS recency_days,
       ${CHANNELS.map((ch) => `CASE WHEN w.n > 0 AND ${has.channel} THEN w.ch_${ch} / w.n END AS share_${ch}`).join(', ')},
       CASE WHEN w.n > 0 AND ${has.promo} THEN w.promo_n / w.n END AS promo_share,
       CASE WHEN w.n > 0 THEN w.weekend_n / w.n END AS weekend_share,
       CASE WHEN w.n > 0 THEN w.dec_n / w.n END AS december_share
       ${catNames.map((name, k) => `, CASE WHEN w.n > 0 THEN w.cat_${k} / w.n END AS ${ident(name)}`).join('')}
     FROM customers_clean c LEFT JOIN w USING (customer_id) LEFT JOIN last l USING (customer_id)`,
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
