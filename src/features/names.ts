// Age from a first name: the expected age, at `as_of`, of the people alive with that first name
// (and sex), i.e. the INSEE births curve of the name weighted by survival from birth to as_of.
//
// Survival table: number of survivors at exact age x out of 100,000 births, by sex, rounded
// from INSEE's French life tables (Tables de mortalité, France, 2019-2021, "l(x)" column). It is
// a period table applied to every cohort, a deliberate simplification: older cohorts had lower
// survival, so very old ages are slightly overweighted. Linear interpolation between ages.
import { rows, run, type Duck } from './duck.ts';

const AGES = [0, 10, 20, 30, 40, 50, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110];
const SURVIVORS_MALE = [100000, 99500, 99250, 98700, 97800, 95700, 90700, 86600, 81300, 74000, 63300, 47600, 27500, 10000, 1900, 150, 0];
const SURVIVORS_FEMALE = [100000, 99600, 99450, 99200, 98700, 97500, 94800, 92700, 89800, 85600, 78800, 66600, 46600, 21500, 5000, 500, 0];

/** Probability of being alive at `age` for sex 1 (male) or 2 (female). */
export function survival(age: number, sex: 1 | 2): number {
  const table = sex === 1 ? SURVIVORS_MALE : SURVIVORS_FEMALE;
  if (age <= 0) return 1;
  if (age >= AGES[AGES.length - 1]) return 0;
  let k = 0;
  while (AGES[k + 1] < age) k++;
  const t = (age - AGES[k]) / (AGES[k + 1] - AGES[k]);
  return (table[k] + t * (table[k + 1] - table[k])) / 100000;
}

/**
 * SQL: the key a first name is matched by, upper case, without its accents, its hyphens and spaces
 * one hyphen (`Hélène`, `HELENE` -> `HELENE`; `Jean Pierre`, `JEAN-PIERRE` -> `JEAN-PIERRE`). INSEE
 * lists each spelling apart, and the rare ones are recent births: HÉLÈNE 281,580 births around 1946
 * on average, HELENE 237 around 2012; ANDRÉ 1931, ANDRE 2008 (BENCHMARKS.md, session 36). A customer
 * file that writes names without accents (an upper-case legacy system, a web form) then gave its
 * Hélènes and Andrés the age of children. Matched by key, a name's births are those of all its
 * spellings, as a person is.
 */
export function nameKeySql(c: string): string {
  return `nullif(trim(regexp_replace(strip_accents(upper(${c})), '[\\s-]+', '-', 'g'), '-'), '')`;
}

