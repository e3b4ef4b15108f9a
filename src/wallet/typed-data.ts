/**
 * EIP-712 typed data (eth_signTypedData_v3 and _v4): checking, the digest, and the checked value
 * tree that both devices display. The tree carries each value's 32-byte EIP-712 word, and the
 * digest is computed from those words, so what is shown is exactly what is hashed.
 *
 * What is hashed is what MetaMask's signing library (@metamask/eth-sig-util, TypedDataUtils
 * .eip712Hash) hashes for the same payload; the test vectors come from it. Tolerated as MetaMask
 * tolerates them, each with a notice both screens show:
 * - domain keys that the declared EIP712Domain type does not list: not hashed (a Permit2 payload
 *   with a `version` its type omits); the domain is hashed in the order the type declares;
 * - an address whose mixed case is not its EIP-55 checksum: its 20 bytes are hashed, it is shown
 *   checksummed;
 * - message keys that no type declares: not hashed.
 * Refused, because the same value could hash two ways (in MetaMask's versions, ethers, viem):
 * booleans other than true/false (eth-sig-util < 9 and ethers hash "false" as true), integers as
 * JSON numbers above 2^53 (already rounded) or as empty strings, bytesN of another length (padded
 * left or right?), bytes that are not whole hex bytes (UTF-8 or hex?), addresses that are not
 * 0x + 40 hex digits, missing or null values (zero in V4, left out in V3), a non-empty domain
 * without an EIP712Domain type (MetaMask hashes an empty domain, ethers and viem the fields),
 * fixed arrays of another length. Also refused: a domain chainId (declared or not) other than the
 * active chain, as MetaMask does; arrays in v3 (eth-sig-util V3 cannot hash them); unknown types,
 * cycles, and more than MAX_VALUES values.
 */
import { getAddress, getBytes } from 'ethers';
import { escapeHidden, HIDDEN_CHARACTERS_NOTICE, quoteValue } from './display-text.ts';
import { addressWord, arrayWord, dynamicWord, fixedBytesWord, integerWord, structWord, typedDataHash, typeHash, type Eip712Types } from './eip712-hash.ts';
import { WalletError } from './wallet-error.ts';

export type TypedDataVersion = 'v3' | 'v4';

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

/** A checked value with its EIP-712 type and word; atomic values are formatted for display. */
export type TypedValue =
  | { readonly kind: 'atomic'; readonly type: string; readonly value: string; readonly word: Uint8Array }
  | { readonly kind: 'array'; readonly type: string; readonly items: readonly TypedValue[]; readonly word: Uint8Array }
  | { readonly kind: 'struct'; readonly type: string; readonly fields: readonly TypedStructField[]; readonly word: Uint8Array };

export interface TypedStructField {
  readonly name: string;
  readonly value: TypedValue;
}

export interface CheckedTypedData {
  readonly payload: TypedDataPayload;
  readonly version: TypedDataVersion;
  /** The struct types reachable from primaryType: the ones the message's hash encodes. */
  readonly structTypes: Record<string, readonly TypedDataField[]>;
  /** The domain as a struct of its declared EIP712Domain type (only the signed fields). */
  readonly domain: TypedValue & { readonly kind: 'struct' };
  readonly message: TypedValue & { readonly kind: 'struct' };
  /** The chain the signature is bound to: the declared domain chainId, or null (valid on every chain). */
  readonly chainId: number | null;
  /** What MetaMask tolerates and Duet tolerates with it, in words for both screens. */
  readonly notices: readonly string[];
}

