/**
 * Issue 17 through the wallet service as pages reach it: addresses in MetaMask's case, the typed
 * data methods v1 / v3 / v4 with signatures that @metamask/eth-sig-util recovers to the very
 * string eth_accounts returned (===), the two real payloads MetaMask signs, ambiguous typed data
 * refused before any window, personal_ecRecover, the embedding site, token details read from the
 * network, and the lock state MetaMask's _metamask.isUnlocked() reports.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { SignTypedDataVersion, recoverPersonalSignature, recoverTypedSignature } from '@metamask/eth-sig-util';
import { AbiCoder, Wallet, hexlify, toUtf8Bytes } from 'ethers';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { PERMIT_WARNING, UNLIMITED_APPROVAL_WARNING } from '../../src/wallet/decode.ts';
import { NFT_PERMIT_WRONG_CHECKSUM, PERMIT2_BATCH_WITH_VERSION } from '../wallet/metamask-payloads.ts';
import { MAIL_TYPED_DATA, withChange } from '../wallet/wallet-fixtures.ts';
import { DAPP, OTHER_DAPP, connect, nextApproval, openApprovals, rejects, scriptedWallet, shownCard, type Harness } from './harness.ts';
import type { ScriptedNode } from './scripted-node.ts';

const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const abi = AbiCoder.defaultAbiCoder();

let h: Harness;
let node: ScriptedNode;
let address: string;
let account: string;

beforeEach(async () => {
  ({ h, node, address } = await scriptedWallet());
  account = ((await h.request('eth_accounts')) as string[])[0] as string;
});


/** Approves the next signing card and returns what the page gets. */
async function approveNext(pending: Promise<unknown>): Promise<string> {
  await h.wallet.decide(await nextApproval(h, 'sign'), true);
  return (await pending) as string;
}

/** typed data for the active chain (31337). */
const onLocalChain = (typed: object) => withChange(typed, (t) => (t.domain.chainId = 31337));

describe('accounts in the case MetaMask returns them', () => {
  it('eth_requestAccounts, eth_accounts, eth_coinbase, wallet_getPermissions and accountsChanged are lowercase', async () => {
    expect(account).toBe(address.toLowerCase());
    expect(await h.request('eth_requestAccounts')).toEqual([account]);
    expect(await h.request('eth_coinbase')).toBe(account);
    expect(await h.request('wallet_getPermissions')).toMatchObject([{ caveats: [{ value: [account] }] }]);
    expect(h.events).toContainEqual({ to: DAPP, event: 'accountsChanged', payload: [account] });
    expect((await h.wallet.pageSnapshot(DAPP)).accounts).toEqual([account]);
  });

  it('a personal_sign signature recovers (eth-sig-util) to exactly that string', async () => {
    const message = hexlify(toUtf8Bytes('Hello Duet'));
    const signature = await approveNext(h.request('personal_sign', [message, account]));
    expect(recoverPersonalSignature({ data: message, signature }) === account).toBe(true);
  });

  it('signing requests accept the address in any case', async () => {
    const upper = `0x${address.slice(2).toUpperCase()}`;
    const signature = await approveNext(h.request('personal_sign', ['0x68656c6c6f', upper]));
    expect(recoverPersonalSignature({ data: '0x68656c6c6f', signature })).toBe(account);
  });
});

