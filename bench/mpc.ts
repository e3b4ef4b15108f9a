/**
 * `npm run bench:mpc`: key generation and signing of the two-party engine, both parties' compute
 * in one thread, no network (messages still go through their JSON encoding), against ethers'
 * single-key signing as the in-run baseline. Last line: one JSON object.
 *
 * - paillier_setup: the phone's idle-time work, a fresh Paillier key and its modulus proof;
 * - modulus_proof_verify: the extension's check of that proof (keygen/0), done during the SAS;
 * - keygen (online): keygen/1 → the shared key, with the key and proof prepared and checked before.
 * - {2,n}: sign_2of3 (a pair of a 2-of-3 wallet, nonce pool as above); pair_setup (one pair's online
 *   part: P1's ckey and PDL proof, P2's check of the modulus proof and the PDL proof); reshare_2of3
 *   (adding a third member to a 2-of-2 wallet: the summed compute of every member, all checks, every
 *   message through JSON, and the setups of all three new pairs, with keys from the idle-time pool).
 */
import { Wallet, hexlify } from 'ethers';
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
  p2KeyGenFinish,
  p2KeyGenRespond,
  p2KeyGenVerifyModulus,
} from '../src/mpc/keygen.ts';
import { preparePaillierKey, type PreparedPaillierKey, type VerifiedPaillierModulus } from '../src/mpc/zk/paillier-modulus.ts';
import { p1PairSetup, p2PairAccept } from '../src/mpc/pair-setup.ts';
import { memberByIndex, p1PairShare, p2PairShare, pairRoles, type WalletShare } from '../src/mpc/wallet-share.ts';
import { firstPair, newIdentity, newMember, runReshare, type Device, type KeySource } from '../test/mpc/wallet-driver.ts';
import { NoncePool } from '../src/mpc/paillier.ts';
import { randomBytes } from '../src/mpc/random.ts';
import { p1SignFinish, p1SignReveal, p1SignStart, p2SignCompute, p2SignRespond } from '../src/mpc/sign.ts';
import { decodeSignMsg1, decodeSignMsg2, decodeSignMsg3, decodeSignMsg4, encodeSignMsg1, encodeSignMsg2, encodeSignMsg3, encodeSignMsg4 } from '../src/mpc/sign-messages.ts';
import type { P1KeyShare, P2KeyShare } from '../src/mpc/key-share.ts';

const KEYGEN_RUNS = Number(process.env.KEYGEN_RUNS ?? 7);
const SETUP_RUNS = Number(process.env.SETUP_RUNS ?? 7);
const RESHARE_RUNS = Number(process.env.RESHARE_RUNS ?? 5);
const SIGN_RUNS = Number(process.env.SIGN_RUNS ?? 51);
const WARMUP = 5;

const wire = (message: object): unknown => JSON.parse(JSON.stringify(message));

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const round = (value: number) => Math.round(value * 100) / 100;

/** The extension's check of keygen/0, from its JSON. */
function verifyAnnouncedKey(prepared: PreparedPaillierKey): VerifiedPaillierModulus {
  return p2KeyGenVerifyModulus(decodeKeyGenMsg0(wire(encodeKeyGenMsg0(p1KeyGenAnnounce(prepared)))));
}

/** Online key generation: keygen/1 to the shared key. */
function keygen(prepared: PreparedPaillierKey, modulus: VerifiedPaillierModulus): { p1: P1KeyShare; p2: P2KeyShare } {
  const r1 = p1KeyGenStart(randomBytes(32), prepared, 'extension');
  const r2 = p2KeyGenRespond(decodeKeyGenMsg1(wire(encodeKeyGenMsg1(r1.message))), modulus);
  const r3 = p1KeyGenFinish(r1.state, decodeKeyGenMsg2(wire(encodeKeyGenMsg2(r2.message))));
  const p2 = p2KeyGenFinish(r2.state, decodeKeyGenMsg3(wire(encodeKeyGenMsg3(r3.message)), modulus.n));
  return { p1: r3.keyShare, p2 };
}

function sign(p1: P1KeyShare, p2: P2KeyShare, pool?: NoncePool): void {
  const request = { sessionId: randomBytes(32), digest: randomBytes(32), accountIndex: 1 };
  const s1 = p1SignStart(p1, request, null);
  const s2 = p2SignRespond(p2, request, decodeSignMsg1(wire(encodeSignMsg1(s1.message))), null);
  const s3 = p1SignReveal(p1, s1.session, decodeSignMsg2(wire(encodeSignMsg2(s2.message))));
  const s4 = p2SignCompute(p2, s2.session, decodeSignMsg3(wire(encodeSignMsg3(s3.message))), pool);
  const outcome = p1SignFinish(p1, s3.session, decodeSignMsg4(wire(encodeSignMsg4(s4.message)), p1.paillier.publicKey.n));
  if (outcome.kind !== 'signature') throw new Error('benchmark signature failed');
}

function timed<T>(action: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = action();
  return { value, ms: performance.now() - start };
}

function time(action: () => void): number {
  return timed(action).ms;
}

const setupTimes: number[] = [];
const verifyTimes: number[] = [];
const prepared: { key: PreparedPaillierKey; modulus: VerifiedPaillierModulus }[] = [];
for (let i = 0; i < Math.max(SETUP_RUNS, KEYGEN_RUNS + 1); i++) {
  const key = timed(preparePaillierKey);
  const modulus = timed(() => verifyAnnouncedKey(key.value));
  setupTimes.push(key.ms);
  verifyTimes.push(modulus.ms);
  prepared.push({ key: key.value, modulus: modulus.value });
}
console.log(`paillier setup: ${setupTimes.map((t) => Math.round(t)).join(', ')} ms; modulus proof verify: ${verifyTimes.map((t) => Math.round(t)).join(', ')} ms`);

