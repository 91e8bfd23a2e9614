/** A benchmark's command line: `--name value` options, and `--flag` switches. */
const ARGS = process.argv.slice(2);

/** The value after `--name`, if given. */
export function option(name: string): string | undefined {
  const i = ARGS.indexOf(`--${name}`);
  return i >= 0 ? ARGS[i + 1] : undefined;
}

/** The value after `--name`; exits with a message when it is missing. */
export function required(name: string): string {
  const v = option(name);
  if (!v) throw new Error(`--${name} is required`);
  return v;
}

/** Whether `--name` is on the command line. */
export const flag = (name: string): boolean => ARGS.includes(`--${name}`);
