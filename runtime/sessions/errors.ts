/** Errors of the session library; each sets `name` so logs and `instanceof` both tell them apart. */

/** Thrown when session options are invalid: names the option, the value received and the fix. */
export class SessionOptionsError extends Error {
  override readonly name = 'SessionOptionsError';
  /** Every problem found, one line each. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid session options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * Thrown when a save lost a race it cannot merge: another request of the same session changed
 * the same top-level key to a different value since this request loaded it. Nothing was written
 * by this save; the other request's value stands. Load again and retry the change, or tell the user.
 */
export class SessionConflictError extends Error {
  override readonly name = 'SessionConflictError';
  /** The top-level keys both requests changed differently. */
  readonly keys: readonly string[];
  constructor(keys: readonly string[], message?: string) {
    super(message ?? `the session changed under this request: key(s) ${keys.join(', ')} were changed by another request since it was loaded; nothing was saved`);
    this.keys = keys;
  }
}

/**
 * Thrown when a save finds its session gone (destroyed, signed out everywhere, or expired)
 * since it was loaded. The session is not brought back: a sign-out must stick.
 */
export class SessionGoneError extends Error {
  override readonly name = 'SessionGoneError';
  constructor() {
    super('the session was destroyed or expired since this request loaded it; it was not saved (a sign-out must stick). Start a new session.');
  }
}