const DOMAIN_TYPE = 'EIP712Domain';
/** The EIP-712 domain fields and their types. */
const DOMAIN_FIELDS: Readonly<Record<string, string>> = { name: 'string', version: 'string', chainId: 'uint256', verifyingContract: 'address', salt: 'bytes32' };
const PAYLOAD_KEYS: ReadonlySet<string> = new Set(['types', 'primaryType', 'domain', 'message']);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ARRAY_SUFFIX = /^(.*)\[(\d*)\]$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
const MAX_TYPE_NAME_LENGTH = 256;
const MAX_FIELDS_PER_TYPE = 256;
/** Bounds the work a hostile payload can cause: values visited while checking the message. */
const MAX_VALUES = 10_000;
/** Notices list at most this many paths of undeclared message keys. */
const MAX_LISTED_PATHS = 8;

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
export function integerType(type: string): { signed: boolean; bits: number } | null {
  const match = /^(u?)int([1-9][0-9]*)$/.exec(type);
  if (!match) return null;
  const bits = Number(match[2]);
  return bits % 8 === 0 && bits <= 256 ? { signed: match[1] === '', bits } : null;
}

/** bytesN with N in [1, 32], written without leading zeros. */
export function fixedBytesType(type: string): number | null {
  const match = /^bytes([1-9][0-9]*)$/.exec(type);
  if (!match) return null;
  const size = Number(match[1]);
  return size <= 32 ? size : null;
}

export function isAtomicType(type: string): boolean {
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
function reachableTypes(types: Record<string, readonly TypedDataField[]>, primaryType: string, field: string, version: TypedDataVersion): Record<string, readonly TypedDataField[]> {
  const reachable: Record<string, readonly TypedDataField[]> = {};
  const visiting = new Set<string>();
  const visit = (typeName: string): void => {
    if (visiting.has(typeName)) throw typedDataError(`${field}.types.${typeName}`, 'circular type reference');
    if (reachable[typeName]) return;
    const fields = types[typeName] as readonly TypedDataField[];
    visiting.add(typeName);
    fields.forEach((entry, index) => {
      const typeField = `${field}.types.${typeName}[${index}].type`;
      if (version === 'v3' && arrayType(entry.type)) throw typedDataError(typeField, 'arrays are not part of eth_signTypedData_v3 (use eth_signTypedData_v4)');
      const base = baseType(entry.type);
      if (isAtomicType(base)) return;
      if (base === DOMAIN_TYPE || !Object.hasOwn(types, base)) throw typedDataError(typeField, 'not an EIP-712 type nor a defined struct');
      visit(base);
    });
    visiting.delete(typeName);
    reachable[typeName] = fields;
  };
  visit(primaryType);
  return reachable;
}

/** Integers arrive as JSON numbers (safe integers only), decimal strings or 0x-hex strings. */
export function parseInteger(value: unknown, signed: boolean, bits: number, field: string, type: string): bigint {
  let parsed: bigint | null = null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) parsed = BigInt(value);
  else if (typeof value === 'string' && /^-?[0-9]{1,78}$/.test(value)) parsed = BigInt(value);
  else if (typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value)) parsed = BigInt(value);
  if (parsed === null) throw typedDataError(field, `expected an integer of type ${type} (a safe JSON integer, a decimal string or a 0x-hex string)`);
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (parsed < min || parsed > max) throw typedDataError(field, `out of range for ${type}`);
  return parsed;
}

/** What a notice calls a value: its path without the payload's own name (`message.spender`). */
function noticePath(field: string, root: string): string {
  return field.startsWith(`${root}.`) ? field.slice(root.length + 1) : field;
}

class ValueChecker {
  private visited = 0;
  private readonly types: Eip712Types;
  private readonly root: string;
  private readonly typeHashes = new Map<string, Uint8Array>();
  readonly notices: string[] = [];
  /** Paths of message keys no type declares. */
  readonly undeclared: string[] = [];

  constructor(types: Eip712Types, root: string) {
    this.types = types;
    this.root = root;
  }

