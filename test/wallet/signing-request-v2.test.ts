/**
 * The frozen request's format 2: legacy transaction types, access lists, typed data v3 and v1,
 * the embedding site and token details. A request format 1 can carry is still sent in format 1
 * (phones that know only format 1 keep working), and each request has exactly one encoding.
 */
import { describe, expect, it } from 'vitest';
import { SignTypedDataVersion, TypedDataUtils, typedSignatureHash } from '@metamask/eth-sig-util';
import { Transaction, Wallet, hexlify } from 'ethers';
import type { PresignFacts } from '../../src/wallet/presign-facts.ts';
import {
  WALLET_ORIGIN,
  assembleSignedTransaction,
  decodeSigningRequest,
  encodeSigningRequest,
  shortCode,
  signingDigest,
  signingRequestToJson,
  type Eip1559Fields,
  type SigningRequest,
  type TransactionRequest,
  type TypedDataRequest,
} from '../../src/wallet/signing-request.ts';
import { DEV_ADDRESS, DEV_KEY, MAIL_TYPED_DATA, SPENDER, TOKEN, expectWalletError, legacyTypedDataRequest, personalSignRequest, transactionRequest, typedDataRequest, withChange } from './wallet-fixtures.ts';

const wallet = new Wallet(DEV_KEY);
const ACCESS_LIST = [{ address: TOKEN, storageKeys: [`0x${'00'.repeat(31)}01`, `0x${'ab'.repeat(32)}`] }];

function legacyTx(type: 0 | 1): TransactionRequest {
  const base = transactionRequest();
  const common = { to: SPENDER, value: 5n, data: '0xdeadbeef', nonce: 7, gas: 50_000n, chainId: base.chainId };
  return { ...base, tx: type === 0 ? { ...common, type: 0, gasPrice: 3_000_000_000n } : { ...common, type: 1, gasPrice: 3_000_000_000n, accessList: ACCESS_LIST } };
}

function signed(request: SigningRequest) {
  const signature = wallet.signingKey.sign(signingDigest(request));
  return { r: BigInt(signature.r), s: BigInt(signature.s), yParity: signature.yParity };
}

const roundTrip = (request: SigningRequest) => decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(request))));

describe('legacy transaction types', () => {
  it('type 0: an EIP-155 legacy transaction, signed as ethers signs it', () => {
    const request = legacyTx(0);
    const expected = Transaction.from({ type: 0, chainId: 31337n, to: SPENDER, value: 5n, data: '0xdeadbeef', nonce: 7, gasLimit: 50_000n, gasPrice: 3_000_000_000n });
    expect(hexlify(signingDigest(request))).toBe(expected.unsignedHash);
    const parsed = Transaction.from(assembleSignedTransaction(request, signed(request)));
    expect({ type: parsed.type, from: parsed.from, chainId: parsed.chainId, gasPrice: parsed.gasPrice }).toEqual({ type: 0, from: DEV_ADDRESS, chainId: 31337n, gasPrice: 3_000_000_000n });
  });

  it('type 1: an EIP-2930 transaction with its access list', () => {
    const request = legacyTx(1);
    const parsed = Transaction.from(assembleSignedTransaction(request, signed(request)));
    expect(parsed.type).toBe(1);
    expect(parsed.from).toBe(DEV_ADDRESS);
    expect(parsed.accessList).toEqual(ACCESS_LIST);
  });

  it('type 2 with an access list', () => {
    const base = transactionRequest();
    const request: TransactionRequest = { ...base, tx: { ...(base.tx as Eip1559Fields), accessList: ACCESS_LIST } };
    const parsed = Transaction.from(assembleSignedTransaction(request, signed(request)));
    expect({ type: parsed.type, accessList: parsed.accessList }).toEqual({ type: 2, accessList: ACCESS_LIST });
  });

  it('the three types round-trip in format 2; a plain EIP-1559 transaction stays in format 1', () => {
    for (const request of [legacyTx(0), legacyTx(1)]) {
      expect(roundTrip(request)).toEqual(request);
      expect(encodeSigningRequest(request)).toMatchObject({ version: 2 });
    }
    const plain = encodeSigningRequest(transactionRequest());
    expect(plain).not.toHaveProperty('version');
    expect(Object.keys(plain.tx as object).sort()).toEqual(['chainId', 'data', 'gas', 'maxFeePerGas', 'maxPriorityFeePerGas', 'nonce', 'to', 'value']);
  });
});

describe('typed data versions', () => {
  it('v3: hashed as eth-sig-util V3, carried in format 2', () => {
    const request: TypedDataRequest = { ...typedDataRequest(MAIL_TYPED_DATA), typedDataVersion: 'v3' };
    expect(hexlify(signingDigest(request))).toBe(hexlify(TypedDataUtils.eip712Hash(MAIL_TYPED_DATA as never, SignTypedDataVersion.V3)));
    expect(encodeSigningRequest(request)).toMatchObject({ version: 2, typedDataVersion: 'v3' });
    expect(roundTrip(request)).toEqual(request);
  });

  it('v1 (legacy array): hashed as eth-sig-util typedSignatureHash', () => {
    const data = [{ type: 'string', name: 'Message', value: 'Hi, Alice!' }, { type: 'uint32', name: 'A number', value: '1337' }];
    const request = legacyTypedDataRequest(data);
    expect(hexlify(signingDigest(request))).toBe(typedSignatureHash(data as never));
    expect(roundTrip(request)).toEqual(request);
  });
});

