/**
 * Vault and lock state, what is stored where, auto-lock, and what survives a service-worker
 * restart: the unlock (until the browser closes) and pending approvals, including one the phone
 * was asked to co-sign.
 */
import { describe, expect, it } from 'vitest';
import { getBytes, verifyMessage } from 'ethers';
import { AUTO_LOCK_ALARM } from '../../src/background/auto-lock.ts';
import { DEFAULT_AUTO_LOCK_MINUTES, WALLET_STATE_RECORD } from '../../src/background/wallet-state.ts';
import { unlockVault } from '../../src/vault/vault.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { connect, createHarness, DAPP, nextApproval, openApprovals, PASSWORD, setUpWallet, until } from './harness.ts';
import { chainNode } from './scripted-node.ts';

const node = chainNode(31337);

describe('creating and unlocking', () => {
  it('refuses a short password and creates nothing', async () => {
    const h = await createHarness(node.fetch);
    await expect(h.wallet.create('short', {})).rejects.toMatchObject({ code: 'weak_password', field: 'password' });
    expect((await h.view()).vaultExists).toBe(false);
    expect(h.session.data.size).toBe(0);
  });

  it('refuses a second creation', async () => {
    const h = await createHarness(node.fetch);
    await h.wallet.create(PASSWORD, {});
    await expect(h.wallet.create(PASSWORD, {})).rejects.toMatchObject({ code: 'already_created' });
  });

  it('a wrong password is a clear error and changes nothing', async () => {
    const h = await createHarness(node.fetch);
    await setUpWallet(h);
    await h.wallet.lock();
    const local = h.local.dump();
    const session = h.session.dump();
    await expect(h.wallet.unlock('wrong password!')).rejects.toMatchObject({ code: 'wrong_password', message: 'Wrong password.' });
    expect((await h.view()).unlocked).toBe(false);
    expect(h.local.dump()).toBe(local);
    expect(h.session.dump()).toBe(session);
    await h.wallet.unlock(PASSWORD);
    expect((await h.view()).unlocked).toBe(true);
  });

  it('changes the password: a wrong current or weak new password changes nothing; afterwards only the new one unlocks', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    const NEW_PASSWORD = 'a new password 2';
    const before = { local: h.local.dump(), session: h.session.dump() };
    await expect(h.wallet.changePassword('wrong password!', NEW_PASSWORD)).rejects.toMatchObject({ code: 'wrong_password', field: 'currentPassword' });
    await expect(h.wallet.changePassword(PASSWORD, 'short')).rejects.toMatchObject({ code: 'weak_password', field: 'newPassword' });
    expect({ local: h.local.dump(), session: h.session.dump() }).toEqual(before);
    await h.wallet.changePassword(PASSWORD, NEW_PASSWORD);
    expect(h.session.dump()).not.toBe(before.session);
    const restarted = await h.restart();
    expect((await restarted.view()).unlocked).toBe(true);
    const reopened = await h.reopenBrowser();
    await expect(reopened.wallet.unlock(PASSWORD)).rejects.toMatchObject({ code: 'wrong_password' });
    await reopened.wallet.unlock(NEW_PASSWORD);
    expect((await reopened.view()).state.accounts[0]?.address).toBe(address);
  });

  it('changing the password needs the wallet unlocked', async () => {
    const h = await createHarness(node.fetch);
    await setUpWallet(h);
    await h.wallet.lock();
    await expect(h.wallet.changePassword(PASSWORD, 'a new password 2')).rejects.toMatchObject({ code: 'locked' });
  });

  it('an invalid local RPC URL at creation is refused before anything is created', async () => {
    const h = await createHarness(node.fetch);
    await expect(h.wallet.create(PASSWORD, { rpcUrl: 'ftp://127.0.0.1' })).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
    expect((await h.view()).vaultExists).toBe(false);
  });

  it('locking tells connected sites their accounts are gone; unlocking gives them back', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    await connect(h);
    await h.wallet.lock();
    expect(h.events.slice(-2)).toEqual([{ to: DAPP, event: 'accountsChanged', payload: [] }, { to: '*', event: 'unlockStateChanged', payload: false }]);
    expect(await h.wallet.pageSnapshot(DAPP)).toEqual({ chainId: '0x7a69', accounts: [], isUnlocked: false });
    await h.wallet.unlock(PASSWORD);
    expect(h.events.slice(-2)).toEqual([{ to: DAPP, event: 'accountsChanged', payload: [address.toLowerCase()] }, { to: '*', event: 'unlockStateChanged', payload: true }]);
  });
});

