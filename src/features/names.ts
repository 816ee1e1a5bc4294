// Age from a first name: the expected age, at `as_of`, of the people alive with that first name
// (and sex), i.e. the INSEE births curve of the name weighted by survival from birth to as_of.
//
// Survival table: number of survivors at exact age x out of 100,000 births, by sex, rounded
// from INSEE's French life tables (Tables de mortalité, France, 2019-2021, "l(x)" column). It is
// a period table applied to every cohort, a deliberate simplification: older cohorts had lower
// survival, so very old ages are slightly overweighted. Linear interpolation between ages.
import { run, type Duck } from './duck.ts';

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
 * Creates table `name_ages(first_name, sex, age)` from the births table
 * `births(sexe INTEGER, preusuel VARCHAR, annais INTEGER, nombre DOUBLE)`: one row per
 * (name, sex) and one per name with sex NULL (both sexes pooled).
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
     WITH w AS (
       SELECT b.preusuel AS first_name, b.sexe AS sexe, ${asOfYear} - b.annais AS age,
              b.nombre * CASE WHEN b.sexe = 1 THEN s.male ELSE s.female END AS alive
       FROM births b JOIN survival s ON s.age = ${asOfYear} - b.annais
     )
     SELECT first_name, CASE sexe WHEN 1 THEN 'M' ELSE 'F' END AS sex, sum(alive * age ORDER BY age) / sum(alive ORDER BY age) AS age
       FROM w GROUP BY first_name, sexe HAVING sum(alive) > 0
     UNION ALL
     SELECT first_name, NULL AS sex, sum(alive * age ORDER BY age, sexe) / sum(alive ORDER BY age, sexe) AS age
       FROM w GROUP BY first_name HAVING sum(alive) > 0`,
  );
}
