/**
 * Wire encoding of the reshare messages (reshare.ts) with strict decoders: every field checked as
 * it is read, unknown fields refused, a violation an MpcError naming the field.
 */
import { MpcError } from './errors.ts';
import { MEMBER_SIGNATURE_BYTES } from './member-signature.ts';
import { SESSION_ID_BYTES } from './protocol-context.ts';
import type { CommitCertificate, DealerApproval, DealerCommitment, DeletionReceipt, ReshareConfirm, ReshareJoin, ReshareProposal, SubShare } from './reshare.ts';
import { RESHARE_ID_BYTES } from './reshare.ts';
import { assertMemberIndex } from './shamir.ts';
import { EPHEMERAL_KEY_BYTES } from './subshare-envelope.ts';
import { PROTOCOL_VERSION } from './transcript.ts';
import { decodeMember, decodeTaint, encodeMember, encodeTaint } from './wallet-share-codec.ts';
import { FieldReader, bytesFromHex, encodePoint, hexFromBytes } from './wire.ts';

export type ReshareMessage = ReshareProposal | ReshareJoin | DealerCommitment | DealerApproval | SubShare | ReshareConfirm | DeletionReceipt;

const MAX_MEMBERS = 64;
const MAX_TAINTS = 64;
/** A sealed sub-share: sender key (32) ‖ scalar (32) ‖ chain code (32) ‖ tag (16). */
const ENVELOPE_BYTES = EPHEMERAL_KEY_BYTES + 32 + 32 + 16;
const DIGEST_BYTES = 32;

const hex = hexFromBytes;

export function encodeReshareMessage(message: ReshareMessage): object {
  const base = { type: message.type, version: PROTOCOL_VERSION, reshareId: hex(message.reshareId) };
  switch (message.type) {
    case 'reshare/proposal':
      return {
        ...base,
        walletId: hex(message.walletId),
        publicKey: encodePoint(message.publicKey),
        fromEpoch: message.fromEpoch,
        oldMembers: message.oldMembers.map(encodeMember),
        newMembers: message.newMembers.map(encodeMember),
        nextIndex: message.nextIndex,
        dealers: [...message.dealers],
        taints: message.taints.map(encodeTaint),
        coordinator: message.coordinator,
        signature: hex(message.signature),
      };
    case 'reshare/join':
      return { ...base, member: message.member, ephemeralKey: hex(message.ephemeralKey), signature: hex(message.signature) };
    case 'reshare/commitment':
      return { ...base, dealer: message.dealer, commitment: message.commitment.map(encodePoint), signature: hex(message.signature) };
    case 'reshare/approval':
      return { ...base, dealer: message.dealer, h1: hex(message.h1), signature: hex(message.signature) };
    case 'reshare/subshare':
      return { ...base, dealer: message.dealer, recipient: message.recipient, envelope: hex(message.envelope), signature: hex(message.signature) };
    case 'reshare/confirm':
      return { ...base, member: message.member, h2: hex(message.h2), signature: hex(message.signature) };
    case 'reshare/deleted':
      return { ...base, member: message.member, deletedEpoch: message.deletedEpoch, signature: hex(message.signature) };
  }
}

function index(reader: FieldReader, name: string): number {
  const value = reader.count(name);
  assertMemberIndex(value, reader.field(name));
  return value;
}

const signature = (reader: FieldReader) => reader.bytes('signature', MEMBER_SIGNATURE_BYTES);

export function decodeReshareMessage(value: unknown, field = 'reshare'): ReshareMessage {
  const reader = new FieldReader(value, field);
  const type = reader.string('type', 32);
  reader.literal('version', PROTOCOL_VERSION);
  const reshareId = reader.bytes('reshareId', RESHARE_ID_BYTES);
  let message: ReshareMessage;
  switch (type) {
    case 'reshare/proposal': {
      const dealers = reader.array('dealers', 2, (item, itemField) => {
        const dealer = new FieldReader({ index: item }, itemField).count('index');
        assertMemberIndex(dealer, itemField);
        return dealer;
      });
      message = {
        type,
        reshareId,
        walletId: reader.bytes('walletId', 32),
        publicKey: reader.point('publicKey'),
        fromEpoch: reader.count('fromEpoch'),
        oldMembers: reader.list('oldMembers', MAX_MEMBERS, decodeMember),
        newMembers: reader.list('newMembers', MAX_MEMBERS, decodeMember),
        nextIndex: reader.count('nextIndex'),
        dealers: [dealers[0] as number, dealers[1] as number],
        taints: reader.list('taints', MAX_TAINTS, decodeTaint),
        coordinator: index(reader, 'coordinator'),
        signature: signature(reader),
      };
      break;
    }
    case 'reshare/join':
      message = { type, reshareId, member: index(reader, 'member'), ephemeralKey: reader.bytes('ephemeralKey', EPHEMERAL_KEY_BYTES), signature: signature(reader) };
      break;
    case 'reshare/commitment': {
      // Exactly two entries: a longer vector would be a degree-2 polynomial, a silent 3-of-n wallet.
      const commitment = reader.array('commitment', 2, (item, itemField) => new FieldReader({ point: item }, itemField).point('point'));
      message = { type, reshareId, dealer: index(reader, 'dealer'), commitment: [commitment[0]!, commitment[1]!], signature: signature(reader) };
      break;
    }
    case 'reshare/approval':
      message = { type, reshareId, dealer: index(reader, 'dealer'), h1: reader.bytes('h1', DIGEST_BYTES), signature: signature(reader) };
      break;
    case 'reshare/subshare':
      message = { type, reshareId, dealer: index(reader, 'dealer'), recipient: index(reader, 'recipient'), envelope: reader.bytes('envelope', ENVELOPE_BYTES), signature: signature(reader) };
      break;
    case 'reshare/confirm':
      message = { type, reshareId, member: index(reader, 'member'), h2: reader.bytes('h2', DIGEST_BYTES), signature: signature(reader) };
      break;
    case 'reshare/deleted':
      message = { type, reshareId, member: index(reader, 'member'), deletedEpoch: reader.count('deletedEpoch'), signature: signature(reader) };
      break;
    default:
      throw new MpcError('malformed', reader.field('type'), 'not a reshare message');
  }
  reader.end();
  return message;
}

export function encodeCertificate(certificate: CommitCertificate): object {
  return {
    reshareId: hex(certificate.reshareId),
    proposalDigest: hex(certificate.proposalDigest),
    h2: hex(certificate.h2),
    confirms: certificate.confirms.map(encodeReshareMessage),
  };
}

export function decodeCertificate(value: unknown, field = 'certificate'): CommitCertificate {
  const reader = new FieldReader(value, field);
  const certificate: CommitCertificate = {
    reshareId: reader.bytes('reshareId', SESSION_ID_BYTES),
    proposalDigest: reader.bytes('proposalDigest', DIGEST_BYTES),
    h2: reader.bytes('h2', DIGEST_BYTES),
    confirms: reader.list('confirms', MAX_MEMBERS, (item, itemField) => {
      const confirm = decodeReshareMessage(item, itemField);
      if (confirm.type !== 'reshare/confirm') throw new MpcError('malformed', itemField, 'expected a confirmation');
      return confirm;
    }),
  };
  reader.end();
  return certificate;
}

