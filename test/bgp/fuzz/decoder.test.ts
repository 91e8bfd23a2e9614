/**
 * 1,000,000 random and mutated messages through the decoder (FUZZ_DECODER_CASES, FUZZ_SEED to change).
 * Every input ends in a decoded message or a BgpError carrying a NOTIFICATION code; a decoded
 * message re-encodes, and its re-encoding decodes to the same thing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeMessage, encodeMessage, BgpError, ErrorAction, MessageType, ReceivedMessage } from '../../../bgp/codec';
import { Mutator } from './mutate';
import { corpus } from './corpus';

const CASES = Number(process.env.FUZZ_DECODER_CASES ?? 1000000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const CRASHERS = path.join(__dirname, '../../fixtures/crashers');

function check(buf: Buffer, as4: boolean): string {
  let msg: ReceivedMessage;
  try {
    msg = decodeMessage(buf, { as4 });
  } catch (e) {
    if (!(e instanceof BgpError)) throw new Error(`non-BGP exception for ${buf.toString('hex')}: ${(e as Error).stack}`);
    if (e.code < 1 || e.code > 7) throw new Error(`NOTIFICATION code ${e.code} for ${buf.toString('hex')}`);
    return `notify ${e.code}/${e.subcode}`;
  }
  const clean = msg.type !== MessageType.Update || (msg.action === ErrorAction.None && msg.problems.length === 0);
  let again: Buffer;
  try {
    again = encodeMessage(msg, { as4 });
  } catch (e) {
    throw new Error(`decoded but cannot re-encode ${buf.toString('hex')}: ${(e as Error).message}`);
  }
  if (clean) {
    const twice = decodeMessage(again, { as4 });
    expect(twice).toEqual(msg);
  }
  return msg.type === MessageType.Update ? `update ${ErrorAction[msg.action]}` : `type ${msg.type}`;
}

describe('decoder fuzz', () => {
  it('replays every recorded crasher', () => {
    for (const f of fs.readdirSync(CRASHERS).filter((x) => x.endsWith('.hex'))) {
      for (const line of fs.readFileSync(path.join(CRASHERS, f), 'utf8').split('\n')) {
        const hex = line.trim();
        if (!hex || hex.startsWith('#')) continue;
        check(Buffer.from(hex, 'hex'), true);
        check(Buffer.from(hex, 'hex'), false);
      }
    }
  });

  it(`survives ${CASES} random and mutated messages`, () => {
    const seeds = corpus();
    const m = new Mutator(SEED);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const s = m.pick(seeds);
      const buf = m.int(20) === 0 ? m.random() : m.mutate(s.buf, m.pick(seeds).buf);
      const outcome = check(buf, m.int(4) === 0 ? !s.as4 : s.as4);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    const summary = [...outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    process.stdout.write(`decoder fuzz: ${CASES} cases from ${seeds.length} seed messages (seed ${SEED}); ${summary}\n`);
    // The mutations must reach deep: treat-as-withdraw and attribute discard outcomes both occur.
    expect(outcomes.get('update TreatAsWithdraw')).toBeGreaterThan(100);
    expect(outcomes.get('update AttributeDiscard')).toBeGreaterThan(10);
  });
});
