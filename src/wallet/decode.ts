/**
 * Decoding for display, identical on both devices: a title, labelled fields and warnings that the
 * extension's approval window and the phone render the same way. The model depends on the
 * request alone (no network lookups, no per-device settings), so both screens show the same.
 *
 * Transactions: ETH transfer; ERC-20 transfer / approve / transferFrom and ERC-721/1155
 * setApprovalForAll, decoded only when the calldata is exactly the ABI encoding (4-byte selector,
 * 32-byte words, clean address padding); anything else is a contract call shown by selector with
 * its raw data. Token amounts are in raw units: token decimals would need a network lookup the
 * phone cannot make. Fees: max network fee = gas × maxFeePerGas, in ETH.
 *
 * Unlimited approvals: an allowance ≥ 2^255 (half of uint256) is "unlimited". MAX_UINT256 is the
 * usual sentinel, but any amount that large exceeds every real token supply, and a slightly
 * smaller number must not dodge the warning. The same half-range rule marks EIP-2612 permits
 * (uint256 value) and Uniswap Permit2 permits (uint160 amount ≥ 2^159); a DAI-style permit with
 * allowed = true is unlimited.
 */
import { formatEther, formatUnits, getAddress, toUtf8String } from 'ethers';
import { presetNetwork } from './chains.ts';
import type { PersonalSignRequest, SigningRequest, TransactionRequest, TypedDataRequest } from './signing-request.ts';
import { checkTypedData, type TypedValue } from './typed-data.ts';

export interface DisplayField {
  /** Unique within a model. */
  readonly label: string;
  readonly value: string;
  /** The EIP-712 type of a typed-data value. */
  readonly type?: string;
  readonly warning?: string;
}

export interface DisplayModel {
  readonly title: string;
  readonly fields: readonly DisplayField[];
  readonly warnings: readonly string[];
}

export const SELECTOR_ERC20_TRANSFER = '0xa9059cbb';
export const SELECTOR_ERC20_APPROVE = '0x095ea7b3';
export const SELECTOR_ERC20_TRANSFER_FROM = '0x23b872dd';
export const SELECTOR_SET_APPROVAL_FOR_ALL = '0xa22cb465';
const MAX_UINT256 = (1n << 256n) - 1n;
/** Allowances at or above 2^255 are treated as unlimited (see the file comment). */
export const UNLIMITED_APPROVAL_THRESHOLD = 1n << 255n;
/** Permit2 amounts are uint160: the same half-range rule gives 2^159. */
export const UNLIMITED_PERMIT2_THRESHOLD = 1n << 159n;
export const UNLIMITED_APPROVAL_WARNING = 'Unlimited approval: this contract could move every token of this kind you hold, now or later.';
export const APPROVAL_FOR_ALL_WARNING = 'Full access: this operator could move every item of this collection you hold, now or later.';
export const PERMIT_WARNING = 'Token permit: this signature lets the spender move your tokens without any further transaction from you.';
export const UNDECODED_CALL_WARNING = 'Duet cannot decode this call. Approve only if you trust this site and contract.';
const WORD_HEX_LENGTH = 64;
/** Text that could disguise a message: control characters (except tab and line breaks) and bidirectional overrides. */
const UNPRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function networkLabel(chainId: number): string {
  const preset = presetNetwork(chainId);
  return preset ? `${preset.name} (chain ${chainId})` : `Chain ${chainId}`;
}

/** Native amounts have 18 decimals; the symbol is known for the preset networks only. */
function nativeAmount(wei: bigint, chainId: number): string {
  const preset = presetNetwork(chainId);
  return preset ? `${formatEther(wei)} ${preset.symbol}` : `${formatEther(wei)} (native currency)`;
}

function tokenAmount(value: bigint): string {
  if (value === MAX_UINT256) return 'unlimited (2^256 − 1)';
  return value >= UNLIMITED_APPROVAL_THRESHOLD ? `${value.toString()} (raw units, unlimited)` : `${value.toString()} (raw units)`;
}

/** ABI words after the selector, only if the calldata is exactly `count` words. */
function abiWords(data: string, count: number): string[] | null {
  const body = data.slice(10);
  if (body.length !== count * WORD_HEX_LENGTH) return null;
  return Array.from({ length: count }, (_, index) => body.slice(index * WORD_HEX_LENGTH, (index + 1) * WORD_HEX_LENGTH));
}

/** An address word: 12 zero bytes, then 20 address bytes. */
function wordAddress(word: string): string | null {
  return /^0{24}[0-9a-f]{40}$/.test(word) ? getAddress(`0x${word.slice(24)}`) : null;
}

