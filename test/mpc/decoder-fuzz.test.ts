/**
 * Decoder fuzzing: random values and mutations of valid messages must give an MpcError or a
 * decoded message, never another exception or a hang.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MpcError } from '../../src/mpc/errors.ts';
import { decodeP1KeyShare, decodeP2KeyShare, encodeP1KeyShare, encodeP2KeyShare } from '../../src/mpc/key-share-codec.ts';
import {
  decodeKeyGenMsg0,
  decodeKeyGenMsg1,
  decodeKeyGenMsg2,
  decodeKeyGenMsg3,
  encodeKeyGenMsg0,
  encodeKeyGenMsg1,
  encodeKeyGenMsg2,
  encodeKeyGenMsg3,
  p1KeyGenAnnounce,
  p1KeyGenFinish,
  p1KeyGenStart,
  p2KeyGenRespond,
  p2KeyGenVerifyModulus,
} from '../../src/mpc/keygen.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { p1SignReveal, p1SignStart, p2SignCompute, p2SignRespond } from '../../src/mpc/sign.ts';
import { decodeSignMsg1, decodeSignMsg2, decodeSignMsg3, decodeSignMsg4, encodeSignMsg1, encodeSignMsg2, encodeSignMsg3, encodeSignMsg4 } from '../../src/mpc/sign-messages.ts';
import { loadPreparedPaillierFixture } from './fixtures.ts';
import { decodePairSetupMsg, encodePairSetupMsg, p1PairSetup } from '../../src/mpc/pair-setup.ts';
import { dealerApprove, dealerCommit, dealerSubShares, deletionReceipt, joinReshare, proposeReshare } from '../../src/mpc/reshare.ts';
import { decodeCertificate, decodeReshareMessage, encodeCertificate, encodeReshareMessage } from '../../src/mpc/reshare-messages.ts';
import { decodeWalletShare, encodeWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import type { WalletShare } from '../../src/mpc/wallet-share.ts';
import { FixtureKeys, firstPair, newIdentity, newMember, runReshare, type Device } from './wallet-driver.ts';
import { runKeygen, wire } from './protocol-driver.ts';

const { p1, p2 } = runKeygen(loadPreparedPaillierFixture(0));
const n = p1.paillier.publicKey.n;

const request = { sessionId: randomBytes(32), digest: randomBytes(32), accountIndex: 2 };
const s1 = p1SignStart(p1, request, null);
const s2 = p2SignRespond(p2, request, s1.message, null);
const s3 = p1SignReveal(p1, s1.session, s2.message);
const s4 = p2SignCompute(p2, s2.session, s3.message);
const prepared = loadPreparedPaillierFixture(1);
const k0 = p1KeyGenAnnounce(prepared);
const modulus = p2KeyGenVerifyModulus(k0);
const k1 = p1KeyGenStart(randomBytes(32), prepared, 'extension');
const k2 = p2KeyGenRespond(k1.message, modulus);
const k3 = p1KeyGenFinish(k1.state, k2.message);

const decoders: [string, (value: unknown) => unknown, Record<string, unknown>][] = [
  ['sign1', decodeSignMsg1, wire(encodeSignMsg1(s1.message)) as Record<string, unknown>],
  ['sign2', decodeSignMsg2, wire(encodeSignMsg2(s2.message)) as Record<string, unknown>],
  ['sign3', decodeSignMsg3, wire(encodeSignMsg3(s3.message)) as Record<string, unknown>],
  ['sign4', (value) => decodeSignMsg4(value, n), wire(encodeSignMsg4(s4.message)) as Record<string, unknown>],
  ['keygen0', decodeKeyGenMsg0, wire(encodeKeyGenMsg0(k0)) as Record<string, unknown>],
  ['keygen1', decodeKeyGenMsg1, wire(encodeKeyGenMsg1(k1.message)) as Record<string, unknown>],
  ['keygen2', decodeKeyGenMsg2, wire(encodeKeyGenMsg2(k2.message)) as Record<string, unknown>],
  ['keygen3', (value) => decodeKeyGenMsg3(value, modulus.n), wire(encodeKeyGenMsg3(k3.message)) as Record<string, unknown>],
  ['p1KeyShare', decodeP1KeyShare, wire(encodeP1KeyShare(p1)) as Record<string, unknown>],
  ...nMemberMessages(),
  ['p2KeyShare', decodeP2KeyShare, wire(encodeP2KeyShare(p2)) as Record<string, unknown>],
];

/** One of each message of the {2,n} protocols, from a real reshare adding a third member. */
function nMemberMessages(): [string, (value: unknown) => unknown, Record<string, unknown>][] {
  const keys = new FixtureKeys();
  const { phone, extension } = firstPair(keys);
  const tablet: Device = { identity: newIdentity(), share: null };
  const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
  const members = [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)];
  const proposal = proposeReshare(extension.share as WalletShare, { newMembers: members, dealers: [1, 2] }, extension.identity);
  const joins = [phone, extension, tablet].map((device, k) => joinReshare(proposal, k + 1, device.identity).message);
  const dealers = [phone, extension].map((device) => ({ device, ...dealerCommit(device.share as WalletShare, proposal, members, device.identity) }));
  const commitments = dealers.map((entry) => entry.message);
  const approvals = dealers.map((entry) => dealerApprove(entry.state, joins, commitments, entry.device.identity));
  const subShare = dealerSubShares(dealers[0]!.state, joins, commitments, approvals, phone.identity)[0]!;
  const { certificate } = runReshare(devices, 2, { newMembers: members, dealers: [1, 2] }, keys);
  const wallet = (phone.share as WalletShare).wallet;
  const setup = p1PairSetup({ sessionId: randomBytes(32), wallet, self: 1, share: (phone.share as WalletShare).share, counterpart: 2 }, keys.take()).message;
  const asRecord = (value: object) => wire(value) as Record<string, unknown>;
  return [
    ...[proposal, joins[0]!, commitments[0]!, approvals[0]!, subShare, certificate.confirms[0]!, deletionReceipt(proposal.reshareId, 1, 0, phone.identity)].map(
      (message) => [message.type, (value: unknown) => decodeReshareMessage(value), asRecord(encodeReshareMessage(message))] as [string, (value: unknown) => unknown, Record<string, unknown>],
    ),
    ['certificate', (value) => decodeCertificate(value), asRecord(encodeCertificate(certificate))],
    ['pair/setup', (value) => decodePairSetupMsg(value), asRecord(encodePairSetupMsg(setup))],
    ['walletShare', decodeWalletShare, asRecord(encodeWalletShare(phone.share as WalletShare))],
  ];
}