describe('typed data: eth_signTypedData (v1), _v3 and _v4', () => {
  it('v1 takes [typedData, address]; the signature recovers with eth-sig-util V1', async () => {
    const data = [{ type: 'string', name: 'Message', value: 'Hi, Alice!' }, { type: 'uint32', name: 'A number', value: '1337' }];
    const pending = h.request('eth_signTypedData', [data, account]);
    const card = await shownCard(h, await nextApproval(h, 'sign'));
    expect(card.display.title).toBe('Sign legacy typed data (eth_signTypedData)');
    const signature = await approveNext(pending);
    expect(recoverTypedSignature({ data: data as never, signature, version: SignTypedDataVersion.V1 }) === account).toBe(true);
    expect(h.phone.received.at(-1)).toMatchObject({ kind: 'typed_data_v1', typedData: data });
  });

  it('v3 takes [address, typedData]; the phone gets a v3 request; the signature recovers with eth-sig-util V3', async () => {
    const typed = onLocalChain(MAIL_TYPED_DATA);
    const signature = await approveNext(h.request('eth_signTypedData_v3', [account, JSON.stringify(typed)]));
    expect(recoverTypedSignature({ data: typed as never, signature, version: SignTypedDataVersion.V3 }) === account).toBe(true);
    expect(h.phone.received.at(-1)).toMatchObject({ kind: 'typed_data', typedDataVersion: 'v3' });
  });

  it('v3 refuses arrays (-32602) before any window', async () => {
    await rejects(h.request('eth_signTypedData_v3', [account, onLocalChain(PERMIT2_BATCH_WITH_VERSION)]), RpcErrorCode.invalidParams, /eth_signTypedData_v3/);
    expect(await openApprovals(h)).toEqual([]);
  });

  it('v4: the Permit2 batch with an undeclared domain version is signed as MetaMask signs it, with the warning on the card', async () => {
    const typed = onLocalChain(PERMIT2_BATCH_WITH_VERSION);
    const pending = h.request('eth_signTypedData_v4', [account, typed]);
    const card = await shownCard(h, await nextApproval(h, 'sign'));
    expect(card.display.warnings).toEqual([PERMIT_WARNING, UNLIMITED_APPROVAL_WARNING, expect.stringMatching(/^domain\.version/)]);
    const signature = await approveNext(pending);
    expect(recoverTypedSignature({ data: typed as never, signature, version: SignTypedDataVersion.V4 }) === account).toBe(true);
  });

  it('v4: the ERC-721 permit with a wrong checksum is signed as MetaMask signs it, with the warning on the card', async () => {
    const typed = onLocalChain(NFT_PERMIT_WRONG_CHECKSUM);
    const pending = h.request('eth_signTypedData_v4', [account, typed]);
    const card = await shownCard(h, await nextApproval(h, 'sign'));
    expect(card.display.warnings).toContainEqual(expect.stringMatching(/wrong EIP-55 checksum/));
    const signature = await approveNext(pending);
    expect(recoverTypedSignature({ data: typed as never, signature, version: SignTypedDataVersion.V4 }) === account).toBe(true);
  });

  it('ambiguous typed data is -32602 before any window', async () => {
    const boolString = withChange(onLocalChain(MAIL_TYPED_DATA), (t) => (t.types.Mail.push({ name: 'urgent', type: 'bool' }), (t.message.urgent = 'false')));
    await rejects(h.request('eth_signTypedData_v4', [account, boolString]), RpcErrorCode.invalidParams, /message\.urgent/);
    const legacyBool = [{ type: 'bool', name: 'ok', value: 'false' }];
    await rejects(h.request('eth_signTypedData', [legacyBool, account]), RpcErrorCode.invalidParams, /value/);
    expect(await openApprovals(h)).toEqual([]);
  });

  it('wrong parameter shapes are -32602', async () => {
    await rejects(h.request('eth_signTypedData', [account, [{ type: 'string', name: 'a', value: 'b' }]]), RpcErrorCode.invalidParams);
    await rejects(h.request('eth_signTypedData_v3', [MAIL_TYPED_DATA]), RpcErrorCode.invalidParams);
  });
});

describe('personal_ecRecover', () => {
  it('recovers the signer (lowercase) of a personal_sign signature, text or hex, connected or not, locked or not', async () => {
    const other = Wallet.createRandom();
    const signature = other.signMessageSync('Hello Duet');
    expect(await h.request('personal_ecRecover', ['Hello Duet', signature], OTHER_DAPP)).toBe(other.address.toLowerCase());
    expect(await h.request('personal_ecRecover', [hexlify(toUtf8Bytes('Hello Duet')), signature])).toBe(other.address.toLowerCase());
    await h.wallet.lock();
    expect(await h.request('personal_ecRecover', ['Hello Duet', signature])).toBe(other.address.toLowerCase());
  });

  it('refuses a malformed signature or parameters with -32602', async () => {
    await rejects(h.request('personal_ecRecover', ['hi', '0x1234']), RpcErrorCode.invalidParams);
    await rejects(h.request('personal_ecRecover', ['hi']), RpcErrorCode.invalidParams);
    await rejects(h.request('personal_ecRecover', [5, `0x${'11'.repeat(65)}`]), RpcErrorCode.invalidParams);
  });
});