  check(type: string, value: unknown, field: string): TypedValue {
    if (++this.visited > MAX_VALUES) throw typedDataError(field, `more than ${MAX_VALUES} values`);
    if (value === undefined || value === null) throw typedDataError(field, `missing (type ${type})`);
    const array = arrayType(type);
    if (array) {
      if (!Array.isArray(value)) throw typedDataError(field, `expected an array of type ${type}`);
      if (array.length !== null && value.length !== array.length) throw typedDataError(field, `expected exactly ${array.length} items`);
      const items = value.map((item: unknown, index) => this.check(array.element, item, `${field}[${index}]`));
      return { kind: 'array', type, items, word: arrayWord(items.map((item) => item.word)) };
    }
    const fields = Object.hasOwn(this.types, type) ? this.types[type] : undefined;
    if (fields) return this.checkStruct(type, fields, value, field);
    return this.checkAtomic(type, value, field);
  }

  checkStruct(type: string, fields: readonly TypedDataField[], value: unknown, field: string): TypedValue & { kind: 'struct' } {
    const record = requireRecord(value, field);
    const declared = new Set(fields.map((entry) => entry.name));
    for (const key of Object.keys(record)) if (!declared.has(key)) this.undeclared.push(noticePath(`${field}.${key}`, this.root));
    const checked = fields.map((entry) => ({ name: entry.name, value: this.check(entry.type, record[entry.name], `${field}.${entry.name}`) }));
    let hash = this.typeHashes.get(type);
    if (!hash) {
      hash = typeHash(type, this.types);
      this.typeHashes.set(type, hash);
    }
    return { kind: 'struct', type, fields: checked, word: structWord(hash, checked.map((entry) => entry.value.word)) };
  }

  private checkAtomic(type: string, value: unknown, field: string): TypedValue {
    const atomic = (display: string, word: Uint8Array): TypedValue => ({ kind: 'atomic', type, value: display, word });
    if (type === 'bool') {
      if (typeof value !== 'boolean') throw typedDataError(field, 'expected true or false (a JSON boolean)');
      return atomic(String(value), integerWord(value ? 1n : 0n));
    }
    if (type === 'address') {
      if (typeof value !== 'string' || !ADDRESS.test(value)) throw typedDataError(field, 'expected an address (0x and 40 hex digits)');
      const checksummed = getAddress(value.toLowerCase());
      const mixedCase = /[a-f]/.test(value.slice(2)) && /[A-F]/.test(value.slice(2));
      if (mixedCase && value !== checksummed) {
        this.notices.push(`${noticePath(field, this.root)}: the address ${value} has a wrong EIP-55 checksum (a typo?). Its 20 bytes are signed, shown here as ${checksummed}; check it carefully.`);
      }
      return atomic(checksummed, addressWord(getBytes(checksummed)));
    }
    if (type === 'string') {
      if (typeof value !== 'string') throw typedDataError(field, 'expected a string');
      const shown = escapeHidden(value);
      if (shown.escaped > 0) this.notices.push(`${noticePath(field, this.root)} ${HIDDEN_CHARACTERS_NOTICE}.`);
      return atomic(shown.text, dynamicWord(new TextEncoder().encode(value)));
    }
    const size = type === 'bytes' ? null : fixedBytesType(type);
    if (type === 'bytes' || size !== null) {
      if (typeof value !== 'string' || !HEX_BYTES.test(value)) throw typedDataError(field, 'expected 0x-prefixed hex bytes');
      const bytes = getBytes(value);
      if (size !== null && bytes.length !== size) throw typedDataError(field, `expected exactly ${size} bytes`);
      return atomic(value.toLowerCase(), size === null ? dynamicWord(bytes) : fixedBytesWord(bytes));
    }
    const integer = integerType(type) as { signed: boolean; bits: number };
    const parsed = parseInteger(value, integer.signed, integer.bits, field, type);
    return atomic(parsed.toString(), integerWord(parsed));
  }
}

