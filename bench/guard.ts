/**
 * `npm run bench:guard [-- --db pglite|postgresql] [--wallets 200] [--per-wallet 8] [--in-flight 50]`
 *
 * Duet Guard under concurrent signing, on this machine: the Guard in its own process (the real
 * service: its links over the real relay, its policy decided and charged in its database), the
 * relay in another, and the devices (the extension's real P2 co-signer) here.
 *
 * Setup (not timed): `wallets` wallets of three members (phone, extension, Guard), dealt directly
 * from a known polynomial with the Guard's pair key from the Paillier fixtures (keys repeat across
 * wallets here; never in a real wallet), each with a paired extension ↔ Guard link made through
 * the relay and the Guard's side stored in its database; policy 1 ETH a day, the recipient
 * allow-listed. The extensions' c3 nonces are prepared in idle time, as the extension does.
 * Timed: `per-wallet` transfers per wallet (0.15 ETH each: six fit the daily limit, the other two
 * are aimed past it — a quarter), all shuffled, `in-flight` at a time. Every request races the
 * others of its wallet; the Guard must let exactly those through that fit.
 *
 * Last line JSON: wallets, requests, signs, delayed, signs_per_s, p50_ms, p99_ms (request →
 * verified signature), limit_violations (wallets whose signed total exceeds the limit, or that
 * signed more than fits: must be 0), db.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'ethers';
import { generateIdentity, type Identity } from '../src/channel/handshake.ts';
import { createPairingOffer } from '../src/channel/pairing-offer.ts';
import { PeerLink } from '../src/channel/peer-link.ts';
import { startPostgres, type PostgresServer } from '../src/devstack/postgres.ts';
import { openDatabase } from '../src/guard/database.ts';
import { GuardStore } from '../src/guard/guard-store.ts';
import { KeyEncryptionKey } from '../src/guard/key-encryption.ts';
import { migrate } from '../src/guard/migrations.ts';
import { DEFAULT_POLICY, type Policy } from '../src/guard/policy.ts';
import { newTotpSecret } from '../src/guard/second-factor.ts';
import { G, modQ } from '../src/mpc/curve.ts';
import { accountAddress } from '../src/mpc/derivation.ts';
import { encrypt, type NoncePool } from '../src/mpc/paillier.ts';
import { randomBytes, randomScalar } from '../src/mpc/random.ts';
import { pairCoefficients } from '../src/mpc/shamir.ts';
import { encodeWalletShare } from '../src/mpc/wallet-share-codec.ts';
import { p2PairShare, WALLET_SHARE_VERSION, type Member, type WalletPublic, type WalletShare } from '../src/mpc/wallet-share.ts';
import { hexFromBytes } from '../src/mpc/wire.ts';
import { ExtensionCoSigner, CoSigningRejected } from '../src/session/extension-cosigner.ts';
import { maxFeePerGasOf, newSigningRequestId, type TransactionRequest } from '../src/wallet/signing-request.ts';
import { loadPaillierFixture, PAILLIER_FIXTURE_COUNT } from '../test/mpc/fixtures.ts';
import { startRelayProcess } from '../test/relay/relay-process.ts';
import { startGuardProcess } from '../test/guard/support/guard-process.ts';
import { NodeWebSocket } from '../test/guard/support/member-device.ts';
import { waitFor } from '../test/relay/relay-support.ts';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const DB = option('db', 'pglite') as 'pglite' | 'postgresql';
const WALLETS = Number(option('wallets', '200'));
const PER_WALLET = Number(option('per-wallet', '8'));
const IN_FLIGHT = Number(option('in-flight', '50'));
const KEK_HEX = hexFromBytes(randomBytes(32));
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const AMOUNT = parseEther('0.15');
const GAS = 21_000n;
const FEE_PER_GAS = 1_000_000_000n;
const LIMIT = parseEther('1');
const POLICY: Policy = { ...DEFAULT_POLICY, dailyNative: { '*': LIMIT }, perTransaction: { '*': LIMIT }, allowList: [{ address: RECIPIENT, chainId: null, label: 'bench' }] };
const LINK_TIMING = { keepaliveMs: 15_000, backoff: { initialMs: 50, maxMs: 2_000 } };

interface BenchWallet {
  readonly address: string;
  readonly cosigner: ExtensionCoSigner;
  readonly link: PeerLink;
  signed: bigint;
  signs: number;
}

/** A 3-member sharing (phone 1, extension 2, Guard 3) with the extension–Guard pair's keys. */
function dealWallet(extension: Identity, guard: Identity, fixture: number): { extension: WalletShare; guard: WalletShare; public: WalletPublic } {
  const [a0, a1] = [randomScalar(), randomScalar()];
  const share = (index: number) => modQ(a0 + a1 * BigInt(index));
  const members: Member[] = [
    { index: 1, identityKey: generateIdentity().publicKey, role: 'phone', joinedEpoch: 0 },
    { index: 2, identityKey: extension.publicKey, role: 'extension', joinedEpoch: 0 },
    { index: 3, identityKey: guard.publicKey, role: 'guard', joinedEpoch: 1 },
  ];
  const wallet: WalletPublic = { walletId: randomBytes(32), publicKey: G.multiply(a0), chainCode: randomBytes(32), epoch: 1, members, publicShares: members.map((member) => G.multiply(share(member.index))), taints: [], nextIndex: 4 };
  const paillier = loadPaillierFixture(fixture);
  // The Guard is P1 of its pair with the extension: ckey = Enc(λ₃·s₃).
  const ckey = encrypt(paillier.publicKey, modQ(pairCoefficients(3, 2).self * share(3)));
  const base = { version: WALLET_SHARE_VERSION, wallet, acceptedModuli: [], blocked: [] } as const;
  return {
    public: wallet,
    guard: { ...base, self: 3, share: share(3), pairs: [{ counterpart: 2, role: 'P1', paillier }] },
    extension: { ...base, self: 2, share: share(2), pairs: [{ counterpart: 3, role: 'P2', paillierN: paillier.publicKey.n, ckey }] },
  };
}

