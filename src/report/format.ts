// Number formatting for the report, French or English conventions (Intl): counts, percentages,
// euros and feature values in their unit. One formatter set per language, built once.
import type { Lang, Unit } from './labels.ts';

export interface Formatters {
  count(v: number): string;
  /** A share in [0, 1] as a percentage, one decimal. */
  pct(v: number | null, digits?: number): string;
  eur(v: number): string;
  decimal(v: number | null, digits?: number): string;
  /** A feature value in its unit (shares as percentages, euros, years...). */
  value(v: number, unit: Unit): string;
  /** "label: value", with the space French puts before the colon ("motif : 12"). */
  labelled(label: string, value: string): string;
}

const LOCALE: Record<Lang, string> = { fr: 'fr-FR', en: 'en-GB' };
const cache = new Map<Lang, Formatters>();

export function formatters(lang: Lang): Formatters {
  const hit = cache.get(lang);
  if (hit) return hit;
  const loc = LOCALE[lang];
  const int = new Intl.NumberFormat(loc, { maximumFractionDigits: 0 });
  const eur = new Intl.NumberFormat(loc, { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 });
  const decimals = new Map<number, Intl.NumberFormat>();
  const dec = (digits: number) => {
    let nf = decimals.get(digits);
    if (!nf) decimals.set(digits, (nf = new Intl.NumberFormat(loc, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
    return nf;
  };
  const pctSign = lang === 'fr' ? '\u202f%' : '%';
  const fmt: Formatters = {
    count: (v) => int.format(v),
    pct: (v, digits = 1) => (v === null || !Number.isFinite(v) ? '–' : `${dec(digits).format(100 * v)}${pctSign}`),
    eur: (v) => eur.format(v),
    decimal: (v, digits = 2) => (v === null || !Number.isFinite(v) ? '–' : dec(digits).format(v)),
    value: (v, unit) => {
      switch (unit) {
        case 'pct':
          return fmt.pct(v, 0);
        case 'eur':
          return fmt.eur(v);
        case 'years':
          return lang === 'fr' ? `${int.format(v)} ans` : `${int.format(v)} years`;
        case 'days':
          return lang === 'fr' ? `${int.format(v)} jours` : `${int.format(v)} days`;
        case 'people':
          return int.format(v);
        case 'count':
          return dec(1).format(v);
        case 'ratio':
          return dec(2).format(v);
      }
    },
    labelled: (label, value) => (lang === 'fr' ? `${label} : ${value}` : `${label}: ${value}`),
  };
  cache.set(lang, fmt);
  return fmt;
}
