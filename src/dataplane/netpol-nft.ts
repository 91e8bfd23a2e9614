/**
 * --use-nftables-for-netpol: the firewall of netpol.ts as nftables rulesets, pure. One table per
 * family, named as kube-router names its own (`kube-router-filter-ipv4`, `-ipv6`), holding the
 * same chains and rules and the peers as named sets; base chains at the input, forward and
 * output hooks jump into the top-level chains. The rules are netpol.ts's, translated from the
 * closed set of iptables matches it writes (anything else is refused, so a new match cannot be
 * dropped silently). An ipBlock's exceptions are taken out of its interval set's ranges (nft has
 * no "nomatch"). The whole table is replaced in one transaction (`nft -f`).
 */
import { prefixMinus } from '../../net/range';
import type { IpSetSpec } from './ipsets';
import { NP_FORWARD, NP_INPUT, NP_OUTPUT, type Family, type FirewallRender } from './netpol';

export const NFT_TABLES: Record<Family, { family: 'ip' | 'ip6'; name: string }> = {
  4: { family: 'ip', name: 'kube-router-filter-ipv4' },
  6: { family: 'ip6', name: 'kube-router-filter-ipv6' },
};

/** nftables keeps at most 128 bytes of a rule's comment. */
const MAX_COMMENT = 128;

/** The words of an iptables rule line; a double-quoted word keeps its spaces. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

const hex = (text: string): string => `0x${Number(text).toString(16).padStart(8, '0')}`;

function quoteComment(text: string): string {
  let t = text.replace(/["\\]/g, '');
  while (Buffer.byteLength(t) > MAX_COMMENT) t = t.slice(0, -1);
  return `"${t}"`;
}

/** One `-A CHAIN ...` line of netpol.ts as the chain and its nftables rule. */
export function nftRule(line: string, f: Family): { chain: string; rule: string } {
  const w = words(line);
  if (w[0] !== '-A' || !w[1]) throw new Error(`not a rule: ${line}`);
  const ip = NFT_TABLES[f].family;
  const exprs: string[] = [];
  let verdict = '';
  let comment: string | undefined;
  let negate = false;
  const need = (i: number): string => {
    const v = w[i];
    if (v === undefined) throw new Error(`${w[i - 1]} without a value: ${line}`);
    return v;
  };
  for (let i = 2; i < w.length; i++) {
    const word = w[i]!;
    // "!" negates the match after it.
    const neg = negate && word !== '!';
    if (word !== '!') negate = false;
    const not = neg ? '!= ' : '';
    switch (word) {
      case '!':
        negate = true;
        break;
      case '-m':
        i++; // the module's own options follow; each is translated below
        break;
      case '-s':
      case '-d':
        exprs.push(`${ip} ${word === '-s' ? 'saddr' : 'daddr'} ${not}${need(++i)}`);
        break;
      case '-p':
        exprs.push(`meta l4proto ${not}${need(++i)}`);
        break;
      case '--dport':
      case '--dports':
        exprs.push(`th dport ${not}${need(++i).replace(':', '-')}`);
        break;
      case '--src-type':
      case '--dst-type':
        exprs.push(`fib ${word === '--src-type' ? 'saddr' : 'daddr'} type ${not}${need(++i).toLowerCase()}`);
        break;
      case '--match-set': {
        const set = need(++i);
        const dir = need(++i);
        if (dir !== 'src' && dir !== 'dst') throw new Error(`set direction ${dir}: ${line}`);
        exprs.push(`${ip} ${dir === 'src' ? 'saddr' : 'daddr'} ${not}@${set}`);
        break;
      }
      case '--ctstate':
        exprs.push(`ct state ${not}${need(++i).toLowerCase()}`);
        break;
      case '--mark': {
        const [value, mask] = need(++i).split('/') as [string, string | undefined];
        exprs.push(`meta mark & ${hex(mask ?? '0xffffffff')} ${neg ? '!=' : '=='} ${hex(value)}`);
        break;
      }
      case '--comment':
        comment = need(++i);
        break;
      case '-j': {
        const target = need(++i);
        if (target === 'RETURN') verdict = 'return';
        else if (target === 'DROP') verdict = 'drop';
        else if (target === 'REJECT') verdict = 'reject';
        else if (target === 'MARK') {
          if (w[i + 1] !== '--set-xmark') throw new Error(`MARK without --set-xmark: ${line}`);
          const [value, mask] = need(i + 2).split('/') as [string, string];
          i += 2;
          // xmark: mark = (mark & ~mask) ^ value; netpol.ts sets or clears one bit.
          if (Number(value) === 0) verdict = `meta mark set meta mark & ${hex(String(~Number(mask) >>> 0))}`;
          else if (Number(value) === Number(mask)) verdict = `meta mark set meta mark | ${hex(value)}`;
          else throw new Error(`mark ${value}/${mask} is neither set nor cleared: ${line}`);
        } else verdict = `jump ${target}`;
        break;
      }
      default:
        throw new Error(`no nftables form for ${JSON.stringify(word)} in: ${line}`);
    }
  }
  const rule = [...exprs, verdict, ...(comment !== undefined ? [`comment ${quoteComment(comment)}`] : [])].filter(Boolean).join(' ');
  return { chain: w[1], rule };
}

