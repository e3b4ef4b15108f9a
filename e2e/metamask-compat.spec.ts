/**
 * Issue 17 end to end: a dApp written for MetaMask (e2e/pages/metamask-dapp.*) works unchanged
 * with Duet — real Chromium with the built extension, the real phone app over the relay, anvil
 * with real ERC-20, ERC-721 and ERC-1155 contracts. The page checks window.ethereum and its
 * flags, uses the legacy API, verifies signatures with @metamask/eth-sig-util comparing with ===,
 * and sends through ethers and viem. Both screens are checked for what issue 17 shows.
 *
 * Steps run in order and share the paired wallet.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BrowserContext, Page, TestInfo } from '@playwright/test';
import { Contract, ContractFactory, JsonRpcProvider, NonceManager, Wallet, parseEther } from 'ethers';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { localStackUrls, onboardAndPair } from '../src/devstack/demo-flow.ts';
import { NFT_PERMIT_WRONG_CHECKSUM, PERMIT2_BATCH_WITH_VERSION } from '../test/wallet/metamask-payloads.ts';
import { expect, test } from './compat-fixtures.ts';

type Outcome = { result?: unknown; error?: { code: unknown; message: string } };

const RECIPIENT = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const PERMIT2 = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
const artifact = (name: string) => JSON.parse(readFileSync(resolve(`e2e/fixtures/${name}.json`), 'utf8')) as { abi: object[]; bytecode: string };

test.describe.configure({ mode: 'serial' });

let popup: Page;
let phone: Page;
let dapp: Page;
let approval: Page;
let address: string;
let account: string;
let chain: JsonRpcProvider;
let token: string;
let nft: string;
let multi: string;

function call(page: Page, name: string, ...args: unknown[]): Promise<Outcome> {
  return page.evaluate(([fn, fnArgs]) => (window as unknown as { dapp: Record<string, (...a: unknown[]) => Promise<Outcome>> }).dapp[fn as string]!(...(fnArgs as unknown[])), [name, args] as const);
}

async function approvalWindow(context: BrowserContext): Promise<Page> {
  const isApproval = (page: Page) => page.url().includes('/extension/approval/') && !page.isClosed();
  const open = context.pages().find(isApproval);
  if (open) return open;
  const page = await context.waitForEvent('page', { predicate: isApproval });
  await page.setViewportSize({ width: 400, height: 660 });
  return page;
}

async function openDapp(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('log')?.textContent === 'Ready.' && (window as unknown as { ethereum?: unknown }).ethereum !== undefined);
  // The bundled SDK assigns its provider on load; let that happen before the test looks.
  await page.waitForLoadState('load');
  return page;
}

async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

/** The receipt of a transaction the page sent, once mined (asked on the test's own connection to anvil). */
async function mined(hash: unknown): Promise<{ status: string; type: string }> {
  let receipt: { status: string; type: string } | null = null;
  await expect.poll(async () => (receipt = (await chain.send('eth_getTransactionReceipt', [hash])) as typeof receipt), { timeout: 30_000 }).not.toBeNull();
  return receipt as unknown as { status: string; type: string };
}

/** Approves the card on screen, then the same request on the phone. */
async function approveOnBoth(): Promise<void> {
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-approve').click();
}

test('setup: pairing, funds, and an ERC-20, an ERC-721 and an ERC-1155 on anvil', async ({ sharedExtension: extension, relay, anvil }) => {
  ({ popup, phone, address } = await onboardAndPair(extension.context, extension.extensionId, localStackUrls(relay, anvil.rpcUrl)));
  await popup.getByTestId('first-address-continue').click();
  account = address.toLowerCase();
  chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
  const deployer = new NonceManager(new Wallet(ANVIL_DEV_PRIVATE_KEY, chain));
  await (await deployer.sendTransaction({ to: address, value: parseEther('5') })).wait();
  const deploy = async (name: string, arg: bigint) => {
    const contract = await new ContractFactory(artifact(name).abi, artifact(name).bytecode, deployer).deploy(arg);
    await contract.waitForDeployment();
    return contract;
  };
  const tokenContract = await deploy('DemoToken', 10n ** 24n);
  const nftContract = await deploy('DemoNft', 3n);
  const multiContract = await deploy('DemoMultiToken', 10n);
  [token, nft, multi] = await Promise.all([tokenContract.getAddress(), nftContract.getAddress(), multiContract.getAddress()]);
  const from = await deployer.getAddress();
  await (await tokenContract.getFunction('transfer')(address, parseEther('10'))).wait();
  await (await nftContract.getFunction('transferFrom')(from, address, 2n)).wait();
  await (await nftContract.getFunction('transferFrom')(from, address, 3n)).wait();
  await (await multiContract.getFunction('safeTransferFrom')(from, address, 1n, 4n, '0x')).wait();
});

