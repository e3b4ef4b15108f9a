/**
 * The end-to-end test dApp: finds Duet through EIP-6963 with mipd, then uses it the way real
 * dApps do — ethers v6 BrowserProvider and viem with a custom EIP-1193 transport. The test drives
 * it through `window.dapp`; every call answers { result } or { error: { code, message } }.
 */
import { BrowserProvider, type Eip1193Provider } from 'ethers';
import { createStore, type EIP6963ProviderDetail } from 'mipd';
import { createPublicClient, createWalletClient, custom, defineChain, type Address, type EIP1193Provider } from 'viem';

type Outcome = { result?: unknown; error?: { code: unknown; message: string } };

const store = createStore();
const log = document.getElementById('log') as HTMLElement;
const events: { event: string; payload: unknown }[] = [];

function duet(): EIP6963ProviderDetail {
  const detail = store.findProvider({ rdns: 'app.duet.wallet' });
  if (!detail) throw new Error('Duet was not discovered');
  return detail;
}

/** The EIP-1193 code of an error, however the library wrapped it. */
function codeOf(error: unknown): unknown {
  const e = error as { code?: unknown; info?: { error?: { code?: unknown } }; error?: { code?: unknown }; cause?: { code?: unknown } };
  if (typeof e.info?.error?.code === 'number') return e.info.error.code;
  if (typeof e.error?.code === 'number') return e.error.code;
  if (typeof e.cause?.code === 'number') return e.cause.code;
  return e.code;
}

async function run(name: string, action: () => Promise<unknown>): Promise<Outcome> {
  try {
    const result = await action();
    log.textContent = `${name}: ${JSON.stringify(result, (_key, value) => (typeof value === 'bigint' ? value.toString() : value))}`;
    return { result: JSON.parse(JSON.stringify(result ?? null, (_key, value) => (typeof value === 'bigint' ? value.toString() : value))) };
  } catch (error) {
    log.textContent = `${name}: error ${String(codeOf(error))}: ${(error as Error).message}`;
    return { error: { code: codeOf(error), message: (error as Error).message } };
  }
}

const ethersProvider = () => new BrowserProvider(duet().provider as unknown as Eip1193Provider);
const viemTransport = () => custom(duet().provider as unknown as EIP1193Provider);
const walletClient = () => createWalletClient({ transport: viemTransport() });
const publicClient = () => createPublicClient({ transport: viemTransport() });

const dapp = {
  discovered: () => store.getProviders().map((detail) => detail.info),
  isWindowEthereumDuet: () => (window as unknown as { ethereum?: unknown }).ethereum === duet().provider,
  events: () => events,
  watchEvents: () => {
    const provider = duet().provider;
    for (const event of ['connect', 'disconnect', 'chainChanged', 'accountsChanged']) provider.on(event as never, ((payload: unknown) => events.push({ event, payload })) as never);
    return true;
  },
  raw: (method: string, params?: unknown[]) => run(method, () => duet().provider.request({ method, params } as never)),

  ethersConnect: () => run('ethers connect', async () => (await ethersProvider().getSigner()).getAddress()),
  ethersChainId: () => run('ethers chainId', async () => (await ethersProvider().getNetwork()).chainId),
  ethersBalance: (address: string) => run('ethers balance', async () => ethersProvider().getBalance(address)),
  ethersSend: (to: string, valueWei: string) =>
    run('ethers send', async () => {
      const signer = await ethersProvider().getSigner();
      const response = await signer.sendTransaction({ to, value: BigInt(valueWei) });
      const receipt = await response.wait();
      return { hash: response.hash, status: receipt?.status, from: response.from, chainId: response.chainId, type: response.type };
    }),
  ethersSignMessage: (message: string) => run('ethers signMessage', async () => (await ethersProvider().getSigner()).signMessage(message)),

  viemAddresses: () => run('viem requestAddresses', () => walletClient().requestAddresses()),
  viemChainId: () => run('viem chainId', () => walletClient().getChainId()),
  viemBalance: (address: string) => run('viem balance', () => publicClient().getBalance({ address: address as Address })),
  viemBlockNumber: () => run('viem blockNumber', () => publicClient().getBlockNumber()),
  viemSwitchChain: (id: number) => run('viem switchChain', () => walletClient().switchChain({ id })),
  viemAddChain: (id: number, name: string, rpcUrl: string) =>
    run('viem addChain', () => walletClient().addChain({ chain: defineChain({ id, name, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } }) })),
  viemSignTypedData: (account: string) =>
    run('viem signTypedData', async () =>
      walletClient().signTypedData({
        account: account as Address,
        domain: { name: 'Duet e2e', version: '1', chainId: await walletClient().getChainId() },
        types: { Greeting: [{ name: 'from', type: 'address' }, { name: 'text', type: 'string' }] },
        primaryType: 'Greeting',
        message: { from: account as Address, text: 'Hello from viem' },
      }),
    ),
};

(window as unknown as { dapp: typeof dapp }).dapp = dapp;
store.subscribe(() => {
  log.textContent = `Wallets: ${store.getProviders().map((detail) => detail.info.name).join(', ') || 'none'}`;
});
log.textContent = `Wallets: ${store.getProviders().map((detail) => detail.info.name).join(', ') || 'none'}`;
