/**
 * JSON wire encoding of the four signing messages, with strict decoders.
 * c3 is checked to be in Z*_{N²} for the N of the key it is decoded against.
 */
import { PROTOCOL_VERSION } from './transcript.ts';
import { MAX_ACCOUNT_INDEX } from './derivation.ts';
import { MpcError } from './errors.ts';
import { DIGEST_BYTES, type SignMsg1, type SignMsg2, type SignMsg3, type SignMsg4 } from './sign.ts';
import { FieldReader, encodeInteger, encodePoint, hexFromBytes } from './wire.ts';
import { COMMITMENT_BYTES, OPENING_BYTES } from './zk/commitment.ts';
import { decodeSchnorrProof, encodeSchnorrProof } from './zk/schnorr.ts';
import { KEY_ID_BYTES, SESSION_ID_BYTES } from './protocol-context.ts';

type SignHeaderFields = { sessionId: Uint8Array; keyId: Uint8Array; epoch: number };

function encodeHeader(type: string, message: SignHeaderFields) {
  return { type, version: PROTOCOL_VERSION, sessionId: hexFromBytes(message.sessionId), keyId: hexFromBytes(message.keyId), epoch: message.epoch };
}

function readHeader(value: unknown, path: string, type: string): { reader: FieldReader; header: SignHeaderFields } {
  const reader = new FieldReader(value, path);
  reader.literal('type', type);
  reader.literal('version', PROTOCOL_VERSION);
  const sessionId = reader.bytes('sessionId', SESSION_ID_BYTES);
  const keyId = reader.bytes('keyId', KEY_ID_BYTES);
  const epoch = readCount(reader, 'epoch', Number.MAX_SAFE_INTEGER);
  return { reader, header: { sessionId, keyId, epoch } };
}

function readCount(reader: FieldReader, name: string, max: number): number {
  const value = reader.raw(name);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new MpcError('out_of_range', reader.field(name), `expected an integer in [0, ${max}]`);
  }
  return value;
}

export function encodeSignMsg1(message: SignMsg1): object {
  return { ...encodeHeader(message.type, message), commitment: hexFromBytes(message.commitment) };
}

export function encodeSignMsg2(message: SignMsg2): object {
  return { ...encodeHeader(message.type, message), r2: encodePoint(message.r2), proof: encodeSchnorrProof(message.proof) };
}

export function encodeSignMsg3(message: SignMsg3): object {
  return {
    ...encodeHeader(message.type, message),
    opening: hexFromBytes(message.opening),
    r1: encodePoint(message.r1),
    proof: encodeSchnorrProof(message.proof),
    digest: hexFromBytes(message.digest),
    accountIndex: message.accountIndex,
  };
}

export function encodeSignMsg4(message: SignMsg4): object {
  return { ...encodeHeader(message.type, message), c3: encodeInteger(message.c3) };
}

export function decodeSignMsg1(value: unknown): SignMsg1 {
  const { reader, header } = readHeader(value, 'sign1', 'sign/1');
  const message: SignMsg1 = { type: 'sign/1', ...header, commitment: reader.bytes('commitment', COMMITMENT_BYTES) };
  reader.end();
  return message;
}

export function decodeSignMsg2(value: unknown): SignMsg2 {
  const { reader, header } = readHeader(value, 'sign2', 'sign/2');
  const message: SignMsg2 = { type: 'sign/2', ...header, r2: reader.point('r2'), proof: decodeSchnorrProof(reader.raw('proof'), reader.field('proof')) };
  reader.end();
  return message;
}

export function decodeSignMsg3(value: unknown): SignMsg3 {
  const { reader, header } = readHeader(value, 'sign3', 'sign/3');
  const message: SignMsg3 = {
    type: 'sign/3',
    ...header,
    opening: reader.bytes('opening', OPENING_BYTES),
    r1: reader.point('r1'),
    proof: decodeSchnorrProof(reader.raw('proof'), reader.field('proof')),
    digest: reader.bytes('digest', DIGEST_BYTES),
    accountIndex: readCount(reader, 'accountIndex', MAX_ACCOUNT_INDEX),
  };
  reader.end();
  return message;
}

/** `paillierN` is P1's own modulus: c3 must be an element of Z*_{N²}. */
export function decodeSignMsg4(value: unknown, paillierN: bigint): SignMsg4 {
  const { reader, header } = readHeader(value, 'sign4', 'sign/4');
  const message: SignMsg4 = { type: 'sign/4', ...header, c3: reader.ciphertext('c3', paillierN) };
  reader.end();
  return message;
}