/** The declared EIP712Domain fields (standard names with their standard types), or [] when undeclared and empty. */
function declaredDomainFields(declared: readonly TypedDataField[] | undefined, domain: Record<string, unknown>, field: string): readonly TypedDataField[] {
  if (declared === undefined) {
    if (Object.keys(domain).length > 0) {
      throw typedDataError(`${field}.types.${DOMAIN_TYPE}`, 'missing: without it MetaMask signs an empty domain while other wallets sign the domain fields; declare the EIP712Domain type');
    }
    return [];
  }
  declared.forEach((entry, index) => {
    if (!Object.hasOwn(DOMAIN_FIELDS, entry.name) || DOMAIN_FIELDS[entry.name] !== entry.type) {
      throw typedDataError(`${field}.types.${DOMAIN_TYPE}[${index}]`, 'expected one of name (string), version (string), chainId (uint256), verifyingContract (address), salt (bytes32)');
    }
  });
  return declared;
}

/** The domain chainId as an integer, wherever it is (declared or not). */
function domainChainId(domain: Record<string, unknown>, field: string): number | null {
  if (!Object.hasOwn(domain, 'chainId')) return null;
  const chainId = parseInteger(domain.chainId, false, 256, `${field}.domain.chainId`, 'uint256');
  if (chainId > BigInt(Number.MAX_SAFE_INTEGER)) throw typedDataError(`${field}.domain.chainId`, 'not a chain id');
  return Number(chainId);
}

/**
 * Checks typed data for signing on `activeChainId`. `field` names the payload in errors
 * (e.g. `params[1]` or `request.typedData`).
 */
export function checkTypedData(value: unknown, activeChainId: number, field = 'typedData', version: TypedDataVersion = 'v4'): CheckedTypedData {
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

  const domainFields = declaredDomainFields(Object.hasOwn(types, DOMAIN_TYPE) ? types[DOMAIN_TYPE] : undefined, domainRecord, field);
  const presentChainId = domainChainId(domainRecord, field);
  if (presentChainId !== null && presentChainId !== activeChainId) {
    throw new WalletError('chain_mismatch', `${field}.domain.chainId`, `the typed data is for chain ${presentChainId}, the active chain is ${activeChainId}`);
  }
  const domainChecker = new ValueChecker({ [DOMAIN_TYPE]: domainFields }, field);
  const domain = domainChecker.checkStruct(DOMAIN_TYPE, domainFields, domainRecord, `${field}.domain`);
  const domainNotices = domainChecker.undeclared.map((path) => {
    const key = path.slice('domain.'.length);
    return `${path} (${quoteValue(domainRecord[key])}) is not declared in types.EIP712Domain: it is not part of the signature (MetaMask leaves it out too).`;
  });

  const structTypes = reachableTypes(types, primaryType, field, version);
  const messageChecker = new ValueChecker(structTypes, field);
  const message = messageChecker.checkStruct(primaryType, structTypes[primaryType] as readonly TypedDataField[], messageRecord, `${field}.message`);
  const { undeclared } = messageChecker;
  const messageNotice =
    undeclared.length === 0
      ? []
      : [`The request carries values that no type declares, which are not part of the signature: ${undeclared.slice(0, MAX_LISTED_PATHS).join(', ')}${undeclared.length > MAX_LISTED_PATHS ? ` and ${undeclared.length - MAX_LISTED_PATHS} more` : ''}.`];

  const payload: TypedDataPayload = { domain: domainRecord, types, primaryType, message: messageRecord };
  const chainId = domainFields.some((entry) => entry.name === 'chainId') ? presentChainId : null;
  return { payload, version, structTypes, domain, message, chainId, notices: [...domainNotices, ...domainChecker.notices, ...messageChecker.notices, ...messageNotice] };
}

/** The EIP-712 digest of checked typed data (32 bytes). */
export function typedDataDigest(checked: CheckedTypedData): Uint8Array {
  return typedDataHash(checked.domain.word, checked.message.word);
}

/**
 * eth_signTypedData_v3/_v4 send the payload as a JSON string (some libraries send the object);
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
