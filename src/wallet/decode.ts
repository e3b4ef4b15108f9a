/**
 * Decoding for display, identical on both devices: a title, labelled fields and warnings that
 * the extension's approval window and the phone render the same way.
 */
import { AbiCoder, formatEther, formatUnits, getAddress, toUtf8String } from 'ethers';
import { chainName } from './chains.ts';
import type { SigningRequest } from './signing-request.ts';

export interface DisplayField {
  readonly label: string;
  readonly value: string;
  readonly warning?: string;
}

export interface DisplayModel {
  readonly title: string;
  readonly fields: readonly DisplayField[];
  readonly warnings: readonly string[];
}

const SELECTOR_TRANSFER = '0xa9059cbb';
const SELECTOR_APPROVE = '0x095ea7b3';
const SELECTOR_TRANSFER_FROM = '0x23b872dd';
const MAX_UINT256 = (1n << 256n) - 1n;
/** Amounts at or above 2^255 are treated as unlimited: no real token supply comes near. */
export const UNLIMITED_APPROVAL_THRESHOLD = 1n << 255n;
export const UNLIMITED_APPROVAL_WARNING = 'Unlimited approval: this contract could move every token of this kind you hold, now or later.';

const abi = AbiCoder.defaultAbiCoder();

function decodeArgs(types: string[], data: string): readonly unknown[] | null {
  try {
    return abi.decode(types, `0x${data.slice(10)}`);
  } catch {
    return null;
  }
}

function amount(value: bigint): string {
  return value === MAX_UINT256 ? 'unlimited (2^256 − 1)' : `${value.toString()} (raw units)`;
}

function transactionModel(request: Extract<SigningRequest, { kind: 'transaction' }>): DisplayModel {
  const { tx } = request;
  const maxFee = `${formatEther(tx.gasLimit * tx.maxFeePerGas)} ETH (max)`;
  const common: DisplayField[] = [
    { label: 'Network', value: chainName(request.chainId) },
    { label: 'From', value: request.account.address },
  ];
  const feeFields: DisplayField[] = [
    { label: 'Max network fee', value: maxFee },
    { label: 'Gas limit', value: tx.gasLimit.toString() },
    { label: 'Max fee per gas', value: `${formatUnits(tx.maxFeePerGas, 'gwei')} gwei` },
    { label: 'Priority fee per gas', value: `${formatUnits(tx.maxPriorityFeePerGas, 'gwei')} gwei` },
    { label: 'Nonce', value: String(tx.nonce) },
  ];
  if (tx.to === null) {
    return { title: 'Deploy a contract', fields: [...common, { label: 'Value', value: `${formatEther(tx.value)} ETH` }, { label: 'Code size', value: `${(tx.data.length - 2) / 2} bytes` }, ...feeFields], warnings: [] };
  }
  const selector = tx.data.slice(0, 10);
  const valueField: DisplayField = { label: 'ETH sent', value: `${formatEther(tx.value)} ETH` };
  if (tx.data === '0x') {
    return { title: 'Send ETH', fields: [...common, { label: 'To', value: tx.to }, { label: 'Amount', value: `${formatEther(tx.value)} ETH` }, ...feeFields], warnings: [] };
  }
  if (selector === SELECTOR_TRANSFER) {
    const args = decodeArgs(['address', 'uint256'], tx.data);
    if (args) {
      return {
        title: 'Send tokens (ERC-20 transfer)',
        fields: [...common, { label: 'Token contract', value: tx.to }, { label: 'Recipient', value: getAddress(String(args[0])) }, { label: 'Amount', value: amount(args[1] as bigint) }, valueField, ...feeFields],
        warnings: [],
      };
    }
  }
  if (selector === SELECTOR_APPROVE) {
    const args = decodeArgs(['address', 'uint256'], tx.data);
    if (args) {
      const value = args[1] as bigint;
      const unlimited = value >= UNLIMITED_APPROVAL_THRESHOLD;
      return {
        title: 'Allow spending of your tokens (ERC-20 approve)',
        fields: [
          ...common,
          { label: 'Token contract', value: tx.to },
          { label: 'Spender', value: getAddress(String(args[0])) },
          unlimited ? { label: 'Allowance', value: amount(value), warning: UNLIMITED_APPROVAL_WARNING } : { label: 'Allowance', value: amount(value) },
          valueField,
          ...feeFields,
        ],
        warnings: unlimited ? [UNLIMITED_APPROVAL_WARNING] : [],
      };
    }
  }
  if (selector === SELECTOR_TRANSFER_FROM) {
    const args = decodeArgs(['address', 'address', 'uint256'], tx.data);
    if (args) {
      return {
        title: 'Move tokens (ERC-20 transferFrom)',
        fields: [...common, { label: 'Token contract', value: tx.to }, { label: 'From holder', value: getAddress(String(args[0])) }, { label: 'Recipient', value: getAddress(String(args[1])) }, { label: 'Amount', value: amount(args[2] as bigint) }, valueField, ...feeFields],
        warnings: [],
      };
    }
  }
  return {
    title: 'Contract call',
    fields: [...common, { label: 'Contract', value: tx.to }, { label: 'Function selector', value: selector }, { label: 'Data', value: tx.data }, valueField, ...feeFields],
    warnings: ['Duet cannot decode this call. Approve only if you trust this site and contract.'],
  };
}

/** UTF-8 text without control characters (other than line breaks and tabs) is shown as text. */
function messageText(hex: string): { text: string; isText: boolean } {
  let text: string;
  try {
    text = toUtf8String(hex);
  } catch {
    return { text: hex, isText: false };
  }
  return /^[\P{Cc}\n\r\t]*$/u.test(text) ? { text, isText: true } : { text: hex, isText: false };
}

function flatten(value: unknown, prefix: string, out: DisplayField[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => flatten(item, `${prefix}[${index}]`, out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.push({ label: prefix, value: String(value) });
  }
}

export function displayModel(request: SigningRequest): DisplayModel {
  switch (request.kind) {
    case 'transaction':
      return transactionModel(request);
    case 'personal_sign': {
      const { text, isText } = messageText(request.message);
      return {
        title: 'Sign a message',
        fields: [{ label: 'Account', value: request.account.address }, { label: isText ? 'Message' : 'Message (hex)', value: text }],
        warnings: [],
      };
    }
    case 'typed_data': {
      const domain: DisplayField[] = [];
      flatten(request.typedData.domain, 'domain', domain);
      const message: DisplayField[] = [];
      flatten(request.typedData.message, request.typedData.primaryType, message);
      return {
        title: `Sign typed data (${request.typedData.primaryType})`,
        fields: [{ label: 'Account', value: request.account.address }, ...domain, ...message],
        warnings: [],
      };
    }
  }
}
