/**
 * The few error classes the tool raises on purpose. `src/cli.ts` turns them into one line on
 * stderr and an exit code in one place: 2 for bad input (the user can fix it), 3 for a failed
 * `--fail-if` gate. Anything else is our bug: exit 1, stack trace only under --debug.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode = 2;
}

/** A capture could not be made (no nsys, no GPU, build failed...). Also the user's to fix. */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
  readonly exitCode = 2;
}

export class GateFailedError extends Error {
  override readonly name = 'GateFailedError';
  readonly exitCode = 3;
}

export type UserFacingError = InputError | EnvironmentError | GateFailedError;

export function isUserFacing(e: unknown): e is UserFacingError {
  return e instanceof InputError || e instanceof EnvironmentError || e instanceof GateFailedError;
}