/** A set's declaration: addresses, or for networks the ranges left after their exceptions. */
export function nftSet(s: IpSetSpec): string {
  const type = s.family === 'inet' ? 'ipv4_addr' : 'ipv6_addr';
  let elements: string[];
  let flags = '';
  if (s.type === 'hash:ip') elements = [...s.members];
  else if (s.type === 'hash:net') {
    flags = ' flags interval;';
    const except = s.members.filter((m) => m.endsWith(' nomatch')).map((m) => m.slice(0, -' nomatch'.length));
    elements = s.members.filter((m) => !m.endsWith(' nomatch')).flatMap((m) => prefixMinus(m, except));
  } else throw new Error(`set ${s.name}: ${s.type} is not a firewall set`);
  return `  set ${s.name} { type ${type};${flags}${elements.length ? ` elements = { ${elements.join(', ')} };` : ''} }`;
}

/**
 * The `nft -f` input that makes a family's table exactly the render (created if missing, then
 * deleted and declared again, in one transaction). Its base chains hook input, forward and output
 * themselves: a verdict of another table at the same hook (the agent's own FORWARD accept among
 * them) does not end this table's judgement, and a reject here is final.
 */
export function nftRuleset(render: FirewallRender, f: Family): string {
  const { family, name } = NFT_TABLES[f];
  const r = render.families[f];
  const byChain = new Map<string, string[]>(r.chains.map((c) => [c, []]));
  for (const line of r.rules) {
    const { chain, rule } = nftRule(line, f);
    const list = byChain.get(chain);
    if (!list) throw new Error(`rule for an undeclared chain ${chain}`);
    list.push(rule);
  }
  const sets = render.sets.filter((s) => s.family === (f === 4 ? 'inet' : 'inet6'));
  const hook = (hookName: string, target: string): string[] => [
    `  chain ${hookName} {`,
    `    type filter hook ${hookName} priority filter; policy accept;`,
    `    jump ${target}`,
    '  }',
  ];
  return [
    `table ${family} ${name} {}`,
    `delete table ${family} ${name}`,
    `table ${family} ${name} {`,
    ...sets.map(nftSet),
    ...hook('input', NP_INPUT),
    ...hook('forward', NP_FORWARD),
    ...hook('output', NP_OUTPUT),
    ...[...byChain].flatMap(([chain, rules]) => [`  chain ${chain} {`, ...rules.map((x) => `    ${x}`), '  }']),
    '}',
    '',
  ].join('\n');
}