test('the page made for MetaMask finds Duet as window.ethereum, after its SDK assigned its own', async ({ sharedExtension: extension, compatDapp }) => {
  dapp = await openDapp(extension.context, `${compatDapp.url}/metamask-dapp.html`);
  expect(await dapp.evaluate(() => (window as unknown as { dapp: { inspect(): unknown } }).dapp.inspect())).toEqual({
    isMetaMask: true,
    isDuet: true,
    isTheAnnouncedDuet: true,
    isTheSdk: false,
    connectEnabled: true,
    configurable: true,
  });
  await dapp.evaluate(() => (window as unknown as { dapp: { watchEvents(): boolean } }).dapp.watchEvents());
});

test('the legacy API: enable, send in its forms, sendAsync, isConnected, _metamask.isUnlocked, events; accounts lowercase', async ({ sharedExtension: extension }) => {
  const enabling = call(dapp, 'enable');
  approval = await approvalWindow(extension.context);
  await expect(approval.getByTestId('request-title')).toHaveText('Connect to this site');
  await approval.getByTestId('approve').click();
  expect((await enabling).result).toEqual([account]);
  const legacy = (await call(dapp, 'legacy')).result as Record<string, unknown>;
  expect(legacy).toEqual({
    sendMethod: { jsonrpc: '2.0', result: '0x7a69' },
    sendPayload: { error: null, response: { id: 41, jsonrpc: '2.0', result: [account] } },
    sendAsync: { error: null, response: { id: 42, jsonrpc: '2.0', result: '31337' } },
    sendSync: { id: 43, jsonrpc: '2.0', result: [account] },
    isConnected: true,
    isUnlocked: true,
  });
  const events = (await dapp.evaluate(() => (window as unknown as { dapp: { events(): unknown[] } }).dapp.events())) as { event: string; payload: unknown }[];
  expect(events).toContainEqual({ event: 'accountsChanged', payload: [account] });
});

test('signatures recover, as eth-sig-util recovers them, to exactly eth_accounts[0]: personal_sign, personal_ecRecover, typed data v1 and v3', async () => {
  const signing = call(dapp, 'personalSign', 'Hello from a MetaMask dApp');
  await expect(approval.getByTestId('field-Valid on')).toHaveText(/every chain/);
  await approveOnBoth();
  expect((await signing).result).toMatchObject({ matches: true, ecRecoverMatches: true });

  const legacyData = [{ type: 'string', name: 'Message', value: 'Hi, Alice!' }, { type: 'uint32', name: 'A number', value: '1337' }];
  const v1 = call(dapp, 'signTypedData', 'V1', legacyData);
  await expect(approval.getByTestId('request-title')).toHaveText('Sign legacy typed data (eth_signTypedData)');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-title')).toHaveText('Sign legacy typed data (eth_signTypedData)');
  await phone.getByTestId('phone-approve').click();
  expect((await v1).result).toMatchObject({ matches: true });

  const mail = {
    types: {
      EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' }],
      Mail: [{ name: 'to', type: 'address' }, { name: 'contents', type: 'string' }],
    },
    primaryType: 'Mail',
    domain: { name: 'Ether Mail', version: '1', chainId: 31337 },
    message: { to: RECIPIENT, contents: 'Hello, Bob!' },
  };
  const v3 = call(dapp, 'signTypedData', 'V3', mail);
  await expect(approval.getByTestId('request-title')).toHaveText('Sign typed data v3 (Mail)');
  await approveOnBoth();
  expect((await v3).result).toMatchObject({ matches: true });
});

test('the two real payloads MetaMask signs are signed the same way, their oddity shown on both screens', async ({}, testInfo) => {
  const onLocalChain = (typed: object) => ({ ...typed, domain: { ...(typed as { domain: object }).domain, chainId: 31337 } });
  const batch = call(dapp, 'signTypedData', 'V4', onLocalChain(PERMIT2_BATCH_WITH_VERSION));
  await expect(approval.getByTestId('request-title')).toHaveText('Permit2: allow a spender to use your tokens (PermitBatch)');
  await expect(approval.getByTestId('request-warning').filter({ hasText: 'domain.version ("1") is not declared' })).toBeVisible();
  await shot(approval, testInfo, 'approval-permit2-undeclared-version');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-warning').filter({ hasText: 'domain.version ("1") is not declared' })).toBeVisible();
  await phone.getByTestId('phone-approve').click();
  expect((await batch).result).toMatchObject({ matches: true });

  const permit = call(dapp, 'signTypedData', 'V4', onLocalChain(NFT_PERMIT_WRONG_CHECKSUM));
  await expect(approval.getByTestId('request-title')).toHaveText('NFT permit: allow a spender to take one NFT (EIP-4494)');
  await expect(approval.getByTestId('request-warning').filter({ hasText: 'wrong EIP-55 checksum' })).toBeVisible();
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-warning').filter({ hasText: 'wrong EIP-55 checksum' })).toBeVisible();
  await phone.getByTestId('phone-approve').click();
  expect((await permit).result).toMatchObject({ matches: true });
});