describe('embedding site and token details', () => {
  const tokens = [
    { address: TOKEN, standard: 'erc20' as const, symbol: 'USDC', decimals: 6 },
    { address: SPENDER, standard: 'erc721' as const, symbol: 'PUNK', decimals: null },
  ];

  it('round-trip in format 2 and change the short code', () => {
    const plain = transactionRequest();
    const request: TransactionRequest = { ...plain, embeddedIn: 'https://top.example', tokens };
    expect(roundTrip(request)).toEqual(request);
    expect(shortCode(request)).not.toBe(shortCode(plain));
    expect(shortCode({ ...plain, embeddedIn: 'https://other.example' })).not.toBe(shortCode({ ...plain, embeddedIn: 'https://top.example' }));
  });

  it('refuse what is malformed, naming the field', () => {
    const good = encodeSigningRequest({ ...transactionRequest(), embeddedIn: 'https://top.example', tokens });
    const cases: [unknown, string][] = [
      [withChange(good, (r) => (r.version = 3)), 'request.version'],
      [withChange(good, (r) => (r.embeddedIn = 'https://top.example/path')), 'request.embeddedIn'],
      [withChange(good, (r) => (r.tokens = [...r.tokens].reverse())), 'request.tokens'],
      [withChange(good, (r) => (r.tokens[0].decimals = 78)), 'request.tokens[0].decimals'],
      [withChange(good, (r) => (r.tokens[1].decimals = 0)), 'request.tokens[1].decimals'],
      [withChange(good, (r) => (r.tokens[0].symbol = 'US\u200bDC')), 'request.tokens[0].symbol'],
      [withChange(good, (r) => (r.tokens[0].standard = 'erc777')), 'request.tokens[0].standard'],
      [withChange(good, (r) => (r.tokens[0].address = TOKEN.toLowerCase())), 'request.tokens[0].address'],
      [withChange(good, (r) => (r.tx.type = 3)), 'request.tx.type'],
      [withChange(encodeSigningRequest(legacyTx(1)), (r) => (r.tx.accessList[0].storageKeys[0] = '0x01')), 'request.tx.accessList[0].storageKeys[0]'],
      [withChange(encodeSigningRequest(legacyTx(0)), (r) => (r.tx.maxFeePerGas = '0x1')), 'request.tx.maxFeePerGas'],
      // Format 1 can carry this request: format 2 would give it a second encoding.
      [withChange(good, (r) => ((r.embeddedIn = null), (r.tokens = []))), 'request.version'],
      [withChange(encodeSigningRequest(personalSignRequest('0x68656c6c6f')), (r) => (r.embeddedIn = null)), 'request.embeddedIn'],
    ];
    for (const [value, field] of cases) expectWalletError(() => decodeSigningRequest(value), 'bad_request', field);
  });

  it("refuses an embedding site for Duet's own popup requests", () => {
    const popup = encodeSigningRequest({ ...legacyTx(0), origin: WALLET_ORIGIN });
    expect(decodeSigningRequest(popup).origin).toBe(WALLET_ORIGIN);
    expectWalletError(() => decodeSigningRequest(withChange(popup, (r) => (r.embeddedIn = 'https://top.example'))), 'bad_request', 'request.embeddedIn');
  });

  it('keeps one canonical text for one request', () => {
    const request: SigningRequest = { ...personalSignRequest('0x68656c6c6f'), embeddedIn: 'https://top.example' };
    expect(signingRequestToJson(roundTrip(request))).toBe(signingRequestToJson(request));
  });
});

describe('facts (issue 16) in both formats', () => {
  const facts: PresignFacts = { currentChainId: 1, block: 9, balance: 5n, simulation: { outcome: 'success' }, addresses: [{ address: SPENDER, contract: true, interacted: false }], replaces: null };

  it('format 1: `facts` only when there are some; they never move a request to format 2', () => {
    const plain = encodeSigningRequest(transactionRequest());
    expect(plain).not.toHaveProperty('facts');
    const observed = encodeSigningRequest({ ...transactionRequest(), facts });
    expect(observed).not.toHaveProperty('version');
    expect(roundTrip({ ...transactionRequest(), facts })).toEqual({ ...transactionRequest(), facts });
    expect(Object.keys(observed).sort()).toEqual([...Object.keys(plain), 'facts'].sort());
  });

  it('format 2: `facts` always present, null when there are none', () => {
    expect(encodeSigningRequest(legacyTx(0))).toMatchObject({ version: 2, facts: null });
    expect(roundTrip(legacyTx(0))).not.toHaveProperty('facts');
    const observed = { ...legacyTx(1), facts };
    expect(encodeSigningRequest(observed)).toMatchObject({ version: 2, facts: { currentChainId: 1, balance: '0x5' } });
    expect(roundTrip(observed)).toEqual(observed);
  });

  it('each request keeps one encoding: a missing or null `facts` where the format forbids it is refused, bad facts name their field', () => {
    const cases: [unknown, string][] = [
      [withChange(encodeSigningRequest(transactionRequest()), (r) => (r.facts = null)), 'request.facts'],
      [withChange(encodeSigningRequest(legacyTx(0)), (r) => delete r.facts), 'request.facts'],
      [withChange(encodeSigningRequest({ ...legacyTx(0), facts }), (r) => (r.facts.block = -1)), 'request.facts.block'],
      [withChange(encodeSigningRequest({ ...legacyTx(0), facts }), (r) => (r.facts.tokens = [])), 'request.facts.tokens'],
    ];
    for (const [value, field] of cases) expectWalletError(() => decodeSigningRequest(value), 'bad_request', field);
  });

  it('the digest ignores them in format 2 too; the short code does not', () => {
    expect(hexlify(signingDigest({ ...legacyTx(0), facts }))).toBe(hexlify(signingDigest(legacyTx(0))));
    expect(shortCode({ ...legacyTx(0), facts })).not.toBe(shortCode(legacyTx(0)));
  });
});
