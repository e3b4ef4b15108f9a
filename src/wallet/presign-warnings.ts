/**
 * The warnings shown before signing, on both screens, from the request and the facts the
 * extension observed (presign-facts.ts). One function per rule; each returns its warning or null.
 * The phone runs the same rules on its own decoding of the request (token-call.ts), so a site's
 * calldata is read the same way on both devices.
 *
 * Rules:
 * - the simulation reverted: "This transaction will fail: <reason>" (the user may still approve);
 * - the balance does not cover value + gas × max fee (the node would refuse the transaction);
 * - an ERC-20 approve (non-zero) or setApprovalForAll(true) to an address that is not a contract;
 * - ETH sent with no call data to a contract;
 * - the request's chain (typed data with a domain chainId, or a transaction) is not the network
 *   Duet is on now;
 * - the first interaction with the address the request deals with, from Duet's activity record.
 * The unlimited-approval warning stays in decode.ts.
 */
import { formatEther, getAddress } from 'ethers';
import { presetNetwork } from './chains.ts';
import { addressFacts, type PresignFacts } from './presign-facts.ts';
import { maxFeePerGasOf, type SigningRequest, type TransactionRequest } from './signing-request.ts';
import { counterparty, readTokenCall } from './token-call.ts';

export const WILL_FAIL_PREFIX = 'This transaction will fail: ';

function chainLabel(chainId: number): string {
  const preset = presetNetwork(chainId);
  return preset ? `${preset.name} (chain ${chainId})` : `chain ${chainId}`;
}

function nativeSymbol(chainId: number): string {
  return presetNetwork(chainId)?.symbol ?? 'native currency';
}

const transactionOf = (request: SigningRequest): TransactionRequest | null => (request.kind === 'transaction' ? request : null);

/** The simulation on the current block reverted (or could not run). */
export function simulationWarning(request: SigningRequest, facts: PresignFacts): string | null {
  const simulation = facts.simulation;
  if (!transactionOf(request) || simulation === null || simulation.outcome === 'success') return null;
  if (simulation.outcome === 'revert') return `${WILL_FAIL_PREFIX}${simulation.reason}`;
  return `Duet could not simulate this transaction (${simulation.reason}). It may fail.`;
}

/** The account cannot pay value + gas × max fee: the network refuses such a transaction. */
export function insufficientFundsWarning(request: SigningRequest, facts: PresignFacts): string | null {
  const transaction = transactionOf(request);
  if (!transaction || facts.balance === null) return null;
  const { value, gas } = transaction.tx;
  const maxFeePerGas = maxFeePerGasOf(transaction.tx);
  const needed = value + gas * maxFeePerGas;
  if (facts.balance >= needed) return null;
  const symbol = nativeSymbol(transaction.chainId);
  return `${WILL_FAIL_PREFIX}the balance of ${formatEther(facts.balance)} ${symbol} does not cover ${formatEther(value)} ${symbol} plus the maximum network fee of ${formatEther(gas * maxFeePerGas)} ${symbol}.`;
}

/** An approval (ERC-20 approve above zero, or setApprovalForAll(true)) to an address with no code. */
export function approvalToAccountWarning(request: SigningRequest, facts: PresignFacts): string | null {
  const transaction = transactionOf(request);
  const call = transaction && transaction.tx.to !== null ? readTokenCall(transaction.tx.data) : null;
  let grantee: string | null = null;
  if (call?.kind === 'approve' && call.amount > 0n) grantee = call.spender;
  if (call?.kind === 'setApprovalForAll' && call.approved) grantee = call.operator;
  if (grantee === null || addressFacts(facts, grantee)?.contract !== false) return null;
  const what = call?.kind === 'approve' ? 'tokens' : 'items';
  return `${grantee} is not a contract. Approvals are normally given to contracts (an exchange, a marketplace); an approval to a plain account lets its owner take your ${what} — a common scam.`;
}

/** ETH sent to a contract with no call data: many contracts cannot send it back. */
export function ethToContractWarning(request: SigningRequest, facts: PresignFacts): string | null {
  const transaction = transactionOf(request);
  if (!transaction || transaction.tx.to === null || transaction.tx.data !== '0x' || transaction.tx.value === 0n) return null;
  if (addressFacts(facts, transaction.tx.to)?.contract !== true) return null;
  return `${getAddress(transaction.tx.to)} is a contract, and this sends it ${nativeSymbol(transaction.chainId)} without calling it. Many contracts (tokens among them) keep what is sent this way for good. Check that this is the address you meant.`;
}

/** The request is for another chain than the one Duet is on now. */
export function chainMismatchWarning(request: SigningRequest, facts: PresignFacts): string | null {
  if (request.chainId === facts.currentChainId) return null;
  if (request.kind === 'typed_data' && Object.hasOwn(request.typedData.domain, 'chainId')) {
    return `This signature is for ${chainLabel(request.chainId)}, but Duet is on ${chainLabel(facts.currentChainId)} now.`;
  }
  if (request.kind === 'transaction') return `This transaction is for ${chainLabel(request.chainId)}, but Duet is on ${chainLabel(facts.currentChainId)} now.`;
  return null;
}

/** This account never dealt with the address before (Duet's activity record). Not for replacements or sends to itself. */
export function firstInteractionWarning(request: SigningRequest, facts: PresignFacts): string | null {
  const transaction = transactionOf(request);
  const other = transaction ? counterparty(transaction) : null;
  if (!transaction || other === null || facts.replaces !== null || other === getAddress(transaction.account.address)) return null;
  if (addressFacts(facts, other)?.interacted !== false) return null;
  return `First interaction with ${other}: this account has no earlier transaction with it in Duet's activity. Check the address.`;
}

const RULES = [simulationWarning, insufficientFundsWarning, approvalToAccountWarning, ethToContractWarning, chainMismatchWarning, firstInteractionWarning];

/** Every warning the request's facts call for, most serious first. None without facts. */
export function presignWarnings(request: SigningRequest): string[] {
  const facts = request.facts;
  if (!facts) return [];
  return RULES.map((rule) => rule(request, facts)).filter((warning): warning is string => warning !== null);
}
