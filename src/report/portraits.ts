// Persona portraits: how the customers assigned to a persona differ from the whole base, per
// feature, as an index (persona average / base average x 100), and the few features that set
// them most apart phrased for a consultant ("62% more web purchases than the average customer").
// The statistics (`PortraitStats`) are computed once from the feature table and the assignment;
// they are small and serialisable, so a report can also be built from stored statistics.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { categoricalColumn, type FeatureTable } from '../features/table.ts';
import { formatters } from './format.ts';
import { featureWords, PORTRAIT_EXCLUDED, type Lang, type Theme, type Unit } from './labels.ts';

export const PortraitStatsSchema = z.object({
  customers: z.number().int(),
  features: z.array(z.object({ name: z.string(), baseMean: z.number(), baseSd: z.number(), baseMissing: z.number() })),
  personas: z.array(
    z.object({
      persona: z.string(),
      members: z.number().int(),
      /** Mean of each feature (order of `features`) among the members; null when all are missing. */
      means: z.array(z.number().nullable()),
      /** Share of members with the feature missing. */
      missing: z.array(z.number()),
    }),
  ),
});
export type PortraitStats = z.infer<typeof PortraitStatsSchema>;

/** A feature absent for more than this share of the base, or of the persona, is left out. */
export const MAX_MISSING = 0.5;
/** Below this standardised difference a feature is not said to set a persona apart. */
export const MIN_EFFECT = 0.2;

export interface PortraitItem {
  feature: string;
  label: string;
  theme: Theme;
  unit: Unit;
  personaMean: number;
  baseMean: number;
  /** Persona average / base average x 100; null when the base average is not positive. */
  index: number | null;
  /** (persona mean - base mean) / base standard deviation. */
  effect: number;
  sentence: string;
}

export interface Portrait {
  persona: string;
  members: number;
  /** The most telling features, at most `top`, at most two per theme, strongest first. */
  highlights: PortraitItem[];
  /** Every usable feature, strongest first. */
  all: PortraitItem[];
}

/** Persona id of each customer of assignments.csv (null when unassigned). */
export function readAssignedPersonas(path: string): Map<string, string | null> {
  const text = readFileSync(path, 'utf8');
  const out = new Map<string, string | null>();
  let pos = text.indexOf('\n') + 1;
  while (pos < text.length) {
    const [id, next] = csvField(text, pos);
    const [persona, after] = csvField(text, next);
    const eol = text.indexOf('\n', after - 1);
    pos = eol < 0 ? text.length : eol + 1;
    if (id) out.set(id, persona || null);
  }
  return out;
}

