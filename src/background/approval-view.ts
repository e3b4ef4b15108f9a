/**
 * What the approval window renders for the record on screen: origin, account, network, and the
 * decoded action (src/wallet/decode.ts for signing requests), plus co-signing progress. Only that
 * record is decoded; the others are summarised (site, kind, status) without reading their payload.
 */
import { chainName, toHexChainId } from '../wallet/chains.ts';
import { displayModel, type DisplayModel } from '../wallet/decode.ts';
import { reviewedDisplay } from '../wallet/reviewed-display.ts';
import { WALLET_ORIGIN, decodeSigningRequest, shortCode } from '../wallet/signing-request.ts';
import type { ApprovalRecord, ApprovalStatus } from './approval-queue.ts';
import { findNetwork } from './networks.ts';
import { siteChainId } from './permissions.ts';
import { editableTransaction, transactionWarnings, type EditableTransaction } from './transaction-review.ts';
import { watchAssetModel } from './watch-asset.ts';
import { activeAccountEntry, type WalletState } from './wallet-state.ts';

export interface AccountChoice {
  readonly index: number;
  readonly name: string;
  readonly address: string;
  readonly selected: boolean;
}

export interface ApprovalCard {
  readonly id: string;
  readonly origin: string;
  /** The top-level site when the request comes from an embedded frame ("embedded in …"). */
  readonly embeddedIn: string | null;
  /** The origin as the window names it ("Duet (your popup)" for what the user started there). */
  readonly originLabel: string;
  readonly kind: ApprovalRecord['payload']['kind'];
  readonly status: ApprovalStatus;
  readonly network: string;
  readonly account: { readonly name: string; readonly address: string } | null;
  readonly display: DisplayModel;
  /** The short code the phone shows for the same request. */
  readonly code: string | null;
  readonly deadline: number | null;
  readonly message: string | null;
  /** For connection requests: the accounts the user may share. */
  readonly choices: readonly AccountChoice[] | null;
  /** Requests from this card's site awaiting the user, this one included ("Reject all"). */
  readonly siteWaiting: number;
  /** For transactions: the fee, gas limit and nonce the user may edit, with the node's figures. */
  readonly transaction: EditableTransaction | null;
  /** The member the user chose to co-sign this request ("ask another device"), if any. */
  readonly via: string | null;
  /** For a call of a wallet_sendCalls batch: which one (from 0) of how many. */
  readonly batch: { readonly index: number; readonly count: number } | null;
}

export interface ApprovalSummary {
  readonly id: string;
  readonly origin: string;
  readonly kind: ApprovalRecord['payload']['kind'];
  readonly status: ApprovalStatus;
}

export function approvalSummary(record: ApprovalRecord): ApprovalSummary {
  return { id: record.id, origin: record.origin, kind: record.payload.kind, status: record.status };
}

export const ADD_NETWORK_WARNING = 'A network can report false balances and transaction results. Add only networks you trust.';
export const WALLET_ORIGIN_LABEL = 'Duet (you, from the popup)';
/** Who moves when a switch is approved: a connected site has a network of its own; any other page moves the wallet. */
export const SITE_SWITCH_SCOPE = 'This site only: Duet and other sites stay on their networks.';
export const WALLET_SWITCH_SCOPE = "Duet's network, and every site without a network of its own.";
export const CONNECT_NOTE = 'The site will see the chosen addresses and can ask for approvals. Nothing is signed without your approval here and on your phone.';

function networkLabel(state: WalletState, chainId: number): string {
  return findNetwork(state, chainId)?.name ?? chainName(chainId);
}

function signCard(state: WalletState, payload: Extract<ApprovalRecord['payload'], { kind: 'sign' }>): Pick<ApprovalCard, 'display' | 'code' | 'account' | 'network' | 'transaction'> {
  try {
    const request = decodeSigningRequest(payload.request);
    const account = state.accounts.find((candidate) => candidate.address === request.account.address);
    const display = reviewedDisplay(displayModel(request), request);
    const transaction = request.kind === 'transaction' ? request : null;
    return {
      display: transaction ? { ...display, warnings: [...display.warnings, ...transactionWarnings(transaction, payload.advice)] } : display,
      code: shortCode(request),
      account: { name: account?.name ?? `Account ${request.account.index + 1}`, address: request.account.address },
      network: networkLabel(state, request.chainId),
      transaction: transaction ? editableTransaction(transaction, payload.advice) : null,
    };
  } catch {
    return { display: { title: 'Unreadable request', fields: [], warnings: ['This request cannot be decoded. Reject it.'] }, code: null, account: null, network: networkLabel(state, state.activeChainId), transaction: null };
  }
}

export function approvalCard(record: ApprovalRecord, state: WalletState, siteWaiting: number): ApprovalCard {
  const active = activeAccountEntry(state);
  const base = {
    ...approvalSummary(record),
    embeddedIn: record.embeddedIn ?? null,
    originLabel: record.origin === WALLET_ORIGIN ? WALLET_ORIGIN_LABEL : record.origin,
    deadline: record.deadline,
    message: record.message,
    network: networkLabel(state, state.activeChainId),
    account: active ? { name: active.name, address: active.address } : null,
    code: null,
    choices: null,
    siteWaiting,
    transaction: null,
    via: record.payload.kind === 'sign' ? (record.payload.via ?? null) : null,
    batch: null,
  };
  const payload = record.payload;
  switch (payload.kind) {
    case 'connect': {
      const permitted = state.permissions[record.origin]?.accounts ?? [];
      const choices = state.accounts.map((account) => ({ ...account, selected: permitted.length > 0 ? permitted.includes(account.address) : account.address === active?.address }));
      return { ...base, choices, display: { title: 'Connect to this site', fields: [{ label: 'Site', value: record.origin }], warnings: [CONNECT_NOTE] } };
    }
    case 'switch-chain':
      return {
        ...base,
        display: {
          title: 'Switch network',
          fields: [
            { label: 'Site', value: record.origin },
            { label: 'From', value: networkLabel(state, siteChainId(state, record.origin)) },
            { label: 'To', value: `${networkLabel(state, payload.chainId)} (${payload.chainId})` },
            { label: 'Applies to', value: state.permissions[record.origin] ? SITE_SWITCH_SCOPE : WALLET_SWITCH_SCOPE },
          ],
          warnings: [],
        },
      };
    case 'add-chain': {
      const network = payload.network;
      return {
        ...base,
        display: {
          title: 'Add a network',
          fields: [
            { label: 'Site', value: record.origin },
            { label: 'Network name', value: network.name },
            { label: 'Chain ID', value: `${network.chainId} (${toHexChainId(network.chainId)})` },
            { label: 'RPC URL', value: network.rpcUrl },
            { label: 'Currency symbol', value: network.symbol },
            ...(network.explorerUrl ? [{ label: 'Block explorer', value: network.explorerUrl }] : []),
          ],
          warnings: [ADD_NETWORK_WARNING],
        },
      };
    }
    case 'watch-asset': {
      const network = networkLabel(state, payload.asset.chainId);
      return { ...base, network, display: watchAssetModel(payload.asset, network) };
    }
    case 'sign':
      return { ...base, ...signCard(state, payload), batch: payload.batch ?? null };
  }
}