// One key per keygen, as in the app (no Paillier key is reused across pairs).
const keygenTimes: number[] = [];
let shares = keygen(prepared[0]!.key, prepared[0]!.modulus);
for (const { key, modulus } of prepared.slice(1, KEYGEN_RUNS + 1)) {
  const run = timed(() => keygen(key, modulus));
  keygenTimes.push(run.ms);
  shares = run.value;
}
console.log(`keygen (online): ${keygenTimes.map((t) => Math.round(t)).join(', ')} ms`);

const { p1, p2 } = shares;
const pool = new NoncePool({ n: p2.paillierN, n2: p2.paillierN * p2.paillierN });
pool.fill(SIGN_RUNS + WARMUP);
for (let i = 0; i < WARMUP; i++) sign(p1, p2, pool);
const signTimes = Array.from({ length: SIGN_RUNS }, () => time(() => sign(p1, p2, pool)));
const signNoPoolTimes = Array.from({ length: Math.ceil(SIGN_RUNS / 2) }, () => time(() => sign(p1, p2)));

// {2,n}: keys for one keygen and three pair setups per reshare run, plus the pair-setup runs.
console.log('preparing Paillier keys for the {2,n} runs…');
const pooled: PreparedPaillierKey[] = Array.from({ length: 4 * RESHARE_RUNS + SETUP_RUNS }, () => preparePaillierKey());
const keySource: KeySource = { take: () => pooled.pop() as PreparedPaillierKey };
const reshareTimes: number[] = [];
let threeMembers: Map<number, Device> | null = null;
for (let run = 0; run < RESHARE_RUNS; run++) {
  const { phone, extension } = firstPair(keySource);
  const tablet: Device = { identity: newIdentity(), share: null };
  const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
  const request = { newMembers: [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)], dealers: [1, 2] as const };
  reshareTimes.push(time(() => runReshare(devices, 2, request, keySource)));
  threeMembers = devices;
}
console.log(`reshare 2-of-2 → 2-of-3: ${reshareTimes.map((t) => Math.round(t)).join(', ')} ms`);

const members = threeMembers as Map<number, Device>;
const pairSetupTimes = Array.from({ length: SETUP_RUNS }, () => {
  const phone = members.get(1)!.share as WalletShare;
  const tablet = members.get(3)!.share as WalletShare;
  const sessionId = randomBytes(32);
  const prepared = keySource.take();
  return time(() => {
    const setup = p1PairSetup({ sessionId, wallet: phone.wallet, self: 1, share: phone.share, counterpart: 3 }, prepared);
    p2PairAccept({ sessionId, wallet: tablet.wallet, self: 3, acceptedModuli: [] }, setup.message);
  });
});

// A pair of the 2-of-3 wallet that does not include the first pair's P1: the tablet (P1) and the extension.
const tabletShare = members.get(3)!.share as WalletShare;
const roles = pairRoles(memberByIndex(tabletShare.wallet, 3), memberByIndex(tabletShare.wallet, 2));
const pairP1 = p1PairShare(members.get(roles.p1.index)!.share as WalletShare, roles.p2.index);
const pairP2 = p2PairShare(members.get(roles.p2.index)!.share as WalletShare, roles.p1.index);
const pairPool = new NoncePool({ n: pairP2.paillierN, n2: pairP2.paillierN * pairP2.paillierN });
pairPool.fill(SIGN_RUNS + WARMUP);
for (let i = 0; i < WARMUP; i++) sign(pairP1, pairP2, pairPool);
const sign2of3Times = Array.from({ length: SIGN_RUNS }, () => time(() => sign(pairP1, pairP2, pairPool)));

const wallet = Wallet.createRandom();
const baselineTimes = Array.from({ length: SIGN_RUNS }, () => {
  const digest = hexlify(randomBytes(32));
  return time(() => wallet.signingKey.sign(digest));
});

console.log(
  JSON.stringify({
    keygen_ms_median: round(quantile(keygenTimes, 0.5)),
    keygen_ms_p90: round(quantile(keygenTimes, 0.9)),
    paillier_setup_ms_median: round(quantile(setupTimes, 0.5)),
    paillier_setup_ms_p90: round(quantile(setupTimes, 0.9)),
    modulus_proof_verify_ms_median: round(quantile(verifyTimes, 0.5)),
    sign_ms_median: round(quantile(signTimes, 0.5)),
    sign_ms_p90: round(quantile(signTimes, 0.9)),
    sign_without_nonce_pool_ms_median: round(quantile(signNoPoolTimes, 0.5)),
    single_key_sign_ms_median: round(quantile(baselineTimes, 0.5)),
    sign_2of3_ms_median: round(quantile(sign2of3Times, 0.5)),
    pair_setup_ms_median: round(quantile(pairSetupTimes, 0.5)),
    reshare_2of3_ms_median: round(quantile(reshareTimes, 0.5)),
    paillier_bits: p1.paillier.publicKey.n.toString(2).length,
    runs: { keygen: KEYGEN_RUNS, paillier_setup: setupTimes.length, sign: SIGN_RUNS, reshare: RESHARE_RUNS, pair_setup: SETUP_RUNS, sign_without_pool: signNoPoolTimes.length, baseline: SIGN_RUNS },
  }),
);
