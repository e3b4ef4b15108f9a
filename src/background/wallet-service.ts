/**
 * The extension's wallet: vault and lock state, pairing and key generation with the phone,
 * EIP-1193 method handlers with per-origin permissions, approvals, and co-signing (P2).
 * Browser APIs come in as ports (storage, windows, WebSocket, fetch), so Node tests reach it.
 */
import { Signature } from 'ethers';
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';
import { generateIdentity, type Identity } from '../channel/handshake.ts';
import { createPairingOffer, encodePairingLink, relayChannelName } from '../channel/pairing-offer.ts';
import { RelayClient, type RelayClientState, type WebSocketConstructor } from '../channel/relay-client.ts';
import { SecureChannel, type SecureChannelState } from '../channel/secure-channel.ts';
import { accountAddress } from '../mpc/derivation.ts';
import { decodeP2KeyShare, encodeP2KeyShare } from '../mpc/key-share-codec.ts';
import type { P2KeyShare } from '../mpc/key-share.ts';
import type { EcdsaSignature } from '../mpc/signature.ts';
import { ProviderRpcError, RpcErrorCode } from '../provider/rpc-error.ts';
import { CoSigningFailed, CoSigningRejected, ExtensionCoSigner } from '../session/extension-cosigner.ts';
import { displayModel } from '../wallet/decode.ts';
import { toHexChainId } from '../wallet/chains.ts';
import { shortCode, unsignedTransaction, type SigningRequest } from '../wallet/signing-request.ts';
import { createVault, unlockVault, unlockVaultWithKey, vaultExists, VaultError, type UnlockedVault } from '../vault/vault.ts';
import { ApprovalQueue, type ApprovalView } from './approvals.ts';
import { buildTransactionRequest, personalSignRequest, typedDataRequest, type RpcCall } from './request-builders.ts';
import { loadPublicState, savePublicState, type KeyValueStore, type PublicState } from './settings.ts';

export const VAULT_NAME = 'duet-extension';
const SESSION_KEY = 'duet/unlock-key';

/** Read-only methods proxied to the active network's RPC. */
const PROXIED_METHODS = new Set([
  'eth_blockNumber', 'eth_getBalance', 'eth_call', 'eth_estimateGas', 'eth_getTransactionReceipt', 'eth_getTransactionByHash',
  'eth_getCode', 'eth_gasPrice', 'eth_feeHistory', 'eth_getLogs', 'eth_getBlockByNumber', 'eth_getBlockByHash',
  'eth_getTransactionCount', 'eth_maxPriorityFeePerGas', 'eth_getStorageAt', 'net_listening', 'web3_clientVersion',
]);

export interface ServicePorts {
  readonly local: KeyValueStore;
  readonly session: KeyValueStore;
  readonly openApprovalWindow: () => Promise<void>;
  readonly notifyOrigin: (origin: string | null, event: string, payload: unknown) => void;
  readonly fetch: typeof fetch;
  readonly WebSocket?: WebSocketConstructor;
  readonly now: () => number;
}

export type PairingPhase = 'idle' | 'waiting-for-phone' | 'confirm-sas' | 'generating-key' | 'done' | 'failed';

export interface PairingView {
  phase: PairingPhase;
  link: string | null;
  sas: string | null;
  error: string | null;
}

export interface WalletView {
  readonly vaultExists: boolean;
  readonly unlocked: boolean;
  readonly state: PublicState;
  readonly pairing: PairingView;
  readonly approvals: ApprovalView[];
  readonly phoneOnline: boolean;
}

const requestIdHex = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

export class WalletService {
  private readonly ports: ServicePorts;
  private vault: UnlockedVault | null = null;
  private state: PublicState | null = null;
  private relay: RelayClient | null = null;
  private channel: SecureChannel | null = null;
  private cosigner: ExtensionCoSigner | null = null;
  private identity: Identity | null = null;
  readonly approvals = new ApprovalQueue();
  readonly pairing: PairingView = { phase: 'idle', link: null, sas: null, error: null };
  private readonly listeners = new Set<() => void>();

