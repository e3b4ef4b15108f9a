/**
 * Pairing, accounts derived from the pairing, networks, connected sites and devices, as the
 * popup changes them: each change and each refusal (with nothing changed).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { computeAddress } from 'ethers';
import { deriveAccountAddress, PAIRED_KEY_RECORD } from '../../src/background/accounts.ts';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { Point } from '../../src/mpc/curve.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { unlockVault } from '../../src/vault/vault.ts';
import { connect, createHarness, DAPP, nextApproval, OTHER_DAPP, PASSWORD, setUpWallet, type Harness } from './harness.ts';
import { ANVIL_DEV_KEY } from './local-test-co-signer.ts';
import { chainNode, type ScriptedNode } from './scripted-node.ts';
import { TEST_SAS } from './test-phone-link.ts';

let node: ScriptedNode;
let h: Harness;

beforeEach(async () => {
  node = chainNode(31337);
  h = await createHarness(node.fetch);
});

describe('pairing', () => {
  it('goes through the SAS step and ends with the first address, derived from the paired key', async () => {
    await h.wallet.create(PASSWORD, {});
    expect((await h.view()).paired).toBe(false);
    await h.wallet.startPairing();
    const pairing = (await h.view()).pairing;
    expect(pairing).toMatchObject({ phase: 'confirm-sas', sas: TEST_SAS });
    expect(pairing.link).toMatch(/^https:\/\//);
    h.wallet.confirmSas(true);
    const address = await setUpAlreadyCreated(h);
    expect(address).toBe(computeAddress(ANVIL_DEV_KEY));
    expect(address).toBe(deriveAccountAddress(h.phone.pairedKey, 0));
    const view = await h.view();
    expect(view.state.devices).toHaveLength(1);
    expect(view.state.devices[0]).toMatchObject({ name: 'Test phone', pairedAt: h.clock.now() });
  });

  it('a SAS mismatch stops pairing and creates no account', async () => {
    await h.wallet.create(PASSWORD, {});
    await h.wallet.startPairing();
    h.wallet.confirmSas(false);
    const view = await h.view();
    expect(view.pairing.phase).toBe('failed');
    expect(view.paired).toBe(false);
    expect(view.state.accounts).toEqual([]);
  });

  it('needs the wallet unlocked', async () => {
    await h.wallet.create(PASSWORD, {});
    await h.wallet.lock();
    await expect(h.wallet.startPairing()).rejects.toMatchObject({ code: 'locked' });
  });

  it('keeps the paired key in the vault, encrypted', async () => {
    await setUpWallet(h);
    const vault = await unlockVault(h.vaultName, PASSWORD);
    expect(await vault.get(PAIRED_KEY_RECORD)).toEqual(h.phone.pairedKey);
    vault.lock();
  });
});

async function setUpAlreadyCreated(harness: Harness): Promise<string> {
  for (let i = 0; i < 200 && !(await harness.view()).paired; i++) await new Promise((r) => setTimeout(r, 2));
  return (await harness.view()).state.accounts[0]?.address as string;
}

describe('accounts', () => {
  beforeEach(async () => {
    await setUpWallet(h);
  });

  it('adds accounts derived from the same pairing, names them, and makes the new one active', async () => {
    await h.wallet.addAccount(undefined);
    await h.wallet.addAccount('Savings');
    const { accounts, activeAccount } = (await h.view()).state;
    const key = h.phone.pairedKey;
    expect(accounts.map((a) => a.name)).toEqual(['Account 1', 'Account 2', 'Savings']);
    expect(accounts.map((a) => a.address)).toEqual([0, 1, 2].map((i) => accountAddress(Point.fromHex(key.publicKey.slice(2)), Buffer.from(key.chainCode.slice(2), 'hex'), i)));
    expect(new Set(accounts.map((a) => a.address)).size).toBe(3);
    expect(activeAccount).toBe(2);
  });

  it('renames; a bad name changes nothing', async () => {
    await h.wallet.renameAccount(0, '  Main  ');
    expect((await h.view()).state.accounts[0]?.name).toBe('Main');
    for (const name of ['', '   ', 'x'.repeat(33), 42]) await expect(h.wallet.renameAccount(0, name)).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
    await expect(h.wallet.renameAccount(9, 'Nine')).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.view()).state.accounts[0]?.name).toBe('Main');
  });

  it('every change of accounts sends the members the settings record (a recovered browser gets the names back); a refused one sends nothing', async () => {
    const sent = h.settingsShared.length;
    await h.wallet.renameAccount(0, 'Savings');
    expect(h.settingsShared.at(-1)?.accounts).toEqual([{ index: 0, name: 'Savings' }]);
    await h.wallet.addAccount('Daily');
    expect(h.settingsShared.at(-1)?.accounts).toEqual([
      { index: 0, name: 'Savings' },
      { index: 1, name: 'Daily' },
    ]);
    expect(h.settingsShared.length).toBe(sent + 2);
    await expect(h.wallet.renameAccount(0, '')).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
    await expect(h.wallet.removeNetworkFromUi(31337)).rejects.toBeDefined();
    expect(h.settingsShared.length).toBe(sent + 2);
  });

  it('choosing the active account reorders what connected sites see, and tells them', async () => {
    const first = (await h.view()).state.accounts[0]?.address as string;
    await h.wallet.addAccount('Second');
    const second = (await h.view()).state.accounts[1]?.address as string;
    const pending = h.request('eth_requestAccounts');
    await h.wallet.decide(await nextApproval(h), true, [first, second]);
    const lower = (...addresses: string[]) => addresses.map((entry) => entry.toLowerCase());
    expect(await pending).toEqual(lower(second, first));
    await h.wallet.selectAccount(0);
    expect(await h.request('eth_accounts')).toEqual(lower(first, second));
    expect(h.events.at(-1)).toEqual({ to: DAPP, event: 'accountsChanged', payload: lower(first, second) });
    await expect(h.wallet.selectAccount(5)).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.view()).state.activeAccount).toBe(0);
  });
});

describe('networks', () => {
  beforeEach(async () => {
    await setUpWallet(h, 'http://127.0.0.1:8545');
  });

  it('starts on the local anvil chain with mainnet and Sepolia presets', async () => {
    const { networks, activeChainId } = (await h.view()).state;
    expect(activeChainId).toBe(31337);
    expect(networks.map((n) => [n.chainId, n.preset])).toEqual([
      [31337, true],
      [1, true],
      [11155111, true],
    ]);
    expect(networks[0]?.rpcUrl).toBe('http://127.0.0.1:8545');
  });

  it('adds a network after checking its RPC chain id; a mismatch adds nothing', async () => {
    node.handlers.eth_chainId = () => '0xa';
    await h.wallet.addNetworkFromUi({ name: 'Optimism', chainId: 10, rpcUrl: 'https://op.example', symbol: 'ETH', explorerUrl: 'https://explorer.op.example' });
    expect((await h.view()).state.networks.find((n) => n.chainId === 10)).toMatchObject({ name: 'Optimism', preset: false, explorerUrl: 'https://explorer.op.example' });
    await expect(h.wallet.addNetworkFromUi({ name: 'Base', chainId: 8453, rpcUrl: 'https://base.example', symbol: 'ETH' })).rejects.toMatchObject({ code: 'network_mismatch', field: 'rpcUrl' });
    node.down = true;
    await expect(h.wallet.addNetworkFromUi({ name: 'Base', chainId: 8453, rpcUrl: 'https://base.example', symbol: 'ETH' })).rejects.toMatchObject({ code: 'unreachable' });
    expect((await h.view()).state.networks.some((n) => n.chainId === 8453)).toBe(false);
  });

  it('refuses bad network fields before asking any node', async () => {
    const good = { name: 'X', chainId: 99, rpcUrl: 'https://x.example', symbol: 'XX' };
    for (const bad of [{ ...good, name: '' }, { ...good, chainId: -1 }, { ...good, rpcUrl: 'http://x.example' }, { ...good, symbol: 'X' }, { ...good, explorerUrl: 'http://x' }, { ...good, chainId: 31337 }]) {
      await expect(h.wallet.addNetworkFromUi(bad)).rejects.toBeDefined();
    }
    expect(node.calls.some((call) => call.url === 'https://x.example')).toBe(false);
    expect((await h.view()).state.networks).toHaveLength(3);
  });

  it('sets a preset RPC URL (checked), switches, and refuses to remove presets or the active network', async () => {
    await expect(h.wallet.switchNetworkFromUi(1)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/Set an RPC URL for Ethereum/) });
    expect((await h.view()).state.activeChainId).toBe(31337);
    node.handlers.eth_chainId = () => '0x1';
    await h.wallet.setNetworkRpc(1, 'https://mainnet.example');
    await h.wallet.switchNetworkFromUi(1);
    expect(h.events.at(-1)).toEqual({ to: '*', event: 'chainChanged', payload: '0x1' });
    await expect(h.wallet.removeNetworkFromUi(1)).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
    await expect(h.wallet.setNetworkRpc(11155111, 'https://mainnet.example')).rejects.toMatchObject({ code: 'network_mismatch' });
    await expect(h.wallet.switchNetworkFromUi(5)).rejects.toMatchObject({ code: RpcErrorCode.unrecognizedChain });
    expect((await h.view()).state.networks.find((n) => n.chainId === 11155111)?.rpcUrl).toBe('');
  });

  it('removes a network it added once another one is active', async () => {
    node.handlers.eth_chainId = () => '0x539';
    await h.wallet.addNetworkFromUi({ name: 'Dev', chainId: 1337, rpcUrl: 'http://localhost:9545', symbol: 'ETH' });
    await h.wallet.switchNetworkFromUi(1337);
    await expect(h.wallet.removeNetworkFromUi(1337)).rejects.toMatchObject({ message: expect.stringMatching(/active network/) });
    await h.wallet.switchNetworkFromUi(31337);
    await h.wallet.removeNetworkFromUi(1337);
    expect((await h.view()).state.networks.some((n) => n.chainId === 1337)).toBe(false);
  });
});

describe('connected sites and devices', () => {
  beforeEach(async () => {
    await setUpWallet(h);
  });

  it('disconnecting a site revokes its permission and tells it', async () => {
    await connect(h, DAPP);
    await connect(h, OTHER_DAPP);
    await h.wallet.disconnectSite(DAPP);
    expect(Object.keys((await h.view()).state.permissions)).toEqual([OTHER_DAPP]);
    expect(h.events.at(-1)).toEqual({ to: DAPP, event: 'accountsChanged', payload: [] });
  });

  it('renames the phone; unknown devices are refused', async () => {
    const device = (await h.view()).state.devices[0];
    await h.wallet.renameDevice(device?.id, 'My Pixel');
    expect((await h.view()).state.devices[0]?.name).toBe('My Pixel');
    await expect(h.wallet.renameDevice('nope', 'X')).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.wallet.unpairDevice('nope')).rejects.toMatchObject({ code: 'not_found' });
    expect((await h.view()).state.devices).toHaveLength(1);
  });

  it('unpairing forgets the key, the accounts and the connections, and ends what was waiting', async () => {
    const address = (await h.view()).state.accounts[0]?.address as string;
    await connect(h);
    const waiting = h.request('personal_sign', ['0x01', address]).catch((error: unknown) => error);
    await nextApproval(h, 'sign');
    await h.wallet.unpairDevice((await h.view()).state.devices[0]?.id);
    expect(await waiting).toMatchObject({ code: RpcErrorCode.unauthorized });
    const view = await h.view();
    expect(view.paired).toBe(false);
    expect(view.state).toMatchObject({ accounts: [], devices: [], permissions: {} });
    expect(h.events.at(-1)).toEqual({ to: DAPP, event: 'accountsChanged', payload: [] });
    const vault = await unlockVault(h.vaultName, PASSWORD);
    expect(await vault.get(PAIRED_KEY_RECORD)).toBeUndefined();
    expect(await vault.get('testLink')).toBeUndefined();
    vault.lock();
  });
});