test('display on both screens: an unlimited Permit2 transfer, a sign-in for another site, hidden characters', async ({}, testInfo) => {
  const transfer = {
    types: {
      EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
      TokenPermissions: [{ name: 'token', type: 'address' }, { name: 'amount', type: 'uint256' }],
      PermitTransferFrom: [{ name: 'permitted', type: 'TokenPermissions' }, { name: 'spender', type: 'address' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }],
    },
    primaryType: 'PermitTransferFrom',
    domain: { name: 'Permit2', chainId: 31337, verifyingContract: PERMIT2 },
    message: { permitted: { token, amount: ((1n << 256n) - 1n).toString() }, spender: RECIPIENT, nonce: '0', deadline: '1900000000' },
  };
  const permitting = call(dapp, 'signTypedData', 'V4', transfer);
  await expect(approval.getByTestId('field-Amount (at most)')).toHaveText('unlimited DEMO');
  await expect(approval.getByTestId('request-warning').filter({ hasText: 'Unlimited approval' })).toBeVisible();
  await shot(approval, testInfo, 'approval-permit2-transfer-unlimited');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-field-Amount (at most)')).toHaveText('unlimited DEMO');
  await expect(phone.getByTestId('phone-request-warning').filter({ hasText: 'Unlimited approval' })).toBeVisible();
  await phone.getByTestId('phone-reject').click();
  expect((await permitting).error?.code).toBe(4001);

  const siwe = `app.uniswap.org wants you to sign in with your Ethereum account:\n${address}\n\nSign in.\n\nURI: https://app.uniswap.org\nVersion: 1\nChain ID: 31337\nNonce: 12345678\nIssued At: 2026-01-01T00:00:00Z`;
  const signingIn = call(dapp, 'personalSign', siwe);
  await expect(approval.getByTestId('request-alert')).toContainText(`This sign-in is for app.uniswap.org, but the request comes from ${new URL(dapp.url()).origin}`);
  await shot(approval, testInfo, 'approval-siwe-other-site');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-alert')).toContainText('This sign-in is for app.uniswap.org');
  await phone.getByTestId('phone-reject').click();
  expect((await signingIn).error?.code).toBe(4001);

  const hidden = call(dapp, 'personalSign', 'Pay Bob\u200b\u202e\nsecond line');
  await expect(approval.getByTestId('field-Message')).toHaveText('Pay Bob\\u{200b}\\u{202e}\nsecond line', { useInnerText: true });
  await approval.getByTestId('reject').click();
  expect((await hidden).error?.code).toBe(4001);
});

test('legacy transaction types: ethers type 0 and viem type 1 are mined as those types', async () => {
  const gasPrice = (2n * 10n ** 9n).toString();
  const legacy = call(dapp, 'ethersLegacySend', RECIPIENT, gasPrice);
  await expect(approval.getByTestId('field-Transaction type')).toHaveText('legacy (type 0, EIP-155)');
  await approveOnBoth();
  expect(await mined((await legacy).result)).toMatchObject({ status: '0x1', type: '0x0' });

  const accessList = call(dapp, 'viemAccessListSend', RECIPIENT, gasPrice);
  await expect(approval.getByTestId('field-Transaction type')).toHaveText('access list (type 1, EIP-2930)');
  await approveOnBoth();
  expect(await mined((await accessList).result)).toMatchObject({ status: '0x1', type: '0x1' });
});