/** A first name's key, as nameKeySql makes it (for looking up births outside DuckDB). */
export function nameKey(name: string): string {
  return name.toUpperCase().normalize('NFD').replace(/\p{Mn}/gu, '').replace(/[\s-]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * Creates table `name_ages(first_name, sex, age)` from the births table
 * `births(sexe INTEGER, preusuel VARCHAR, annais INTEGER, nombre DOUBLE)`: one row per
 * (name key, sex) and one per name key with sex NULL (both sexes pooled), each name's spellings
 * pooled (nameKeySql); customers are joined on their first name's key.
 */
export async function buildNameAges(conn: Duck, asOfYear: number): Promise<void> {
  // The sums run in a set order (ORDER BY): a sum of doubles otherwise moves in its last digits
  // with the order the threads add them in, and the same base would give other ages.
  const values: string[] = [];
  for (let age = 0; age <= 110; age++) values.push(`(${age}, ${survival(age, 1)}, ${survival(age, 2)})`);
  await run(conn, `CREATE OR REPLACE TABLE survival(age INTEGER, male DOUBLE, female DOUBLE)`);
  await run(conn, `INSERT INTO survival VALUES ${values.join(', ')}`);
  await run(
    conn,
    `CREATE OR REPLACE TABLE name_ages AS
     WITH n AS (
       -- A name's spellings' births of one year and sex, summed as decimals (exact in any order).
       SELECT first_name, sexe, annais, CAST(sum(CAST(nombre AS DECIMAL(38, 6))) AS DOUBLE) AS nombre
       FROM (SELECT ${nameKeySql('preusuel')} AS first_name, sexe, annais, nombre FROM births)
       WHERE first_name IS NOT NULL GROUP BY first_name, sexe, annais
     ), w AS (
       SELECT n.first_name, n.sexe, ${asOfYear} - n.annais AS age,
              n.nombre * CASE WHEN n.sexe = 1 THEN s.male ELSE s.female END AS alive
       FROM n JOIN survival s ON s.age = ${asOfYear} - n.annais
     )
     SELECT first_name, CASE sexe WHEN 1 THEN 'M' ELSE 'F' END AS sex, sum(alive * age ORDER BY age) / sum(alive ORDER BY age) AS age
       FROM w GROUP BY first_name, sexe HAVING sum(alive) > 0
     UNION ALL
     SELECT first_name, NULL AS sex, sum(alive * age ORDER BY age, sexe) / sum(alive ORDER BY age, sexe) AS age
       FROM w GROUP BY first_name HAVING sum(alive) > 0`,
  );
}

/** Titles a CRM writes before a first name (`Mme Marie`, `M. Jean`), as the key writes them. */
const TITLES = ['MME', 'MLLE', 'MADAME', 'MADEMOISELLE', 'MONSIEUR', 'MR', 'M', 'DR', 'MRS', 'MS', 'MISS'];

/**
 * The keys a customer's first name is looked up by, in order (buildCustomerNameAges, the same rule
 * in SQL): its key, without a title written before it, that one's first part.
 */
export function nameKeys(name: string): string[] {
  const key = nameKey(name);
  const bare = key.replace(new RegExp(`^(${TITLES.join('|')})\\.?-`), '');
  return [...new Set([key, bare, bare.split('-')[0]])];
}

/**
 * Creates `customer_name_ages(first_name, sex, age)`: per first name and sex of the customers, the
 * expected age of the name: its key's, else without a title written before it (`Mme Marie`), else
 * its first part's (`Jean P.`, `Marie Dupont` as JEAN, MARIE); NULL where the births file holds
 * none of them. The keys are made once a distinct name (a million customers hold a few thousand),
 * not once a customer.
 */
export async function buildCustomerNameAges(conn: Duck): Promise<void> {
  const untitled = `regexp_replace(key, '^(${TITLES.join('|')})\\.?-', '')`;
  const join = (alias: string, on: string) => `LEFT JOIN name_ages ${alias} ON ${alias}.first_name = ${on} AND ${alias}.sex IS NOT DISTINCT FROM k.sex`;
  await run(
    conn,
    `CREATE OR REPLACE TABLE customer_name_ages AS
     WITH d AS (SELECT first_name, sex, ${nameKeySql('first_name')} AS key FROM (SELECT DISTINCT first_name, sex FROM customers_clean WHERE first_name IS NOT NULL)),
     k AS (SELECT *, ${untitled} AS bare FROM d)
     SELECT k.first_name, k.sex, coalesce(n1.age, n2.age, n3.age) AS age FROM k
     ${join('n1', 'k.key')}
     ${join('n2', 'k.bare')}
     ${join('n3', "split_part(k.bare, '-', 1)")}`,
  );
}

/** SQL: the join of customer_name_ages (as `na`, its `age`) to the customers' table aliased `c`. */
export const JOIN_NAME_AGES = 'LEFT JOIN customer_name_ages na ON na.first_name = c.first_name AND na.sex IS NOT DISTINCT FROM c.sex';

/** How many first names are named among those the births file does not hold. */
export const UNMATCHED_NAMED = 10;

/** Customers whose first name (nor without a title, nor by its first part) the births file holds for their sex: how many, how many without an age for it, the most frequent names. */
export interface UnmatchedNames {
  file: string;
  rows: number;
  /** Of them, those with no birth year either: their age is missing. */
  withoutAge: number;
  values: { value: string; rows: number }[];
}

/**
 * The customers' first names the births file does not hold (buildCustomerNameAges): a title
 * written with the name other than before it, an initial alone, a name abroad; those without a birth year (none,
 * or after `asOfYear`) have no age. None when every name is found.
 */
export async function unmatchedNames(conn: Duck, asOfYear: number): Promise<UnmatchedNames | undefined> {
  const found = (await rows(
    conn,
    `SELECT c.first_name AS value, count(*) AS n, count(*) FILTER (WHERE c.birth_year IS NULL OR c.birth_year > ${asOfYear}) AS without_age
     FROM customers_clean c ${JOIN_NAME_AGES}
     WHERE c.first_name IS NOT NULL AND na.age IS NULL
     GROUP BY c.first_name`,
  )) as { value: string; n: bigint; without_age: bigint }[];
  if (!found.length) return undefined;
  const byCount = found.map((f) => ({ value: f.value, rows: Number(f.n) })).sort((a, b) => b.rows - a.rows || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return {
    file: 'customers',
    rows: byCount.reduce((t, f) => t + f.rows, 0),
    withoutAge: found.reduce((t, f) => t + Number(f.without_age), 0),
    values: byCount.slice(0, UNMATCHED_NAMED),
  };
}

/** The first names not found, in words. */
export function describeUnmatchedNames(u: UnmatchedNames, lang: 'en' | 'fr' = 'en'): string {
  const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
  const n = (x: number) => x.toLocaleString(locale);
  const names = u.values.map((v) => (lang === 'fr' ? `« ${v.value} » (${n(v.rows)})` : `"${v.value}" (${n(v.rows)})`)).join(', ');
  return lang === 'fr'
    ? `${n(u.rows)} client(s) dont le prénom ne figure pas dans le fichier des naissances pour leur sexe (ni sans civilité, ni par son premier prénom), dont ${n(u.withoutAge)} sans année de naissance, dont l’âge reste inconnu ; les plus fréquents : ${names}`
    : `${n(u.rows)} customer(s) whose first name the births file does not hold for their sex (nor without a title, nor by its first part), ${n(u.withoutAge)} of them without a birth year, whose age stays missing; the most frequent: ${names}`;
}

/**
 * Birth years written with two digits (read as years: 72 as 1972) that look like ages: among the
 * customers who have one and whose first name gives an age, the age read from the year falls as
 * the name's rises (a column of ages mapped as birth_year reads 72 as 1972, a customer of 54).
 */
export interface TwoDigitBirthYears {
  file: string;
  /** Customers whose two-digit birth year was read. */
  rows: number;
  /** Of them, those whose first name gives an age: the correlation is over them. */
  named: number;
  /** Pearson's correlation between the age read from the birth year and the first name's. */
  correlation: number;
}

/** At least this many customers with both ages, and the correlation this far below 0 (t-statistic), for the birth years to look like ages. */
const TWO_DIGIT_MIN_NAMED = 30;
const TWO_DIGIT_MAX_T = -3;

/**
 * The two-digit birth years of the base (cleanCustomers' table `table`) when they look like ages:
 * the age read from them correlated negatively with the first name's age (customer_name_ages), by
 * more than chance allows (t under -3, over 30 customers or more); undefined otherwise.
 */
export async function twoDigitBirthYearCheck(conn: Duck, table: string, asOfYear: number): Promise<TwoDigitBirthYears | undefined> {
  const [exists] = (await rows(conn, `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = '${table}'`)) as { n: bigint }[];
  if (!Number(exists.n)) return undefined;
  const [r] = (await rows(
    conn,
    `SELECT count(DISTINCT t.customer_id) AS customers, count(na.age) AS named, corr(${asOfYear} - c.birth_year, na.age) AS r
     FROM ${table} t JOIN customers_clean c ON c.customer_id = t.customer_id ${JOIN_NAME_AGES}
     WHERE c.birth_year IS NOT NULL`,
  )) as { customers: bigint; named: bigint; r: number | null }[];
  const named = Number(r.named);
  if (named < TWO_DIGIT_MIN_NAMED || r.r === null || !Number.isFinite(r.r) || r.r >= 0) return undefined;
  const t = (r.r * Math.sqrt(named - 2)) / Math.sqrt(Math.max(1e-12, 1 - r.r * r.r));
  if (t > TWO_DIGIT_MAX_T) return undefined;
  return { file: 'customers', rows: Number(r.customers), named, correlation: Math.round(r.r * 1000) / 1000 };
}

/** Two-digit birth years that look like ages, in words. */
export function describeTwoDigitBirthYears(c: TwoDigitBirthYears, lang: 'en' | 'fr' = 'en'): string {
  const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
  const n = (x: number) => x.toLocaleString(locale);
  const r = c.correlation.toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return lang === 'fr'
    ? `${n(c.rows)} année(s) de naissance écrites sur deux chiffres ont été lues comme des années (72 pour 1972), mais elles ressemblent à des âges : chez les ${n(c.named)} de ces clients dont le prénom donne un âge, plus le prénom est âgé, plus la valeur est petite (corrélation ${r} entre l’âge lu et celui du prénom). Si la colonne donne des âges, nommez-la autrement (client_age, dans le fichier ou le fichier des colonnes) : elle sera lue comme une colonne du client, non comme birth_year, et l’âge viendra du prénom`
    : `${n(c.rows)} birth year(s) written with two digits were read as years (72 as 1972), but they look like ages: among the ${n(c.named)} of these customers whose first name gives an age, the older the name, the smaller the value (correlation ${r} between the age read and the name's). If the column holds ages, name it otherwise (client_age, in the file or the column file): it is then read as a client column, not as birth_year, and the age comes from the first name`;
}

