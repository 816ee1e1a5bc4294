// Public surface of the persona projection.
export { loadPersonaFile, parsePersonaFile, specWithLearner, type PersonaFile, type LoadedPersonaFile, type Rule } from './file.ts';
export { evaluateRule, percentile, type RuleResult } from './rules.ts';
export { absentValuesWarning, selectSeeds, OVERLAP_POLICY, type PersonaSeeds } from './seeds.ts';
export { assignPersonas, autoThreshold, reachCurve } from './assign.ts';
export { fitDesign, encodeDesign, departmentOf, DesignEncodingSchema, type DesignEncoding } from './design.ts';
export { bagsOf, personaLearner, PERSONA_LEARNER_DEFAULTS, trainPersonas, TRAIN_DEFAULTS, trainingCustomersOf, trainingSample, trainingSampleNote, VIEW_DEFAULTS, viewOptionsFor, type TrainOptions, type ViewOptions } from './train.ts';
export { projectPersonas, type Projection } from './project.ts';
export { conditionViews, trainConditionViews, viewDependence, viewDependenceWarnings, viewLogLines, viewsOf, viewsTrained, viewsWithColumns, withViews, type ConditionView } from './views.ts';
export { ConditionViewsModel, VIEWS_FORMAT } from './views-model.ts';
export { writeProjection, RUN_OUTPUTS } from './outputs.ts';
export { loadSavedProjection, fromParts, designColumnNames, SavedProjection, type SavedPersona, type SavedScores } from './saved.ts';
export { withoutFeatures } from './design.ts';
export { mislabelledSeeds } from './seed-cleaning.ts';
export { findTwins } from './twins.ts';
export { anySeedMask, cleanSeedsBetweenRounds, hasSecondRound, keptSeeds, secondRoundTwins } from './rounds.ts';
