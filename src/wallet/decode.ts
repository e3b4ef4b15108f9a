/**
 * Decoding for display, identical on both devices: a title, labelled fields, warnings and alerts
 * that the extension's approval window and the phone render the same way. The model depends on
 * the request alone — token symbols and decimals included, which travel in the request — so both
 * screens show the same.
 *
 * - Transactions: ETH transfer, token calls (token-actions.ts: ERC-20 in token units with the raw
 *   amount beside, ERC-721 and ERC-1155 as NFTs with their token IDs), other calls by selector
 *   with their raw data, contract creation; the transaction type when it is a legacy one; fees:
 *   max network fee = gas × max fee per gas (the gas price for types 0 and 1), in ETH.
 * - personal_sign: UTF-8 text with hidden characters escaped and its line breaks, else hex;
 *   Sign-In with Ethereum (EIP-4361) parsed, with an alert when its domain is not the requesting
 *   site (as MetaMask warns) and a warning when it names another account.
 * - Typed data (typed-display.ts): the domain and message tree, permit and Permit2 summaries.
 * - A request from an embedded frame says which site embeds it; personal_sign, legacy typed data
 *   and typed data without a signed chainId say they are valid on every chain.
 *
 * Unlimited approvals: an allowance ≥ 2^255 (half of uint256) is "unlimited". MAX_UINT256 is the
 * usual sentinel, but any amount that large exceeds every real token supply, and a slightly
 * smaller number must not dodge the warning.
 */
import { formatEther, formatUnits, getAddress, toUtf8String } from 'ethers';
import { presetNetwork } from './chains.ts';
import type { DisplayField, DisplayModel } from './display-model.ts';
import { escapeHidden, HIDDEN_CHARACTERS_NOTICE } from './display-text.ts';
import { checkLegacyTypedData } from './legacy-typed-data.ts';
import { maxFeePerGasOf, type PersonalSignRequest, type SigningRequest, type TransactionRequest } from './signing-request.ts';
import { parseSiwe, siweMatchesOrigin } from './siwe.ts';
import { tokenAction, type ActionModel } from './token-actions.ts';
import { tokenLookup, type TokenLookup } from './token-display.ts';
import { legacyTypedDataAction, typedDataAction } from './typed-display.ts';
import { checkTypedData } from './typed-data.ts';

export type { DisplayField, DisplayModel } from './display-model.ts';
export { APPROVAL_FOR_ALL_WARNING, NFT_APPROVAL_WARNING, UNLIMITED_APPROVAL_WARNING } from './token-actions.ts';
export { SELECTOR_ERC20_APPROVE, SELECTOR_ERC20_TRANSFER, SELECTOR_ERC20_TRANSFER_FROM, SELECTOR_SET_APPROVAL_FOR_ALL } from './token-call.ts';
export { UNLIMITED_APPROVAL_THRESHOLD } from './token-display.ts';
export { LEGACY_TYPED_DATA_WARNING, NFT_PERMIT_WARNING, PERMIT_WARNING, UNLIMITED_PERMIT2_THRESHOLD } from './typed-display.ts';

export const UNDECODED_CALL_WARNING = 'Duet cannot decode this call. Approve only if you trust this site and contract.';
export const EVERY_CHAIN = 'every chain: this signature is not tied to a network';
export const SIWE_MALFORMED_WARNING = 'This message starts like Sign-In with Ethereum (EIP-4361) but does not follow its format.';

function networkLabel(chainId: number): string {
  const preset = presetNetwork(chainId);
  return preset ? `${preset.name} (chain ${chainId})` : `Chain ${chainId}`;
}

/** Native amounts have 18 decimals; the symbol is known for the preset networks only. */
function nativeAmount(wei: bigint, chainId: number): string {
  const preset = presetNetwork(chainId);
  return preset ? `${formatEther(wei)} ${preset.symbol}` : `${formatEther(wei)} (native currency)`;
}

function transactionAction(request: TransactionRequest, lookup: TokenLookup): ActionModel {
  const { tx, chainId } = request;
  const to = tx.to === null ? null : getAddress(tx.to);
  const data = tx.data.toLowerCase();
  if (to === null) {
    return { title: 'Deploy a contract', fields: [{ label: 'Value', value: nativeAmount(tx.value, chainId) }, { label: 'Code size', value: `${(data.length - 2) / 2} bytes` }], warnings: [] };
  }
  if (data === '0x') {
    return { title: 'Send ETH', fields: [{ label: 'To', value: to }, { label: 'Amount', value: nativeAmount(tx.value, chainId) }], warnings: [] };
  }
  const sent: DisplayField = { label: 'ETH sent', value: nativeAmount(tx.value, chainId) };
  const token = tokenAction(to, data, lookup);
  if (token) {
    const alsoSends = tx.value > 0n ? [`This call also sends ${nativeAmount(tx.value, chainId)} to the contract.`] : [];
    return { title: token.title, fields: [...token.fields, sent], warnings: [...token.warnings, ...alsoSends] };
  }
  const selector = data.length >= 10 ? [{ label: 'Function selector', value: data.slice(0, 10) }] : [];
  return { title: 'Contract call', fields: [{ label: 'Contract', value: to }, ...selector, { label: 'Data', value: data }, sent], warnings: [UNDECODED_CALL_WARNING] };
}