function wordUint(word: string): bigint {
  return BigInt(`0x${word}`);
}

function wordBool(word: string): boolean | null {
  if (word === '0'.repeat(WORD_HEX_LENGTH)) return false;
  return word === `${'0'.repeat(WORD_HEX_LENGTH - 1)}1` ? true : null;
}

interface ActionModel {
  readonly title: string;
  readonly fields: readonly DisplayField[];
  readonly warnings: readonly string[];
}

/** A recognised token call, or null when the calldata is not exactly its ABI encoding. */
function tokenAction(to: string, data: string): ActionModel | null {
  const selector = data.slice(0, 10);
  if (selector === SELECTOR_ERC20_TRANSFER) {
    const words = abiWords(data, 2);
    const recipient = words && wordAddress(words[0] as string);
    if (!words || !recipient) return null;
    return { title: 'Send tokens (ERC-20 transfer)', fields: [{ label: 'Token contract', value: to }, { label: 'Recipient', value: recipient }, { label: 'Amount', value: tokenAmount(wordUint(words[1] as string)) }], warnings: [] };
  }
  if (selector === SELECTOR_ERC20_APPROVE) {
    const words = abiWords(data, 2);
    const spender = words && wordAddress(words[0] as string);
    if (!words || !spender) return null;
    const allowance = wordUint(words[1] as string);
    const unlimited = allowance >= UNLIMITED_APPROVAL_THRESHOLD;
    const allowanceField: DisplayField = allowance === 0n ? { label: 'Allowance', value: '0 (removes the allowance)' } : { label: 'Allowance', value: tokenAmount(allowance), ...(unlimited ? { warning: UNLIMITED_APPROVAL_WARNING } : {}) };
    return { title: 'Allow spending of your tokens (ERC-20 approve)', fields: [{ label: 'Token contract', value: to }, { label: 'Spender', value: spender }, allowanceField], warnings: unlimited ? [UNLIMITED_APPROVAL_WARNING] : [] };
  }
  if (selector === SELECTOR_ERC20_TRANSFER_FROM) {
    const words = abiWords(data, 3);
    const holder = words && wordAddress(words[0] as string);
    const recipient = words && wordAddress(words[1] as string);
    if (!words || !holder || !recipient) return null;
    return {
      title: 'Move tokens (ERC-20 transferFrom)',
      fields: [{ label: 'Token contract', value: to }, { label: 'From holder', value: holder }, { label: 'Recipient', value: recipient }, { label: 'Amount', value: tokenAmount(wordUint(words[2] as string)) }],
      warnings: [],
    };
  }
  if (selector === SELECTOR_SET_APPROVAL_FOR_ALL) {
    const words = abiWords(data, 2);
    const operator = words && wordAddress(words[0] as string);
    const approved = words && wordBool(words[1] as string);
    if (!words || !operator || approved === null) return null;
    return {
      title: approved ? 'Allow access to all your items (setApprovalForAll)' : 'Remove access to all your items (setApprovalForAll)',
      fields: [{ label: 'Collection contract', value: to }, { label: 'Operator', value: operator }, approved ? { label: 'Access', value: 'all items, now and later', warning: APPROVAL_FOR_ALL_WARNING } : { label: 'Access', value: 'removed' }],
      warnings: approved ? [APPROVAL_FOR_ALL_WARNING] : [],
    };
  }
  return null;
}

function transactionAction(request: TransactionRequest): ActionModel {
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
  const token = tokenAction(to, data);
  if (token) {
    const alsoSends = tx.value > 0n ? [`This call also sends ${nativeAmount(tx.value, chainId)} to the contract.`] : [];
    return { title: token.title, fields: [...token.fields, sent], warnings: [...token.warnings, ...alsoSends] };
  }
  const selector = data.length >= 10 ? [{ label: 'Function selector', value: data.slice(0, 10) }] : [];
  return { title: 'Contract call', fields: [{ label: 'Contract', value: to }, ...selector, { label: 'Data', value: data }, sent], warnings: [UNDECODED_CALL_WARNING] };
}

