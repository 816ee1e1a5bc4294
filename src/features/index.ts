// Public surface of the feature pipeline.
export { buildFeatures, readFeatureTable, referenceInputs, type BuildFeaturesOptions, type FeatureBuild, type FeatureSummary, type FeatureStats } from './pipeline.ts';
export type { ColumnMap, InputName } from './sources.ts';
export { readPostcode, type RejectCount } from './clean.ts';
export { type FeatureTable, numericColumn, categoricalColumn, featureNames } from './table.ts';
export { cellOf, cellId, customerPoint, parseCellId, project } from './geo.ts';
export { survival } from './names.ts';
export { splitFeatureTable } from './partition.ts';
export { categoriesOfFeatures } from './behaviour.ts';
export { readKnownFile, type KnownRow } from './known.ts';
