/**
 * Legacy typed data, eth_signTypedData (v1): an array of { type, name, value } from an early
 * draft of EIP-712, still used by old dApps. It has no domain, so a signature is valid on every
 * chain and for every contract that accepts this format.
 *
 * The digest is @metamask/eth-sig-util's typedSignatureHash:
 *   keccak256( keccak256(‖ utf8("<type> <name>")) ‖ keccak256(‖ packed(value)) )
 * with Solidity's tight packing: address 20 bytes, bool 1 byte, uintN/intN N/8 bytes (two's
 * complement), bytesN N bytes, string and bytes as they are.
 *
 * Only atomic types are accepted (eth-sig-util's array handling has edge cases of its own), and
 * values follow the same rules as v3/v4 (typed-data.ts): what could hash two ways is refused — a
 * bool given as a string, a negative number for a uint (eth-sig-util hashes its absolute value),
 * bytesN of another length (it truncates), bytes that are not hex (UTF-8 or hex?).
 */
import { getAddress, getBytes } from 'ethers';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { escapeHidden, HIDDEN_CHARACTERS_NOTICE } from './display-text.ts';
import { fixedBytesType, integerType, parseInteger } from './typed-data.ts';
import { WalletError } from './wallet-error.ts';

export interface LegacyTypedEntry {
  readonly type: string;
  readonly name: string;
  readonly value: unknown;
}

export interface CheckedLegacyEntry {
  /** The name as shown (escaped). */
  readonly name: string;
  readonly type: string;
  /** The value as shown. */
  readonly value: string;
  readonly packed: Uint8Array;
}

export interface CheckedLegacyTypedData {
  readonly payload: readonly LegacyTypedEntry[];
  readonly entries: readonly CheckedLegacyEntry[];
  readonly notices: readonly string[];
}

/** Bounds the work: MetaMask's examples have a handful of entries. */
export const MAX_LEGACY_ENTRIES = 256;
const ENTRY_KEYS = ['type', 'name', 'value'] as const;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
const MAX_NAME_LENGTH = 256;

function legacyError(field: string, reason: string): WalletError {
  return new WalletError('bad_typed_data', field, reason);
}

function bigEndian(value: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let rest = BigInt.asUintN(bytes * 8, value);
  for (let index = bytes - 1; index >= 0; index--, rest >>= 8n) out[index] = Number(rest & 0xffn);
  return out;
}

function checkEntry(raw: unknown, field: string, notices: string[]): CheckedLegacyEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw legacyError(field, 'expected { type, name, value }');
  const extra = Object.keys(raw).find((key) => !(ENTRY_KEYS as readonly string[]).includes(key));
  if (extra !== undefined) throw legacyError(`${field}.${extra}`, 'unexpected key');
  const { type, name, value } = raw as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) throw legacyError(`${field}.name`, `expected a name of 1 to ${MAX_NAME_LENGTH} characters`);
  if (typeof type !== 'string') throw legacyError(`${field}.type`, 'expected a type name');
  const valueField = `${field}.value`;
  const shownName = escapeHidden(name);
  if (shownName.escaped > 0) notices.push(`The name "${shownName.text}" ${HIDDEN_CHARACTERS_NOTICE}.`);
  const entry = (shown: string, packed: Uint8Array): CheckedLegacyEntry => ({ name: shownName.text, type, value: shown, packed });
  if (value === undefined || value === null) throw legacyError(valueField, `missing (type ${type})`);
  if (type === 'string') {
    if (typeof value !== 'string') throw legacyError(valueField, 'expected a string');
    const shown = escapeHidden(value);
    if (shown.escaped > 0) notices.push(`${shownName.text} ${HIDDEN_CHARACTERS_NOTICE}.`);
    return entry(shown.text, utf8ToBytes(value));
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw legacyError(valueField, 'expected true or false (a JSON boolean)');
    return entry(String(value), new Uint8Array([value ? 1 : 0]));
  }
  if (type === 'address') {
    if (typeof value !== 'string' || !ADDRESS.test(value)) throw legacyError(valueField, 'expected an address (0x and 40 hex digits)');
    const checksummed = getAddress(value.toLowerCase());
    if (/[a-f]/.test(value.slice(2)) && /[A-F]/.test(value.slice(2)) && value !== checksummed) {
      notices.push(`${shownName.text}: the address ${value} has a wrong EIP-55 checksum (a typo?). Its 20 bytes are signed, shown here as ${checksummed}; check it carefully.`);
    }
    return entry(checksummed, getBytes(checksummed));
  }
  const size = type === 'bytes' ? null : fixedBytesType(type);
  if (type === 'bytes' || size !== null) {
    if (typeof value !== 'string' || !HEX_BYTES.test(value)) throw legacyError(valueField, 'expected 0x-prefixed hex bytes');
    const bytes = getBytes(value);
    if (size !== null && bytes.length !== size) throw legacyError(valueField, `expected exactly ${size} bytes`);
    return entry(value.toLowerCase(), bytes);
  }
  const integer = integerType(type);
  if (!integer) throw legacyError(`${field}.type`, 'expected string, bytes, bool, address, uintN, intN or bytesN (arrays and structs are not part of eth_signTypedData v1)');
  const parsed = parseInteger(value, integer.signed, integer.bits, valueField, type);
  return entry(parsed.toString(), bigEndian(parsed, integer.bits / 8));
}

/** Checks the eth_signTypedData (v1) payload; `field` names it in errors. */
export function checkLegacyTypedData(value: unknown, field = 'typedData'): CheckedLegacyTypedData {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LEGACY_ENTRIES) throw legacyError(field, `expected an array of 1 to ${MAX_LEGACY_ENTRIES} { type, name, value } entries`);
  const notices: string[] = [];
  const entries = value.map((entry: unknown, index) => checkEntry(entry, `${field}[${index}]`, notices));
  return { payload: value as LegacyTypedEntry[], entries, notices };
}

export function legacyTypedDataDigest(checked: CheckedLegacyTypedData): Uint8Array {
  const schema = keccak_256(concatBytes(...checked.payload.map((entry) => utf8ToBytes(`${entry.type} ${entry.name}`))));
  const data = keccak_256(concatBytes(...checked.entries.map((entry) => entry.packed)));
  return keccak_256(concatBytes(schema, data));
}
