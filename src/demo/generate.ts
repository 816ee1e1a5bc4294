// The demo base: a small French retailer whose customers belong to five latent personas (or none),
// written in the formats of CONTRACT.md so the whole product runs on a fresh clone with no input.
// Each customer's attributes come in blocks (age, home, basket, channels, categories, promotion,
// contacts); a block follows the customer's own persona with probability SIGNAL, else the generic
// profile, so that no single feature identifies a persona.
import { Random } from '../random.ts';
import { cellId, cellOf } from '../features/geo.ts';
import { DEMO_NAMES, FIRST_YEAR, LAST_YEAR, births, titleCase } from './names.ts';
import { PLACES, SPREAD_KM, type PlaceKind } from './places.ts';

export const DEMO_AS_OF = '2026-06-30';
export const PERSONA_IDS = ['urban_digital', 'suburban_family', 'affluent_senior', 'bargain_hunter', 'rural_traditional'] as const;
const NONE = PERSONA_IDS.length;
const SIGNAL = 0.85;
const PREVALENCE = [0.13, 0.15, 0.11, 0.14, 0.12, 0.35];

export const CATEGORIES = ['food', 'home', 'kids', 'garden', 'fashion', 'electronics', 'beauty', 'gifts'] as const;
const CATEGORY_EFFECT = [-0.3, 0.2, 0, 0.1, 0.1, 0.6, -0.1, 0.2];
const CHANNELS = ['store', 'web', 'app', 'phone'] as const;
const KINDS: PlaceKind[] = ['city', 'suburb', 'town', 'rural'];

interface Profile {
  age: [number, number];
  kind: number[];
  /** How strongly the persona prefers affluent places (negative: poorer ones). */
  affluence: number;
  purchasesPerYear: number;
  basketEur: number;
  channels: number[];
  categories: number[];
  promo: number;
  weekend: number;
  optin: number;
  openRate: number;
  clickRate: number;
  webPerYear: number;
  appPerYear: number;
  callsPerYear: number;
  complaintsPerYear: number;
}

// urban_digital, suburban_family, affluent_senior, bargain_hunter, rural_traditional, generic
const PROFILES: Profile[] = [
  { age: [30, 5], kind: [0.85, 0.1, 0.05, 0], affluence: 0.3, purchasesPerYear: 18, basketEur: 35, channels: [0.1, 0.45, 0.45, 0], categories: [0.25, 0.05, 0.02, 0, 0.25, 0.2, 0.2, 0.03], promo: 0.1, weekend: 0.3, optin: 0.85, openRate: 0.45, clickRate: 0.4, webPerYear: 40, appPerYear: 60, callsPerYear: 0.2, complaintsPerYear: 0.1 },
  { age: [42, 5], kind: [0.1, 0.65, 0.2, 0.05], affluence: 0.2, purchasesPerYear: 10, basketEur: 110, channels: [0.75, 0.2, 0.05, 0], categories: [0.3, 0.25, 0.3, 0.05, 0.05, 0.03, 0.01, 0.01], promo: 0.2, weekend: 0.65, optin: 0.6, openRate: 0.25, clickRate: 0.15, webPerYear: 8, appPerYear: 4, callsPerYear: 0.5, complaintsPerYear: 0.2 },
  { age: [70, 7], kind: [0.5, 0.4, 0.1, 0], affluence: 1.5, purchasesPerYear: 8, basketEur: 160, channels: [0.7, 0.05, 0, 0.25], categories: [0.3, 0.2, 0, 0.15, 0.1, 0.05, 0.1, 0.1], promo: 0.05, weekend: 0.2, optin: 0.5, openRate: 0.3, clickRate: 0.1, webPerYear: 2, appPerYear: 0, callsPerYear: 3, complaintsPerYear: 0.2 },
  { age: [45, 14], kind: [0.45, 0.35, 0.15, 0.05], affluence: -1.5, purchasesPerYear: 22, basketEur: 28, channels: [0.55, 0.3, 0.15, 0], categories: [0.45, 0.15, 0.1, 0.05, 0.1, 0.05, 0.05, 0.05], promo: 0.7, weekend: 0.3, optin: 0.7, openRate: 0.35, clickRate: 0.3, webPerYear: 20, appPerYear: 10, callsPerYear: 0.5, complaintsPerYear: 0.5 },
  { age: [62, 10], kind: [0, 0.05, 0.25, 0.7], affluence: 0, purchasesPerYear: 6, basketEur: 60, channels: [0.92, 0.03, 0, 0.05], categories: [0.4, 0.15, 0.02, 0.35, 0.03, 0.02, 0.01, 0.02], promo: 0.1, weekend: 0.3, optin: 0.3, openRate: 0.15, clickRate: 0.05, webPerYear: 1, appPerYear: 0, callsPerYear: 1.5, complaintsPerYear: 0.1 },
  { age: [48, 16], kind: [0.35, 0.3, 0.2, 0.15], affluence: 0, purchasesPerYear: 7, basketEur: 55, channels: [0.6, 0.3, 0.08, 0.02], categories: [0.35, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05], promo: 0.2, weekend: 0.3, optin: 0.55, openRate: 0.25, clickRate: 0.15, webPerYear: 6, appPerYear: 3, callsPerYear: 0.5, complaintsPerYear: 0.15 },
];

