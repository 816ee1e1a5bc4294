// Behaviour and contact features per customer over the 12 months before as_of (CONTRACT.md
// section 2), in DuckDB SQL. Conventions: the window is the calendar dates
// [as_of - 12 months + 1 day, as_of]; purchases are rows with amount > 0 (frequency, shares and
// baskets count them); monetary_12m is the net sum including refunds; recency counts from the
// last purchase in the whole history up to as_of; a share or rate with no denominator is
// missing, a count with no event is 0.
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

/** The most frequent purchase categories in the window (at most `max`). */
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
export async function buildBehaviour(conn: Duck, asOf: string, categories: string[], has: { channel: boolean; promo: boolean } = { channel: true, promo: true }): Promise<string[]> {
  const d = `DATE ${literal(asOf)}`;
  const inWindow = `day >= ${d} - INTERVAL 12 MONTH + INTERVAL 1 DAY AND day <= ${d}`;
  const catNames = categories.map(categoryFeatureName);
  await run(
    conn,
    `CREATE OR REPLACE TABLE behaviour AS
     WITH w AS (
       SELECT customer_id,
         count(*) FILTER (WHERE amount > 0) AS n,
         -- Summed as decimals: exact, so the same whatever order the threads add them in (a sum of
         -- doubles moves in its last digits from one run to the next).
         sum(amount::DECIMAL(38, 6))::DOUBLE AS money,
         sum(amount::DECIMAL(38, 6)) FILTER (WHERE amount > 0)::DOUBLE AS pos,
         ${CHANNELS.map((c) => `count(*) FILTER (WHERE amount > 0 AND channel = ${literal(c)}) AS ch_${c}`).join(', ')},
         count(*) FILTER (WHERE amount > 0 AND promo = 1) AS promo_n,
         count(*) FILTER (WHERE amount > 0 AND dayofweek(day) IN (0, 6)) AS weekend_n,
         count(*) FILTER (WHERE amount > 0 AND month(day) = 12) AS dec_n
         ${categories.map((c, k) => `, count(*) FILTER (WHERE amount > 0 AND category = ${literal(c)}) AS cat_${k}`).join('')}
       FROM transactions_clean WHERE ${inWindow} GROUP BY customer_id
     ),
     last AS (
       SELECT customer_id, max(day) AS last_day FROM transactions_clean
       WHERE amount > 0 AND day <= ${d} GROUP BY customer_id
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