function transactionModel(request: TransactionRequest): DisplayModel {
  const { tx, chainId } = request;
  const maxFee = tx.gas * tx.maxFeePerGas;
  const action = transactionAction(request);
  return {
    title: action.title,
    fields: [
      { label: 'Network', value: networkLabel(chainId) },
      { label: 'From', value: getAddress(request.account.address) },
      ...action.fields,
      { label: 'Max network fee', value: nativeAmount(maxFee, chainId) },
      { label: 'Max total', value: nativeAmount(tx.value + maxFee, chainId) },
      { label: 'Gas limit', value: tx.gas.toString() },
      { label: 'Max fee per gas', value: `${formatUnits(tx.maxFeePerGas, 'gwei')} gwei` },
      { label: 'Priority fee per gas', value: `${formatUnits(tx.maxPriorityFeePerGas, 'gwei')} gwei` },
      { label: 'Nonce', value: String(tx.nonce) },
    ],
    warnings: action.warnings,
  };
}

/** UTF-8 text without control or bidirectional-override characters is shown as text, else hex. */
function personalMessageModel(request: PersonalSignRequest): DisplayModel {
  let text: string | null = null;
  if (request.message !== '0x') {
    try {
      text = toUtf8String(request.message);
    } catch {
      text = null;
    }
  }
  const message: DisplayField = text !== null && !UNPRINTABLE.test(text) ? { label: 'Message', value: text } : { label: 'Message (hex)', value: request.message };
  return { title: 'Sign a message', fields: [{ label: 'Network', value: networkLabel(request.chainId) }, { label: 'Account', value: getAddress(request.account.address) }, message], warnings: [] };
}

/** One row per value: leaves with their value, structs and arrays as a count. Paths name the tree. */
function typedRows(node: TypedValue, path: string, out: DisplayField[]): void {
  switch (node.kind) {
    case 'atomic':
      out.push({ label: path, value: node.value, type: node.type });
      return;
    case 'array':
      out.push({ label: path, value: `(${node.items.length} items)`, type: node.type });
      node.items.forEach((item, index) => typedRows(item, `${path}[${index}]`, out));
      return;
    case 'struct':
      out.push({ label: path, value: `(${node.fields.length} fields)`, type: node.type });
      for (const field of node.fields) typedRows(field.value, `${path}.${field.name}`, out);
  }
}

/** Unlimited-permit rules by primary type: the amount paths and the threshold. */
const PERMIT_AMOUNTS: Readonly<Record<string, { readonly path: RegExp; readonly threshold: bigint }>> = {
  Permit: { path: /^Permit\.value$/, threshold: UNLIMITED_APPROVAL_THRESHOLD },
  PermitSingle: { path: /^PermitSingle\.details\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
  PermitBatch: { path: /^PermitBatch\.details\[\d+\]\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
};

function isUnlimitedPermitField(primaryType: string, field: DisplayField): boolean {
  if (primaryType === 'Permit' && field.label === 'Permit.allowed' && field.type === 'bool') return field.value === 'true';
  const rule = Object.hasOwn(PERMIT_AMOUNTS, primaryType) ? PERMIT_AMOUNTS[primaryType] : undefined;
  return rule !== undefined && rule.path.test(field.label) && field.type?.startsWith('uint') === true && BigInt(field.value) >= rule.threshold;
}

function typedDataModel(request: TypedDataRequest): DisplayModel {
  const checked = checkTypedData(request.typedData, request.chainId, 'request.typedData');
  const { primaryType } = checked.payload;
  // Message rows are named after the primary type; a primary type called "domain" would
  // make them look like domain rows, so those are named "message" instead.
  const messagePrefix = primaryType === 'domain' ? 'message' : primaryType;
  const rows: DisplayField[] = [];
  for (const field of checked.domain.fields) typedRows(field.value, `domain.${field.name}`, rows);
  for (const field of checked.message.fields) typedRows(field.value, `${messagePrefix}.${field.name}`, rows);
  const unlimited = rows.some((field) => isUnlimitedPermitField(primaryType, field));
  const fields = rows.map((field) => (isUnlimitedPermitField(primaryType, field) ? { ...field, warning: UNLIMITED_APPROVAL_WARNING } : field));
  const warnings = [...(Object.hasOwn(PERMIT_AMOUNTS, primaryType) ? [PERMIT_WARNING] : []), ...(unlimited ? [UNLIMITED_APPROVAL_WARNING] : [])];
  return {
    title: `Sign typed data (${primaryType})`,
    fields: [{ label: 'Network', value: networkLabel(request.chainId) }, { label: 'Account', value: getAddress(request.account.address) }, ...fields],
    warnings,
  };
}

export function displayModel(request: SigningRequest): DisplayModel {
  switch (request.kind) {
    case 'transaction':
      return transactionModel(request);
    case 'personal_sign':
      return personalMessageModel(request);
    case 'typed_data':
      return typedDataModel(request);
  }
}
