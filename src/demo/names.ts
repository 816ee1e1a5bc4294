// First names of the demo base with the decade they peaked in, and their births curves in the
// INSEE national file format. A customer's name is drawn from the births of their birth year,
// so, as in a real base, the name carries the age.

export interface DemoName {
  name: string;
  /** INSEE code: 1 male, 2 female. */
  sex: 1 | 2;
  peak: number;
  /** Width of the births curve, in years. */
  width: number;
  /** Births at the peak year. */
  height: number;
}

const F: [string, number][] = [
  ['JACQUELINE', 1938], ['MONIQUE', 1948], ['FRANÇOISE', 1951], ['MARTINE', 1955], ['SYLVIE', 1964],
  ['NATHALIE', 1968], ['ISABELLE', 1966], ['SANDRINE', 1972], ['CÉLINE', 1979], ['AURÉLIE', 1983],
  ['JULIE', 1986], ['CAMILLE', 1995], ['MANON', 1996], ['LÉA', 2001], ['CHLOÉ', 2002], ['EMMA', 2009],
  ['JADE', 2014], ['LOUISE', 2018], ['MARIE', 1960],
];
const M: [string, number][] = [
  ['ANDRÉ', 1934], ['JEAN', 1945], ['MICHEL', 1950], ['BERNARD', 1948], ['PATRICK', 1958],
  ['PHILIPPE', 1961], ['CHRISTOPHE', 1970], ['STÉPHANE', 1971], ['SÉBASTIEN', 1977], ['NICOLAS', 1981],
  ['JULIEN', 1984], ['THOMAS', 1989], ['KEVIN', 1991], ['LUCAS', 2003], ['HUGO', 2006], ['LÉO', 2012],
  ['RAPHAËL', 2016], ['GABRIEL', 2017],
];

export const DEMO_NAMES: DemoName[] = [
  ...F.map(([name, peak], i) => ({ name, sex: 2 as const, peak, width: name === 'MARIE' ? 30 : 9 + (i % 3), height: 9000 + 700 * (i % 5) })),
  ...M.map(([name, peak], i) => ({ name, sex: 1 as const, peak, width: 9 + (i % 3), height: 9000 + 700 * (i % 5) })),
];

export const FIRST_YEAR = 1920;
export const LAST_YEAR = 2022;

/** Births of a name in a year. */
export function births(n: DemoName, year: number): number {
  const z = (year - n.peak) / n.width;
  return Math.round(n.height * Math.exp(-z * z));
}

/** "MONIQUE" -> "Monique", "LÉA" -> "Léa": client bases rarely write names in capitals. */
export function titleCase(name: string): string {
  return name.charAt(0) + name.slice(1).toLowerCase();
}
