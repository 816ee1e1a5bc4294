// Seed customers per persona: each persona's key-driver rule evaluated on the feature table.
// Overlap policy ("exclusive"): a customer matched by several personas' rules is ambiguous, so it
// is a seed of none of them; it is counted per pair of personas and reported. A persona with
// fewer seeds than its min_seeds is skipped with the reason, and the others go on.
import type { FeatureTable } from '../../features/table.ts';
import type { PersonaFile } from './file.ts';
import { describeAbsentValues, evaluateRule, type AbsentValue, type ResolvedThreshold } from './rules.ts';

export const OVERLAP_POLICY =
  'exclusive: a customer matched by the rules of several personas is a seed of none of them (counted in seedOverlaps)';

/** What the known customers did to one persona's seeds (known-seeds.ts; metrics.json `knownSeeds`). */
export interface KnownSeedCounts {
  /** Known members of the persona in the base: every one of them is a seed. */
  members: number;
  /** Of them, customers the rule had not made seeds (it missed them, or another rule matched them too). */
  added: number;
  /** The rule's seeds known to be another persona or none, taken out. */
  removed: number;
}

export interface PersonaSeeds {
  id: string;
  /** Customers the rule picks, before the overlap policy. */
  ruleMatches: number;
  /** 1 for the persona's seeds after the overlap policy. */
  mask: Uint8Array;
  seeds: number;
  /** Customers this persona's rule shares with each other persona's rule. */
  overlaps: Record<string, number>;
  thresholds: ResolvedThreshold[];
  /** Features the rule reads. */
  ruleFeatures: string[];
  /** Values the rule names that no customer holds (rules.ts AbsentValue); absent when none. */
  absentValues?: AbsentValue[];
  status: 'ok' | 'skipped';
  reason?: string;
  /**
   * With known customers taken in as seeds (known-seeds.ts): what they did to the seeds, the
   * known members (never left out by seed cleaning) and those of them the rule had not picked
   * (no twins grown from them).
   */
  known?: KnownSeedCounts & { memberMask: Uint8Array; addedMask: Uint8Array };
}

/** The warning to print of a persona trained all the same whose rule names values no customer holds (a skipped persona's reason says them). */
export function absentValuesWarning(s: PersonaSeeds): string | undefined {
  if (s.status !== 'ok' || !s.absentValues?.length) return undefined;
  return `${s.id}: warning: ${describeAbsentValues(s.absentValues)}: a condition on such a value matches no one (negated, everyone); write the values as the base does`;
}

export function selectSeeds(table: FeatureTable, spec: PersonaFile): PersonaSeeds[] {
  const results = spec.personas.map((p, i) => ({ persona: p, rule: evaluateRule(p.key_drivers, table, `personas[${i}].key_drivers`) }));
  const hits = new Uint8Array(table.rows);
  for (const r of results) for (let i = 0; i < table.rows; i++) hits[i] += r.rule.mask[i];
  return results.map(({ persona, rule }) => {
    const mask = new Uint8Array(table.rows);
    let seeds = 0;
    let ruleMatches = 0;
    for (let i = 0; i < table.rows; i++) {
      if (!rule.mask[i]) continue;
      ruleMatches++;
      if (hits[i] === 1) {
        mask[i] = 1;
        seeds++;
      }
    }
    const overlaps: Record<string, number> = {};
    for (const other of results) {
      if (other.persona.id === persona.id) continue;
      let shared = 0;
      for (let i = 0; i < table.rows; i++) shared += rule.mask[i] & other.rule.mask[i];
      if (shared) overlaps[other.persona.id] = shared;
    }
    const tooFew = seeds < persona.min_seeds;
    return {
      id: persona.id,
      ruleMatches,
      mask,
      seeds,
      overlaps,
      thresholds: rule.thresholds,
      ruleFeatures: rule.features,
      ...(rule.absentValues.length ? { absentValues: rule.absentValues } : {}),
      status: tooFew ? 'skipped' : 'ok',
      reason: tooFew
        ? `${seeds} seed customers (rule matches ${ruleMatches}${ruleMatches > seeds ? `, ${ruleMatches - seeds} shared with other personas` : ''}), below min_seeds ${persona.min_seeds}: ` +
          (rule.absentValues.length ? `${describeAbsentValues(rule.absentValues)}; write the values as the base does, ` : '') +
          'loosen the key drivers or lower min_seeds'
        : undefined,
    };
  });
}
