/**
 * A browser member of the wallet run in Node: the extension's production member links
 * (src/background/phone-link.ts) with its records in memory, over the real relay. `tamper` rewrites
 * what its co-signers send, to play a compromised browser; its Paillier keys (the pairs where it is
 * P1) are test fixtures.
 */
import { WebSocket } from 'ws';
import type { MembersView, PhoneLink, PhoneLinkContext } from '../../src/background/pairing.ts';
import { relayPhoneLinks } from '../../src/background/phone-link.ts';
import type { WebSocketConstructor } from '../../src/channel/relay-client.ts';
import { decodeWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import type { AppMessage } from '../../src/session/messages.ts';
import type { Decision } from '../../src/session/wallet-member.ts';
import type { SigningRequest } from '../../src/wallet/signing-request.ts';
import { MemorySecrets } from '../../test/channel/app-link.ts';
import { loadPreparedPaillierFixture } from '../../test/mpc/fixtures.ts';

export interface NodeBrowserMember {
  readonly link: PhoneLink;
  /** Its member view, or null while it holds no wallet. */
  view(): MembersView | null;
  /** Questions for its user (as a member, or while it joins). */
  decisions(): readonly Decision[];
  decide(id: string, yes: boolean): void;
  /** Its own member key. */
  key(): string;
  sign(request: SigningRequest, via?: string | null): Promise<unknown>;
  /** The Paillier modulus of its pair with `counterpart` (a member index) where it is P2. */
  pairModulus(counterpart: number): Promise<bigint>;
  close(): void;
}

export function nodeBrowserMember(relayWsUrl: string, phoneAppUrl: string, firstFixtureKey: number, tamper?: (message: AppMessage) => AppMessage): NodeBrowserMember {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  const secrets = new MemorySecrets();
  let nextKey = firstFixtureKey;
  const context: PhoneLinkContext = {
    secrets,
    relayUrl: relayWsUrl,
    phoneAppUrl,
    now: () => Date.now(),
    completePairing: (_result, records) => secrets.putMany(records),
    seen: () => undefined,
  };
  const link = relayPhoneLinks(WebSocket as unknown as WebSocketConstructor, undefined, { ...(tamper ? { tamper } : {}), preparedKey: async () => loadPreparedPaillierFixture(nextKey++) })(context);
  const members = () => link.members;
  return {
    link,
    view: () => members()?.view() ?? null,
    decisions: () => members()?.view()?.decisions ?? members()?.joiningView()?.decisions ?? [],
    decide: (id, yes) => members()?.decide(id, yes),
    key: () => members()?.view()?.members.find((member) => member.self)?.key ?? '',
    sign: (request, via = null) => link.coSigner.sign(request, new AbortController().signal, via),
    pairModulus: async (counterpart) => {
      const pair = decodeWalletShare(await secrets.get('walletShare')).pairs.find((entry) => entry.counterpart === counterpart);
      if (pair?.role !== 'P2') throw new Error(`no pair with member ${counterpart} where this browser is P2`);
      return pair.paillierN;
    },
    close: () => link.close(),
  };
}
