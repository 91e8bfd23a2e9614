/** The agent's flag table for the README, rendered from AGENT_OPTIONS (one source of truth). */
import { AGENT_OPTIONS } from './agent-config';
import { NO_EFFECT_YET } from './pending-flags';

export function flagsMarkdown(): string {
  const rows = Object.entries(AGENT_OPTIONS).map(([name, o]) => {
    const opt = o as {
      type: string;
      default?: unknown;
      defaultDescription?: string;
      describe: string;
      array?: boolean;
      choices?: readonly string[];
    };
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    const dflt =
      opt.defaultDescription ?? (opt.default === undefined ? '' : Array.isArray(opt.default) ? opt.default.join(',') : String(opt.default));
    const choices = opt.choices ? ` (${opt.choices.join(', ')})` : '';
    const pending = NO_EFFECT_YET[name];
    const note = pending ? ` **No effect yet:** ${pending}.` : '';
    return `| \`${flag}\` | ${dflt ? `\`${dflt}\`` : ''} | ${opt.describe.replace(/\|/g, '\\|')}${choices}${note} |`;
  });
  return ['| flag | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

if (require.main === module) process.stdout.write(`${flagsMarkdown()}\n`);
