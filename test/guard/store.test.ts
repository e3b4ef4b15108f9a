/**
 * The Guard's store on both databases: limits under 50 concurrent requests (and two Guards on one
 * PostgreSQL), each request charged once, charges released only when nothing was signed, the
 * second factor's throttle and replay rule, enrolment codes, policy changes with their delay, and
 * secrets never in the clear in the database.
 */
import { describe, expect, it } from 'vitest';
import { parseEther } from 'ethers';
import { generateSync } from 'otplib';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { LinkState } from '../../src/channel/stored-link-state.ts';
import { openDatabase, type Database } from '../../src/guard/database.ts';
import { KeyEncryptionKey, SealedRecordError } from '../../src/guard/key-encryption.ts';
import { migrate } from '../../src/guard/migrations.ts';
import { DEFAULT_POLICY, encodePolicy, type Policy } from '../../src/guard/policy.ts';
import { nativeScope } from '../../src/guard/policy-decision.ts';
import { requestEffect } from '../../src/guard/request-effect.ts';
import { CODE_ATTEMPTS, CODE_WINDOW_MS } from '../../src/guard/second-factor.ts';
import { DAY_MS, GuardStore } from '../../src/guard/guard-store.ts';
import { newTotpSecret } from '../../src/guard/second-factor.ts';
import { signingRequestToJson } from '../../src/wallet/signing-request.ts';
import { transactionRequest, SPENDER } from '../wallet/wallet-fixtures.ts';
import { DATABASE_KINDS, useDatabases } from './support/databases.ts';

const databases = useDatabases();
const KEK = new KeyEncryptionKey(new Uint8Array(32).fill(7));
const FEE = 60_000n * 2_000_000_000n;
const LINK_STATE = { channel: { note: 'channel keys would be here' }, relay: {} } as unknown as LinkState;
const ALLOW_SPENDER: Policy = { ...DEFAULT_POLICY, allowList: [{ address: SPENDER, chainId: null, label: '' }] };

class Clock {
  constructor(public time = Date.UTC(2026, 11, 3, 12)) {}
  readonly now = () => this.time;
}

async function storeWithWallet(db: Database, clock = new Clock()) {
  await migrate(db);
  const store = new GuardStore(db, KEK, clock.now);
  await store.checkKek();
  const secretKey = ed25519.utils.randomSecretKey();
  const totp = newTotpSecret();
  const wallet = await store.insertWallet({ secretKey, publicKey: ed25519.getPublicKey(secretKey) }, totp, { id: 'link-1', deviceKey: 'aa'.repeat(32), deviceRole: 'extension', state: LINK_STATE });
  return { store, wallet, totp, clock, secretKey };
}

/** The test's starting policy, written directly (through setPolicy, adding to the allow-list waits a day). */
async function allowSpender(db: Database, wallet: string): Promise<void> {
  await db.query('UPDATE guard_wallets SET policy = $2 WHERE id = $1', [wallet, JSON.stringify(encodePolicy(ALLOW_SPENDER))]);
}

function sendRequest(id: string, value: bigint) {
  const hexId = Buffer.from(id.padStart(16, '-')).toString('hex');
  const request = { ...transactionRequest({ value }), id: hexId };
  return { wallet: '', id, link: 'link-1', counterpart: 2, request: signingRequestToJson(request), digest: '00', effect: requestEffect(request), actor: 'device:test' };
}