describe('where a request comes from', () => {
  it('a request from an embedded frame carries the top-level site to the card and to the phone', async () => {
    await connect(h, 'https://widget.example');
    const widgetAccount = ((await h.request('eth_accounts', [], 'https://widget.example')) as string[])[0] as string;
    const pending = h.requestEmbedded('personal_sign', ['0x68656c6c6f', widgetAccount], 'https://widget.example', 'https://top.example');
    const card = await shownCard(h, await nextApproval(h, 'sign'));
    expect(card.embeddedIn).toBe('https://top.example');
    expect(card.display.fields).toContainEqual({ label: 'Embedded in', value: 'https://top.example' });
    await approveNext(pending);
    expect(h.phone.received.at(-1)).toMatchObject({ origin: 'https://widget.example', embeddedIn: 'https://top.example' });
  });

  it('a connection request from an embedded frame says so too', async () => {
    const pending = h.requestEmbedded('eth_requestAccounts', [], 'https://widget2.example', 'https://top.example');
    const card = await shownCard(h, await nextApproval(h, 'connect'));
    expect(card.embeddedIn).toBe('https://top.example');
    await h.wallet.decide(card.id, false);
    await rejects(pending, RpcErrorCode.userRejected);
  });
});

describe('token details read from the network', () => {
  it('an EIP-2612 permit shows the amount in the units and symbol the token reports; the phone gets the same details', async () => {
    node.handlers.eth_getCode = () => '0x6001';
    node.handlers.eth_call = (params) => {
      const data = (params[0] as { data: string }).data;
      if (data.startsWith('0x01ffc9a7')) return abi.encode(['bool'], [false]);
      if (data === '0x313ce567') return abi.encode(['uint8'], [6]);
      if (data === '0x95d89b41') return abi.encode(['string'], ['USDC']);
      throw new Error('unexpected call');
    };
    const permit = {
      types: {
        EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
        Permit: [{ name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }],
      },
      primaryType: 'Permit',
      domain: { name: 'USD Coin', version: '2', chainId: 31337, verifyingContract: TOKEN },
      message: { owner: address, spender: OTHER_SPENDER, value: '2500000', nonce: 0, deadline: 1_900_000_000 },
    };
    const pending = h.request('eth_signTypedData_v4', [account, permit]);
    const card = await shownCard(h, await nextApproval(h, 'sign'));
    expect(card.display.fields).toContainEqual({ label: 'Amount', value: '2.5 USDC' });
    await approveNext(pending);
    expect(h.phone.received.at(-1)?.tokens).toEqual([{ address: TOKEN, standard: 'erc20', symbol: 'USDC', decimals: 6 }]);
  });

  it('a token that cannot be read changes nothing but the display (raw units)', async () => {
    node.handlers.eth_getCode = () => '0x';
    const transfer = `0xa9059cbb${abi.encode(['address', 'uint256'], [OTHER_SPENDER, 5n]).slice(2)}`;
    const pending = h.request('eth_sendTransaction', [{ from: account, to: TOKEN, data: transfer }]);
    const card = await shownCard(h, await nextApproval(h, 'sign'));
    expect(card.display.fields).toContainEqual({ label: 'Amount', value: '5 (raw units)' });
    await h.wallet.decide(card.id, false);
    await rejects(pending, RpcErrorCode.userRejected);
  });
});

const OTHER_SPENDER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

describe('the lock state pages see', () => {
  it('the page snapshot carries it, and every page hears when it changes', async () => {
    expect((await h.wallet.pageSnapshot(DAPP)).isUnlocked).toBe(true);
    await h.wallet.lock();
    expect((await h.wallet.pageSnapshot(DAPP)).isUnlocked).toBe(false);
    expect(h.events).toContainEqual({ to: '*', event: 'unlockStateChanged', payload: false });
    await h.wallet.unlock('correct horse battery');
    expect(h.events.at(-1)).toEqual({ to: '*', event: 'unlockStateChanged', payload: true });
  });
});
