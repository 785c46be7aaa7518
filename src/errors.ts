/**
 * The few error classes the tool raises on purpose. `src/cli.ts` turns them into one line on
 * stderr and an exit code in one place: 2 for bad input (the user can fix it), 3 for a failed
 * `--fail-if` gate. Anything else is our bug: exit 1, stack trace only under --debug.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode = 2;
}

/**
 * The analysis window of one device holds no GPU work (a --range whose ranges launched nothing
 * there, or whose work has zero duration). With several devices such a device is left out of the
 * report; it is bad input only when that leaves none.
 */
export class NoGpuWorkInWindowError extends InputError {
  constructor(message: string, readonly deviceId: number) {
    super(message);
  }
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