/** One CSV field starting at `pos`: its value and the position after its delimiter. */
function csvField(text: string, pos: number): [string, number] {
  if (text[pos] === '"') {
    let value = '';
    let i = pos + 1;
    while (i < text.length) {
      const q = text.indexOf('"', i);
      if (q < 0) return [value + text.slice(i), text.length];
      value += text.slice(i, q);
      if (text[q + 1] === '"') {
        value += '"';
        i = q + 2;
      } else return [value, q + 2];
    }
    return [value, text.length];
  }
  let end = pos;
  while (end < text.length && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
  return [text.slice(pos, end), end + 1];
}

/** Per-feature means of the base and of each persona's members. */
export function computePortraitStats(table: FeatureTable, personaOf: (id: string) => string | null | undefined, personaIds: string[]): PortraitStats {
  const n = table.rows;
  const columns: { name: string; values: ArrayLike<number> }[] = table.numericNames
    .map((name, j) => ({ name, values: table.numeric[j] as ArrayLike<number> }))
    .filter((c) => !PORTRAIT_EXCLUDED.has(c.name));
  const sex = categoricalColumn(table, 'sex');
  if (sex) columns.push({ name: 'women', values: Float64Array.from(sex, (s) => (s === 'F' ? 1 : s === 'M' ? 0 : NaN)) });
  const slot = new Int32Array(n).fill(-1);
  const index = new Map(personaIds.map((id, k) => [id, k]));
  for (let i = 0; i < n; i++) {
    const p = personaOf(table.ids[i]);
    if (p) slot[i] = index.get(p) ?? -1;
  }
  const members = new Array<number>(personaIds.length).fill(0);
  for (let i = 0; i < n; i++) if (slot[i] >= 0) members[slot[i]]++;
  const means = personaIds.map(() => [] as (number | null)[]);
  const missing = personaIds.map(() => [] as number[]);
  const features: PortraitStats['features'] = [];
  for (const c of columns) {
    const sum = new Float64Array(personaIds.length);
    const present = new Float64Array(personaIds.length);
    let s = 0;
    let s2 = 0;
    let m = 0;
    // Sums per persona and over the base in one pass; NaN = missing, skipped.
    for (let i = 0; i < n; i++) {
      const v = c.values[i];
      if (Number.isNaN(v)) continue;
      s += v;
      s2 += v * v;
      m++;
      if (slot[i] >= 0) {
        sum[slot[i]] += v;
        present[slot[i]]++;
      }
    }
    const mean = m ? s / m : NaN;
    features.push({ name: c.name, baseMean: m ? mean : 0, baseSd: m > 1 ? Math.sqrt(Math.max(0, (s2 - m * mean * mean) / (m - 1))) : 0, baseMissing: n ? 1 - m / n : 1 });
    personaIds.forEach((_, k) => {
      means[k].push(present[k] ? sum[k] / present[k] : null);
      missing[k].push(members[k] ? 1 - present[k] / members[k] : 1);
    });
  }
  return {
    customers: n,
    features,
    personas: personaIds.map((persona, k) => ({ persona, members: members[k], means: means[k], missing: missing[k] })),
  };
}

/** The portrait of one persona from the statistics, phrased in `lang`. */
export function describePersona(stats: PortraitStats, persona: string, lang: Lang, top = 6): Portrait {
  const p = stats.personas.find((x) => x.persona === persona);
  if (!p || p.members === 0) return { persona, members: p?.members ?? 0, highlights: [], all: [] };
  const all: PortraitItem[] = [];
  stats.features.forEach((feat, j) => {
    const personaMean = p.means[j];
    if (personaMean === null || feat.baseMissing > MAX_MISSING || p.missing[j] > MAX_MISSING || !(feat.baseSd > 0)) return;
    const words = featureWords(feat.name);
    const index = feat.baseMean > 0 ? (100 * personaMean) / feat.baseMean : null;
    const effect = (personaMean - feat.baseMean) / feat.baseSd;
    all.push({
      feature: feat.name,
      label: words.label[lang],
      theme: words.theme,
      unit: words.unit,
      personaMean,
      baseMean: feat.baseMean,
      index,
      effect,
      sentence: phrase(feat.name, personaMean, feat.baseMean, lang),
    });
  });
  // Strongest standardised difference first, weighted down where values are often missing.
  const weight = (x: PortraitItem) => Math.abs(x.effect) * Math.sqrt(1 - (p.missing[stats.features.findIndex((f) => f.name === x.feature)] ?? 0));
  all.sort((a, b) => weight(b) - weight(a) || a.feature.localeCompare(b.feature));
  const perTheme = new Map<Theme, number>();
  const highlights: PortraitItem[] = [];
  for (const item of all) {
    if (highlights.length >= top || Math.abs(item.effect) < MIN_EFFECT) break;
    const used = perTheme.get(item.theme) ?? 0;
    if (used >= 2) continue;
    perTheme.set(item.theme, used + 1);
    highlights.push(item);
  }
  return { persona, members: p.members, highlights, all };
}

/** A consultant's sentence comparing the persona's average with the base's. */
export function phrase(feature: string, personaMean: number, baseMean: number, lang: Lang): string {
  const words = featureWords(feature);
  const fmt = formatters(lang);
  const values = lang === 'fr' ? `(${fmt.value(personaMean, words.unit)} contre ${fmt.value(baseMean, words.unit)})` : `(${fmt.value(personaMean, words.unit)} vs ${fmt.value(baseMean, words.unit)})`;
  const avg = lang === 'fr' ? 'le client moyen' : 'the average customer';
  if (words.unit === 'years') {
    const years = Math.round(Math.abs(personaMean - baseMean));
    if (years === 0) return lang === 'fr' ? `Même âge que ${avg} ${values}` : `The same age as ${avg} ${values}`;
    const unit = lang === 'fr' ? (years > 1 ? 'ans' : 'an') : years > 1 ? 'years' : 'year';
    if (lang === 'fr') return `${years} ${unit} de ${personaMean > baseMean ? 'plus' : 'moins'} que ${avg} ${values}`;
    return `${years} ${unit} ${personaMean > baseMean ? 'older' : 'younger'} than ${avg} ${values}`;
  }
  const ratio = baseMean > 0 ? personaMean / baseMean : NaN;
  const label = words.label[lang];
  if (!Number.isFinite(ratio)) {
    return lang === 'fr' ? `${label} : ${fmt.value(personaMean, words.unit)} contre ${fmt.value(baseMean, words.unit)} pour ${avg}` : `${label}: ${fmt.value(personaMean, words.unit)} vs ${fmt.value(baseMean, words.unit)} for ${avg}`;
  }
  if (ratio >= 2) {
    const times = fmt.decimal(ratio, 1);
    if (lang === 'fr') return words.noun ? `${times} fois plus ${words.noun.fr} que ${avg} ${values}` : `${label} : ${times} fois la valeur du client moyen ${values}`;
    return words.noun ? `${times} times as ${words.noun.countable ? 'many' : 'much'} ${words.noun.en} as ${avg} ${values}` : `${label} ${times} times that of ${avg} ${values}`;
  }
  const pct = Math.round(Math.abs(ratio - 1) * 100);
  const up = ratio >= 1;
  if (pct === 0) return lang === 'fr' ? `${label} : comme ${avg} ${values}` : `${label} as for ${avg} ${values}`;
  if (lang === 'fr') {
    const p = `${pct}\u202f%`;
    return words.noun ? `${p} ${words.noun.fr} de ${up ? 'plus' : 'moins'} que ${avg} ${values}` : `${label} : ${p} de ${up ? 'plus' : 'moins'} que ${avg} ${values}`;
  }
  if (words.noun) return `${pct}% ${up ? 'more' : words.noun.countable ? 'fewer' : 'less'} ${words.noun.en} than ${avg} ${values}`;
  return `${label} ${pct}% ${up ? 'higher' : 'lower'} than for ${avg} ${values}`;
}
