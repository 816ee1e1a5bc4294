/**
 * The consultant's report (issue 7): one self-contained HTML file that shows who a run's
 * personas are and how much they weigh (quantification, portraits, reach vs precision,
 * persona x segment, model quality), built from a run's artefacts and opened offline.
 */
export {};
