// Progress reporting shared by the pipeline stages: a stage name and a fraction done.
// The CLI renders it as a bar on a terminal (plain lines otherwise); jobs persist it.

export interface Progress {
  /** Starts a stage; `total` is the number of units of work when known. */
  stage(name: string, total?: number): void;
  /** Advances the current stage to `done` units (or by one when omitted). */
  tick(done?: number): void;
  /** Free-form line shown to the user (counts, warnings). */
  log(message: string): void;
}

/** A Progress that reports nothing: the default for library callers and tests. */
export const silentProgress: Progress = {
  stage() {},
  tick() {},
  log() {},
};
