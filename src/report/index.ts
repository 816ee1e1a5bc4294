// The consultant's report (issue 7): one self-contained HTML file that shows who a run's
// personas are and how much they weigh (quantification, portraits, reach vs precision,
// persona x segment, model quality), built from a run's artefacts and opened offline.
//   buildReport(runDir, {lang})        run directory -> report model (reads the files)
//   buildReportModel(artefacts, opts)  parsed artefacts (+ optional portrait statistics) -> model
//   renderReportHtml(model)            model -> one HTML string, libraries and data inlined
//   writeReportWorkbook(model, file)   model (+ assignments.csv) -> the same tables as an Excel workbook
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderReportHtml } from './html.ts';
import { buildReport, type BuildReportOptions } from './load.ts';
import type { ReportModel } from './model.ts';
import { writeReportWorkbook } from './workbook.ts';

export { buildReportModel, type ReportInput, type ReportModel, type ReportOptions, type QuantRow, type ReachView, type SegmentRow, type QualityView } from './model.ts';
export { buildReport, readRunArtefacts, readPortraitStats, type BuildReportOptions } from './load.ts';
export { renderReportHtml, SECTION_IDS, inlineJson, escapeHtml } from './html.ts';
export { buildCharts, chartId, type ChartSpec, type VegaLiteSpec } from './charts.ts';
export { computePortraitStats, describePersona, phrase, readAssignedPersonas, PortraitStatsSchema, type PortraitStats, type Portrait, type PortraitItem } from './portraits.ts';
export { personaWarnings, WARNING_LIMITS, type ReportWarning, type WarningKind } from './warnings.ts';
export { LANGS, TEXT, type Lang } from './labels.ts';
export { formatters } from './format.ts';
export { writeReportWorkbook, SHEET_ROWS } from './workbook.ts';

/**
 * Builds the report of a run directory and writes it to `outFile`: the HTML page, or, for a file
 * ending in .xlsx, the workbook of its tables with every customer's assignment (workbook.ts).
 */
export async function writeReport(runDir: string, outFile: string, options: BuildReportOptions = {}): Promise<ReportModel> {
  const model = await buildReport(runDir, options);
  if (outFile.toLowerCase().endsWith('.xlsx')) {
    const assignments = join(runDir, 'assignments.csv');
    await writeReportWorkbook(model, outFile, existsSync(assignments) ? assignments : null);
    return model;
  }
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, renderReportHtml(model));
  return model;
}
