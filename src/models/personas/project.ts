// The projection of a persona file onto a feature table: seeds by the key-driver rules, one
// positive-unlabeled model per persona, probabilities, thresholds and the assignment, with the
// metrics and quantification the report and the registry read.
import { createHash } from 'node:crypto';
import type { FeatureTable } from '../../features/table.ts';
import { silentProgress, type Progress } from '../../progress.ts';
import { codeVersion } from '../../version.ts';
import { MANIFEST_FORMAT, type Manifest, type PersonaMetrics, type Quantification, type RunMetrics } from '../artefacts.ts';
import { assignPersonas, autoThreshold, reachCurve, type Assignment } from './assign.ts';
import { encodeDesign, fitDesign, type DesignEncoding } from './design.ts';
import type { LoadedPersonaFile } from './file.ts';
import { quantify } from './quantify.ts';
import { absentValuesWarning, OVERLAP_POLICY, selectSeeds, type PersonaSeeds } from './seeds.ts';
import { InputError } from '../../errors.ts';
import { knownSeedLine, twinSeedMask, withKnownSeeds } from './known-seeds.ts';
import { anySeedMask, cleanSeedsBetweenRounds, hasSecondRound, secondRoundTwins } from './rounds.ts';
import { claimants, claimedSeedsLine, type ClaimedSeeds } from './seed-cleaning.ts';
import { conditionViews, trainConditionViews, viewLogLines, viewsOf, viewsTrained, viewsWithColumns, withViews } from './views.ts';
import { bagsOf, personaLearner, TRAIN_DEFAULTS, trainingCustomersOf, trainingSampleNote, trainPersonas, type PersonaModel, type PersonaTrainingInput, type TrainOptions } from './train.ts';

export interface ProjectionInput {
  table: FeatureTable;
  personaFile: LoadedPersonaFile;
  asOf: string;
  seed?: number;
  train?: Partial<TrainOptions>;
  /** Seeds chosen beforehand (`personas seed`), one per persona of the file in its order; default: the file's rules. */
  seeds?: PersonaSeeds[];
  /**
   * Customers whose persona is known, taken in as seeds (known-seeds.ts): id -> persona id (null:
   * none), as knownPersonas reads `file`.
   */
  learnFrom?: { file: string; personas: ReadonlyMap<string, string | null> };
  progress?: Progress;
}

export interface Projection {
  manifest: Manifest;
  metrics: RunMetrics;
  quantification: Quantification;
  assignment: Assignment;
  /** Probabilities per persona of the manifest (null for a skipped persona). */
  probabilities: (Float64Array | null)[];
  models: PersonaModel[];
  encoding: DesignEncoding;
}