describe('what is stored where', () => {
  it('no secret is in local storage; session storage holds only the unlock key and the queue', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    await connect(h);
    void h.request('personal_sign', ['0x01', address]);
    await nextApproval(h, 'sign');
    const pairedKey = h.phone.pairedKey;
    const local = h.local.dump();
    expect(local).not.toContain(pairedKey.chainCode.slice(2));
    expect(local).not.toContain(pairedKey.publicKey.slice(2));
    expect(local).not.toContain(PASSWORD);
    expect([...h.session.data.keys()].filter((key) => !key.startsWith('duet/approvals/v2'))).toEqual(['duet/unlock-key']);
    expect(h.session.dump()).not.toContain(pairedKey.chainCode.slice(2));
    expect(h.session.dump()).not.toContain(PASSWORD);
  });

  it('local storage keeps only what a locked Duet needs: no account, site, RPC URL, relay or device in clear', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h, 'http://127.0.0.1:8545');
    await connect(h);
    const keyedRpc = 'https://mainnet.example/v3/secret-api-key';
    node.handlers.eth_chainId = () => '0x1';
    await h.wallet.setNetworkRpc(1, keyedRpc);
    await h.wallet.renameDevice((await h.view()).state.devices[0]?.id, 'Pixel of Alice');
    await h.wallet.addAccount('Savings');
    const local = h.local.dump();
    for (const secret of [address.slice(2).toLowerCase(), DAPP, keyedRpc, 'secret-api-key', '127.0.0.1:8545', '8787', 'Pixel of Alice', 'Savings']) expect(local.toLowerCase()).not.toContain(secret.toLowerCase());
    const vault = await unlockVault(h.vaultName, PASSWORD);
    expect(await vault.get(WALLET_STATE_RECORD)).toMatchObject({ permissions: { [DAPP]: { accounts: [address] } }, rpcUrls: { '1': keyedRpc, '31337': 'http://127.0.0.1:8545' } });
    vault.lock();
  });

  it('locked, Duet still answers the chain id but knows no account, connection or RPC URL until unlocked', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h, 'http://127.0.0.1:8545');
    await connect(h);
    await h.wallet.lock();
    const restarted = await h.restart();
    expect(await restarted.request('eth_chainId')).toBe('0x7a69');
    expect(await restarted.request('eth_accounts')).toEqual([]);
    expect(await restarted.request('wallet_getPermissions')).toEqual([]);
    await expect(restarted.request('eth_blockNumber')).rejects.toMatchObject({ code: RpcErrorCode.chainDisconnected, message: expect.stringMatching(/locked/) });
    expect((await restarted.view()).state).toMatchObject({ accounts: [], permissions: {}, devices: [] });
    expect((await restarted.view()).state.networks.map((network) => network.rpcUrl)).toEqual(['', '', '']);
    await expect(restarted.wallet.state.update((draft) => void (draft.relayUrl = 'wss://elsewhere.example'))).rejects.toMatchObject({ code: 'locked' });
    const connecting = restarted.request('eth_requestAccounts');
    await until(async () => (await restarted.view()).unlockRequested, 'the unlock request');
    await restarted.wallet.unlock(PASSWORD);
    expect(await connecting).toEqual([address.toLowerCase()]);
    expect(await restarted.request('eth_blockNumber')).toBe('0x10');
  });

  it('a plain state from before v2 moves into the vault at the first unlock', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h, 'http://127.0.0.1:8545');
    await connect(h);
    const full = (await h.view()).state;
    await h.wallet.lock();
    h.local.data.clear();
    await h.local.set('duet/public-state/v1', full);
    const vault = await unlockVault(h.vaultName, PASSWORD);
    await vault.delete(WALLET_STATE_RECORD);
    vault.lock();
    const restarted = await h.restart();
    expect((await restarted.view()).state.activeChainId).toBe(31337);
    await restarted.wallet.unlock(PASSWORD);
    expect((await restarted.view()).state).toEqual(full);
    expect(restarted.local.data.has('duet/public-state/v1')).toBe(false);
    expect(restarted.local.dump().toLowerCase()).not.toContain(address.slice(2).toLowerCase());
  });

  it('locking removes the unlock key from session storage', async () => {
    const h = await createHarness(node.fetch);
    await setUpWallet(h);
    await h.wallet.lock();
    expect(h.session.data.has('duet/unlock-key')).toBe(false);
  });
});

