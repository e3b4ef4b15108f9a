/**
 * Record values ↔ UTF-8 JSON bytes, with bigints.
 *
 * Accepted values: null, booleans, finite numbers, strings, bigints, arrays of accepted values and
 * plain objects (prototype Object.prototype or null) of accepted values. Object properties whose
 * value is undefined are left out, as JSON.stringify does; everything JSON would silently change
 * (undefined in an array, NaN, Infinity, Dates, typed arrays, Maps, class instances, functions,
 * cycles) is refused with `invalid_argument` naming the path.
 *
 * A bigint n is written as the object {"$bigint": "<n in decimal>"}. To keep that unambiguous, a
 * plain object with its own "$bigint" key is refused.
 */
import { VaultError } from './vault-error.ts';

export const BIGINT_TAG = '$bigint';
const DECIMAL_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function toJsonTree(value: unknown, path: string, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new VaultError('invalid_argument', `${path}: NaN and Infinity cannot be stored`);
      return value;
    case 'bigint':
      return { [BIGINT_TAG]: value.toString(10) };
    case 'object': {
      if (value === null) return null;
      if (ancestors.has(value)) throw new VaultError('invalid_argument', `${path}: circular reference`);
      ancestors.add(value);
      let tree: unknown;
      if (Array.isArray(value)) {
        tree = value.map((item, index) => toJsonTree(item, `${path}[${index}]`, ancestors));
      } else if (isPlainObject(value)) {
        if (Object.hasOwn(value, BIGINT_TAG)) throw new VaultError('invalid_argument', `${path}: the key "${BIGINT_TAG}" is reserved`);
        const entries = Object.entries(value).filter(([, item]) => item !== undefined);
        tree = Object.fromEntries(entries.map(([key, item]) => [key, toJsonTree(item, `${path}.${key}`, ancestors)]));
      } else {
        throw new VaultError('invalid_argument', `${path}: only plain objects and arrays can be stored`);
      }
      ancestors.delete(value);
      return tree;
    }
    default:
      throw new VaultError('invalid_argument', `${path}: a value of type ${typeof value} cannot be stored`);
  }
}

/** `name` labels the value in errors (the record key). */
export function encodeValue(value: unknown, name: string): Uint8Array {
  return encoder.encode(JSON.stringify(toJsonTree(value, name, new Set())));
}

function reviveBigints(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, BIGINT_TAG)) return value;
  const digits = (value as Record<string, unknown>)[BIGINT_TAG];
  if (Object.keys(value).length !== 1 || typeof digits !== 'string' || !DECIMAL_INTEGER.test(digits)) throw new SyntaxError('malformed bigint');
  return BigInt(digits);
}

/** Throws `corrupt` for bytes that encodeValue cannot have produced. */
export function decodeValue(bytes: Uint8Array, name: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes), reviveBigints);
  } catch {
    throw new VaultError('corrupt', `record ${JSON.stringify(name)} holds no valid value`);
  }
}
