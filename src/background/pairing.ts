/**
 * How the background core talks to "the phone": a PhoneLink made per unlocked session, with a
 * pairing driver (QR link, SAS confirmation, key generation) and a co-signer. The production link
 * (phone-link.ts) runs over the relay; tests plug in their own.
 */
import type { DirectSettings } from '../channel/direct-path.ts';
import type { PairedKey } from './accounts.ts';
import type { CoSigner } from './co-signer.ts';

export type PairingPhase = 'idle' | 'showing-code' | 'confirm-sas' | 'generating-key' | 'failed';

export interface PairingProgress {
  readonly phase: PairingPhase;
  /** The link the QR code encodes (pairing data in the fragment). */
  readonly link: string | null;
  /** The short authentication string both screens show. */
  readonly sas: string | null;
  readonly error: string | null;
  readonly expiresAt: number | null;
}

export const IDLE_PAIRING: PairingProgress = { phase: 'idle', link: null, sas: null, error: null, expiresAt: null };

export interface PairingDriver {
  /** Shows a new pairing code (replacing any previous attempt). */
  start(): Promise<void>;
  confirmSas(matches: boolean): void;
  cancel(): void;
  progress(): PairingProgress;
  onProgress(listener: (progress: PairingProgress) => void): () => void;
}

export interface PairingResult {
  readonly pairedKey: PairedKey;
  readonly deviceName: string;
}

/** Encrypted records in the vault (UnlockedVault satisfies it). */
export interface SecretRecords {
  get<T>(key: string): Promise<T | undefined>;
  putMany(records: Record<string, unknown>): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface PhoneLinkContext {
  readonly secrets: SecretRecords;
  readonly relayUrl: string;
  readonly phoneAppUrl: string;
  now(): number;
  /** Stores the link's own records and the paired key in one vault write, then records the device. */
  completePairing(result: PairingResult, linkRecords: Record<string, unknown>): Promise<void>;
  /** Anything heard from the phone (for "last seen"). */
  seen(at: number): void;
  /** The direct path's settings as they are now (read at each attempt); default: on, no ICE server. */
  directPath?(): DirectSettings;
}

export interface PhoneLink {
  readonly pairing: PairingDriver;
  readonly coSigner: CoSigner;
  /** Unpair: delete this link's records from the vault and stop. */
  forget(): Promise<void>;
  /** The direct path's settings changed: reopen it with them. */
  directPathChanged?(): void;
  close(): void;
}

export type PhoneLinkFactory = (context: PhoneLinkContext) => PhoneLink;
