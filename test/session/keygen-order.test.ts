/**
 * Key generation when the channel reorders the phone's first two messages. keygen/0 (the Paillier
 * key and its proof) leaves the phone while the users compare the codes, on the pairing channel;
 * keygen/1 leaves after both confirmed, and may take the paired channel or the direct path and
 * overtake it (seen in real Chromium under load: "Pairing failed: the phone started key generation
 * before sending its Paillier key"), or make keygen/0 undecryptable: once the first frame under the
 * keys of the paired channel's fresh exchange arrives, the extension forgets the pairing keys.
 * The phone therefore sends keygen/0 again right before keygen/1 (the extension verifies it once),
 * and the extension holds a keygen/1 that still comes first until keygen/0 is verified.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { decodeKeyGenMsg2, encodeKeyGenMsg0, encodeKeyGenMsg1, encodeKeyGenMsg3, p1KeyGenAnnounce, p1KeyGenFinish, p1KeyGenStart } from '../../src/mpc/keygen.ts';
import type { P2KeyShare } from '../../src/mpc/key-share.ts';
import { ExtensionCoSigner } from '../../src/session/extension-cosigner.ts';
import type { AppMessage } from '../../src/session/messages.ts';
import { PhoneCoSigner, type PhoneEvent } from '../../src/session/phone-cosigner.ts';
import { loadPreparedPaillierFixture } from '../mpc/fixtures.ts';
import { waitFor } from '../relay/relay-support.ts';

const COUNTERPART = 'extension-identity';

/** Both co-signers wired in memory; the phone's messages are collected and delivered by the test. */
function devices() {
  const fromPhone: { early: boolean; message: AppMessage }[] = [];
  const phoneEvents: PhoneEvent[] = [];
  const failures: Error[] = [];
  const stored: P2KeyShare[] = [];
  let phone: PhoneCoSigner | null = null;
  const extension = new ExtensionCoSigner({
    send: (message) => void phone?.handle(message),
    onKeyShare: async (share) => void stored.push(share),
    onKeygenFailed: (error) => failures.push(error),
  });
  phone = new PhoneCoSigner({
    send: (message) => fromPhone.push({ early: false, message }),
    sendEarly: (message) => fromPhone.push({ early: true, message }),
    saveKeyShare: async () => undefined,
    saveTaint: async () => undefined,
    onEvent: (event) => phoneEvents.push(event),
    preparedKey: async () => loadPreparedPaillierFixture(2),
  });
  const deliver = async (entry: { early: boolean; message: AppMessage }) => (entry.early ? extension.handleEarly(entry.message) : extension.handle(entry.message));
  /** Delivers what the phone sent since the last call, in the order `order` gives. */
  const flush = async (order: (sent: { early: boolean; message: AppMessage }[]) => { early: boolean; message: AppMessage }[] = (sent) => sent) => {
    for (const entry of order(fromPhone.splice(0))) await deliver(entry);
  };
  return { extension, phone, fromPhone, phoneEvents, failures, stored, deliver, flush };
}

const bodyOf = (message: AppMessage): unknown => ('body' in message ? message.body : undefined);
const roundOf = (entry: { message: AppMessage }) => (bodyOf(entry.message) as { type?: string } | undefined)?.type;

