/** A logger that keeps every line it is given, for tests that check what was logged and how often. */
import type { Logger } from '../../bgp/log';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** The line's fields, with its child loggers' bindings merged in as pino does. */
  obj: Record<string, unknown>;
  msg: string;
}

function recordTo(lines: LogLine[], bindings: Record<string, unknown>): Logger {
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: { ...bindings, ...obj }, msg: msg ?? '' });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => recordTo(lines, { ...bindings, ...b }),
  };
}

/** The logger and the lines it and its children have kept, in order. */
export function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { log: recordTo(lines, {}), lines };
}
