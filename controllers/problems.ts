/**
 * Logs a problem with an API object once per distinct (object, field, message): a garbage
 * annotation on a Node is reported when first seen or when it changes, not on every resync.
 */
export interface ProblemLogger {
  warn(obj: object, msg?: string): void;
}

export class Problems {
  private readonly seen = new Set<string>();

  constructor(private readonly log: ProblemLogger) {}

  report(object: string, field: string, message: string): void {
    const key = `${object}\u0000${field}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.log.warn({ object, field, problem: message }, `ignoring ${field} on ${object}: ${message}`);
  }
}
