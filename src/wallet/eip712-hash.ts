/**
 * The EIP-712 encoding, word by word: every value becomes one 32-byte word, a struct is
 * keccak256(typeHash ‖ its fields' words), an array keccak256(its items' words), and the digest
 * keccak256(0x19 0x01 ‖ domain word ‖ message word). typed-data.ts checks the values and calls
 * these with what it checked, so the tree that is shown is the one that is hashed.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export interface Eip712Field {
  readonly name: string;
  readonly type: string;
}

export type Eip712Types = Readonly<Record<string, readonly Eip712Field[]>>;

const WORD_BYTES = 32;
const DIGEST_PREFIX = new Uint8Array([0x19, 0x01]);

/** The name of the struct (or atomic type) inside `T`, `T[]`, `T[k][]`…. */
export function elementTypeName(type: string): string {
  const bracket = type.indexOf('[');
  return bracket === -1 ? type : type.slice(0, bracket);
}

function dependencies(primaryType: string, types: Eip712Types, found: Set<string>): void {
  if (found.has(primaryType) || !Object.hasOwn(types, primaryType)) return;
  found.add(primaryType);
  for (const field of types[primaryType] as readonly Eip712Field[]) dependencies(elementTypeName(field.type), types, found);
}

/** `Primary(type name,…)` followed by the struct types it uses, sorted by name (EIP-712 encodeType). */
export function encodeType(primaryType: string, types: Eip712Types): string {
  const found = new Set<string>();
  dependencies(primaryType, types, found);
  found.delete(primaryType);
  return [primaryType, ...[...found].sort()].map((name) => `${name}(${(types[name] as readonly Eip712Field[]).map((field) => `${field.type} ${field.name}`).join(',')})`).join('');
}

export function typeHash(primaryType: string, types: Eip712Types): Uint8Array {
  return keccak_256(utf8ToBytes(encodeType(primaryType, types)));
}

/** hashStruct: keccak256(typeHash ‖ field words). */
export function structWord(structTypeHash: Uint8Array, fieldWords: readonly Uint8Array[]): Uint8Array {
  return keccak_256(concatBytes(structTypeHash, ...fieldWords));
}

/** An array's word: keccak256 of its items' words. */
export function arrayWord(itemWords: readonly Uint8Array[]): Uint8Array {
  return keccak_256(concatBytes(...itemWords));
}

/** An integer in two's complement over 256 bits (the caller checked its range). */
export function integerWord(value: bigint): Uint8Array {
  const unsigned = BigInt.asUintN(256, value);
  const word = new Uint8Array(WORD_BYTES);
  for (let index = WORD_BYTES - 1, rest = unsigned; index >= 0; index--, rest >>= 8n) word[index] = Number(rest & 0xffn);
  return word;
}

/** 20 address bytes, left-padded. */
export function addressWord(address: Uint8Array): Uint8Array {
  const word = new Uint8Array(WORD_BYTES);
  word.set(address, WORD_BYTES - address.length);
  return word;
}

/** bytes1…bytes32: the bytes, right-padded. */
export function fixedBytesWord(bytes: Uint8Array): Uint8Array {
  const word = new Uint8Array(WORD_BYTES);
  word.set(bytes);
  return word;
}

/** Dynamic `bytes` and `string` values are hashed into their word. */
export function dynamicWord(bytes: Uint8Array): Uint8Array {
  return keccak_256(bytes);
}

export function typedDataHash(domainWord: Uint8Array, messageWord: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(DIGEST_PREFIX, domainWord, messageWord));
}
