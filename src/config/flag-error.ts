/** A bad flag: the CLI prints its one line ("--flag: why") and exits 2. */
export class FlagError extends Error {
  override name = 'ConfigError';
  constructor(flag: string, message: string) {
    super(`--${flag}: ${message}`);
  }
}