test('tokens: ERC-20 amounts in token units, ERC-721 and ERC-1155 as NFTs with token IDs, on both screens', async ({}, testInfo) => {
  const erc20 = call(dapp, 'ethersContractCall', token, ['function transfer(address,uint256) returns (bool)'], 'transfer', [RECIPIENT, parseEther('1.5').toString()]);
  await expect(approval.getByTestId('field-Amount')).toHaveText('1.5 DEMO');
  await expect(approval.getByTestId('field-Amount (raw units)')).toHaveText('1500000000000000000');
  await shot(approval, testInfo, 'approval-erc20-token-units');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-field-Amount')).toHaveText('1.5 DEMO');
  await phone.getByTestId('phone-approve').click();
  expect(await mined((await erc20).result)).toMatchObject({ status: '0x1' });
  expect(await new Contract(token, ['function balanceOf(address) view returns (uint256)'], chain).getFunction('balanceOf')(RECIPIENT)).toBe(parseEther('1.5'));

  const erc721 = call(dapp, 'ethersContractCall', nft, ['function transferFrom(address,address,uint256)'], 'transferFrom', [address, RECIPIENT, '2']);
  await expect(approval.getByTestId('request-title')).toHaveText('Send an NFT (ERC-721 transferFrom)');
  await expect(approval.getByTestId('field-Token ID')).toHaveText('2');
  await shot(approval, testInfo, 'approval-erc721-transfer');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-field-Token ID')).toHaveText('2');
  await phone.getByTestId('phone-approve').click();
  expect(await mined((await erc721).result)).toMatchObject({ status: '0x1' });
  expect(await new Contract(nft, ['function ownerOf(uint256) view returns (address)'], chain).getFunction('ownerOf')(2n)).toBe(RECIPIENT);

  const erc1155 = call(dapp, 'ethersContractCall', multi, ['function safeTransferFrom(address,address,uint256,uint256,bytes)'], 'safeTransferFrom', [address, RECIPIENT, '1', '3', '0x']);
  await expect(approval.getByTestId('request-title')).toHaveText('Send NFTs (ERC-1155 safeTransferFrom)');
  await expect(approval.getByTestId('field-Amount')).toHaveText('3');
  await approval.getByTestId('reject').click();
  expect((await erc1155).error?.code).toBe(4001);
});

test('wallet_watchAsset (viem): an ERC-20 and an ERC-721 the account holds, both in the popup\'s token list', async () => {
  const watching = call(dapp, 'viemWatchAsset', { address: token, symbol: 'DEMO', decimals: 18 }, 'ERC20');
  await expect(approval.getByTestId('request-title')).toHaveText('Add a token (ERC-20)');
  await approval.getByTestId('approve').click();
  expect((await watching).result).toBe(true);
  const watchingNft = call(dapp, 'viemWatchAsset', { address: nft, tokenId: '3' }, 'ERC721');
  await expect(approval.getByTestId('field-Token ID')).toHaveText('3');
  await approval.getByTestId('approve').click();
  expect((await watchingNft).result).toBe(true);
  expect((await call(dapp, 'viemWatchAsset', { address: nft, tokenId: '2' }, 'ERC721')).error?.message).toMatch(/does not own/);
  await popup.bringToFront();
  await popup.getByTestId('nav-tokens').click();
  await expect(popup.locator(`[data-testid="token-entry"][data-address="${token}"]`).getByTestId('token-symbol')).toHaveText('DEMO');
  await expect(popup.locator(`[data-testid="nft-entry"][data-address="${nft}"]`)).toHaveAttribute('data-token-id', '3');
  await popup.getByTestId('nav-home').click();
});

test('EIP-5792 (viem): honest capabilities, and a batch of two calls sent one after the other, each co-signed', async () => {
  expect((await call(dapp, 'viemCapabilities')).result).toEqual({ 31337: { atomic: { status: 'unsupported' } }, 1: { atomic: { status: 'unsupported' } }, 11155111: { atomic: { status: 'unsupported' } } });
  const before = await chain.getBalance(RECIPIENT);
  const sending = call(dapp, 'viemSendCalls', [{ to: RECIPIENT, value: '100' }, { to: RECIPIENT, value: '200' }]);
  await expect(approval.getByTestId('approval-batch')).toContainText('Call 1 of 2');
  await approveOnBoth();
  const { id } = (await sending).result as { id: string };
  await expect(approval.getByTestId('approval-batch')).toContainText('Call 2 of 2');
  await approveOnBoth();
  await expect
    .poll(async () => ((await call(dapp, 'viemCallsStatus', id)).result as { status: string }).status, { timeout: 30_000 })
    .toBe('success');
  const status = (await call(dapp, 'viemCallsStatus', id)).result as { atomic: boolean; receipts: unknown[] };
  expect(status.atomic).toBe(false);
  expect(status.receipts).toHaveLength(2);
  expect(await chain.getBalance(RECIPIENT)).toBe(before + 300n);
});