describe('key generation with the phone’s first messages reordered', () => {
  it('keygen/1 before keygen/0: held, answered once keygen/0 is verified, and the key is made', async () => {
    const d = devices();
    await d.phone.announceKey();
    await d.phone.startKeygen(COUNTERPART);
    await d.flush((sent) => [...sent].reverse());
    await waitFor(() => d.fromPhone.some((entry) => roundOf(entry) === 'keygen/3'));
    await d.flush();
    await waitFor(() => d.phoneEvents.some((event) => event.kind === 'paired'));
    expect(d.failures).toEqual([]);
    expect(d.stored).toHaveLength(1);
  });

  it('the early keygen/0 is lost (sealed under the pairing keys, which the extension forgot once the first frame under the new keys arrived): the copy sent with keygen/1 completes it', async () => {
    const d = devices();
    await d.phone.announceKey();
    await d.phone.startKeygen(COUNTERPART);
    expect(d.fromPhone.map((entry) => [roundOf(entry), entry.early])).toEqual([
      ['keygen/0', true],
      ['keygen/0', false],
      ['keygen/1', false],
    ]);
    await d.flush((sent) => sent.filter((entry) => !entry.early));
    await waitFor(() => d.fromPhone.some((entry) => roundOf(entry) === 'keygen/3'));
    await d.flush();
    await waitFor(() => d.phoneEvents.some((event) => event.kind === 'paired'));
    expect(d.failures).toEqual([]);
    expect(d.stored).toHaveLength(1);
  });

  it('keygen/1 held, then a keygen/0 whose proof fails: the pairing fails on the proof and nothing is stored', async () => {
    const d = devices();
    await d.phone.announceKey();
    await d.phone.startKeygen(COUNTERPART);
    const [announce, , start] = d.fromPhone.splice(0);
    await d.deliver(start as { early: boolean; message: AppMessage });
    expect(d.failures).toEqual([]);
    // Another key's modulus under this proof: the proof is bound to N and fails.
    const other = encodeKeyGenMsg0(p1KeyGenAnnounce(loadPreparedPaillierFixture(3)));
    const forged = { ...other, modulusProof: (bodyOf((announce as { message: AppMessage }).message) as { modulusProof: unknown }).modulusProof };
    await d.extension.handleEarly({ t: 'keygen', body: forged });
    expect(d.failures).toHaveLength(1);
    expect(d.failures[0]?.message).toContain('keygen0.modulusProof');
    expect(d.stored).toEqual([]);
    expect(d.extension.share).toBeNull();
  });

  it('a second keygen/1 while one is held replaces nothing: the first is answered, the second dropped', async () => {
    const d = devices();
    await d.phone.announceKey();
    await d.phone.startKeygen(COUNTERPART);
    const [announce, , start] = d.fromPhone.splice(0);
    const replay = { early: false, message: { t: 'keygen', body: { ...(bodyOf((start as { message: AppMessage }).message) as object), commitment: randomBytes(32).toString('hex') } } as AppMessage };
    await d.deliver(start as { early: boolean; message: AppMessage });
    await d.deliver(replay);
    await d.deliver(announce as { early: boolean; message: AppMessage });
    await waitFor(() => d.fromPhone.some((entry) => roundOf(entry) === 'keygen/3'));
    await d.flush();
    await waitFor(() => d.phoneEvents.some((event) => event.kind === 'paired'));
    expect(d.failures).toEqual([]);
  });
});

/** The extension alone, fed the phone's messages by the test. */
function extension(onKeyShare: (share: P2KeyShare) => Promise<void> = async () => undefined) {
  const sent: AppMessage[] = [];
  const failures: Error[] = [];
  const shares: P2KeyShare[] = [];
  const cosigner = new ExtensionCoSigner({
    send: (message) => void sent.push(message),
    onKeyShare: async (share) => {
      shares.push(share);
      await onKeyShare(share);
    },
    onKeygenFailed: (error) => failures.push(error),
  });
  return { cosigner, sent, failures, shares };
}

const keygen2 = (sent: AppMessage[]) => sent.filter((message) => message.t === 'keygen' && (message.body as { type?: string }).type === 'keygen/2');

describe('one key generation per pairing (found by review)', () => {
  it('after a keygen/0 whose proof fails (pairing reported failed), a later keygen/0 does not answer the held keygen/1', async () => {
    const prepared = loadPreparedPaillierFixture(2);
    const start = p1KeyGenStart(randomBytes(32), prepared, 'ext');
    const d = extension();
    await d.cosigner.handle({ t: 'keygen', body: encodeKeyGenMsg1(start.message) });
    const bad = { ...encodeKeyGenMsg0(p1KeyGenAnnounce(loadPreparedPaillierFixture(3))), modulusProof: (encodeKeyGenMsg0(p1KeyGenAnnounce(prepared)) as { modulusProof: unknown }).modulusProof };
    await d.cosigner.handleEarly({ t: 'keygen', body: bad });
    expect(d.failures).toHaveLength(1);
    await d.cosigner.handle({ t: 'keygen', body: encodeKeyGenMsg0(p1KeyGenAnnounce(prepared)) });
    expect(keygen2(d.sent)).toEqual([]);
  });

  it('a second keygen/1 while the first share is being stored starts no second key generation', async () => {
    const prepared = loadPreparedPaillierFixture(2);
    let release: () => void = () => undefined;
    const d = extension(() => new Promise<void>((resolve) => (release = resolve)));
    const first = p1KeyGenStart(randomBytes(32), prepared, 'ext');
    await d.cosigner.handle({ t: 'keygen', body: encodeKeyGenMsg0(p1KeyGenAnnounce(prepared)) });
    await d.cosigner.handle({ t: 'keygen', body: encodeKeyGenMsg1(first.message) });
    const finish = p1KeyGenFinish(first.state, decodeKeyGenMsg2(keygen2(d.sent)[0]!.t === 'keygen' ? (keygen2(d.sent)[0] as { body: unknown }).body : null));
    const storing = d.cosigner.handle({ t: 'keygen', body: encodeKeyGenMsg3(finish.message) });
    // The share is being stored (onKeyShare not resolved): a second keygen/1 arrives.
    const second = p1KeyGenStart(randomBytes(32), prepared, 'ext');
    await d.cosigner.handle({ t: 'keygen', body: encodeKeyGenMsg1(second.message) });
    release();
    await storing;
    expect(keygen2(d.sent)).toHaveLength(1);
  });
});
