/** Every message of the real captures decodes without complaint and re-encodes byte for byte. */
import fs from 'node:fs';
import path from 'node:path';
import { decodeMessage, encodeMessage, ErrorAction, MessageType, ReceivedUpdate, Attribute } from '../../../bgp/codec';

interface Fixture {
  description: string;
  as4: boolean;
  directions: { from: string; messages: string[] }[];
}

const DIR = path.join(__dirname, '../../fixtures/captures');
const fixtures = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f.replace('.json', ''), JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as Fixture] as const);

function attributesOf(f: Fixture): Attribute[] {
  return f.directions.flatMap((d) =>
    d.messages
      .map((h) => Buffer.from(h, 'hex'))
      .filter((b) => b[18] === MessageType.Update)
      .flatMap((b) => (decodeMessage(b, { as4: f.as4 }) as ReceivedUpdate).attributes),
  );
}

describe('captured sessions', () => {
  it('has the three captures', () =>
    expect(fixtures.map(([n]) => n).sort()).toEqual(['bird-gobgp-ebgp-as4', 'exabgp-bird-ibgp', 'frr-exabgp-as2']));

  describe.each(fixtures)('%s', (_name, fixture) => {
    const all = fixture.directions.flatMap((d) => d.messages.map((hex, i) => [`${d.from} #${i}`, hex] as const));
    it.each(all)('%s round-trips', (_where, hex) => {
      const buf = Buffer.from(hex, 'hex');
      const msg = decodeMessage(buf, { as4: fixture.as4 });
      if (msg.type === MessageType.Update) {
        expect(msg.problems).toEqual([]);
        expect(msg.action).toBe(ErrorAction.None);
      }
      expect(encodeMessage(msg, { as4: fixture.as4 }).toString('hex')).toBe(hex);
    });
  });

  it('the attribute zoo is really in there', () => {
    const byName = Object.fromEntries(fixtures);
    const kinds = (f: Fixture) => new Set(attributesOf(f).map((a) => (a.kind === 'unknown' ? `unknown ${a.code}` : a.kind)));
    expect([...kinds(byName['exabgp-bird-ibgp']!)]).toEqual(
      expect.arrayContaining(['localPref', 'atomicAggregate', 'aggregator', 'originatorId', 'clusterList', 'unknown 99', 'mpReach']),
    );
    expect([...kinds(byName['bird-gobgp-ebgp-as4']!)]).toEqual(
      expect.arrayContaining(['med', 'communities', 'largeCommunities', 'mpReach', 'mpUnreach']),
    );
    const as2 = attributesOf(byName['frr-exabgp-as2']!);
    const as4Path = as2.find((a) => a.kind === 'as4Path');
    expect(as4Path).toMatchObject({ segments: [{ type: 2, asns: [4200000003] }] });
    // FRR's own route as the 2-octet speaker sees it: AS_TRANS in AS_PATH, the real AS in AS4_PATH.
    expect(as2.filter((a) => a.kind === 'asPath')).toContainEqual(expect.objectContaining({ segments: [{ type: 2, asns: [23456] }] }));
  });
});