/** A paired extension ↔ Guard link through the relay; the Guard's side is returned as its stored state. */
async function pairLink(relayUrl: string, extension: Identity, guard: Identity) {
  const { offer, ephemeralSecret } = createPairingOffer(relayUrl, Date.now());
  const mine = PeerLink.pairing({ role: 'extension', identity: extension, write: async () => undefined, WebSocket: NodeWebSocket, ...LINK_TIMING }, offer, relayUrl);
  let guardState: Parameters<Parameters<typeof PeerLink.pairing>[0]['write']>[0] | null = null;
  const theirs = PeerLink.pairing({ role: 'phone', identity: guard, write: async (state) => void (guardState = state), WebSocket: NodeWebSocket, ...LINK_TIMING }, offer, relayUrl);
  mine.channel.awaitPhone(offer, ephemeralSecret);
  await mine.connect();
  theirs.channel.answerOffer(offer);
  await theirs.connect();
  await waitFor(() => mine.channel.currentPhase === 'awaiting-sas' && theirs.channel.currentPhase === 'awaiting-sas', 30_000);
  mine.channel.confirmSas();
  theirs.channel.confirmSas();
  await waitFor(() => mine.channel.currentPhase === 'paired' && theirs.channel.currentPhase === 'paired', 30_000);
  await theirs.store();
  theirs.close();
  return { link: mine, guardState: guardState as unknown as NonNullable<typeof guardState> };
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map((item, k) => work(item, start + k)));
}

