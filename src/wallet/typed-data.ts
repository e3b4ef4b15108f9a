/**
 * EIP-712 typed data (eth_signTypedData_v4): strict validation, the digest, and the checked value
 * tree that both devices display.
 *
 * Validation walks the message by its declared types, so what is shown is exactly what is hashed:
 * - every type reachable from primaryType is defined, acyclic, with unique, well-formed field names
 *   and EIP-712 field types (bool, address, string, bytes, bytes1..32, uint8..256, int8..256,
 *   struct names, arrays `T[]` and `T[k]`); types not reachable from primaryType are ignored, as
 *   in MetaMask's eth-sig-util;
 * - the domain holds only the five EIP-712 domain fields with their types; a declared
 *   EIP712Domain type must list exactly the fields present, in the EIP-712 order (the order the
 *   domain separator is computed in); a domain chainId other than the active chain is refused;
 * - every struct field is present with a value of its type: booleans are real booleans (ethers
 *   would hash the string "false" as true), integers are in range, bytesN have exactly N bytes.
 *   Message keys that no type declares are neither hashed nor shown.
 * The digest is keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message)), computed by ethers'
 * TypedDataEncoder over the reachable types.
 */
import { TypedDataEncoder, getAddress, getBytes, isHexString } from 'ethers';
import { WalletError } from './wallet-error.ts';

export interface TypedDataField {
  readonly name: string;
  readonly type: string;
}

export interface TypedDataPayload {
  readonly domain: Record<string, unknown>;
  readonly types: Record<string, readonly TypedDataField[]>;
  readonly primaryType: string;
  readonly message: Record<string, unknown>;
}

/** A checked value with its EIP-712 type; atomic values are already formatted for display. */
export type TypedValue =
  | { readonly kind: 'atomic'; readonly type: string; readonly value: string }
  | { readonly kind: 'array'; readonly type: string; readonly items: readonly TypedValue[] }
  | { readonly kind: 'struct'; readonly type: string; readonly fields: readonly TypedStructField[] };

export interface TypedStructField {
  readonly name: string;
  readonly value: TypedValue;
}

export interface CheckedTypedData {
  readonly payload: TypedDataPayload;
  /** The struct types reachable from primaryType: the ones the digest encodes. */
  readonly structTypes: Record<string, readonly TypedDataField[]>;
  /** The domain as a struct of type EIP712Domain. */
  readonly domain: TypedValue & { readonly kind: 'struct' };
  readonly message: TypedValue & { readonly kind: 'struct' };
}

const DOMAIN_TYPE = 'EIP712Domain';
/** The EIP-712 domain fields in the order the domain separator encodes them. */
const DOMAIN_FIELDS: readonly TypedDataField[] = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
];
const PAYLOAD_KEYS: ReadonlySet<string> = new Set(['types', 'primaryType', 'domain', 'message']);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ARRAY_SUFFIX = /^(.*)\[(\d*)\]$/;
const MAX_TYPE_NAME_LENGTH = 256;
const MAX_FIELDS_PER_TYPE = 256;
/** Bounds the work a hostile payload can cause: values visited while checking the message. */
const MAX_VALUES = 10_000;