const BLOCKS = ['age', 'home', 'basket', 'channels', 'categories', 'promo', 'contacts'] as const;
type Block = (typeof BLOCKS)[number];

/** Lines of each output file, produced in order. */
export interface DemoSink {
  customers(line: string): void;
  transactions(line: string): void;
  interactions(line: string): void;
  truth(line: string): void;
}

const DAY = 86400000;
const asOfMs = Date.parse(`${DEMO_AS_OF}T00:00:00Z`);
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface CellInfo {
  id: string;
  kind: PlaceKind;
  affluence: number;
  offGrid: boolean;
}

/** Generates the customers and their events; returns the cells used, for the tiles file. */
export function generateCustomers(n: number, seed: number, sink: DemoSink): Map<string, CellInfo> {
  const rng = new Random(seed);
  const cells = new Map<string, CellInfo>();
  const namesBySex = { 1: DEMO_NAMES.filter((x) => x.sex === 1), 2: DEMO_NAMES.filter((x) => x.sex === 2) };
  sink.customers('customer_id,first_name,sex,birth_year,postcode,lat,lon,signup_date,segment,optin_email');
  sink.transactions('customer_id,ts,amount,channel,category,promo');
  sink.interactions('customer_id,ts,type');
  sink.truth('customer_id,persona');
  // Anchor cells (postcode points) are always inhabited, so postcode-only customers find a tile.
  for (const p of PLACES) {
    const id = cellId(cellOf(p.lat, p.lon));
    cells.set(id, { id, kind: p.kind, affluence: p.affluence, offGrid: false });
  }

  for (let i = 0; i < n; i++) {
    const id = `D${String(i + 1).padStart(6, '0')}`;
    const persona = rng.choice(PREVALENCE);
    const source = {} as Record<Block, Profile>;
    for (const b of BLOCKS) source[b] = PROFILES[persona !== NONE && rng.next() < SIGNAL ? persona : NONE];

    // Identity.
    const age = Math.max(18, Math.min(95, Math.round(rng.normal(...source.age.age))));
    const birthYear = 2026 - age;
    const sex: 1 | 2 = rng.next() < 0.52 ? 2 : 1;
    const names = namesBySex[sex];
    const year = Math.max(FIRST_YEAR, Math.min(LAST_YEAR, birthYear));
    const name = names[rng.choice(names.map((x) => births(x, year) + 1))];
    const firstName = rng.next() < 0.03 ? '' : titleCase(name.name);

    // Home: a place of the preferred kind and affluence, a point around it.
    const home = source.home;
    const placeWeights = PLACES.map((p) => home.kind[KINDS.indexOf(p.kind)] * Math.exp(2 * home.affluence * p.affluence));
    const place = PLACES[rng.choice(placeWeights)];
    const spread = SPREAD_KM[place.kind];
    const lat = place.lat + rng.normal(0, spread) / 111;
    const lon = place.lon + rng.normal(0, spread) / (111 * Math.cos((place.lat * Math.PI) / 180));
    const geocoded = rng.next() > 0.08;
    const cell = cellId(cellOf(lat, lon));
    if (geocoded && !cells.has(cell)) {
      cells.set(cell, { id: cell, kind: place.kind, affluence: place.affluence + rng.normal(0, 0.2), offGrid: rng.next() < 0.03 });
    }

    // Relationship and purchases over 24 months.
    const tenureDays = Math.floor(rng.next() * 3650);
    const signup = asOfMs - tenureDays * DAY;
    const start = Math.max(signup, asOfMs - 730 * DAY + DAY);
    const activity = rng.lognormal(0, 0.35);
    const lapsed = rng.next() < 0.08;
    const end = lapsed ? asOfMs - 380 * DAY : asOfMs;
    const span = Math.max(0, (end - start) / DAY);
    const count = span > 0 ? rng.poisson((source.basket.purchasesPerYear * activity * span) / 365) : 0;
    const mu = Math.log(source.basket.basketEur) + rng.normal(0, 0.25);
    let spend = 0;
    for (let k = 0; k < count; k++) {
      let day = start + Math.floor(rng.next() * span) * DAY;
      const d = new Date(day);
      if (d.getUTCMonth() !== 11 && rng.next() < 0.08) day = Date.UTC(d.getUTCFullYear(), 11, 1 + rng.int(24));
      if (day > end || day < start) day = start + Math.floor(rng.next() * span) * DAY;
      const wd = new Date(day).getUTCDay();
      if (rng.next() < source.basket.weekend) {
        const shift = (6 - wd + 7) % 7;
        if (day + shift * DAY <= end) day += shift * DAY;
      }
      const channel = rng.choice(source.channels.channels);
      const category = rng.choice(source.categories.categories);
      const amount = Math.round(rng.lognormal(mu + CATEGORY_EFFECT[category], 0.45) * 100) / 100;
      const promo = rng.next() < source.promo.promo ? 1 : 0;
      spend += amount;
      sink.transactions(`${id},${isoDay(day)},${amount.toFixed(2)},${CHANNELS[channel]},${CATEGORIES[category]},${promo}`);
      if (rng.next() < 0.03) {
        const back = Math.min(end, day + (3 + rng.int(20)) * DAY);
        sink.transactions(`${id},${isoDay(back)},${(-amount).toFixed(2)},${CHANNELS[channel]},${CATEGORIES[category]},${promo}`);
        spend -= amount;
      }
    }

    // Contacts.
    const c = source.contacts;
    const optin = rng.next() < c.optin ? 1 : 0;
    const contactSpan = (asOfMs - start) / DAY;
    const at = () => {
      const ms = start + Math.floor(rng.next() * contactSpan * DAY);
      return new Date(ms).toISOString().slice(0, 19);
    };
    if (optin) {
      const emails = Math.floor(contactSpan / 15);
      const openRate = Math.min(0.95, Math.max(0, rng.normal(c.openRate, 0.08)));
      for (let k = 0; k < emails; k++) {
        const ts = at();
        sink.interactions(`${id},${ts},email_sent`);
        if (rng.next() < openRate) {
          sink.interactions(`${id},${ts.slice(0, 11)}20:00:00,email_open`);
          if (rng.next() < c.clickRate) sink.interactions(`${id},${ts.slice(0, 11)}20:01:00,email_click`);
        }
      }
    }
    const years = contactSpan / 365;
    for (const [type, perYear] of [
      ['web_visit', c.webPerYear],
      ['app_session', c.appPerYear],
      ['call', c.callsPerYear],
      ['complaint', c.complaintsPerYear],
      ['review', 0.3],
    ] as const) {
      const k = rng.poisson(perYear * years * activity);
      for (let e = 0; e < k; e++) sink.interactions(`${id},${at()},${type}`);
    }

    const segment = rng.next() < 0.03 ? '' : tenureDays < 365 ? 'new' : spend > 1500 ? 'gold' : spend > 500 ? 'silver' : 'bronze';
    const sexText = rng.next() < 0.02 ? '' : sex === 2 ? 'F' : 'M';
    const birthText = rng.next() < 0.35 ? String(birthYear) : '';
    sink.customers(
      [id, firstName, sexText, birthText, place.postcode, geocoded ? lat.toFixed(6) : '', geocoded ? lon.toFixed(6) : '', isoDay(signup), segment, optin].join(','),
    );
    sink.truth(`${id},${persona === NONE ? '' : PERSONA_IDS[persona]}`);
  }
  return cells;
}