describe.each(DATABASE_KINDS)('the store on %s', (kind) => {
  it('50 concurrent requests never pass a limit together; each is charged once', async () => {
    const db = await databases.fresh(kind, 20);
    const { store, wallet } = await storeWithWallet(db);
    await allowSpender(db, wallet);
    const each = parseEther('0.1');
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, k) => store.decideNew({ ...sendRequest(`r${k}`, each), wallet })));
    const passed = outcomes.filter((outcome) => outcome.record.status === 'approved').length;
    // 1 ETH a day: nine of 0.1 ETH + fee fit, the tenth would not.
    expect(passed).toBe(9);
    expect(outcomes.filter((outcome) => outcome.record.status === 'delayed')).toHaveLength(41);
    expect(await store.spent(wallet, nativeScope(31337, 0))).toBe(9n * (each + FEE));
    // The same 50 again (resent, restarted): nothing new is charged.
    const again = await Promise.all(Array.from({ length: 50 }, (_, k) => store.decideNew({ ...sendRequest(`r${k}`, each), wallet })));
    expect(again.every((outcome) => !outcome.fresh)).toBe(true);
    expect(await store.spent(wallet, nativeScope(31337, 0))).toBe(9n * (each + FEE));
  });

  it('a charge is released only when no signature was made, and leaves the 24-hour window', async () => {
    const db = await databases.fresh(kind);
    const { store, wallet, clock } = await storeWithWallet(db);
    await allowSpender(db, wallet);
    const half = parseEther('0.4');
    for (const id of ['a', 'b']) expect((await store.decideNew({ ...sendRequest(id, half), wallet })).record.status).toBe('approved');
    expect((await store.decideNew({ ...sendRequest('c', half), wallet })).record.status).toBe('delayed');
    expect(await store.settle(wallet, 'a', 'signed', { t: 'sign-result' }, { actor: 'guard', action: 'sign', outcome: 'signed' })).toBe(true);
    expect(await store.settle(wallet, 'b', 'failed', { t: 'sign-failed' }, { actor: 'guard', action: 'sign', outcome: 'failed' })).toBe(true);
    // A settled request does not settle again (a late cancel cannot release a signed charge).
    expect(await store.settle(wallet, 'a', 'cancelled', null, { actor: 'device:x', action: 'cancel', outcome: 'cancelled' })).toBe(false);
    expect(await store.spent(wallet, nativeScope(31337, 0))).toBe(half + FEE);
    clock.time += DAY_MS + 1;
    expect(await store.spent(wallet, nativeScope(31337, 0))).toBe(0n);
  });

  it('attempt numbers only grow, and only for an approved request', async () => {
    const db = await databases.fresh(kind);
    const { store, wallet } = await storeWithWallet(db);
    await allowSpender(db, wallet);
    await store.decideNew({ ...sendRequest('a', 1n), wallet });
    expect(await store.nextAttempt(wallet, 'a')).toBe(1);
    expect(await store.nextAttempt(wallet, 'a')).toBe(2);
    await store.settle(wallet, 'a', 'signed', {}, { actor: 'guard', action: 'sign', outcome: 'signed' });
    expect(await store.nextAttempt(wallet, 'a')).toBeNull();
  });

  it('the second factor: a right code once, wrong codes throttled', async () => {
    const db = await databases.fresh(kind);
    const { store, wallet, totp, clock } = await storeWithWallet(db);
    const code = () => generateSync({ secret: totp, epoch: Math.floor(clock.time / 1000) });
    expect(await store.checkCode(wallet, code(), 'device:test', 'code')).toEqual({ kind: 'not_enrolled' });
    expect(await store.checkCode(wallet, code(), 'device:test', 'totp-confirm', true)).toEqual({ kind: 'ok' });
    // The same code (the same 30-second step) is never accepted twice.
    expect(await store.checkCode(wallet, code(), 'device:test', 'code')).toMatchObject({ kind: 'wrong' });
    clock.time += 30_000;
    expect(await store.checkCode(wallet, code(), 'device:test', 'code')).toEqual({ kind: 'ok' });
    for (let k = 1; k < CODE_ATTEMPTS; k++) expect(await store.checkCode(wallet, '000000', 'device:test', 'code')).toEqual({ kind: 'wrong', attemptsLeft: CODE_ATTEMPTS - k });
    expect(await store.checkCode(wallet, 'abcdef', 'device:test', 'code')).toEqual({ kind: 'wrong', attemptsLeft: 0 });
    clock.time += 30_000;
    // Locked: even the right code waits for the window to end.
    expect(await store.checkCode(wallet, code(), 'device:test', 'code')).toMatchObject({ kind: 'locked' });
    clock.time += CODE_WINDOW_MS;
    expect(await store.checkCode(wallet, code(), 'device:test', 'code')).toEqual({ kind: 'ok' });
  });

  it('enrolment codes: once, not after expiry, dead after too many wrong proofs', async () => {
    const db = await databases.fresh(kind);
    const { store, clock } = await storeWithWallet(db);
    const { code } = await store.createCode(null, 60_000);
    expect(await store.claimCode('ZZZZ', () => true)).toEqual({ ok: false, reason: 'unknown_code' });
    expect(await store.claimCode(code.id, (secret) => secret === 'not it')).toEqual({ ok: false, reason: 'bad_code' });
    expect(await store.claimCode(code.id, (secret) => secret === code.secret)).toEqual({ ok: true, wallet: null, secret: code.secret });
    expect(await store.claimCode(code.id, (secret) => secret === code.secret)).toEqual({ ok: false, reason: 'used' });
    const late = (await store.createCode(null, 60_000)).code;
    clock.time += 60_000;
    expect(await store.claimCode(late.id, () => true)).toEqual({ ok: false, reason: 'expired' });
    const guessed = (await store.createCode(null, 60_000)).code;
    for (let k = 0; k < 5; k++) await store.claimCode(guessed.id, () => false);
    expect(await store.claimCode(guessed.id, () => true)).toEqual({ ok: false, reason: 'used' });
  });

  it('policy: tightening at once; loosening only with the code, its tightening part at once, the rest after the delay', async () => {
    const db = await databases.fresh(kind);
    const { store, wallet, clock } = await storeWithWallet(db);
    // While enrolling (the Guard cannot sign yet) any first policy applies at once.
    const looserFirst = { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('2') } };
    expect(await store.setPolicy(wallet, looserFirst, 'device:a', false)).toEqual({ applied: 'now' });
    await db.query("UPDATE guard_wallets SET status = 'member' WHERE id = $1", [wallet]);
    const lower = { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('0.5') } };
    expect(await store.setPolicy(wallet, lower, 'device:a', false)).toEqual({ applied: 'now' });
    expect((await store.policy(wallet)).policy.dailyNative['*']).toBe(parseEther('0.5'));
    const looser = { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('5') }, perTransaction: { '*': parseEther('0.1') } };
    expect(await store.setPolicy(wallet, looser, 'device:a', false)).toEqual({ applied: 'refused' });
    expect(await store.setPolicy(wallet, looser, 'device:a', true)).toEqual({ applied: 'after-delay', effectiveAt: clock.time + 24 * 3_600_000 });
    let state = await store.policy(wallet);
    expect(state.policy.perTransaction['*']).toBe(parseEther('0.1'));
    expect(state.policy.dailyNative['*']).toBe(parseEther('0.5'));
    expect(state.pending?.policy.dailyNative['*']).toBe(parseEther('5'));
    clock.time += 24 * 3_600_000;
    state = await store.policy(wallet);
    expect(state.policy.dailyNative['*']).toBe(parseEther('5'));
    expect(state.pending).toBeNull();
    // A pending loosening can be cancelled before it applies.
    await store.setPolicy(wallet, { ...looser, dailyNative: { '*': parseEther('9') } }, 'device:a', true);
    const pending = (await store.policy(wallet)).pending!;
    expect(await store.cancelPolicyChange(wallet, pending.id, 'device:b')).toBe(true);
    clock.time += 25 * 3_600_000;
    expect((await store.policy(wallet)).policy.dailyNative['*']).toBe(parseEther('5'));
  });

  it('secrets are sealed: no share, key, channel state or code secret in the clear, and another KEK opens nothing', async () => {
    const db = await databases.fresh(kind);
    const { store, wallet, totp, secretKey } = await storeWithWallet(db);
    const { code } = await store.createCode(wallet, 60_000);
    const dump = JSON.stringify([await db.query('SELECT * FROM guard_wallets'), await db.query('SELECT * FROM guard_links'), await db.query('SELECT * FROM guard_enrolment_codes'), await db.query('SELECT * FROM guard_audit')]);
    expect(dump).not.toContain(totp);
    expect(dump).not.toContain(code.secret);
    expect(dump).not.toContain('channel keys would be here');
    expect(dump).not.toContain(Buffer.from(secretKey).toString('hex'));
    const other = new GuardStore(db, new KeyEncryptionKey(new Uint8Array(32).fill(8)), Date.now);
    await expect(other.checkKek()).rejects.toThrow(SealedRecordError);
    await expect(other.links(wallet)).rejects.toThrow(SealedRecordError);
  });
});

describe('two Guards on one PostgreSQL', () => {
  it('race for one wallet through two pools and still never pass its limit together', async () => {
    const first = await databases.fresh('postgresql', 10);
    const { store, wallet } = await storeWithWallet(first);
    await allowSpender(first, wallet);
    const url = (first as unknown as { pool: { options: { connectionString: string } } }).pool.options.connectionString;
    const second = await openDatabase({ databaseUrl: url, poolSize: 10 });
    try {
      const other = new GuardStore(second, KEK, Date.now);
      const each = parseEther('0.25');
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, k) => (k % 2 ? store : other).decideNew({ ...sendRequest(`r${k}`, each), wallet })));
      expect(outcomes.filter((outcome) => outcome.record.status === 'approved')).toHaveLength(3);
    } finally {
      await second.close();
    }
  });
});