function typedDataError(field: string, reason: string): WalletError {
  return new WalletError('bad_typed_data', field, reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireRecord(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) throw typedDataError(field, 'expected an object');
  return value;
}

/** uintN / intN with N a multiple of 8 in [8, 256], written without leading zeros. */
function integerType(type: string): { signed: boolean; bits: number } | null {
  const match = /^(u?)int([1-9][0-9]*)$/.exec(type);
  if (!match) return null;
  const bits = Number(match[2]);
  return bits % 8 === 0 && bits <= 256 ? { signed: match[1] === '', bits } : null;
}

/** bytesN with N in [1, 32], written without leading zeros. */
function fixedBytesType(type: string): number | null {
  const match = /^bytes([1-9][0-9]*)$/.exec(type);
  if (!match) return null;
  const size = Number(match[1]);
  return size <= 32 ? size : null;
}

function isAtomicType(type: string): boolean {
  return type === 'bool' || type === 'address' || type === 'string' || type === 'bytes' || integerType(type) !== null || fixedBytesType(type) !== null;
}

/** `T[k]` → element type and fixed length (null for `T[]`); anything else → null. */
function arrayType(type: string): { element: string; length: number | null } | null {
  const match = ARRAY_SUFFIX.exec(type);
  if (!match) return null;
  const length = match[2] === '' ? null : Number(match[2]);
  if (match[2] !== '' && (String(length) !== match[2] || length === 0)) return null;
  return { element: match[1] as string, length };
}

function baseType(type: string): string {
  let base = type;
  for (let array = arrayType(base); array; array = arrayType(base)) base = array.element;
  return base;
}

function parseTypes(value: unknown, field: string): Record<string, readonly TypedDataField[]> {
  const raw = requireRecord(value, field);
  const types: Record<string, readonly TypedDataField[]> = {};
  for (const [typeName, fields] of Object.entries(raw)) {
    const typeField = `${field}.${typeName}`;
    if (!IDENTIFIER.test(typeName) || typeName.length > MAX_TYPE_NAME_LENGTH) throw typedDataError(typeField, 'not a valid type name');
    if (isAtomicType(typeName)) throw typedDataError(typeField, 'a struct cannot take the name of an atomic type');
    if (!Array.isArray(fields) || fields.length > MAX_FIELDS_PER_TYPE) throw typedDataError(typeField, `expected an array of at most ${MAX_FIELDS_PER_TYPE} fields`);
    const names = new Set<string>();
    types[typeName] = fields.map((entry: unknown, index) => {
      const entryField = `${typeField}[${index}]`;
      if (!isRecord(entry) || typeof entry.name !== 'string' || typeof entry.type !== 'string') throw typedDataError(entryField, 'expected { name, type } strings');
      if (!IDENTIFIER.test(entry.name) || entry.name.length > MAX_TYPE_NAME_LENGTH) throw typedDataError(`${entryField}.name`, 'not a valid field name');
      if (names.has(entry.name)) throw typedDataError(`${entryField}.name`, 'duplicate field name');
      if (entry.type.length > MAX_TYPE_NAME_LENGTH) throw typedDataError(`${entryField}.type`, 'type name too long');
      names.add(entry.name);
      return { name: entry.name, type: entry.type };
    });
  }
  return types;
}

/** The struct types reachable from primaryType (EIP712Domain excluded), checked and acyclic. */
function reachableTypes(types: Record<string, readonly TypedDataField[]>, primaryType: string, field: string): Record<string, readonly TypedDataField[]> {
  const reachable: Record<string, readonly TypedDataField[]> = {};
  const visiting = new Set<string>();
  const visit = (typeName: string): void => {
    if (visiting.has(typeName)) throw typedDataError(`${field}.types.${typeName}`, 'circular type reference');
    if (reachable[typeName]) return;
    const fields = types[typeName] as readonly TypedDataField[];
    visiting.add(typeName);
    fields.forEach((entry, index) => {
      const base = baseType(entry.type);
      if (isAtomicType(base)) return;
      if (base === DOMAIN_TYPE || !Object.hasOwn(types, base)) throw typedDataError(`${field}.types.${typeName}[${index}].type`, 'not an EIP-712 type nor a defined struct');
      visit(base);
    });
    visiting.delete(typeName);
    reachable[typeName] = fields;
  };
  visit(primaryType);
  return reachable;
}

/** Integers arrive as JSON numbers, decimal strings or 0x-hex strings; returns the value. */
function parseInteger(value: unknown, signed: boolean, bits: number, field: string, type: string): bigint {
  let parsed: bigint | null = null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) parsed = BigInt(value);
  else if (typeof value === 'string' && /^-?[0-9]{1,78}$/.test(value)) parsed = BigInt(value);
  else if (typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value)) parsed = BigInt(value);
  if (parsed === null) throw typedDataError(field, `expected an integer of type ${type}`);
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (parsed < min || parsed > max) throw typedDataError(field, `out of range for ${type}`);
  return parsed;
}

/** Strings are shown as they are, except characters that could disguise them (escaped \u{…}). */
function displayString(value: string): string {
  return value.replace(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (char) => (char === '\n' ? char : `\\u{${(char.codePointAt(0) as number).toString(16)}}`));
}

function checkAtomic(type: string, value: unknown, field: string): string {
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw typedDataError(field, 'expected true or false');
    return String(value);
  }
  if (type === 'address') {
    if (typeof value !== 'string') throw typedDataError(field, 'expected an address');
    try {
      return getAddress(value);
    } catch {
      throw typedDataError(field, 'not a valid address (or a wrong checksum)');
    }
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw typedDataError(field, 'expected a string');
    return displayString(value);
  }
  const size = type === 'bytes' ? null : fixedBytesType(type);
  if (type === 'bytes' || size !== null) {
    if (typeof value !== 'string' || !isHexString(value) || value.length % 2 !== 0) throw typedDataError(field, 'expected 0x-prefixed hex bytes');
    if (size !== null && getBytes(value).length !== size) throw typedDataError(field, `expected exactly ${size} bytes`);
    return value.toLowerCase();
  }
  const integer = integerType(type) as { signed: boolean; bits: number };
  return parseInteger(value, integer.signed, integer.bits, field, type).toString();
}

class ValueChecker {
  private visited = 0;
  private readonly types: Record<string, readonly TypedDataField[]>;

  constructor(types: Record<string, readonly TypedDataField[]>) {
    this.types = types;
  }

