/**
 * Why a call reverted, in words, from the revert data a node returns with its error (geth and
 * anvil: JSON-RPC error code 3, `data` = the return data) or else from the node's message:
 * - Error(string) (selector 0x08c379a0): the string;
 * - Panic(uint256) (0x4e487b71): the panic code with its meaning (Solidity docs, "Panic via assert
 *   and Error via require");
 * - another 4-byte selector: a custom error, named by its selector;
 * - empty data: the contract gave no reason.
 * The text comes from a contract, so it is made safe for display (safeDisplayText).
 */
import { AbiCoder } from 'ethers';
import { MAX_REASON_CHARS, safeDisplayText } from './presign-facts.ts';

const ERROR_STRING_SELECTOR = '0x08c379a0';
const PANIC_SELECTOR = '0x4e487b71';
const PANIC_MEANINGS: Readonly<Record<number, string>> = {
  0x00: 'generic compiler panic',
  0x01: 'assertion failed',
  0x11: 'arithmetic overflow or underflow',
  0x12: 'division or modulo by zero',
  0x21: 'invalid enum value',
  0x22: 'invalid storage byte array',
  0x31: 'pop on an empty array',
  0x32: 'array index out of bounds',
  0x41: 'out of memory',
  0x51: 'call to an uninitialised function',
};

/** The revert data in a node's JSON-RPC error `data` (a hex string, or nested as `{ data }`). */
export function revertData(errorData: unknown): string | null {
  const candidate = typeof errorData === 'object' && errorData !== null ? (errorData as { data?: unknown }).data : errorData;
  return typeof candidate === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(candidate) ? candidate.toLowerCase() : null;
}

function decodedReason(data: string): string | null {
  if (data === '0x') return 'the contract reverted without giving a reason';
  const body = `0x${data.slice(10)}`;
  try {
    if (data.startsWith(ERROR_STRING_SELECTOR)) return String(AbiCoder.defaultAbiCoder().decode(['string'], body)[0]);
    if (data.startsWith(PANIC_SELECTOR)) {
      const code = Number(AbiCoder.defaultAbiCoder().decode(['uint256'], body)[0]);
      return `panic 0x${code.toString(16).padStart(2, '0')} (${PANIC_MEANINGS[code] ?? 'unknown panic code'})`;
    }
  } catch {
    return null;
  }
  return data.length >= 10 ? `custom error ${data.slice(0, 10)}` : null;
}

/** The reason to show for a failed call: from the revert data when it decodes, else the node's message. */
export function revertReason(errorData: unknown, nodeMessage: string): string {
  const data = revertData(errorData);
  const reason = safeDisplayText((data !== null ? decodedReason(data) : null) ?? nodeMessage.replace(/^execution reverted:?\s*/i, ''), MAX_REASON_CHARS);
  return reason === '' ? 'the contract reverted without giving a reason' : reason;
}
