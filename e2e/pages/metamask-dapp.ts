/**
 * A dApp written for MetaMask, as real ones are: it reads `window.ethereum`, gates its buttons on
 * `isMetaMask`, carries a bundled "SDK" that assigns its own provider to window.ethereum after
 * load, uses the legacy API (enable, send, sendAsync, _metamask), verifies signatures the way
 * @metamask/eth-sig-util does (comparing the recovered address with === to eth_accounts), and
 * sends through ethers and viem. The test drives it through `window.dapp`; every call answers
 * { result } or { error: { code, message } }.
 */
import './buffer-shim.ts';
import { SignTypedDataVersion, recoverPersonalSignature, recoverTypedSignature } from '@metamask/eth-sig-util';
import { BrowserProvider, Contract, type Eip1193Provider } from 'ethers';
import { createWalletClient, custom, type Address, type EIP1193Provider, type Hex } from 'viem';

type Outcome = { result?: unknown; error?: { code: unknown; message: string } };
type LegacyProvider = Eip1193Provider & {
  isMetaMask?: boolean;
  isDuet?: boolean;
  enable(): Promise<string[]>;
  send(...args: unknown[]): unknown;
  sendAsync(payload: unknown, callback: (error: unknown, response: unknown) => void): void;
  isConnected(): boolean;
  _metamask: { isUnlocked(): Promise<boolean> };
  on(event: string, listener: (payload: unknown) => void): void;
};

const log = document.getElementById('log') as HTMLElement;
const connectButton = document.getElementById('connect') as HTMLButtonElement;
const events: { event: string; payload: unknown }[] = [];
let announced: unknown = null;
window.addEventListener('eip6963:announceProvider', (event) => {
  const detail = (event as CustomEvent<{ info: { rdns: string }; provider: unknown }>).detail;
  if (detail.info.rdns === 'app.duet.wallet') announced = detail.provider;
});
window.dispatchEvent(new Event('eip6963:requestProvider'));

/** What a bundled MetaMask SDK does after load: put its own provider on window.ethereum. */
const sdkProvider = { isMetaMask: true, isBundledSdk: true, request: () => Promise.reject(new Error('the bundled SDK is not a wallet')) };
window.addEventListener('load', () => {
  (window as unknown as { ethereum: unknown }).ethereum = sdkProvider;
  // As such dApps do: the connect button works only with a MetaMask provider.
  connectButton.disabled = !(window as unknown as { ethereum?: { isMetaMask?: boolean } }).ethereum?.isMetaMask;
});

const ethereum = () => (window as unknown as { ethereum: LegacyProvider }).ethereum;

function codeOf(error: unknown): unknown {
  const e = error as { code?: unknown; info?: { error?: { code?: unknown } }; error?: { code?: unknown }; cause?: { code?: unknown } };
  if (typeof e.info?.error?.code === 'number') return e.info.error.code;
  if (typeof e.error?.code === 'number') return e.error.code;
  if (typeof e.cause?.code === 'number') return e.cause.code;
  return e.code;
}

const plain = (value: unknown) => JSON.parse(JSON.stringify(value ?? null, (_key, entry) => (typeof entry === 'bigint' ? entry.toString() : entry)));

async function run(name: string, action: () => Promise<unknown>): Promise<Outcome> {
  try {
    const result = plain(await action());
    log.textContent = `${name}: ${JSON.stringify(result)}`;
    return { result };
  } catch (error) {
    log.textContent = `${name}: error ${String(codeOf(error))}: ${(error as Error).message}`;
    return { error: { code: codeOf(error), message: (error as Error).message } };
  }
}

const request = (method: string, params?: unknown) => ethereum().request({ method, ...(params !== undefined ? { params } : {}) } as never);
const accounts = async () => (await request('eth_accounts')) as string[];
const walletClient = () => createWalletClient({ transport: custom(ethereum() as unknown as EIP1193Provider) });

