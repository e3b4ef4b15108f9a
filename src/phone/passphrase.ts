/**
 * The phone's passphrase rules: a generated word passphrase to offer, and an estimate of how many
 * guesses a chosen one takes (zxcvbn-ts with its common and English dictionaries, loaded only when
 * needed). At least MIN_PASSPHRASE_BITS, so an offline search through scrypt (≥ 0.5 s and 128 MiB a
 * guess, docs/threat-model.md) is out of reach.
 */
import { LangEn } from 'ethers';

export const MIN_PASSPHRASE_BITS = 60;
/** Words drawn uniformly from the BIP-39 English list (2048 = 2^11 words): 6 words = 66 bits. */
export const GENERATED_WORDS = 6;
const WORD_BITS = 11;
export const GENERATED_PASSPHRASE_BITS = GENERATED_WORDS * WORD_BITS;

export function generatePassphrase(words = GENERATED_WORDS): string {
  const list = LangEn.wordlist();
  // 16 random bits, the low 11 used: uniform over the 2048 words, no modulo bias.
  return Array.from(crypto.getRandomValues(new Uint16Array(words)), (value) => list.getWord(value & 0x7ff)).join(' ');
}

type Estimator = (passphrase: string) => number;
let estimator: Promise<Estimator> | null = null;

function loadEstimator(): Promise<Estimator> {
  estimator ??= Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]).then(([core, common, en]) => {
    const zxcvbn = new core.ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs });
    return (passphrase: string) => Math.log2(zxcvbn.check(passphrase).guesses);
  });
  return estimator;
}

/** log2 of the guesses zxcvbn estimates an attacker needs (0 for the empty string). */
export async function estimatePassphraseBits(passphrase: string): Promise<number> {
  if (passphrase.length === 0) return 0;
  return (await loadEstimator())(passphrase.normalize('NFKC'));
}
