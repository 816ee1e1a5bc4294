// Plain-word warnings where a persona is weak: not trained, few seeds, seeds not distinctive,
// a low validation AUC, a large overlap with another persona, disputed or claimed seeds, key-driver
// conditions that go together outside the persona, a model that rebuilds its key drivers, nobody
// assigned.
import { CLAIMED_SEEDS_LIMIT, dependentViews, personaRelearning, RELEARNING_LIMIT, type PersonaMetrics } from '../models/artefacts.ts';
import { topClaimant } from '../models/personas/seed-cleaning.ts';
import { formatters } from './format.ts';
import type { Lang } from './labels.ts';
import type { Portrait } from './portraits.ts';

export const WARNING_LIMITS = {
  /** Fewer seeds than this: the model learns from few examples. */
  fewSeeds: 100,
  /** Validation AUC below this: the seeds cannot be told from other customers. */
  notDistinctiveAuc: 0.65,
  /** Validation AUC below this: a weak model. */
  lowAuc: 0.75,
  /** Share of a rule's matches also matched by another persona's rule. */
  overlapShare: 0.1,
} as const;

export type WarningKind = 'skipped' | 'few_seeds' | 'not_distinctive' | 'low_auc' | 'overlap' | 'seeds_disputed' | 'seeds_claimed' | 'conditions_dependent' | 'drivers_rebuilt' | 'nobody_assigned';

export interface ReportWarning {
  persona: string;
  kind: WarningKind;
  message: string;
}