export async function projectPersonas(input: ProjectionInput): Promise<Projection> {
  const progress = input.progress ?? silentProgress;
  const spec = input.personaFile.spec;
  const seed = input.seed ?? 1;
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    timings[name] = +((performance.now() - t) / 1000).toFixed(2);
    t = performance.now();
  };

  progress.stage('seeds');
  const ruleSeeds = input.seeds ?? selectSeeds(input.table, spec);
  if (ruleSeeds.length !== spec.personas.length || ruleSeeds.some((s, k) => s.id !== spec.personas[k].id || s.mask.length !== input.table.rows)) {
    throw new InputError('INPUT_INVALID', `the seeds given do not match the persona file (${spec.personas.map((p) => p.id).join(', ')}) and the ${input.table.rows} customers of the feature table`);
  }
  const learnt = input.learnFrom ? withKnownSeeds(ruleSeeds, input.table.ids, input.learnFrom.personas, spec.personas.map((p) => p.min_seeds)) : null;
  const seeds = learnt?.seeds ?? ruleSeeds;
  if (learnt && input.learnFrom) {
    progress.log(`known customers as seeds (${input.learnFrom.file}): ${learnt.matched} found in the base${learnt.notFound ? `, ${learnt.notFound} not found (${learnt.notFoundIds.slice(0, 3).map((id) => `'${id}'`).join(', ')}${learnt.notFound > 3 ? ', ...' : ''}), left out` : ''}`);
  }
  for (const s of seeds) {
    progress.log(`${s.id}: ${s.seeds} seeds (rule matches ${s.ruleMatches})${s.status === 'skipped' ? ` - skipped: ${s.reason}` : ''}`);
    const line = knownSeedLine(s);
    if (line) progress.log(line);
    const absent = absentValuesWarning(s);
    if (absent) progress.log(absent);
  }
  lap('seeds');

  const encoding = fitDesign(input.table);
  const design = encodeDesign(input.table, encoding);
  const options: TrainOptions = {
    ...TRAIN_DEFAULTS,
    ...input.train,
    seed,
    // A learner given by the caller wins over the persona file's (as a flag over a file), its
    // unset parameters filled from the persona training's defaults for its kind.
    learner: personaLearner(input.train?.learner ?? spec.model),
  };
  const trainable = seeds.filter((s) => s.status === 'ok');
  const sampleNote = trainingSampleNote(input.table.rows, options);
  if (sampleNote) progress.log(sampleNote);
  const secondRound = hasSecondRound(options);
  progress.stage('train', trainable.length * (options.folds + (secondRound ? 0 : 1)));
  const knownMembers = trainable.map((s) => s.known?.memberMask);
  const inputs: PersonaTrainingInput[] = trainable.map((s, k) => ({ id: s.id, seedMask: s.mask, ruleFeatures: s.ruleFeatures, knownMembers: knownMembers[k] }));
  // A first round followed by a second needs only its out-of-fold scores, not final models.
  let models = trainable.length ? await trainPersonas(design, inputs, { ...options, foldsOnly: secondRound }, (done) => progress.tick(done)) : [];
  const twinCounts = new Map<string, number>();
  const leftOut = new Map<string, number>();
  const cleaningSkipped = new Map<string, string>();
  const claimed = new Map<string, ClaimedSeeds>();
  if (secondRound && models.length) {
    const cleaning = cleanSeedsBetweenRounds(inputs.map((x) => x.seedMask), models.map((m) => m.oofScores), models.map((m) => m.probabilities), options, knownMembers);
    if (cleaning) {
      inputs.forEach((x, k) => {
        x.excludeMask = cleaning.excluded[k];
        leftOut.set(x.id, cleaning.counts[k]);
        const skipped = cleaning.skipped[k];
        if (skipped) cleaningSkipped.set(x.id, skipped);
        const by = claimants(cleaning.claimedBy[k], inputs.map((y) => y.id));
        claimed.set(x.id, { seedsClaimed: cleaning.claimed[k], seedsClaimedBy: by });
        progress.log(skipped ? `${x.id}: ${skipped}` : `${x.id}: ${cleaning.counts[k]} seeds judged mislabelled, left out of the second round`);
        const claimedLine = claimedSeedsLine(x.id, cleaning.claimed[k], x.seedMask, by);
        if (claimedLine) progress.log(claimedLine);
      });
    }
    if (options.twinsPerSeed > 0) {
      progress.stage('twins', models.length);
      // Twins are never a seed of any persona (nor a seed left out as mislabelled), nor a known customer.
      const anySeed = anySeedMask(seeds.map((s) => s.mask), input.table.rows, learnt?.knownMask);
      for (const [k, m] of models.entries()) {
        const twins = await secondRoundTwins(
          { design, modelFeatures: m.features, seedMask: twinSeedMask(trainable[k]), excludeMask: inputs[k].excludeMask, anySeed, firstRoundProbabilities: m.probabilities, index: k },
          options,
        );
        if (twins) {
          inputs[k].twinMask = twins.mask;
          twinCounts.set(m.id, twins.twins);
        }
        progress.tick(k + 1);
      }
    }
    progress.stage('train (second round)', trainable.length * (options.folds + 1));
    models = await trainPersonas(design, inputs, options, (done) => progress.tick(done));
  }
  const viewOptions = viewsOf(options);
  if (options.views && !viewOptions) progress.log(`condition views: none, since they are trained for the gbdt learner only and these models are ${options.learner.kind}${options.views.strictPrecision ? ' (so strict precision, which tempers by what the views measure, does not apply)' : ''}`);
  if (viewOptions && models.length) {
    const views = trainable.map((s, k) => {
      const i = spec.personas.findIndex((p) => p.id === s.id);
      return { id: s.id, index: k, bags: models[k].bags, views: viewsWithColumns(conditionViews(spec.personas[i].key_drivers, input.table, `personas[${i}].key_drivers`), design) };
    });
    for (const v of views) progress.log(`${v.id}: ${v.views.length} condition views (a view is left out when its positives would be more than half the customers, or its condition has no model column)`);
    progress.stage('condition views', views.reduce((a, v) => a + v.views.length, 0) * (viewOptions.folds + 1));
    const trained = await trainConditionViews(design, views, options, (done) => progress.tick(done));
    models = models.map((m, k) => withViews(m, trained[k], viewOptions, design.names));
    for (const line of models.flatMap(viewLogLines)) progress.log(line);
  }
  lap('train');

  progress.stage('assign');
  const byId = new Map(models.map((m) => [m.id, m]));
  const probabilities = spec.personas.map((p) => byId.get(p.id)?.probabilities ?? null);
  const thresholds = spec.personas.map((p, k) => {
    const probs = probabilities[k];
    if (!probs) return { threshold: 1, expectedPrecision: null };
    if (p.threshold !== 'auto') {
      const above = probs.filter((v) => v >= (p.threshold as number));
      return { threshold: p.threshold, expectedPrecision: above.length ? above.reduce((a, b) => a + b, 0) / above.length : null };
    }
    return autoThreshold(probs, spec.assignment.target_precision);
  });
  const zeros = new Float64Array(input.table.rows);
  const assignment = assignPersonas(
    probabilities.map((p) => p ?? zeros),
    thresholds.map((x) => x.threshold),
    spec.assignment.min_margin,
  );
  lap('assign');

  const modelVersion = versionOf(input.personaFile.sha256, seed, input.asOf);
  const prevalence = spec.personas.map((p) => byId.get(p.id)?.prevalence ?? null);
  const quantification = quantify(
    input.table,
    spec.personas.map((p, k) => ({ id: p.id, label: p.label, prevalence: prevalence[k] })),
    assignment,
    modelVersion,
  );
  const personaMetrics: PersonaMetrics[] = spec.personas.map((p, k) => {
    const s = seeds[k];
    const m = byId.get(p.id);
    const assigned = assignment.persona.reduce((acc, v) => acc + (v === k ? 1 : 0), 0);
    const importance: Record<string, number> = {};
    if (m) m.model.featureImportance().forEach((v, j) => v > 0 && (importance[m.features[j]] = v));
    return {
      persona: p.id,
      status: m ? 'trained' : 'skipped',
      reason: s.reason,
      seeds: s.seeds,
      twins: twinCounts.get(p.id) ?? 0,
      seedsLeftOut: leftOut.get(p.id) ?? 0,
      seedCleaningSkipped: cleaningSkipped.get(p.id) ?? null,
      ...claimed.get(p.id),
      validationAuc: m ? m.validationAuc : null,
      bags: m ? m.bags : null,
      views: m?.views ?? [],
      estimatedC: m ? m.c : null,
      prevalenceC: m ? m.prevalenceC : null,
      ...(m?.baseWeight !== undefined ? { baseWeight: m.baseWeight } : {}),
      threshold: m ? thresholds[k].threshold : null,
      expectedPrecision: thresholds[k].expectedPrecision,
      coverage: assigned / Math.max(1, input.table.rows),
      estimatedPrevalence: prevalence[k],
      seedOverlaps: s.overlaps,
      ...(s.known ? { knownSeeds: { members: s.known.members, added: s.known.added, removed: s.known.removed } } : {}),
      reachCurve: probabilities[k] ? reachCurve(probabilities[k]!) : [],
      calibration: m ? m.calibration : [],
      featureImportance: importance,
    };
  });
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    modelVersion,
    createdAt: new Date().toISOString(),
    codeVersion,
    personaFile: { path: input.personaFile.path, sha256: input.personaFile.sha256, content: input.personaFile.content },
    asOf: input.asOf,
    seed,
    features: design.names,
    learner: {
      kind: options.learner.kind,
      params: { ...options.learner.params, folds: options.folds, unlabeledPerSeed: options.unlabeledPerSeed, ruleFeatures: options.ruleFeatures, relatedCorrelation: options.relatedCorrelation, cleanSeedsQuantile: options.cleanSeedsQuantile, bags: bagsOf(options), twinsPerSeed: options.twinsPerSeed, twinSearch: options.twinSearch, twinCutoffQuantile: options.twinCutoffQuantile, twinWeight: options.twinWeight, views: viewsTrained(options), trainingCustomers: options.trainingCustomers ?? 0, ...(learnt && input.learnFrom ? { knownSeeds: { file: input.learnFrom.file, customers: learnt.matched } } : {}) },
    },
    assignment: { targetPrecision: spec.assignment.target_precision, minMargin: spec.assignment.min_margin },
    personas: spec.personas.map((p, k) => ({
      id: p.id,
      label: p.label,
      description: p.description,
      status: byId.has(p.id) ? 'trained' : 'skipped',
      reason: seeds[k].reason,
      threshold: byId.has(p.id) ? thresholds[k].threshold : undefined,
      modelFile: byId.has(p.id) ? `${p.id}.json` : undefined,
    })),
  };
  return {
    manifest,
    metrics: { modelVersion, customers: input.table.rows, overlapPolicy: OVERLAP_POLICY, personas: personaMetrics, trainingCustomers: trainingCustomersOf(input.table.rows, options), timings },
    quantification,
    assignment,
    probabilities,
    models,
    encoding,
  };
}

/** A sortable, unique model version: UTC time and a hash of what the run depends on. */
function versionOf(personaSha: string, seed: number, asOf: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const hash = createHash('sha256').update(`${personaSha}|${seed}|${asOf}|${codeVersion}|${stamp}`).digest('hex').slice(0, 8);
  return `${stamp}-${hash}`;
}
