/**
 * Abuse, on both databases: replayed and stale requests, requests for a wallet the Guard is not a
 * member of, size caps, rate limits per wallet and per address, and attacks on enrolment (wrong,
 * unknown, expired codes; another relay; a network attacker answering the device's pairing offer
 * in the Guard's place).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { PeerLink } from '../../src/channel/peer-link.ts';
import { decodePairingLink } from '../../src/channel/pairing-offer.ts';
import { enrolWithGuard, GuardEnrolError } from '../../src/guard/guard-enrolment-client.ts';
import { DEFAULT_POLICY } from '../../src/guard/policy.ts';
import { enrolmentMac, parseEnrolmentCode } from '../../src/guard/enrolment-code.ts';
import { CoSigningRejected } from '../../src/session/extension-cosigner.ts';
import { newSigningRequestId } from '../../src/wallet/signing-request.ts';
import { FRIEND, note } from './support/requests.ts';
import { DATABASE_KINDS, useDatabases } from './support/databases.ts';
import { startGuardStack, walletWithGuard, type GuardStack, type GuardedWallet } from './support/guard-harness.ts';
import { FAST_LINK, MemberDevice, NodeWebSocket } from './support/member-device.ts';

const databases = useDatabases();


async function post(url: string, body: string): Promise<{ status: number; error: string }> {
  const response = await fetch(`${url}/v1/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, error: ((await response.json()) as { error: string }).error };
}

describe.each(DATABASE_KINDS)('abuse on %s', (kind) => {
  let stack: GuardStack;
  let wallet: GuardedWallet;

  beforeAll(async () => {
    stack = await startGuardStack(await databases.config(kind), { walletRate: { perSecond: 0.01, burst: 40 }, ipRate: { perSecond: 0.01, burst: 12 } });
    wallet = await walletWithGuard(stack, { policy: { ...DEFAULT_POLICY, allowList: [{ address: FRIEND, chainId: null, label: '' }] } });
  });
  afterAll(async () => {
    wallet.extension.close();
    wallet.phone.close();
    await stack.close();
  });

  it('a request id used again: the same request gets the same answer, another request is refused', async () => {
    const { extension, address } = wallet;
    const first = note(address, stack.clock.now());
    const signature = await extension.signWithGuard(first);
    // The extension asks again (its service worker restarted): the same signature, nothing new charged.
    expect(await extension.signWithGuard(first)).toEqual(signature);
    await expect(extension.signWithGuard({ ...first, message: '0x6f6f' })).rejects.toThrow(/already used/);
    expect((await extension.decision(first.id, 3)).reasons).toEqual([{ code: 'replayed_request' }]);
  });

  it('a stale request, an account of another wallet and an oversized request are refused', async () => {
    const { extension, address } = wallet;
    const stale = note(address, stack.clock.now() - 60 * 60_000);
    await expect(extension.signWithGuard(stale)).rejects.toThrow(/too old/);
    const foreign = { ...note(address, stack.clock.now()), account: { index: 0, address: FRIEND } };
    await expect(extension.signWithGuard(foreign)).rejects.toThrow(/not one of this wallet/);
    // A request over the size cap is refused before it is read.
    const id = newSigningRequestId();
    extension.guard!.link.channel.send({ t: 'sign-request', request: { id, pad: 'x'.repeat(310_000) } });
    expect(await extension.decision(id)).toMatchObject({ verdict: 'refuse', reasons: [{ code: 'bad_request', detail: 'larger than 300000 characters' }] });
    // An operation over its cap is refused before it is read.
    await expect(extension.guard!.client.request('status', { pad: 'x'.repeat(70_000) })).rejects.toMatchObject({ code: 'too_large' });
  });

  it('a device linked to a wallet the Guard has not joined gets "not a member"', async () => {
    const loner = new MemberDevice('loner', 'extension', generateIdentity(), wallet.extension.share, { relayUrl: stack.relayUrl, preparedKey: async () => Promise.reject(new Error('no keys')) });
    const { code } = await stack.guard.issueEnrolmentCode();
    await loner.enrolGuard(stack.guard.url, code);
    const status = await loner.guard!.client.request<{ member: boolean; enrolled: boolean }>('status');
    expect(status).toMatchObject({ member: false, enrolled: false });
    // Its own request cannot be signed (no pair), and the Guard says why.
    const request = note(wallet.address, stack.clock.now());
    loner.guard!.link.channel.send({ t: 'sign-request', request: { ...request, createdAt: request.createdAt } });
    const refused = await loner.decision(request.id);
    expect(refused).toMatchObject({ verdict: 'refuse', reasons: [{ code: 'unknown_wallet' }] });
    loner.close();
  });

  it('enrolment: unknown, wrong, expired codes, another relay, an oversized body, and too many attempts from one address', async () => {
    const url = stack.guard.url;
    const { createPairingOffer, encodePairingLink } = await import('../../src/channel/pairing-offer.ts');
    const offerOn = (relay: string) => encodePairingLink(createPairingOffer(relay, stack.clock.now()).offer, url);
    const offerLink = offerOn(stack.relayUrl);
    const { code } = await stack.guard.issueEnrolmentCode();
    const parsed = parseEnrolmentCode(code)!;
    const body = (change: Record<string, unknown> = {}) => JSON.stringify({ v: 1, offer: offerLink, role: 'extension', code: parsed.id, mac: enrolmentMac(parsed.secret, offerLink, 'extension'), ...change });
    expect(await post(url, body({ code: 'ZZZZ' }))).toEqual({ status: 404, error: 'unknown_code' });
    expect(await post(url, body({ mac: enrolmentMac('WRONGSECRET1', offerLink, 'extension') }))).toEqual({ status: 401, error: 'bad_code' });
    // The MAC binds the role too.
    expect(await post(url, body({ role: 'phone' }))).toEqual({ status: 401, error: 'bad_code' });
    const elsewhere = offerOn('ws://127.0.0.1:9');
    expect(await post(url, body({ offer: elsewhere, mac: enrolmentMac(parsed.secret, elsewhere, 'extension') }))).toEqual({ status: 400, error: 'wrong_relay' });
    expect(await post(url, 'x'.repeat(9_000))).toEqual({ status: 413, error: 'too_large' });
    // Then the address has used its allowance.
    const statuses: number[] = [];
    for (let k = 0; k < 8; k++) statuses.push((await post(url, body({ code: 'ZZZZ' }))).status);
    expect(statuses).toContain(429);
    const late = await stack.guard.issueEnrolmentCode();
    stack.clock.advance(16 * 60_000);
    const lateCode = parseEnrolmentCode(late.code)!;
    const fresh = offerOn(stack.relayUrl);
    expect(await post(url, body({ offer: fresh, code: lateCode.id, mac: enrolmentMac(lateCode.secret, fresh, 'extension') }))).toEqual({ status: 410, error: 'expired' });
  });

  it('a network attacker who answers the offer in the Guard\'s place cannot prove the code: nothing is paired', async () => {
    const { code } = await stack.guard.issueEnrolmentCode();
    let attacker: PeerLink | null = null;
    // The attacker sees the device's request (no TLS) and answers the offer itself.
    const intercept: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/v1/enrol')) {
        const { offer } = JSON.parse(String(init?.body)) as { offer: string };
        const decoded = decodePairingLink(offer, Date.now());
        attacker = PeerLink.pairing({ role: 'phone', identity: generateIdentity(), write: async () => undefined, WebSocket: NodeWebSocket, ...FAST_LINK }, decoded, stack.relayUrl);
        const channel = attacker.channel;
        channel.onEvent((event) => event.kind === 'sas' && channel.sendEarly({ t: 'guard-enrol-proof', proof: 'forged-proof-of-the-right-length-AAAAAAAAAAA' }));
        channel.answerOffer(decoded);
        await attacker.connect();
        return new Response(JSON.stringify({ status: 'pairing' }), { status: 202 });
      }
      return fetch(input, init);
    };
    const enrolment = await enrolWithGuard({ guardUrl: stack.guard.url, code, identity: generateIdentity(), role: 'extension', write: async () => undefined, WebSocket: NodeWebSocket, fetch: intercept, link: FAST_LINK });
    await enrolment.sas;
    await expect(enrolment.guardVerified).rejects.toBeInstanceOf(GuardEnrolError);
    await expect(enrolment.paired).rejects.toMatchObject({ code: 'guard_not_verified' });
    expect(() => enrolment.confirm()).toThrow(/only after the Guard proved the code/);
    (attacker as PeerLink | null)?.close();
  });

  it('rate limit per wallet: a flood of operations and requests is refused', async () => {
    const { extension, address } = wallet;
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => extension.guard!.client.request('status')));
    expect(results.some((result) => result.status === 'rejected' && (result.reason as { code?: string }).code === 'rate_limited')).toBe(true);
    const flooded = note(address, stack.clock.now());
    await expect(extension.signWithGuard(flooded)).rejects.toBeInstanceOf(CoSigningRejected);
    expect(await extension.decision(flooded.id)).toMatchObject({ verdict: 'refuse', reasons: [{ code: 'rate_limited' }] });
  });
});