export function personaWarnings(
  m: PersonaMetrics,
  labelOf: (id: string) => string,
  assigned: number,
  portrait: Portrait | null,
  lang: Lang,
): ReportWarning[] {
  const fmt = formatters(lang);
  const fr = lang === 'fr';
  const label = labelOf(m.persona);
  const out: ReportWarning[] = [];
  const add = (kind: WarningKind, en: string, frText: string) => out.push({ persona: m.persona, kind, message: `${label}${fr ? ' : ' : ': '}${fr ? frText : en}` });

  if (m.status === 'skipped') {
    const reason = m.reason ? ` (${m.reason})` : '';
    add('skipped', `not trained${reason}. No customer can be assigned to it.`, `non entraîné${reason}. Aucun client ne peut lui être affecté.`);
    return out;
  }
  if (m.seeds < WARNING_LIMITS.fewSeeds) {
    add(
      'few_seeds',
      `only ${fmt.count(m.seeds)} seed customers: the model learns from few examples and its scores are fragile. Widen its key drivers or add data.`,
      `seulement ${fmt.count(m.seeds)} clients graines : le modèle apprend sur peu d’exemples et ses scores sont fragiles. Élargir ses critères clés ou ajouter des données.`,
    );
  }
  const auc = m.validationAuc;
  const flat = portrait !== null && portrait.members > 0 && portrait.highlights.length === 0;
  if ((auc !== null && auc < WARNING_LIMITS.notDistinctiveAuc) || flat) {
    const why = auc !== null ? fmt.decimal(auc) : '–';
    add(
      'not_distinctive',
      `its seed customers are hard to tell apart from other customers (validation AUC ${why}): the persona may not exist as such in this base, or its key drivers pick customers almost at random.`,
      `ses clients graines se distinguent mal des autres clients (AUC de validation ${why}) : le persona n’existe peut-être pas tel quel dans cette base, ou ses critères clés retiennent des clients presque au hasard.`,
    );
  } else if (auc !== null && auc < WARNING_LIMITS.lowAuc) {
    add(
      'low_auc',
      `the model separates its seeds from other customers only moderately (validation AUC ${fmt.decimal(auc)}): treat its assignments with caution.`,
      `le modèle ne sépare ses graines des autres clients que moyennement (AUC de validation ${fmt.decimal(auc)}) : ses affectations sont à prendre avec prudence.`,
    );
  }
  const overlaps = Object.entries(m.seedOverlaps);
  const matches = m.seeds + overlaps.reduce((s, [, v]) => s + v, 0);
  for (const [other, count] of overlaps) {
    const share = matches ? count / matches : 0;
    if (share < WARNING_LIMITS.overlapShare) continue;
    add(
      'overlap',
      `${fmt.pct(share, 0)} of the customers its key drivers pick also match those of ${labelOf(other)}: the two personas overlap and should be told apart more clearly.`,
      `${fmt.pct(share, 0)} des clients retenus par ses critères clés correspondent aussi à ceux de ${labelOf(other)} : les deux personas se recouvrent et gagneraient à être mieux distingués.`,
    );
  }
  if (m.seedCleaningSkipped) {
    add(
      'seeds_disputed',
      "the first round found more than half of its seed customers closer to another persona or untypical of the rest, so all were kept for training: its key drivers may pick other personas' customers as much as its own.",
      'le premier tour a jugé plus de la moitié de ses clients graines plus proches d’un autre persona ou atypiques, et tous ont été gardés pour l’entraînement : ses critères clés retiennent peut-être autant de clients d’autres personas que des siens.',
    );
  }
  // Cleaning skipped says as much already (seeds_disputed).
  if (!m.seedCleaningSkipped && m.seedsClaimed !== undefined && m.seeds > 0 && m.seedsClaimed / m.seeds > CLAIMED_SEEDS_LIMIT) {
    const share = fmt.pct(m.seedsClaimed / m.seeds, 0);
    const top = topClaimant(m.seedsClaimedBy ?? {});
    add(
      'seeds_claimed',
      `${fmt.count(m.seedsClaimed)} of its seed customers (${share}) look more like another persona's customers than like its own to the models${top ? `, most of them ${labelOf(top[0])}'s (${fmt.count(top[1])})` : ''}: its key drivers pick other personas' customers as its own, so fewer of its assigned customers may truly be it than the expected precision says, and its estimated size may be too large. Narrow its key drivers, or check it against customers whose persona is known (personas evaluate).`,
      `${fmt.count(m.seedsClaimed)} de ses clients graines (${share}) ressemblent davantage, pour les modèles, aux clients d’un autre persona qu’aux siens${top ? `, la plupart à ceux de ${labelOf(top[0])} (${fmt.count(top[1])})` : ''} : ses critères clés retiennent des clients d’autres personas, ses clients affectés sont peut-être moins souvent les bons que ne le dit la précision attendue, et sa taille estimée est peut-être trop grande. Resserrer ses critères clés, ou le vérifier sur des clients dont on connaît le persona (personas evaluate).`,
    );
  }
  const dependent = dependentViews(m.views);
  if (dependent.length) {
    // The condition by the features it reads (a run before session 13 has only its place in the rule).
    const which = dependent.map((v) => (v.features?.length ? v.features.join(' + ') : v.condition.replace(/^personas\[\d+\]\./, ''))).join(', ');
    add(
      'conditions_dependent',
      `some of its key-driver conditions (${which}) go together even among customers unlike the persona, so the model counts part of their evidence twice: fewer of its assigned customers may truly be it than the expected precision says.`,
      `certains de ses critères clés (${which}) vont ensemble même chez les clients qui ne lui ressemblent pas, et le modèle compte deux fois une part de ce qu’ils indiquent : ses clients affectés sont peut-être moins souvent les bons que ne le dit la précision attendue.`,
    );
  }
  const relearning = personaRelearning(m.views);
  // Not under strict precision (baseWeight set): the persona model was tempered for it.
  if (relearning !== null && relearning > RELEARNING_LIMIT && m.baseWeight === undefined) {
    add(
      'drivers_rebuilt',
      `its model partly rebuilds its key-driver conditions from other data (relearning ${fmt.decimal(relearning)}), so it favours the customers who meet them: fewer of its assigned customers may truly be it than the expected precision says, and some of its customers who miss a key driver are missed.`,
      `son modèle reconstitue en partie ses critères clés à partir d’autres données (réapprentissage ${fmt.decimal(relearning)}) et favorise donc les clients qui les remplissent : ses clients affectés sont peut-être moins souvent les bons que ne le dit la précision attendue, et certains de ses clients qui manquent un critère clé lui échappent.`,
    );
  }
  if (assigned === 0) {
    const t = m.threshold === null ? '–' : fmt.decimal(m.threshold);
    add(
      'nobody_assigned',
      `no customer reaches its threshold (${t}) with a clear enough margin over the other personas: nobody is assigned to it.`,
      `aucun client n’atteint son seuil (${t}) avec une marge suffisante sur les autres personas : personne ne lui est affecté.`,
    );
  }
  return out;
}
