// Known customers as seeds (`personas run --known FILE --learn-from-known`): a consultant's
// interviewees, a survey's respondents who picked their portrait, a hand-labelled sample. The
// rules pick seeds that are mostly, not all, the persona, and only those that pass every
// condition; a known member is the persona whatever its rule says, and a member the rule misses
// is the kind of customer the models never see as a positive (BENCHMARKS.md, session 14: the
// seeds' selection is what holds the ranking back).
//
// So each persona's seeds become its rule's seeds, plus its known members, less the customers
// known to be another persona or none. Known members are never left out by seed cleaning (they
// are right by definition) and grow no twins: a twin is a near copy of its seed in another fold,
// and the check against the same known customers (evaluation.json) must stay honest. Their
// labels in the run come, as every training customer's, from the fold models that did not learn
// from them (train.ts), so a check against them measures what a check against others would.
import { idKey } from './evaluate.ts';
import type { KnownSeedCounts, PersonaSeeds } from './seeds.ts';

export interface KnownSeeding {
  /** The seeds, in the order given; a persona's `known` says what its known customers did. */
  seeds: PersonaSeeds[];
  /** Known customers found in the base (as written, or written alike: idKey), and those not found. */
  matched: number;
  notFound: number;
  /** The first ten ids not found, as written in the file. */
  notFoundIds: string[];
  /** 1 for every known customer found in the base, of any persona or none: no one's twin. */
  knownMask: Uint8Array;
}

/**
 * The seeds with the known customers taken in. `known`: customer id -> persona id (null: known to
 * be none), as knownPersonas reads the file; `minSeeds`: each persona's min_seeds (a persona the
 * rule gave too few seeds is trained once its known members make up the difference, and one whose
 * seeds the known customers take below it is skipped with the reason).
 */
export function withKnownSeeds(seeds: readonly PersonaSeeds[], ids: readonly string[], known: ReadonlyMap<string, string | null>, minSeeds: readonly number[]): KnownSeeding {
  const rows = ids.length;
  const exact = new Map<string, number>();
  ids.forEach((id, i) => exact.set(id, i));
  // An id written otherwise (leading zeros lost, another case) is matched when it names one customer only.
  let byKey: Map<string, number> | null = null;
  const rowOf = (id: string): number | undefined => {
    const i = exact.get(id);
    if (i !== undefined) return i;
    if (!byKey) {
      byKey = new Map();
      for (const [k, v] of ids.entries()) {
        const key = idKey(v);
        byKey.set(key, byKey.has(key) ? -1 : k);
      }
    }
    const k = byKey.get(idKey(id));
    return k === undefined || k < 0 ? undefined : k;
  };
  const index = new Map(seeds.map((s, k) => [s.id, k]));
  // Per customer: -1 not known, -2 known none (or of a persona not among the seeds), else the persona's index.
  const label = new Int16Array(rows).fill(-1);
  const knownMask = new Uint8Array(rows);
  let matched = 0;
  let notFound = 0;
  const notFoundIds: string[] = [];
  for (const [id, persona] of known) {
    const i = rowOf(id);
    if (i === undefined) {
      if (notFound < 10) notFoundIds.push(id);
      notFound++;
      continue;
    }
    if (knownMask[i]) continue; // two ids written alike for one customer: the first kept
    matched++;
    knownMask[i] = 1;
    label[i] = persona === null ? -2 : (index.get(persona) ?? -2);
  }
  const out = seeds.map((s, k): PersonaSeeds => {
    const mask = new Uint8Array(rows);
    const memberMask = new Uint8Array(rows);
    const addedMask = new Uint8Array(rows);
    const counts: KnownSeedCounts = { members: 0, added: 0, removed: 0 };
    let total = 0;
    for (let i = 0; i < rows; i++) {
      const l = label[i];
      if (l === k) {
        memberMask[i] = 1;
        counts.members++;
        if (!s.mask[i]) {
          addedMask[i] = 1;
          counts.added++;
        }
        mask[i] = 1;
      } else if (l !== -1 && s.mask[i]) {
        counts.removed++;
      } else {
        mask[i] = s.mask[i];
      }
      total += mask[i];
    }
    const min = minSeeds[k];
    const tooFew = total < min;
    return {
      ...s,
      mask,
      seeds: total,
      known: { ...counts, memberMask, addedMask },
      status: tooFew ? 'skipped' : 'ok',
      reason: tooFew
        ? `${total} seed customers (the rule's ${s.seeds}${counts.added ? `, ${counts.added} known members added` : ''}${counts.removed ? `, ${counts.removed} known to be another persona or none taken out` : ''}), below min_seeds ${min}: loosen the key drivers, lower min_seeds or add known members`
        : undefined,
    };
  });
  return { seeds: out, matched, notFound, notFoundIds, knownMask };
}

/** The seeds a persona's twins grow from: its seeds less the known members the rule had not picked (see the file's head). */
export function twinSeedMask(s: Pick<PersonaSeeds, 'mask' | 'known'>): Uint8Array {
  const added = s.known?.addedMask;
  return added ? Uint8Array.from(s.mask, (v, i) => v & (added[i] ^ 1)) : s.mask;
}

/** One line per persona the known customers changed, for a run's log. */
export function knownSeedLine(s: PersonaSeeds): string | null {
  const k = s.known;
  if (!k || (!k.members && !k.removed)) return null;
  return `${s.id}: ${k.members} known members among the seeds (${k.added} the rule had not picked)${k.removed ? `, ${k.removed} of the rule's seeds known to be another persona or none taken out` : ''}: ${s.seeds} seeds`;
}
