/**
 * A Guard with a wallet for integration tests: the real relay on loopback, a GuardService on a
 * database of the chosen kind, and a 2-of-2 wallet (extension + phone, from a real key generation
 * with fixture Paillier keys) whose devices link to each other and to the Guard, enrol its second
 * factor, and add it as the third member by a reshare — every step through the real protocol.
 */
import { startRelay, type RunningRelay } from '../../../src/relay/relay-server.ts';
import { openDatabase, type Database, type DatabaseConfig } from '../../../src/guard/database.ts';
import { KeyEncryptionKey } from '../../../src/guard/key-encryption.ts';
import { GuardService, type GuardOptions } from '../../../src/guard/guard-service.ts';
import { encodePolicy, type Policy } from '../../../src/guard/policy.ts';
import { accountAddress } from '../../../src/mpc/derivation.ts';
import { memberId, type Member } from '../../../src/mpc/wallet-share.ts';
import { bytesFromHex } from '../../../src/mpc/wire.ts';
import type { PreparedPaillierKey } from '../../../src/mpc/zk/paillier-modulus.ts';
import { loadPreparedPaillierFixture, PAILLIER_FIXTURE_COUNT } from '../../mpc/fixtures.ts';
import { FixtureKeys, firstPair } from '../../mpc/wallet-driver.ts';
import { waitFor } from '../../relay/relay-support.ts';
import { FAST_LINK, MemberDevice, NodeWebSocket } from './member-device.ts';

export const TEST_KEK = new KeyEncryptionKey(new Uint8Array(32).fill(9));

/** Fixture keys from `start`, in turn, around the 30 fixtures (distinct within any one wallet). */
export function cyclingKeys(start: number): () => Promise<PreparedPaillierKey> {
  let next = start;
  return async () => loadPreparedPaillierFixture(next++ % PAILLIER_FIXTURE_COUNT);
}

/** A clock tests move forward (the Guard's delays and security periods). */
export class TestClock {
  offset = 0;
  readonly now = () => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface GuardStack {
  readonly relay: RunningRelay;
  readonly relayUrl: string;
  readonly clock: TestClock;
  guard: GuardService;
  db: Database;
  /** Stops the Guard and starts it again on the same database (a restart). */
  restartGuard(): Promise<void>;
  close(): Promise<void>;
}

export async function startGuardStack(config: DatabaseConfig, options: Partial<GuardOptions> = {}): Promise<GuardStack> {
  const relay = await startRelay({ port: 0, staticDir: null, log: () => undefined, maxConnectionsPerAddress: 2000, maxChannelsPerIp: 2000, addressConnectBurst: 2000, addressConnectsPerSecond: 1000 });
  const relayUrl = `ws://127.0.0.1:${relay.port}`;
  const clock = new TestClock();
  const guardKeys = cyclingKeys(15);
  const open = async () => openDatabase(config.dataDir === undefined && !config.databaseUrl ? { dataDir: null } : config);
  const start = async (db: Database) =>
    GuardService.start({ db, kek: TEST_KEK, relayUrl, port: 0, now: clock.now, preparedKey: guardKeys, log: () => undefined, WebSocket: NodeWebSocket, link: FAST_LINK, ...options });
  let db = await open();
  const stack: GuardStack = {
    relay,
    relayUrl,
    clock,
    guard: await start(db),
    db,
    async restartGuard() {
      await stack.guard.close();
      stack.guard = await start(stack.db);
    },
    async close() {
      await stack.guard.close();
      await stack.db.close().catch(() => undefined);
      await relay.close();
    },
  };
  return stack;
}

export interface GuardedWallet {
  readonly extension: MemberDevice;
  readonly phone: MemberDevice;
  /** Account 0's address. */
  readonly address: string;
  readonly guardMember: Member;
}

/**
 * The whole "add the Guard" flow: extension and phone pair, the extension enrols with the Guard
 * (URL + printed code, SAS proven), sets up TOTP from the QR it got, asks a device code for the
 * phone, the phone links, and the extension proposes the reshare that adds the Guard (dealers:
 * phone and extension, each approving the member set).
 */
/** What the wallet setup needs of a Guard: its URL and a code it printed (in-process or a child process). */
export interface GuardEndpoint {
  readonly relayUrl: string;
  readonly clock: { readonly now: () => number };
  readonly guard: { readonly url: string; issueEnrolmentCode(): Promise<{ readonly code: string }> };
}

export async function walletWithGuard(stack: GuardEndpoint, options: { readonly policy?: Policy; readonly keys?: FixtureKeys } = {}): Promise<GuardedWallet> {
  const keys = options.keys ?? new FixtureKeys();
  const { phone: phoneDevice, extension: extensionDevice } = firstPair(keys);
  const deviceKeys = async () => keys.take();
  const extension = new MemberDevice('extension', 'extension', extensionDevice.identity, extensionDevice.share, { relayUrl: stack.relayUrl, preparedKey: deviceKeys });
  const phone = new MemberDevice('phone', 'phone', phoneDevice.identity, phoneDevice.share, { relayUrl: stack.relayUrl, preparedKey: deviceKeys });
  await extension.pairWith(phone);
  const { code } = await stack.guard.issueEnrolmentCode();
  const guardKey = await extension.enrolGuard(stack.guard.url, code);
  await waitFor(() => extension.totp !== null);
  await extension.guard!.client.request('totp-confirm', { code: extension.otp(stack.clock.now()) });
  // The first policy, set while the Guard cannot sign yet, applies at once.
  if (options.policy) await extension.guard!.client.request('policy-set', { policy: encodePolicy(options.policy) });
  const device = await extension.guard!.client.request<{ code: string; guardUrl: string }>('device-code');
  await phone.enrolGuard(device.guardUrl, device.code);
  phone.useTotpSecret(extension.totp as string);
  const wallet = extension.share!.wallet;
  const guardMember: Member = { index: wallet.nextIndex, identityKey: bytesFromHex(guardKey), role: 'guard', joinedEpoch: wallet.epoch + 1 };
  const newMembers = [...wallet.members, guardMember];
  extension.propose({ newMembers, dealers: [1, 2] });
  await waitFor(() => [extension, phone].every((member) => member.share?.wallet.epoch === wallet.epoch + 1 && member.cosigner !== null), 60_000).catch(async (error) => {
    const describe = (device: MemberDevice) => device.reshareEvents.map((event) => event.kind + ((event as { step?: string }).step ?? '') + ((event as { error?: Error }).error?.message ?? ''));
    console.log('JOIN STUCK', describe(extension), describe(phone), extension.guardEvents.filter((event) => event.kind === 'reshare-failed'), await extension.guard!.client.request('audit').catch((e) => e.message));
    throw error;
  });
  // The devices show "Guard added" once the Guard says it is a member of the new epoch.
  for (let status = await extension.guard!.client.request<{ member: boolean }>('status'); !status.member; status = await extension.guard!.client.request('status')) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const address = accountAddress(wallet.publicKey, wallet.chainCode, 0);
  if (memberId(guardMember) !== guardKey) throw new Error('the Guard joined under another key');
  return { extension, phone, address, guardMember };
}