function decodesOrRefuses(decode: (value: unknown) => unknown, value: unknown): void {
  try {
    decode(value);
  } catch (error) {
    if (!(error instanceof MpcError)) throw error;
  }
}

const anyJson = fc.jsonValue({ maxDepth: 3 });

describe('decoders never crash', () => {
  it.each(decoders)('%s accepts its own valid encoding', (_name, decode, valid) => {
    expect(() => decode(valid)).not.toThrow();
  });

  it.each(decoders)('%s refuses random values with MpcError', (_name, decode) => {
    fc.assert(fc.property(anyJson, (value) => decodesOrRefuses(decode, value)), { numRuns: 200 });
  });

  it.each(decoders)('%s refuses mutated messages with MpcError', (name, decode, valid) => {
    const keys = Object.keys(valid);
    fc.assert(
      fc.property(fc.constantFrom(...keys), anyJson, fc.constantFrom('replace', 'delete', 'flip-hex'), (key, replacement, mode) => {
        const mutated: Record<string, unknown> = { ...valid };
        if (mode === 'delete') delete mutated[key];
        else if (mode === 'replace') mutated[key] = replacement;
        else if (typeof mutated[key] === 'string' && (mutated[key] as string).length > 0) {
          const text = mutated[key] as string;
          mutated[key] = `${text.slice(0, -1)}${text.endsWith('0') ? '1' : '0'}`;
        }
        decodesOrRefuses(decode, mutated);
      }),
      // A stored share that decodes checks its Paillier primes (Miller–Rabin): fewer runs keep it quick.
      { numRuns: name === 'walletShare' || name === 'p1KeyShare' ? 40 : 150 },
    );
  });
});
