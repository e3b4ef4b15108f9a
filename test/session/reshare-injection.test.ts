/**
 * Attack tests: a member that injects reshare messages during a rerun or a removal.
 */
import { describe, expect, it } from 'vitest';
import { encodeCertificate, encodeReshareMessage } from '../../src/mpc/reshare-messages.ts';
import { hexFromBytes } from '../../src/mpc/wire.ts';
import { firstPair, FixtureKeys, newIdentity } from '../mpc/wallet-driver.ts';
import { MemoryNetwork, startFirstPair, type TestDevice } from './member-network.ts';

function wallet() {
  const keys = new FixtureKeys();
  const net = new MemoryNetwork(keys);
  const { phone, extension } = firstPair(keys);
  return { net, ...startFirstPair(net, phone, extension) };
}

async function addPhone(net: MemoryNetwork, extension: TestDevice, dealer: TestDevice): Promise<TestDevice> {
  const phoneB = net.add(newIdentity(), 'phone', 'Phone B', null);
  phoneB.start();
  net.link(extension, phoneB);
  await extension.member.startChange({ remove: [], dealer: dealer.key, candidate: phoneB.key });
  await phoneB.member.beginJoining(extension.key);
  await net.until(() => dealer.decisions('candidate').length === 1 && phoneB.decisions('dealer-code').length === 1, 'codes');
  dealer.decideAll('candidate');
  phoneB.decideAll('dealer-code');
  return phoneB;
}

/** After `device` handles a reshare proposal whose id is not `skip`, `inject` is received right behind it. */
function injectAfterProposal(device: TestDevice, skip: string, inject: () => Promise<void>): void {
  const member = device.member;
  const receive = member.receive.bind(member);
  let done = false;
  member.receive = (from, raw) => {
    const result = receive(from, raw);
    const body = (raw as { t?: string; body?: { type?: string; reshareId?: string } }).body;
    if (!done && (raw as { t?: string }).t === 'reshare' && body?.type === 'reshare/proposal' && body.reshareId !== skip) {
      done = true;
      void inject();
    }
    return result;
  };
}

describe('reshare messages injected by a member: a certificate during a rerun, a removed member', () => {
  it('a forged certificate for the stored pending round (well-formed, unsigned: commitReshare refuses it) does not end the rerun', async () => {
    const { net, phoneA, extension } = wallet();
    const phoneB = await addPhone(net, extension, phoneA);
    // B stores its pending share of round X and stops before its confirmation leaves: X is committed nowhere.
    phoneB.beforeWrite = (records) => {
      if (records.pending) phoneB.up = false;
    };
    await net.until(() => phoneB.stored.pending != null, 'B stored its pending share of X');
    phoneB.beforeWrite = null;
    extension.crash();
    await net.settle();
    expect(phoneA.share?.wallet.epoch).toBe(0);
    const x = phoneB.stored.pending!.proposal;
    const xId = hexFromBytes(x.reshareId);
    phoneB.start();
    extension.start();
    // Phone A (malicious) answers the rerun's proposal on B with a "certificate" for X: X's proposal, garbage certificate.
    injectAfterProposal(phoneB, xId, () => phoneB.member.receive(phoneA.key, { t: 'reshare-certificate', proposal: encodeReshareMessage(x), certificate: encodeCertificate({ reshareId: x.reshareId, proposalDigest: new Uint8Array(32), h2: new Uint8Array(32), confirms: [] }) }));
    net.online(phoneB);
    net.online(extension);
    await extension.member.retryChange();
    const devices = [phoneA, extension, phoneB];
    await net.until(() => devices.every((device) => device.share?.wallet.epoch === 1), 'the rerun commits on every member', 6_000);
  }, 15_000);

  // A decode error in ReshareParticipant.handle ends the round: a removed member's messages are dropped first.
  it('a member being removed cannot stop its removal with one malformed reshare message', async () => {
    const { net, phoneA, extension } = wallet();
    const phoneB = await addPhone(net, extension, phoneA);
    await net.until(() => [phoneA, extension, phoneB].every((device) => device.share?.wallet.epoch === 1), 'three members');
    await net.settle();
    phoneA.crash();
    // A (stolen) sends a malformed reshare message to B and to the browser as soon as they see the proposal.
    const garbage = { t: 'reshare', body: { type: 'reshare/join', garbage: true } };
    injectAfterProposal(phoneB, '', () => phoneB.member.receive(phoneA.key, garbage));
    injectAfterProposal(extension, '', () => extension.member.receive(phoneA.key, garbage));
    await extension.member.startChange({ remove: [phoneA.key], dealer: phoneB.key });
    await net.until(() => phoneB.decisions('reshare').length === 1, 'B asked');
    phoneB.decideAll('reshare');
    await net.until(() => extension.share?.wallet.epoch === 2 && phoneB.share?.wallet.epoch === 2, 'both commit the removal', 6_000);
  }, 15_000);
});