const dapp = {
  /** The provider as the page sees it after its SDK assigned its own. */
  inspect: () => ({
    isMetaMask: ethereum().isMetaMask === true,
    isDuet: ethereum().isDuet === true,
    isTheAnnouncedDuet: announced !== null && ethereum() === announced,
    isTheSdk: ethereum() === (sdkProvider as unknown),
    connectEnabled: !connectButton.disabled,
    configurable: Object.getOwnPropertyDescriptor(window, 'ethereum')?.configurable === true,
  }),
  watchEvents: () => {
    for (const event of ['connect', 'disconnect', 'chainChanged', 'accountsChanged']) ethereum().on(event, (payload) => events.push({ event, payload }));
    return true;
  },
  events: () => events,
  raw: (method: string, params?: unknown) => run(method, () => request(method, params)),

  // The legacy API, with MetaMask's shapes.
  enable: () => run('enable', () => ethereum().enable()),
  legacy: () =>
    run('legacy', async () => ({
      sendMethod: await ethereum().send('eth_chainId'),
      sendPayload: await new Promise((resolve) => ethereum().send({ id: 41, jsonrpc: '2.0', method: 'eth_accounts' }, (error: unknown, response: unknown) => resolve({ error, response }))),
      sendAsync: await new Promise((resolve) => ethereum().sendAsync({ id: 42, jsonrpc: '2.0', method: 'net_version' }, (error, response) => resolve({ error, response }))),
      sendSync: ethereum().send({ id: 43, jsonrpc: '2.0', method: 'eth_accounts' }),
      isConnected: ethereum().isConnected(),
      isUnlocked: await ethereum()._metamask.isUnlocked(),
    })),

  // Signatures checked as eth-sig-util checks them: the recovered address === eth_accounts[0].
  personalSign: (message: string) =>
    run('personal_sign', async () => {
      const [account] = await accounts();
      const signature = (await request('personal_sign', [message, account])) as string;
      const recovered = recoverPersonalSignature({ data: message, signature });
      const ecRecover = await request('personal_ecRecover', [message, signature]);
      return { matches: recovered === account, ecRecoverMatches: ecRecover === account, account, recovered };
    }),
  signTypedData: (version: 'V1' | 'V3' | 'V4', data: unknown) =>
    run(`signTypedData ${version}`, async () => {
      const [account] = await accounts();
      const method = version === 'V1' ? 'eth_signTypedData' : `eth_signTypedData_${version.toLowerCase()}`;
      const params = version === 'V1' ? [data, account] : [account, JSON.stringify(data)];
      const signature = (await request(method, params)) as string;
      const recovered = recoverTypedSignature({ data: data as never, signature, version: SignTypedDataVersion[version] });
      return { matches: recovered === account, account, recovered };
    }),

  // Transactions through ethers and viem.
  // The test waits for the receipts itself (on its own connection to the chain).
  ethersLegacySend: (to: string, gasPriceWei: string) =>
    run('ethers type 0', async () => {
      const signer = await new BrowserProvider(ethereum()).getSigner();
      return (await signer.sendTransaction({ to, value: 1n, type: 0, gasPrice: BigInt(gasPriceWei) })).hash;
    }),
  viemAccessListSend: (to: string, gasPriceWei: string) =>
    run('viem type 1', async () => {
      const [account] = await accounts();
      return walletClient().sendTransaction({ account: account as Address, chain: null, to: to as Address, value: 1n, gasPrice: BigInt(gasPriceWei), accessList: [{ address: to as Address, storageKeys: [] }] });
    }),
  ethersContractCall: (address: string, abi: string[], method: string, args: unknown[]) =>
    run(`ethers ${method}`, async () => {
      const signer = await new BrowserProvider(ethereum()).getSigner();
      return ((await (new Contract(address, abi, signer).getFunction(method) as unknown as (...a: unknown[]) => Promise<{ hash: string }>)(...args)) as { hash: string }).hash;
    }),
  viemWatchAsset: (options: Record<string, unknown>, type: 'ERC20' | 'ERC721') => run('viem watchAsset', () => walletClient().watchAsset({ type, options } as never)),
  viemCapabilities: () =>
    run('viem getCapabilities', async () => {
      const [account] = await accounts();
      return walletClient().getCapabilities({ account: account as Address });
    }),
  viemSendCalls: (calls: { to: string; value: string }[]) =>
    run('viem sendCalls', async () => {
      const [account] = await accounts();
      const chainId = Number(await request('eth_chainId'));
      return walletClient().sendCalls({ account: account as Address, chain: { id: chainId } as never, calls: calls.map((call) => ({ to: call.to as Address, value: BigInt(call.value) })) });
    }),
  viemCallsStatus: (id: string) => run('viem getCallsStatus', () => walletClient().getCallsStatus({ id: id as Hex })),

  /** Puts a frame of `frameUrl` (another origin) in the page; it asks for the accounts when told to. */
  embed: (frameUrl: string) =>
    new Promise<boolean>((resolve) => {
      const frame = document.createElement('iframe');
      frame.src = frameUrl;
      frame.addEventListener('load', () => resolve(true));
      document.body.append(frame);
    }),
  askFromFrame: () =>
    new Promise<Outcome>((resolve) => {
      window.addEventListener('message', (event) => {
        if ((event.data as { from?: string })?.from === 'duet-test-frame') resolve((event.data as { outcome: Outcome }).outcome);
      });
      document.querySelector('iframe')?.contentWindow?.postMessage('connect', '*');
    }),
};

(window as unknown as { dapp: typeof dapp }).dapp = dapp;
log.textContent = 'Ready.';