describe('restarts', () => {
  it('a restarted service worker is still unlocked; after the browser closes it is locked', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    const restarted = await h.restart();
    expect((await restarted.view()).unlocked).toBe(true);
    expect((await restarted.view()).state.accounts[0]?.address).toBe(address);
    const reopened = await h.reopenBrowser();
    expect((await reopened.view()).unlocked).toBe(false);
    await reopened.wallet.unlock(PASSWORD);
    expect((await reopened.view()).unlocked).toBe(true);
  });

  it('a restart after locking stays locked', async () => {
    const h = await createHarness(node.fetch);
    await setUpWallet(h);
    await h.wallet.lock();
    expect((await (await h.restart()).view()).unlocked).toBe(false);
  });

  it('a pending approval survives a restart: the window reopens, and the re-sent page request gets the answer', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    await connect(h);
    void h.request('personal_sign', ['0x01', address], DAPP, 'page-a:7');
    const id = await nextApproval(h, 'sign');
    const restarted = await h.restart();
    expect(restarted.windowOpens.count).toBe(1);
    expect((await openApprovals(restarted)).map((card) => card.id)).toEqual([id]);
    const resent = restarted.request('personal_sign', ['0x01', address], DAPP, 'page-a:7');
    await restarted.wallet.decide(id, true);
    expect(verifyMessage(getBytes('0x01'), (await resent) as string)).toBe(address);
    expect(await openApprovals(restarted)).toHaveLength(0);
    // Sent again once more (the answer was lost on the way): the same answer, no new approval.
    expect(await restarted.request('personal_sign', ['0x01', address], DAPP, 'page-a:7')).toBe(await resent);
  });

  it('a request sent again before the first copy reached the queue (the bridge reconnecting) joins it: one approval, one answer', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    await connect(h);
    const first = h.request('personal_sign', ['0x02', address], DAPP, 'page-b:3');
    const again = h.request('personal_sign', ['0x02', address], DAPP, 'page-b:3');
    const id = await nextApproval(h, 'sign');
    expect(await openApprovals(h)).toHaveLength(1);
    await h.wallet.decide(id, true);
    expect(verifyMessage(getBytes('0x02'), (await first) as string)).toBe(address);
    expect(await again).toBe(await first);
  });

  it('a request key only joins requests of the same origin', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    await connect(h);
    void h.request('personal_sign', ['0x01', address], DAPP, 'shared-key');
    await nextApproval(h, 'sign');
    await expect(h.request('personal_sign', ['0x01', address], 'https://evil.example', 'shared-key')).rejects.toMatchObject({ code: RpcErrorCode.unauthorized });
  });

  it('co-signing in progress resumes after a restart and answers the re-sent request', async () => {
    const h = await createHarness(node.fetch);
    const address = await setUpWallet(h);
    await connect(h);
    h.phone.mode = 'hold';
    void h.request('personal_sign', ['0x02', address], DAPP, 'page-b:1');
    await h.wallet.decide(await nextApproval(h, 'sign'), true);
    await until(() => h.phone.heldCount === 1, 'phone asked');
    const restarted = await h.restart();
    await until(() => h.phone.heldCount === 2, 'phone asked again after the restart');
    expect(h.phone.received[0]?.id).toBe(h.phone.received[1]?.id);
    const resent = restarted.request('personal_sign', ['0x02', address], DAPP, 'page-b:1');
    h.phone.release();
    expect(verifyMessage(getBytes('0x02'), (await resent) as string)).toBe(address);
  });
});

describe('auto-lock', () => {
  it('is on by default, configurable, and off at 0', async () => {
    const h = await createHarness(node.fetch);
    await setUpWallet(h);
    expect(h.alarms.get(AUTO_LOCK_ALARM)).toBe(DEFAULT_AUTO_LOCK_MINUTES);
    await h.wallet.setAutoLock(5);
    expect(h.alarms.get(AUTO_LOCK_ALARM)).toBe(5);
    expect((await h.view()).state.autoLockMinutes).toBe(5);
    await h.wallet.setAutoLock(0);
    expect(h.alarms.has(AUTO_LOCK_ALARM)).toBe(false);
  });

  it('an unknown choice is refused and nothing changes', async () => {
    const h = await createHarness(node.fetch);
    await setUpWallet(h);
    for (const minutes of [7, -1, 1.5, '5']) await expect(h.wallet.setAutoLock(minutes)).rejects.toMatchObject({ code: 'invalid_input', field: 'minutes' });
    expect((await h.view()).state.autoLockMinutes).toBe(DEFAULT_AUTO_LOCK_MINUTES);
    expect(h.alarms.get(AUTO_LOCK_ALARM)).toBe(DEFAULT_AUTO_LOCK_MINUTES);
  });

  it('locking clears the alarm; nothing is armed while locked', async () => {
    const h = await createHarness(node.fetch);
    await setUpWallet(h);
    await h.wallet.lock();
    expect(h.alarms.has(AUTO_LOCK_ALARM)).toBe(false);
    await h.wallet.touch();
    expect(h.alarms.has(AUTO_LOCK_ALARM)).toBe(false);
  });
});
