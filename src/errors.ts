// Named errors of the product. Each carries a stable code and a message that says what was
// expected and how to fix it; the API maps them to HTTP problem+json in one place.

export type ErrorCode =
  | 'INPUT_MISSING_FILE'
  | 'INPUT_MISSING_COLUMN'
  | 'INPUT_INVALID'
  | 'PERSONA_FILE_INVALID'
  | 'UNKNOWN_FEATURE'
  | 'TOO_FEW_SEEDS'
  | 'MODEL_NOT_FITTED'
  | 'MODEL_MISMATCH'
  | 'MODEL_FORMAT'
  | 'TRAINING_DATA_INVALID'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'STORE'
  | 'NO_ACTIVE_VERSION'
  | 'JOB';

export class PersonasError extends Error {
  readonly code: ErrorCode;
  /** Extra structured detail (file, row, column, field...), safe to show to a user. */
  readonly detail: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.detail = detail;
  }
}

/** An input file or column is missing or unreadable. */
export class InputError extends PersonasError {}
/** The persona file does not follow the contract. */
export class PersonaFileError extends PersonasError {}
/** A learner was given data it cannot learn from, or a model was used wrongly. */
export class ModelError extends PersonasError {}
