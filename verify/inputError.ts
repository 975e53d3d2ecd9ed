/** A problem with the command line or the stack outputs: nothing was checked, the exit code is 2. */
export class InputError extends Error {
  override readonly name = "InputError";

  /** `usage`: the command line itself was wrong, so pointing at --help helps. */
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}