/** CPU time a process used so far (user + system), in ms, from /proc. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const relay = await startRelayProcess({ maxConnectionsPerAddress: 5_000, maxChannelsPerIp: 5_000, addressConnectsPerSecond: 5_000, addressConnectBurst: 5_000, addressFramesPerSecond: 100_000, addressFrameBurst: 100_000 });
let postgres: PostgresServer | null = null;
const dataDir = DB === 'pglite' ? mkdtempSync(join(tmpdir(), 'duet-bench-guard-')) : null;
const databaseUrl = DB === 'postgresql' ? await (postgres = await startPostgres({ durable: true })).createDatabase() : null;
const cleanup = async () => {
  await relay.stop();
  await postgres?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
};

try {
  // ---- setup: wallets, links, the Guard's rows (the Guard is not running yet) ------------------
  const setupStart = performance.now();
  const kek = new KeyEncryptionKey(Uint8Array.from(Buffer.from(KEK_HEX, 'hex')));
  const db = await openDatabase({ databaseUrl, dataDir });
  await migrate(db);
  const store = new GuardStore(db, kek, Date.now);
  await store.checkKek();
  const wallets: BenchWallet[] = [];
  await inBatches(Array.from({ length: WALLETS }, (_, k) => k), 20, async (_, k) => {
    const extension = generateIdentity();
    const guard = generateIdentity();
    const dealt = dealWallet(extension, guard, k % PAILLIER_FIXTURE_COUNT);
    const { link, guardState } = await pairLink(relay.wsUrl, extension, guard);
    const id = await store.insertWallet(guard, newTotpSecret(), { id: hexFromBytes(randomBytes(16)), deviceKey: hexFromBytes(extension.publicKey), deviceRole: 'extension', state: guardState });
    await store.setPolicy(id, POLICY, 'bench', false);
    await db.query("UPDATE guard_wallets SET share = $2, status = 'member', wallet_id = $3 WHERE id = $1", [id, kek.seal('share', id, JSON.stringify(encodeWalletShare(dealt.guard))), hexFromBytes(dealt.public.walletId)]);
    const cosigner = new ExtensionCoSigner({ send: (message) => link.channel.send(message), onKeyShare: async () => undefined, keyShare: p2PairShare(dealt.extension, 3) });
    // The extension prepares its c3 encryption nonces while its user decides (idle time).
    (cosigner as unknown as { noncePool: NoncePool }).noncePool.fill(PER_WALLET);
    link.channel.onMessage((message) => void cosigner.handle(message));
    wallets[k] = { address: accountAddress(dealt.public.publicKey, dealt.public.chainCode, 0), cosigner, link, signed: 0n, signs: 0 };
  });
  await db.close();

  const guard = await startGuardProcess({ databaseUrl, dataDir, relayUrl: relay.wsUrl, port: 0, kek: KEK_HEX, clockOffset: 0 });
  const setupMs = performance.now() - setupStart;

  // ---- warm-up (not timed): every link online, every wallet loaded -----------------------------
  let nonce = 0;
  const transfer = (wallet: BenchWallet): TransactionRequest => ({
    kind: 'transaction',
    id: newSigningRequestId(),
    origin: 'https://bench.example',
    chainId: 31337,
    account: { index: 0, address: wallet.address },
    createdAt: Date.now(),
    tx: { to: RECIPIENT, value: AMOUNT, data: '0x', nonce: nonce++, gas: GAS, maxFeePerGas: FEE_PER_GAS, maxPriorityFeePerGas: FEE_PER_GAS, chainId: 31337 },
  });
  await inBatches(wallets, 25, async (wallet) => {
    await wallet.cosigner.requestSignature({ kind: 'personal_sign', id: newSigningRequestId(), origin: 'https://bench.example', chainId: 31337, account: { index: 0, address: wallet.address }, createdAt: Date.now(), message: '0x6869' });
    (wallet.cosigner as unknown as { noncePool: NoncePool }).noncePool.fill(1);
  });

  // ---- timed: every request races the others of its wallet ------------------------------------
  const jobs = wallets.flatMap((wallet) => Array.from({ length: PER_WALLET }, () => wallet));
  for (let k = jobs.length - 1; k > 0; k--) {
    const j = Math.floor(Math.random() * (k + 1));
    [jobs[k], jobs[j]] = [jobs[j] as BenchWallet, jobs[k] as BenchWallet];
  }
  const latencies: number[] = [];
  let delayed = 0;
  let failed = 0;
  let next = 0;
  const guardCpuBefore = cpuMs(guard.child.pid as number);
  const devicesCpuBefore = process.cpuUsage();
  const relayCpuBefore = cpuMs(relay.child.pid as number);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < jobs.length) {
        const wallet = jobs[next++] as BenchWallet;
        const request = transfer(wallet);
        const begin = performance.now();
        try {
          await wallet.cosigner.requestSignature(request);
          latencies.push(performance.now() - begin);
          wallet.signs += 1;
          wallet.signed += request.tx.value + request.tx.gas * maxFeePerGasOf(request.tx);
        } catch (error) {
          if (error instanceof CoSigningRejected) delayed += 1;
          else failed += 1;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const guardCpu = cpuMs(guard.child.pid as number) - guardCpuBefore;
  const devicesUsage = process.cpuUsage(devicesCpuBefore);
  const devicesCpu = (devicesUsage.user + devicesUsage.system) / 1000;
  const relayCpu = cpuMs(relay.child.pid as number) - relayCpuBefore;
  const fits = Number(LIMIT / (AMOUNT + GAS * FEE_PER_GAS));
  const violations = wallets.filter((wallet) => wallet.signed > LIMIT || wallet.signs > fits).length;
  latencies.sort((a, b) => a - b);
  for (const wallet of wallets) wallet.link.close();
  await guard.kill();
  await cleanup();
  console.log(`setup ${(setupMs / 1000).toFixed(1)} s (not timed); ${jobs.length} requests, ${IN_FLIGHT} in flight, ${failed} failed`);
  console.log(
    JSON.stringify({
      wallets: WALLETS,
      requests: jobs.length,
      signs: latencies.length,
      delayed,
      failed,
      signs_per_s: Math.round((latencies.length / elapsedS) * 10) / 10,
      p50_ms: Math.round(percentile(latencies, 50)),
      p99_ms: Math.round(percentile(latencies, 99)),
      limit_violations: violations,
      guard_cpu_ms_per_request: Math.round(guardCpu / jobs.length),
      devices_cpu_ms_per_request: Math.round(devicesCpu / jobs.length),
      relay_cpu_ms_per_request: Math.round(relayCpu / jobs.length),
      db: DB,
    }),
  );
  process.exit(violations === 0 && failed === 0 ? 0 : 1);
} catch (error) {
  await cleanup();
  throw error;
}