function feeFields(request: TransactionRequest): DisplayField[] {
  const { tx, chainId } = request;
  const maxFee = tx.gas * maxFeePerGasOf(tx);
  const perGas: DisplayField[] =
    tx.type === 0 || tx.type === 1
      ? [{ label: 'Gas price', value: `${formatUnits(tx.gasPrice, 'gwei')} gwei` }]
      : [
          { label: 'Max fee per gas', value: `${formatUnits(tx.maxFeePerGas, 'gwei')} gwei` },
          { label: 'Priority fee per gas', value: `${formatUnits(tx.maxPriorityFeePerGas, 'gwei')} gwei` },
        ];
  const accessList = tx.type === 0 ? [] : (tx.accessList ?? []);
  return [
    { label: 'Max network fee', value: nativeAmount(maxFee, chainId) },
    { label: 'Max total', value: nativeAmount(tx.value + maxFee, chainId) },
    { label: 'Gas limit', value: tx.gas.toString() },
    ...perGas,
    { label: 'Nonce', value: String(tx.nonce) },
    ...(tx.type === 0 ? [{ label: 'Transaction type', value: 'legacy (type 0, EIP-155)' }] : tx.type === 1 ? [{ label: 'Transaction type', value: 'access list (type 1, EIP-2930)' }] : []),
    ...(accessList.length > 0 ? [{ label: 'Access list', value: accessList.map((entry) => `${getAddress(entry.address)}: ${entry.storageKeys.length} storage key${entry.storageKeys.length === 1 ? '' : 's'}`).join('\n') }] : []),
  ];
}

function utf8Text(hex: string): string | null {
  if (hex === '0x') return null;
  try {
    return toUtf8String(hex);
  } catch {
    return null;
  }
}

/** personal_sign: text (hidden characters escaped, line breaks kept) or hex; a sign-in parsed. */
function personalMessageAction(request: PersonalSignRequest): ActionModel & { readonly alerts: string[] } {
  const text = utf8Text(request.message);
  if (text === null) return { title: 'Sign a message', fields: [{ label: 'Message (hex)', value: request.message }], warnings: [], alerts: [] };
  const shown = escapeHidden(text);
  const hidden = shown.escaped > 0 ? [`The message ${HIDDEN_CHARACTERS_NOTICE}.`] : [];
  const message: DisplayField = { label: 'Message', value: shown.text };
  const siwe = parseSiwe(text);
  if (!siwe) return { title: 'Sign a message', fields: [message], warnings: hidden, alerts: [] };
  const domain = escapeHidden(siwe.scheme ? `${siwe.scheme}://${siwe.domain}` : siwe.domain).text;
  const alerts = siweMatchesOrigin(siwe, request.origin)
    ? []
    : [`This sign-in is for ${domain}, but the request comes from ${request.origin}. Signing it could let ${request.origin} sign in to ${domain} as you. Reject it unless you know why they differ.`];
  const parsed = siwe.parsed;
  const warnings = [...hidden];
  const fields: DisplayField[] = [{ label: 'Sign in to', value: domain }];
  if (!parsed) warnings.push(SIWE_MALFORMED_WARNING);
  else {
    if (parsed.address.toLowerCase() !== request.account.address.toLowerCase()) warnings.push(`The message signs in as ${parsed.address}, not as the account that signs (${getAddress(request.account.address)}).`);
    fields.push({ label: 'Sign-in account', value: parsed.address });
    if (parsed.statement !== null) fields.push({ label: 'Statement', value: escapeHidden(parsed.statement).text });
    for (const [tag, value] of parsed.fields) fields.push({ label: tag, value: escapeHidden(value).text });
    if (parsed.resources.length > 0) fields.push({ label: 'Resources', value: parsed.resources.map((resource) => escapeHidden(resource).text).join('\n') });
  }
  return { title: 'Sign in with Ethereum', fields: [...fields, message], warnings, alerts };
}

/** The fields and warnings every request shows about where it comes from. */
function siteHeader(request: SigningRequest): { fields: DisplayField[]; warnings: string[] } {
  if (request.embeddedIn === undefined) return { fields: [], warnings: [] };
  return {
    fields: [{ label: 'Embedded in', value: request.embeddedIn }],
    warnings: [`This request comes from ${request.origin}, a frame embedded in ${request.embeddedIn}.`],
  };
}

export function displayModel(request: SigningRequest): DisplayModel {
  const lookup = tokenLookup(request);
  const site = siteHeader(request);
  const account: DisplayField = { label: 'Account', value: getAddress(request.account.address) };
  const everyChain: DisplayField = { label: 'Valid on', value: EVERY_CHAIN };
  let header: DisplayField[];
  let action: ActionModel & { readonly alerts?: readonly string[] };
  switch (request.kind) {
    case 'transaction': {
      const call = transactionAction(request, lookup);
      header = [{ label: 'Network', value: networkLabel(request.chainId) }, { label: 'From', value: getAddress(request.account.address) }];
      action = { ...call, fields: [...call.fields, ...feeFields(request)] };
      break;
    }
    case 'personal_sign':
      header = [everyChain, account];
      action = personalMessageAction(request);
      break;
    case 'typed_data': {
      const checked = checkTypedData(request.typedData, request.chainId, 'request.typedData', request.typedDataVersion ?? 'v4');
      header = [checked.chainId === null ? everyChain : { label: 'Network', value: networkLabel(request.chainId) }, account];
      action = typedDataAction(checked, lookup);
      break;
    }
    case 'typed_data_v1':
      header = [everyChain, account];
      action = legacyTypedDataAction(checkLegacyTypedData(request.typedData, 'request.typedData'));
      break;
  }
  return {
    title: action.title,
    fields: [...site.fields, ...header, ...action.fields],
    warnings: [...site.warnings, ...action.warnings],
    ...(action.alerts && action.alerts.length > 0 ? { alerts: action.alerts } : {}),
  };
}
