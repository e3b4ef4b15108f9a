/**
 * Typed data for display: every signed value as a row (domain fields, then the message tree),
 * preceded by a summary for the kinds users must understand at a glance — token permits
 * (EIP-2612, DAI), NFT permits (EIP-4494) and Uniswap's Permit2, whose allowance types
 * (PermitSingle, PermitBatch) and signature-transfer types (PermitTransferFrom, the batch and the
 * witness variants) are recognised by their verifying contract and type name. What the checker
 * tolerated (typed-data.ts notices) is shown as warnings.
 *
 * Unlimited amounts: ≥ 2^255 for uint256 token amounts, ≥ 2^159 for every Permit2 amount (its
 * allowances are uint160; any amount that large exceeds every real token supply); a DAI permit
 * with allowed = true is unlimited.
 */
import { getAddress } from 'ethers';
import type { DisplayField } from './display-model.ts';
import type { CheckedLegacyTypedData } from './legacy-typed-data.ts';
import { NFT_APPROVAL_WARNING, UNLIMITED_APPROVAL_WARNING, type ActionModel } from './token-actions.ts';
import { TOKEN_DETAILS_NOTE, UNLIMITED_APPROVAL_THRESHOLD, contractText, timestampText, tokenAmount, type TokenLookup } from './token-display.ts';
import type { CheckedTypedData, TypedValue } from './typed-data.ts';

/** Permit2, deployed at the same address on every chain (CREATE2; Uniswap permit2 README, "Deployment addresses"). */
export const PERMIT2_ADDRESS = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
/** Permit2 amounts are uint160: the half-range rule gives 2^159. */
export const UNLIMITED_PERMIT2_THRESHOLD = 1n << 159n;
export const PERMIT_WARNING = 'Token permit: this signature lets the spender move your tokens without any further transaction from you.';
export const NFT_PERMIT_WARNING = 'NFT permit: this signature lets the spender take this NFT without any further transaction from you.';
export const LEGACY_TYPED_DATA_WARNING = 'Legacy typed data (eth_signTypedData) has no domain: this signature is not tied to any contract or network.';

type Struct = TypedValue & { readonly kind: 'struct' };