test('wallet_switchEthereumChain: a connected site switches to a permitted network without a window, and alone', async ({ sharedExtension: extension, compatDapp }) => {
  const other = await openDapp(extension.context, `${compatDapp.url.replace('127.0.0.1', 'localhost')}/metamask-dapp.html`);
  await other.evaluate(() => (window as unknown as { dapp: { watchEvents(): boolean } }).dapp.watchEvents());
  expect((await call(dapp, 'raw', 'wallet_switchEthereumChain', [{ chainId: '0xaa36a7' }])).result).toBeNull();
  // A network per site (as MetaMask): the page of another site, not connected, stays on Duet's.
  expect((await call(dapp, 'raw', 'eth_chainId')).result).toBe('0xaa36a7');
  expect((await call(other, 'raw', 'eth_chainId')).result).toBe('0x7a69');
  await expect(popup.getByTestId('network-select')).toHaveValue('31337');
  expect((await call(dapp, 'raw', 'wallet_switchEthereumChain', [{ chainId: '0x7a69' }])).result).toBeNull();
  await expect(approval.locator('[data-testid="approval-card"][data-kind="switch-chain"]')).toHaveCount(0);
  const events = (await dapp.evaluate(() => (window as unknown as { dapp: { events(): unknown[] } }).dapp.events())) as { event: string; payload: unknown }[];
  expect(events.filter((entry) => entry.event === 'chainChanged').map((entry) => entry.payload)).toEqual(['0xaa36a7', '0x7a69']);
  const otherEvents = (await other.evaluate(() => (window as unknown as { dapp: { events(): unknown[] } }).dapp.events())) as { event: string }[];
  expect(otherEvents.filter((entry) => entry.event === 'chainChanged')).toEqual([]);
  await other.close();
});

test('a request from an embedded frame says which site embeds it', async ({ compatDapp }) => {
  const frameOrigin = compatDapp.url.replace('127.0.0.1', 'localhost');
  await dapp.evaluate((url) => (window as unknown as { dapp: { embed(url: string): Promise<boolean> } }).dapp.embed(url), `${frameOrigin}/metamask-frame.html`);
  const asking = dapp.evaluate(() => (window as unknown as { dapp: { askFromFrame(): Promise<Outcome> } }).dapp.askFromFrame());
  await expect(approval.getByTestId('approval-origin')).toHaveText(new URL(frameOrigin).origin);
  await expect(approval.getByTestId('approval-embedded-in')).toHaveText(new URL(dapp.url()).origin);
  await approval.getByTestId('reject').click();
  expect((await asking).error?.code).toBe(4001);
});

test('the popup settings: MetaMask flag off and window.ethereum left to the page, then back on', async ({ sharedExtension: extension, compatDapp }) => {
  const inspect = (page: Page) => page.evaluate(() => (window as unknown as { dapp: { inspect(): Record<string, boolean> } }).dapp.inspect());
  await popup.bringToFront();
  await popup.getByTestId('nav-settings').click();
  await popup.getByTestId('setting-metamask-flag').click();
  await expect(popup.getByTestId('setting-metamask-flag')).not.toBeChecked();
  await popup.getByTestId('setting-keep-window-ethereum').click();
  await expect(popup.getByTestId('setting-keep-window-ethereum')).not.toBeChecked();
  const reloaded = await openDapp(extension.context, `${compatDapp.url}/metamask-dapp.html`);
  await expect.poll(() => inspect(reloaded)).toMatchObject({ isTheSdk: true, isTheAnnouncedDuet: false });
  expect(await reloaded.evaluate(() => {
    const announced = { value: null as null | { isMetaMask: boolean; isDuet: boolean } };
    window.addEventListener('eip6963:announceProvider', (event) => (announced.value = (event as CustomEvent<{ provider: { isMetaMask: boolean; isDuet: boolean } }>).detail.provider));
    window.dispatchEvent(new Event('eip6963:requestProvider'));
    return { isMetaMask: announced.value?.isMetaMask, isDuet: announced.value?.isDuet };
  })).toEqual({ isMetaMask: false, isDuet: true });
  await reloaded.close();

  await popup.getByTestId('setting-metamask-flag').click();
  await expect(popup.getByTestId('setting-metamask-flag')).toBeChecked();
  await popup.getByTestId('setting-keep-window-ethereum').click();
  await expect(popup.getByTestId('setting-keep-window-ethereum')).toBeChecked();
  const again = await openDapp(extension.context, `${compatDapp.url}/metamask-dapp.html`);
  await expect.poll(() => inspect(again)).toMatchObject({ isMetaMask: true, isDuet: true, isTheAnnouncedDuet: true, isTheSdk: false });
  await again.close();
  chain.destroy();
});
