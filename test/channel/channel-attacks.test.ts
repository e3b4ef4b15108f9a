/**
 * What a relay (or anyone on the network) can do to a paired channel with the frames it injects:
 * never stall it, never close it, never make either side accept a key it did not agree.
 */
import { describe, expect, it } from 'vitest';
import { generateEphemeral, generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, decodePairingLink, encodePairingLink } from '../../src/channel/pairing-offer.ts';
import { SecureChannel, type ChannelEvent } from '../../src/channel/secure-channel.ts';
import { pipe, settle } from './pipe.ts';

const NOW = Date.now();

async function paired() {
  const { offer, ephemeralSecret } = createPairingOffer('wss://relay.example/ws', NOW);
  const wires = pipe();
  const extension = new SecureChannel({ transport: wires.extension, role: 'extension', channelId: offer.channelId, identity: generateIdentity() });
  const phone = new SecureChannel({ transport: wires.phone, role: 'phone', channelId: offer.channelId, identity: generateIdentity() });
  const events = { extension: [] as ChannelEvent[], phone: [] as ChannelEvent[] };
  extension.onEvent((e) => events.extension.push(e));
  phone.onEvent((e) => events.phone.push(e));
  extension.awaitPhone(offer, ephemeralSecret);
  phone.answerOffer(decodePairingLink(encodePairingLink(offer, 'https://phone.example/'), NOW));
  await settle();
  extension.confirmSas();
  phone.confirmSas();
  await settle();
  const got = { extension: [] as unknown[], phone: [] as unknown[] };
  extension.onMessage((m) => got.extension.push(m));
  phone.onMessage((m) => got.phone.push(m));
  return { extension, phone, wires, events, got };
}

/** Both directions still carry messages. */
async function stillWorks(setup: Awaited<ReturnType<typeof paired>>): Promise<void> {
  await settle();
  setup.extension.send({ n: 'to phone' });
  setup.phone.send({ n: 'to extension' });
  await settle();
  await settle();
  expect(setup.got.phone).toContainEqual({ n: 'to phone' });
  expect(setup.got.extension).toContainEqual({ n: 'to extension' });
  expect(setup.extension.currentPhase).toBe('paired');
  expect(setup.phone.currentPhase).toBe('paired');
}

/** Delivers `frame` to `target` as if the relay had sent it. */
function inject(setup: Awaited<ReturnType<typeof paired>>, target: 'extension' | 'phone', frame: Uint8Array): void {
  (target === 'phone' ? setup.wires.extension : setup.wires.phone).send(frame);
}

describe('frames injected by the relay', () => {
  it('one 33-byte session-start frame does not stall the phone', async () => {
    const setup = await paired();
    inject(setup, 'phone', new Uint8Array([2, ...generateEphemeral().publicKey]));
    await stillWorks(setup);
  });

  it('a forged encrypted frame is dropped (reported), and the channel stays open both ways', async () => {
    const setup = await paired();
    for (const target of ['phone', 'extension'] as const) inject(setup, target, new Uint8Array([5, ...crypto.getRandomValues(new Uint8Array(60))]));
    await stillWorks(setup);
    expect(setup.events.phone.some((e) => e.kind === 'error' && e.error.code === 'tampered')).toBe(true);
  });

  it('forged session replies and confirmations are dropped; nothing stalls', async () => {
    const setup = await paired();
    inject(setup, 'extension', new Uint8Array([3, ...crypto.getRandomValues(new Uint8Array(96))]));
    inject(setup, 'phone', new Uint8Array([4, ...crypto.getRandomValues(new Uint8Array(64))]));
    inject(setup, 'phone', new Uint8Array([9, 1, 2, 3]));
    await stillWorks(setup);
  });
});