/** Unlimited-amount rules by primary type: the row paths and the threshold. */
const UNLIMITED_RULES: Readonly<Record<string, { readonly path: RegExp; readonly threshold: bigint }>> = {
  Permit: { path: /^Permit\.value$/, threshold: UNLIMITED_APPROVAL_THRESHOLD },
  PermitSingle: { path: /^PermitSingle\.details\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
  PermitBatch: { path: /^PermitBatch\.details\[\d+\]\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
  PermitTransferFrom: { path: /^PermitTransferFrom\.permitted\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
  PermitBatchTransferFrom: { path: /^PermitBatchTransferFrom\.permitted\[\d+\]\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
  PermitWitnessTransferFrom: { path: /^PermitWitnessTransferFrom\.permitted\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
  PermitBatchWitnessTransferFrom: { path: /^PermitBatchWitnessTransferFrom\.permitted\[\d+\]\.amount$/, threshold: UNLIMITED_PERMIT2_THRESHOLD },
};

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

function member(node: TypedValue | undefined, name: string): TypedValue | undefined {
  return node?.kind === 'struct' ? node.fields.find((field) => field.name === name)?.value : undefined;
}

/** The atomic value of `name` when it has a type matching `type`. */
function atomic(node: TypedValue | undefined, name: string, type: RegExp): string | undefined {
  const value = member(node, name);
  return value?.kind === 'atomic' && type.test(value.type) ? value.value : undefined;
}

/** True when the struct has exactly these fields (names to type patterns), in any order. */
function hasShape(node: TypedValue | undefined, shape: Readonly<Record<string, RegExp>>): node is Struct {
  if (node?.kind !== 'struct' || node.fields.length !== Object.keys(shape).length) return false;
  return node.fields.every((field) => Object.hasOwn(shape, field.name) && (shape[field.name] as RegExp).test(field.value.kind === 'atomic' ? field.value.type : field.value.kind === 'array' ? `${field.value.type}` : 'struct'));
}

const ADDRESS = /^address$/;
const UINT = /^uint\d+$/;
const STRUCT = /^struct$/;
const STRUCT_ARRAY = /^[A-Za-z_$][A-Za-z0-9_$]*\[\]$/;

function amountRows(label: string, amount: bigint, token: string, lookup: TokenLookup, threshold: bigint): DisplayField[] {
  const info = lookup(token);
  const { amount: shown, raw } = tokenAmount(amount, info?.standard === 'erc20' ? info : undefined, threshold);
  const unlimited = amount >= threshold;
  return [{ label, value: shown, ...(unlimited ? { warning: UNLIMITED_APPROVAL_WARNING } : {}) }, ...(raw !== null ? [{ label: `${label} (raw units)`, value: raw }] : [])];
}

function items(node: TypedValue | undefined): readonly TypedValue[] {
  return node?.kind === 'array' ? node.items : node ? [node] : [];
}

/**
 * Rows for Permit2's token entries (details or permitted, one or a batch): token, amount and, for
 * allowances, when it expires; numbered when there are several.
 */
function permit2TokenRows(entries: readonly TypedValue[], amountLabel: string, lookup: TokenLookup, withExpiry: boolean): DisplayField[] {
  const numbered = (label: string, index: number) => (entries.length > 1 ? `${label} ${index + 1}` : label);
  return entries.flatMap((entry, index) => {
    const token = atomic(entry, 'token', ADDRESS) as string;
    return [
      { label: numbered('Token', index), value: contractText(token, lookup(token)) },
      ...amountRows(numbered(amountLabel, index), BigInt(atomic(entry, 'amount', UINT) as string), token, lookup, UNLIMITED_PERMIT2_THRESHOLD),
      ...(withExpiry ? [{ label: numbered('Allowance expires', index), value: timestampText(BigInt(atomic(entry, 'expiration', UINT) as string)) }] : []),
    ];
  });
}

const PERMIT2_TRANSFER_TYPES: readonly string[] = ['PermitTransferFrom', 'PermitBatchTransferFrom', 'PermitWitnessTransferFrom', 'PermitBatchWitnessTransferFrom'];

/** Permit2's allowance and signature-transfer messages, summarised; null when the shape differs. */
function permit2Summary(primaryType: string, message: Struct, lookup: TokenLookup): { title: string; fields: DisplayField[] } | null {
  const spender = atomic(message, 'spender', ADDRESS);
  if (spender === undefined) return null;
  const batch = primaryType.startsWith('PermitBatch');
  if (primaryType === 'PermitSingle' || primaryType === 'PermitBatch') {
    if (!hasShape(message, { details: batch ? STRUCT_ARRAY : STRUCT, spender: ADDRESS, sigDeadline: UINT })) return null;
    const entries = items(member(message, 'details'));
    if (!entries.every((entry) => hasShape(entry, { token: ADDRESS, amount: UINT, expiration: UINT, nonce: UINT }))) return null;
    return {
      title: `Permit2: allow a spender to use your tokens (${primaryType})`,
      fields: [{ label: 'Spender', value: spender }, ...permit2TokenRows(entries, 'Allowance', lookup, true), { label: 'Signature valid until', value: timestampText(BigInt(atomic(message, 'sigDeadline', UINT) as string)) }],
    };
  }
  if (!PERMIT2_TRANSFER_TYPES.includes(primaryType)) return null;
  const witness = primaryType.includes('Witness');
  if (!hasShape(message, { permitted: batch ? STRUCT_ARRAY : STRUCT, spender: ADDRESS, nonce: UINT, deadline: UINT, ...(witness ? { witness: STRUCT } : {}) })) return null;
  const entries = items(member(message, 'permitted'));
  if (!entries.every((entry) => hasShape(entry, { token: ADDRESS, amount: UINT }))) return null;
  return {
    title: `Permit2: let a spender transfer your tokens once (${primaryType})`,
    fields: [
      { label: 'Spender', value: spender },
      ...permit2TokenRows(entries, 'Amount (at most)', lookup, false),
      { label: 'Signature valid until', value: timestampText(BigInt(atomic(message, 'deadline', UINT) as string)) },
      ...(witness ? [{ label: 'Witness', value: `${member(message, 'witness')?.type ?? ''} (its fields are below)` }] : []),
    ],
  };
}

/** EIP-2612, DAI and EIP-4494 permits, whose token is the verifying contract. */
function permitSummary(message: Struct, token: string | undefined, lookup: TokenLookup): { title: string; fields: DisplayField[]; nft: boolean } | null {
  if (token === undefined) return null;
  const tokenField = { label: 'Token', value: contractText(token, lookup(token)) };
  if (hasShape(message, { owner: ADDRESS, spender: ADDRESS, value: UINT, nonce: UINT, deadline: UINT })) {
    return {
      title: 'Permit: allow a spender to use your tokens (EIP-2612)',
      fields: [tokenField, { label: 'Spender', value: atomic(message, 'spender', ADDRESS) as string }, ...amountRows('Amount', BigInt(atomic(message, 'value', UINT) as string), token, lookup, UNLIMITED_APPROVAL_THRESHOLD), { label: 'Deadline', value: timestampText(BigInt(atomic(message, 'deadline', UINT) as string)) }],
      nft: false,
    };
  }
  if (hasShape(message, { holder: ADDRESS, spender: ADDRESS, nonce: UINT, expiry: UINT, allowed: /^bool$/ })) {
    const allowed = atomic(message, 'allowed', /^bool$/) === 'true';
    return {
      title: allowed ? 'Permit: allow a spender to use all your tokens (DAI permit)' : "Permit: remove a spender's allowance (DAI permit)",
      fields: [tokenField, { label: 'Spender', value: atomic(message, 'spender', ADDRESS) as string }, allowed ? { label: 'Allowance', value: 'unlimited', warning: UNLIMITED_APPROVAL_WARNING } : { label: 'Allowance', value: 'none' }, { label: 'Expiry', value: timestampText(BigInt(atomic(message, 'expiry', UINT) as string)) }],
      nft: false,
    };
  }
  if (hasShape(message, { spender: ADDRESS, tokenId: UINT, nonce: UINT, deadline: UINT })) {
    return {
      title: 'NFT permit: allow a spender to take one NFT (EIP-4494)',
      fields: [
        { label: 'Collection', value: contractText(token, lookup(token)) },
        { label: 'Spender', value: atomic(message, 'spender', ADDRESS) as string },
        { label: 'Token ID', value: atomic(message, 'tokenId', UINT) as string, warning: NFT_APPROVAL_WARNING },
        { label: 'Deadline', value: timestampText(BigInt(atomic(message, 'deadline', UINT) as string)) },
      ],
      nft: true,
    };
  }
  return null;
}

function isUnlimitedRow(primaryType: string, field: DisplayField): boolean {
  if (primaryType === 'Permit' && field.label === 'Permit.allowed' && field.type === 'bool') return field.value === 'true';
  const rule = Object.hasOwn(UNLIMITED_RULES, primaryType) ? UNLIMITED_RULES[primaryType] : undefined;
  return rule !== undefined && rule.path.test(field.label) && field.type?.startsWith('uint') === true && BigInt(field.value) >= rule.threshold;
}

export function typedDataAction(checked: CheckedTypedData, lookup: TokenLookup): ActionModel {
  const { primaryType } = checked.payload;
  // Message rows are named after the primary type; a primary type called "domain" would make
  // them look like domain rows, so those are named "message" instead.
  const messagePrefix = primaryType === 'domain' ? 'message' : primaryType;
  const rows: DisplayField[] = [];
  for (const field of checked.domain.fields) typedRows(field.value, `domain.${field.name}`, rows);
  for (const field of checked.message.fields) typedRows(field.value, `${messagePrefix}.${field.name}`, rows);
  const unlimited = rows.some((field) => isUnlimitedRow(primaryType, field));
  const tree = rows.map((field) => (isUnlimitedRow(primaryType, field) ? { ...field, warning: UNLIMITED_APPROVAL_WARNING } : field));

  const verifyingContract = atomic(checked.domain, 'verifyingContract', ADDRESS);
  const isPermit2 = verifyingContract !== undefined && getAddress(verifyingContract) === PERMIT2_ADDRESS && atomic(checked.domain, 'name', /^string$/) === 'Permit2';
  const permit2 = isPermit2 ? permit2Summary(primaryType, checked.message, lookup) : null;
  const permit = permit2 ? null : primaryType === 'Permit' ? permitSummary(checked.message, verifyingContract, lookup) : null;
  const summary = permit2 ?? permit;
  const usesTokenDetails = summary !== null && (lookup(verifyingContract ?? '') !== undefined || rows.some((row) => row.type === 'address' && lookup(row.value) !== undefined));
  const permitWarning = permit?.nft ? NFT_PERMIT_WARNING : Object.hasOwn(UNLIMITED_RULES, primaryType) ? PERMIT_WARNING : null;
  const version = checked.version === 'v3' ? ' v3' : '';
  return {
    title: summary?.title ?? `Sign typed data${version} (${primaryType})`,
    fields: [...(summary?.fields ?? []), ...(usesTokenDetails ? [{ label: 'Token details', value: TOKEN_DETAILS_NOTE }] : []), ...tree],
    warnings: [...(permitWarning ? [permitWarning] : []), ...(unlimited ? [UNLIMITED_APPROVAL_WARNING] : []), ...checked.notices],
  };
}

export function legacyTypedDataAction(checked: CheckedLegacyTypedData): ActionModel {
  return {
    title: 'Sign legacy typed data (eth_signTypedData)',
    fields: checked.entries.map((entry, index) => ({ label: `${index + 1}. ${entry.name}`, value: entry.value, type: entry.type })),
    warnings: [LEGACY_TYPED_DATA_WARNING, ...checked.notices],
  };
}