  constructor(ports: ServicePorts) {
    this.ports = ports;
    this.approvals.onChange(() => this.changed());
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private async publicState(): Promise<PublicState> {
    this.state ??= await loadPublicState(this.ports.local);
    return this.state;
  }

  private async saveState(): Promise<void> {
    if (this.state) await savePublicState(this.ports.local, this.state);
    this.changed();
  }

  /** After a service-worker restart: reopen the vault with the key kept in session storage. */
  async restore(): Promise<void> {
    const raw = await this.ports.session.get<string>(SESSION_KEY);
    if (!raw || this.vault) return;
    const key = decodeBase64Url(raw);
    if (!key) return;
    try {
      this.vault = await unlockVaultWithKey(VAULT_NAME, key);
      await this.afterUnlock();
    } catch {
      await this.ports.session.remove(SESSION_KEY);
    }
  }

  async view(): Promise<WalletView> {
    return {
      vaultExists: await vaultExists(VAULT_NAME),
      unlocked: this.vault !== null,
      state: await this.publicState(),
      pairing: { ...this.pairing },
      approvals: this.approvals.list(),
      phoneOnline: this.relay?.isOnline ?? false,
    };
  }

  async createWallet(password: string, settings: { relayUrl?: string; phoneAppUrl?: string; rpcUrl?: string }): Promise<void> {
    if (password.length < 8) throw new ProviderRpcError(RpcErrorCode.invalidParams, 'Choose a password of at least 8 characters.');
    const vault = await createVault(VAULT_NAME, password);
    const identity = generateIdentity();
    await vault.put('identity', { secretKey: encodeBase64Url(identity.secretKey), publicKey: encodeBase64Url(identity.publicKey) });
    const state = await this.publicState();
    if (settings.relayUrl) state.relayUrl = settings.relayUrl;
    if (settings.phoneAppUrl) state.phoneAppUrl = settings.phoneAppUrl;
    if (settings.rpcUrl) state.networks = state.networks.map((n) => (n.chainId === state.activeChainId ? { ...n, rpcUrl: settings.rpcUrl as string } : n));
    await this.saveState();
    this.vault = vault;
    await this.rememberUnlockKey();
    await this.afterUnlock();
  }

  async unlock(password: string): Promise<void> {
    try {
      this.vault = await unlockVault(VAULT_NAME, password);
    } catch (error) {
      if (error instanceof VaultError && error.code === 'wrong_password') throw new ProviderRpcError(RpcErrorCode.invalidParams, 'Wrong password.');
      throw error;
    }
    await this.rememberUnlockKey();
    await this.afterUnlock();
  }

  async lock(): Promise<void> {
    this.relay?.close();
    this.relay = null;
    this.channel = null;
    this.cosigner = null;
    this.vault?.lock();
    this.vault = null;
    await this.ports.session.remove(SESSION_KEY);
    this.changed();
  }

  private async rememberUnlockKey(): Promise<void> {
    if (this.vault) await this.ports.session.set(SESSION_KEY, encodeBase64Url(await this.vault.exportKey()));
  }

  private requireVault(): UnlockedVault {
    if (!this.vault) throw new ProviderRpcError(RpcErrorCode.unauthorized, 'Duet is locked. Open Duet and unlock it.');
    return this.vault;
  }

  private async afterUnlock(): Promise<void> {
    const vault = this.requireVault();
    const stored = await vault.get<{ secretKey: string; publicKey: string }>('identity');
    if (stored) this.identity = { secretKey: decodeBase64Url(stored.secretKey) as Uint8Array, publicKey: decodeBase64Url(stored.publicKey) as Uint8Array };
    const shareJson = await vault.get<unknown>('keyShare');
    const channelState = await vault.get<SecureChannelState>('channel');
    const relayState = await vault.get<RelayClientState>('relay');
    if (shareJson && channelState && relayState) this.connectPairedChannel(decodeP2KeyShare(shareJson), channelState, relayState);
    this.changed();
  }

  // ---- pairing ------------------------------------------------------------------------------

  async startPairing(): Promise<PairingView> {
    this.requireVault();
    const state = await this.publicState();
    const identity = this.identity;
    if (!identity) throw new ProviderRpcError(RpcErrorCode.internal, 'Missing device identity.');
    this.relay?.close();
    const { offer, ephemeralSecret } = createPairingOffer(state.relayUrl, this.ports.now());
    const relay = this.newRelay(relayChannelName(offer));
    const channel = new SecureChannel({ transport: relay, role: 'extension', channelId: offer.channelId, identity });
    channel.awaitPhone(offer, ephemeralSecret);
    this.relay = relay;
    this.channel = channel;
    Object.assign(this.pairing, { phase: 'waiting-for-phone', link: encodePairingLink(offer, state.phoneAppUrl), sas: null, error: null });
    channel.onEvent((event) => {
      if (event.kind === 'sas') Object.assign(this.pairing, { phase: 'confirm-sas', sas: event.sas });
      if (event.kind === 'paired') Object.assign(this.pairing, { phase: 'generating-key' });
      if (event.kind === 'error') Object.assign(this.pairing, { phase: 'failed', error: event.error.message });
      this.changed();
    });
    this.cosigner = new ExtensionCoSigner({ send: (message) => channel.send(message), onKeyShare: (share) => this.onNewKeyShare(share) });
    channel.onMessage((message) => void this.cosigner?.handle(message));
    relay.onStatus(() => this.changed());
    await relay.connect();
    this.changed();
    return { ...this.pairing };
  }

  confirmSas(matches: boolean): void {
    if (!this.channel) return;
    if (matches) this.channel.confirmSas();
    else this.channel.rejectSas();
  }

  private newRelay(channelName: string, state?: RelayClientState): RelayClient {
    const url = this.state?.relayUrl ?? '';
    return new RelayClient({ relayUrl: url, channelId: channelName, role: 'extension', ...(this.ports.WebSocket ? { WebSocket: this.ports.WebSocket } : {}), ...(state ? { state } : {}) });
  }

  private async onNewKeyShare(share: P2KeyShare): Promise<void> {
    const vault = this.requireVault();
    const state = await this.publicState();
    const address = accountAddress(share.publicKey, share.chainCode, 0);
    await vault.putMany({ keyShare: encodeP2KeyShare(share), channel: this.channel?.save(), relay: this.relay?.saveState() });
    state.accounts = [{ index: 0, address, name: 'Account 1' }];
    state.activeAccount = 0;
    state.phone = { name: 'Phone', pairedAt: this.ports.now(), lastSeen: this.ports.now() };
    await this.saveState();
    Object.assign(this.pairing, { phase: 'done', error: null });
    this.changed();
  }

  private connectPairedChannel(share: P2KeyShare, channelState: SecureChannelState, relayState: RelayClientState): void {
    const identity = this.identity;
    if (!identity) return;
    const relay = this.newRelay(relayState.channelId, relayState);
    const channelId = decodeBase64Url(channelState.channelId) as Uint8Array;
    const channel = new SecureChannel({ transport: relay, role: 'extension', channelId, identity, state: channelState });
    const cosigner = new ExtensionCoSigner({ send: (message) => channel.send(message), onKeyShare: (next) => this.onNewKeyShare(next), keyShare: share });
    channel.onMessage((message) => {
      void cosigner.handle(message).then(() => this.persistChannel());
      if (this.state?.phone) this.state.phone.lastSeen = this.ports.now();
    });
    relay.onStatus(() => this.changed());
    this.relay = relay;
    this.channel = channel;
    this.cosigner = cosigner;
    void relay.connect().catch(() => this.changed());
  }

  private async persistChannel(): Promise<void> {
    if (this.vault && this.channel && this.relay) await this.vault.putMany({ channel: this.channel.save(), relay: this.relay.saveState() });
  }

  async addAccount(name: string): Promise<void> {
    const share = this.cosigner?.share;
    if (!share) throw new ProviderRpcError(RpcErrorCode.unauthorized, 'Pair a phone first.');
    const state = await this.publicState();
    const index = state.accounts.length;
    state.accounts.push({ index, address: accountAddress(share.publicKey, share.chainCode, index), name: name || `Account ${index + 1}` });
    await this.saveState();
  }

  async selectAccount(index: number): Promise<void> {
    const state = await this.publicState();
    if (!state.accounts.some((a) => a.index === index)) throw new ProviderRpcError(RpcErrorCode.invalidParams, 'Unknown account.');
    state.activeAccount = index;
    await this.saveState();
    for (const [origin, permission] of Object.entries(state.permissions)) this.ports.notifyOrigin(origin, 'accountsChanged', this.orderedAccounts(state, permission.accounts));
  }

  async switchChain(chainId: number): Promise<void> {
    const state = await this.publicState();
    if (!state.networks.some((n) => n.chainId === chainId)) throw new ProviderRpcError(RpcErrorCode.unrecognizedChain, `Unrecognized chain ID ${toHexChainId(chainId)}. Add it with wallet_addEthereumChain first.`);
    state.activeChainId = chainId;
    await this.saveState();
    this.ports.notifyOrigin(null, 'chainChanged', toHexChainId(chainId));
  }

  decideApproval(id: string, approved: boolean): void {
    this.approvals.decide(id, approved);
  }

  // ---- provider methods ---------------------------------------------------------------------

  private orderedAccounts(state: PublicState, permitted: string[]): string[] {
    const active = state.accounts.find((a) => a.index === state.activeAccount)?.address;
    return active && permitted.includes(active) ? [active, ...permitted.filter((a) => a !== active)] : permitted;
  }

  private permittedAccounts(state: PublicState, origin: string): string[] {
    const permission = state.permissions[origin];
    return this.vault && permission ? this.orderedAccounts(state, permission.accounts) : [];
  }

  async handle(method: string, params: unknown, origin: string): Promise<unknown> {
    const state = await this.publicState();
    const list = Array.isArray(params) ? params : params === undefined ? [] : null;
    switch (method) {
      case 'eth_chainId':
        return toHexChainId(state.activeChainId);
      case 'net_version':
        return String(state.activeChainId);
      case 'eth_accounts':
        return this.permittedAccounts(state, origin);
      case 'eth_requestAccounts':
        return this.requestAccounts(state, origin);
      case 'wallet_requestPermissions': {
        const first = list?.[0] as Record<string, unknown> | undefined;
        if (!first || typeof first !== 'object' || !('eth_accounts' in first)) throw new ProviderRpcError(RpcErrorCode.invalidParams, 'Only the eth_accounts permission can be requested.');
        await this.requestAccounts(state, origin);
        return this.permissionsOf(state, origin);
      }
      case 'wallet_getPermissions':
        return this.permissionsOf(state, origin);
      case 'wallet_revokePermissions':
        delete state.permissions[origin];
        await this.saveState();
        this.ports.notifyOrigin(origin, 'accountsChanged', []);
        return null;
      case 'wallet_switchEthereumChain': {
        const chainId = this.parseChainIdParam(list?.[0]);
        await this.switchChain(chainId);
        return null;
      }
      case 'eth_sign':
        throw new ProviderRpcError(RpcErrorCode.unsupportedMethod, 'eth_sign is disabled in Duet: it can sign a transaction disguised as a message. Use personal_sign.');
      case 'personal_sign':
      case 'eth_signTypedData_v4':
      case 'eth_sendTransaction':
        return this.signingMethod(method, list, state, origin);
      default:
        if (PROXIED_METHODS.has(method)) return this.rpc(method, list ?? []);
        throw new ProviderRpcError(RpcErrorCode.unsupportedMethod, `Duet does not support ${method}.`);
    }
  }

  private parseChainIdParam(value: unknown): number {
    const chainId = (value as { chainId?: unknown } | undefined)?.chainId;
    if (typeof chainId !== 'string' || !/^0x[1-9a-f][0-9a-f]*$/.test(chainId)) throw new ProviderRpcError(RpcErrorCode.invalidParams, 'Expected { chainId } as 0x-hex without leading zeros.');
    return Number.parseInt(chainId, 16);
  }

  private permissionsOf(state: PublicState, origin: string): unknown[] {
    const permission = state.permissions[origin];
    if (!permission) return [];
    return [{ parentCapability: 'eth_accounts', invoker: origin, date: permission.grantedAt, caveats: [{ type: 'restrictReturnedAccounts', value: permission.accounts }] }];
  }

  private async requestAccounts(state: PublicState, origin: string): Promise<string[]> {
    if (!this.vault) {
      await this.ports.openApprovalWindow();
      throw new ProviderRpcError(RpcErrorCode.unauthorized, 'Duet is locked. Unlock it and try again.');
    }
    if (state.accounts.length === 0) throw new ProviderRpcError(RpcErrorCode.unauthorized, 'Pair your phone in Duet first.');
    const existing = this.permittedAccounts(state, origin);
    if (existing.length > 0) return existing;
    const active = state.accounts.find((a) => a.index === state.activeAccount) ?? state.accounts[0];
    if (!active) throw new ProviderRpcError(RpcErrorCode.unauthorized, 'No account.');
    const view: ApprovalView = {
      id: requestIdHex(),
      origin,
      kind: 'connect',
      display: { title: 'Connect to this site', fields: [{ label: 'Site', value: origin }, { label: 'Account', value: `${active.name} ${active.address}` }], warnings: ['The site will see your address and can ask for approvals. It cannot move funds without your approval on both devices.'] },
      code: null,
      status: 'pending',
      message: null,
    };
    const decision = this.approvals.request(view, `connect:${origin}`);
    await this.ports.openApprovalWindow();
    if (!(await decision)) throw new ProviderRpcError(RpcErrorCode.userRejected, 'User rejected the request.');
    state.permissions[origin] = { accounts: [active.address], grantedAt: this.ports.now() };
    await this.saveState();
    this.ports.notifyOrigin(origin, 'accountsChanged', [active.address]);
    return [active.address];
  }

  private async rpc(method: string, params: unknown[]): Promise<unknown> {
    const state = await this.publicState();
    const network = state.networks.find((n) => n.chainId === state.activeChainId);
    if (!network?.rpcUrl) throw new ProviderRpcError(RpcErrorCode.chainDisconnected, 'No RPC URL is set for the active network.');
    let response: Response;
    try {
      response = await this.ports.fetch(network.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    } catch {
      throw new ProviderRpcError(RpcErrorCode.chainDisconnected, `The network ${network.name} cannot be reached.`);
    }
    const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (body.error) throw new ProviderRpcError(body.error.code, body.error.message, body.error.data);
    return body.result;
  }

  private async signingMethod(method: string, params: unknown[] | null, state: PublicState, origin: string): Promise<unknown> {
    if (!params) throw new ProviderRpcError(RpcErrorCode.invalidParams, 'Expected an array of parameters.');
    const permitted = this.permittedAccounts(state, origin);
    if (permitted.length === 0) throw new ProviderRpcError(RpcErrorCode.unauthorized, 'Connect this site to Duet first (eth_requestAccounts).');
    const accountFor = (address: string) => {
      const match = state.accounts.find((a) => a.address.toLowerCase() === address.toLowerCase());
      if (!match || !permitted.some((p) => p.toLowerCase() === address.toLowerCase())) throw new ProviderRpcError(RpcErrorCode.unauthorized, 'This account is not connected to this site.');
      return { index: match.index, address: match.address };
    };
    const base = { id: requestIdHex(), origin, chainId: state.activeChainId, createdAt: this.ports.now() };
    const call: RpcCall = (m, p) => this.rpc(m, p);
    let request: SigningRequest;
    if (method === 'personal_sign') request = personalSignRequest(params, base, accountFor);
    else if (method === 'eth_signTypedData_v4') request = typedDataRequest(params, base, accountFor);
    else request = await buildTransactionRequest(params, base, accountFor, call);

    const signature = await this.approveAndCoSign(request);
    const rHex = signature.r.toString(16).padStart(64, '0');
    const sHex = signature.s.toString(16).padStart(64, '0');
    if (request.kind !== 'transaction') return `0x${rHex}${sHex}${(27 + signature.yParity).toString(16)}`;
    const tx = unsignedTransaction(request);
    tx.signature = Signature.from({ r: `0x${rHex}`, s: `0x${sHex}`, yParity: signature.yParity });
    return this.rpc('eth_sendRawTransaction', [tx.serialized]);
  }

  private async approveAndCoSign(request: SigningRequest): Promise<EcdsaSignature> {
    const cosigner = this.cosigner;
    if (!cosigner?.share) throw new ProviderRpcError(RpcErrorCode.unauthorized, 'Pair your phone in Duet first.');
    const view: ApprovalView = { id: request.id, origin: request.origin, kind: 'sign', display: displayModel(request), code: shortCode(request), status: 'pending', message: null };
    const decision = this.approvals.request(view, `sign:${request.origin}:${JSON.stringify(view.display)}`);
    await this.ports.openApprovalWindow();
    if (!(await decision)) throw new ProviderRpcError(RpcErrorCode.userRejected, 'User rejected the request.');
    this.approvals.update(request.id, 'waiting-for-phone', `Approve on your phone. Code ${view.code}.`);
    try {
      const signature = await cosigner.requestSignature(request);
      await this.persistChannel();
      this.approvals.update(request.id, 'done', 'Signed by both devices.');
      return signature;
    } catch (error) {
      this.approvals.update(request.id, 'failed', error instanceof Error ? error.message : 'Co-signing failed.');
      if (error instanceof CoSigningRejected) throw new ProviderRpcError(RpcErrorCode.userRejected, error.message);
      if (error instanceof CoSigningFailed) throw new ProviderRpcError(RpcErrorCode.internal, error.message);
      throw error;
    } finally {
      setTimeout(() => this.approvals.dismiss(request.id), 3_000);
    }
  }

  cancelSigning(id: string): void {
    this.cosigner?.cancel(id, new CoSigningRejected('Cancelled in the extension.'));
  }
}