  check(type: string, value: unknown, field: string): TypedValue {
    if (++this.visited > MAX_VALUES) throw typedDataError(field, `more than ${MAX_VALUES} values`);
    const array = arrayType(type);
    if (array) {
      if (!Array.isArray(value)) throw typedDataError(field, `expected an array of type ${type}`);
      if (array.length !== null && value.length !== array.length) throw typedDataError(field, `expected exactly ${array.length} items`);
      return { kind: 'array', type, items: value.map((item: unknown, index) => this.check(array.element, item, `${field}[${index}]`)) };
    }
    const fields = Object.hasOwn(this.types, type) ? this.types[type] : undefined;
    if (fields) return this.checkStruct(type, fields, value, field);
    return { kind: 'atomic', type, value: checkAtomic(type, value, field) };
  }

  checkStruct(type: string, fields: readonly TypedDataField[], value: unknown, field: string): TypedValue & { kind: 'struct' } {
    const record = requireRecord(value, field);
    return {
      kind: 'struct',
      type,
      fields: fields.map((entry) => {
        const entryField = `${field}.${entry.name}`;
        if (!Object.hasOwn(record, entry.name) || record[entry.name] === undefined || record[entry.name] === null) throw typedDataError(entryField, `missing (type ${entry.type})`);
        return { name: entry.name, value: this.check(entry.type, record[entry.name], entryField) };
      }),
    };
  }
}

function checkDomain(domain: Record<string, unknown>, declared: unknown, field: string): TypedValue & { kind: 'struct' } {
  const known = new Set(DOMAIN_FIELDS.map((entry) => entry.name));
  const unknownKey = Object.keys(domain).find((key) => !known.has(key));
  if (unknownKey !== undefined) throw typedDataError(`${field}.domain.${unknownKey}`, 'not an EIP-712 domain field');
  const present = DOMAIN_FIELDS.filter((entry) => Object.hasOwn(domain, entry.name));
  if (declared !== undefined) {
    const listed = Array.isArray(declared) ? declared.map((entry: unknown) => (isRecord(entry) ? `${String(entry.type)} ${String(entry.name)}` : '')).join(',') : null;
    if (listed !== present.map((entry) => `${entry.type} ${entry.name}`).join(',')) {
      throw typedDataError(`${field}.types.${DOMAIN_TYPE}`, 'must list exactly the domain fields present, in the order name, version, chainId, verifyingContract, salt, with their EIP-712 types');
    }
  }
  return new ValueChecker({ [DOMAIN_TYPE]: present }).checkStruct(DOMAIN_TYPE, present, domain, `${field}.domain`);
}

/**
 * Checks typed data for signing on `activeChainId`. `field` names the payload in errors
 * (e.g. `params[1]` or `request.typedData`).
 */
export function checkTypedData(value: unknown, activeChainId: number, field = 'typedData'): CheckedTypedData {
  const raw = requireRecord(value, field);
  const unexpected = Object.keys(raw).find((key) => !PAYLOAD_KEYS.has(key));
  if (unexpected !== undefined) throw typedDataError(`${field}.${unexpected}`, 'unexpected key');
  const types = parseTypes(raw.types, `${field}.types`);
  const { primaryType } = raw;
  if (typeof primaryType !== 'string' || primaryType === DOMAIN_TYPE || !Object.hasOwn(types, primaryType)) {
    throw typedDataError(`${field}.primaryType`, 'expected the name of a struct defined in types (not EIP712Domain)');
  }
  const domainRecord = requireRecord(raw.domain, `${field}.domain`);
  const messageRecord = requireRecord(raw.message, `${field}.message`);
  const domain = checkDomain(domainRecord, types[DOMAIN_TYPE], field);
  const chainIdValue = domain.fields.find((entry) => entry.name === 'chainId')?.value;
  if (chainIdValue?.kind === 'atomic' && chainIdValue.value !== String(activeChainId)) {
    throw new WalletError('chain_mismatch', `${field}.domain.chainId`, `the typed data is for chain ${chainIdValue.value}, the active chain is ${activeChainId}`);
  }
  const structTypes = reachableTypes(types, primaryType, field);
  const message = new ValueChecker(structTypes).checkStruct(primaryType, structTypes[primaryType] as readonly TypedDataField[], messageRecord, `${field}.message`);
  const payload: TypedDataPayload = { domain: domainRecord, types, primaryType, message: messageRecord };
  return { payload, structTypes, domain, message };
}

/** The EIP-712 digest of checked typed data (32 bytes). */
export function typedDataDigest(checked: CheckedTypedData): Uint8Array {
  const ethersTypes = Object.fromEntries(Object.entries(checked.structTypes).map(([name, fields]) => [name, fields.map((entry) => ({ ...entry }))]));
  try {
    return getBytes(TypedDataEncoder.hash(checked.payload.domain, ethersTypes, checked.payload.message));
  } catch {
    throw typedDataError('typedData', 'cannot be encoded');
  }
}

/**
 * eth_signTypedData_v4 sends the payload as a JSON string (some libraries send the object);
 * returns the parsed object, unchecked.
 */
export function parseTypedDataParam(value: unknown, field: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw typedDataError(field, 'not valid JSON');
  }
}
