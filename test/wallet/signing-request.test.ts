import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Signature, Transaction, Wallet, hexlify, keccak256, toBeHex, toUtf8Bytes, type SigningKey } from 'ethers';
import {
  assembleSignedTransaction,
  decodeSigningRequest,
  encodeSigningRequest,
  shortCode,
  signingDigest,
  signingRequestFromJson,
  signingRequestToJson,
  verifyRequestSignature,
  type RecoverableSignature,
  type SigningRequest,
  type TransactionRequest,
} from '../../src/wallet/signing-request.ts';
import { DEV_ADDRESS, DEV_KEY, MAIL_DIGEST, MAIL_TYPED_DATA, expectWalletError, personalSignRequest, transactionRequest, typedDataRequest, withChange } from './wallet-fixtures.ts';

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const wallet = new Wallet(DEV_KEY);

function sign(request: SigningRequest, key: { signingKey: SigningKey } = wallet): RecoverableSignature {
  const signature = key.signingKey.sign(signingDigest(request));
  return { r: BigInt(signature.r), s: BigInt(signature.s), yParity: signature.yParity };
}

const roundTrip = (request: SigningRequest) => decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(request))));

/**
 * EIP-1559 vectors from ethereumjs (packages/tx/test/json/eip1559.json): chain 7822, to 0x…aaaa,
 * empty data, signed with RFC 6979 nonces, as ethers signs. The file wraps each transaction in an
 * RLP string header (b8 xx), dropped here.
 */
const ETHEREUMJS_KEY = '0x8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63';
const ETHEREUMJS_VECTORS = [
  {
    nonce: 819, value: 43203529n, gas: 35552n, maxPriorityFeePerGas: 75853n, maxFeePerGas: 121212n,
    signed: '0x02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e',
  },
  {
    nonce: 353, value: 61901619n, gas: 32593n, maxPriorityFeePerGas: 38850n, maxFeePerGas: 136295n,
    signed: '0x02f86f821e8e8201618297c283021467827f5194000000000000000000000000000000000000aaaa8403b08b3380c001a004205678f13fc1d7b10feea6513dfa76e24418b6e08097d95c6f93a3b64e536da01d45ad61bfece43862de2cce7d2575a8c1d08c26c87f3cb5f26d7b0be54a91b2',
  },
  {
    nonce: 119, value: 65456115n, gas: 62341n, maxPriorityFeePerGas: 24721n, maxFeePerGas: 107729n,
    signed: '0x02f86d821e8e778260918301a4d182f38594000000000000000000000000000000000000aaaa8403e6c7f380c001a0e38e239770801eb995498c821e55ac9c19ae09184bb27b34be105e02fe3b7615a067c64ca6bd6d9107e85fd581ab2e70a14b637eb36505bb40861ef9d6e800cab6',
  },
];

describe('signing digests (known vectors)', () => {
  it('EIP-1559: reproduces the ethereumjs vectors byte for byte', () => {
    const key = new Wallet(ETHEREUMJS_KEY);
    for (const vector of ETHEREUMJS_VECTORS) {
      const base = transactionRequest();
      const request: TransactionRequest = {
        ...base,
        chainId: 7822,
        account: { index: 0, address: key.address },
        tx: { to: '0x000000000000000000000000000000000000aaaa', value: vector.value, data: '0x', nonce: vector.nonce, gas: vector.gas, maxFeePerGas: vector.maxFeePerGas, maxPriorityFeePerGas: vector.maxPriorityFeePerGas, chainId: 7822 },
      };
      const unsigned = Transaction.from(vector.signed).unsignedSerialized;
      expect(hexlify(signingDigest(request))).toBe(keccak256(unsigned));
      expect(assembleSignedTransaction(request, sign(request, key))).toBe(vector.signed);
    }
  });

  it('EIP-191: the personal_sign digest of "hello"', () => {
    expect(hexlify(signingDigest(personalSignRequest(hexlify(toUtf8Bytes('hello')))))).toBe('0x50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750');
  });

  it('EIP-712: the Mail example', () => {
    expect(hexlify(signingDigest(typedDataRequest(MAIL_TYPED_DATA)))).toBe(MAIL_DIGEST);
  });

  it('refuses a transaction whose tx.chainId differs from the request chain', () => {
    const request = transactionRequest({ chainId: 1 });
    expectWalletError(() => signingDigest(request), 'chain_mismatch', 'request.tx.chainId');
  });

  it('checks a request built in code as strictly as a received one', () => {
    expectWalletError(() => signingDigest(transactionRequest({ to: '0x1234' })), 'bad_request', 'request.tx.to');
    expectWalletError(() => signingDigest(transactionRequest({ value: -1n })), 'bad_request', 'request.tx.value');
    expectWalletError(() => signingDigest(personalSignRequest('hello')), 'bad_request', 'request.message');
  });

  it('refuses typed data for another chain', () => {
    expectWalletError(() => signingDigest(typedDataRequest(MAIL_TYPED_DATA, 31337)), 'chain_mismatch', 'request.typedData.domain.chainId');
  });
});

describe('assembleSignedTransaction', () => {
  it('round trip: the digest signed by an ethers Wallet assembles into a transaction ethers parses and recovers', () => {
    const request = transactionRequest({ value: 10n ** 17n, data: '0xdeadbeef' });
    const raw = assembleSignedTransaction(request, sign(request));
    const parsed = Transaction.from(raw);
    expect(parsed.from).toBe(DEV_ADDRESS);
    expect(parsed.type).toBe(2);
    expect(parsed.chainId).toBe(31337n);
    expect(parsed.gasLimit).toBe(60_000n);
    expect(parsed.data).toBe('0xdeadbeef');
  });

  it('agrees with ethers Wallet.signTransaction for random transactions', () => {
    fc.assert(
      fc.property(
        fc.record({
          to: fc.option(fc.uint8Array({ minLength: 20, maxLength: 20 }), { nil: null }),
          value: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
          data: fc.uint8Array({ maxLength: 64 }),
          nonce: fc.integer({ min: 0, max: 2 ** 40 }),
          gas: fc.bigInt({ min: 21_000n, max: (1n << 64n) - 1n }),
          tip: fc.bigInt({ min: 0n, max: 10n ** 12n }),
          extra: fc.bigInt({ min: 0n, max: 10n ** 12n }),
          chainId: fc.integer({ min: 1, max: 2 ** 40 }),
        }),
        (fields) => {
          const request: TransactionRequest = {
            ...transactionRequest(),
            chainId: fields.chainId,
            tx: { to: fields.to && hexlify(fields.to), value: fields.value, data: hexlify(fields.data), nonce: fields.nonce, gas: fields.gas, maxFeePerGas: fields.tip + fields.extra, maxPriorityFeePerGas: fields.tip, chainId: fields.chainId },
          };
          const expected = Transaction.from({ type: 2, chainId: BigInt(fields.chainId), to: request.tx.to, value: fields.value, data: request.tx.data, nonce: fields.nonce, gasLimit: fields.gas, maxFeePerGas: fields.tip + fields.extra, maxPriorityFeePerGas: fields.tip, accessList: [] });
          expect(hexlify(signingDigest(request))).toBe(expected.unsignedHash);
          expected.signature = wallet.signingKey.sign(expected.unsignedHash);
          expect(assembleSignedTransaction(request, sign(request))).toBe(expected.serialized);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a signature that is high-s, out of range, of another key or with the wrong parity', () => {
    const request = transactionRequest();
    const good = sign(request);
    expectWalletError(() => assembleSignedTransaction(request, { ...good, s: SECP256K1_ORDER - good.s }), 'bad_signature', 'signature.s');
    expectWalletError(() => assembleSignedTransaction(request, { ...good, r: 0n }), 'bad_signature', 'signature.r');
    expectWalletError(() => assembleSignedTransaction(request, { ...good, r: SECP256K1_ORDER }), 'bad_signature', 'signature.r');
    expectWalletError(() => assembleSignedTransaction(request, { ...good, yParity: 2 as 0 }), 'bad_signature', 'signature.yParity');
    expectWalletError(() => assembleSignedTransaction(request, { ...good, yParity: (1 - good.yParity) as 0 | 1 }), 'bad_signature', 'signature');
    expectWalletError(() => assembleSignedTransaction(request, sign(request, Wallet.createRandom())), 'bad_signature', 'signature');
  });

  it('verifies personal_sign and typed-data signatures the same way', () => {
    const message = personalSignRequest(hexlify(toUtf8Bytes('hello')));
    verifyRequestSignature(message, sign(message));
    const { r, s, yParity } = sign(message);
    expect(Signature.from({ r: toBeHex(r, 32), s: toBeHex(s, 32), yParity }).serialized).toBe(wallet.signMessageSync('hello'));
    const typed = typedDataRequest(MAIL_TYPED_DATA);
    verifyRequestSignature(typed, sign(typed));
    expectWalletError(() => verifyRequestSignature(typed, sign(message)), 'bad_signature', 'signature');
  });
});

describe('canonical encoding and strict decoding', () => {
  it('round-trips every kind', () => {
    const requests: SigningRequest[] = [
      transactionRequest({ value: 123n, data: '0xabcdef' }),
      transactionRequest({ to: null, data: '0x6000' }),
      personalSignRequest('0x68656c6c6f'),
      typedDataRequest(MAIL_TYPED_DATA),
    ];
    for (const request of requests) expect(roundTrip(request)).toEqual(request);
  });

  it('encodes bigints as minimal hex and addresses checksummed', () => {
    const json = encodeSigningRequest(transactionRequest({ to: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', value: 0n, gas: 21_000n }));
    expect(json.kind === 'transaction' && json.tx).toMatchObject({ to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: '0x0', gas: '0x5208' });
  });

  it('gives the same canonical text whatever the key order', () => {
    const request = typedDataRequest(MAIL_TYPED_DATA);
    const reordered = typedDataRequest({ message: MAIL_TYPED_DATA.message, domain: { verifyingContract: MAIL_TYPED_DATA.domain.verifyingContract, chainId: 1, version: '1', name: 'Ether Mail' }, primaryType: 'Mail', types: MAIL_TYPED_DATA.types });
    expect(signingRequestToJson(reordered)).toBe(signingRequestToJson(request));
    expect(signingRequestFromJson(signingRequestToJson(request))).toEqual(request);
    expectWalletError(() => signingRequestFromJson('{'), 'bad_request', 'request');
  });

  it('refuses every malformed field with an error naming it', () => {
    const tx = encodeSigningRequest(transactionRequest());
    const message = encodeSigningRequest(personalSignRequest('0x68656c6c6f'));
    const typed = encodeSigningRequest(typedDataRequest(MAIL_TYPED_DATA));
    const cases: [unknown, string, string][] = [
      [null, 'bad_request', 'request'],
      [[], 'bad_request', 'request'],
      [withChange(tx, (r) => (r.kind = 'eth_sign')), 'bad_request', 'request.kind'],
      [withChange(tx, (r) => (r.extra = 1)), 'bad_request', 'request.extra'],
      [withChange(tx, (r) => delete r.createdAt), 'bad_request', 'request.createdAt'],
      [withChange(tx, (r) => (r.message = '0x')), 'bad_request', 'request.message'],
      [withChange(tx, (r) => (r.id = 'x')), 'bad_request', 'request.id'],
      [withChange(tx, (r) => (r.id = '00112233445566778899AABBCCDDEEFF')), 'bad_request', 'request.id'],
      [withChange(tx, (r) => (r.origin = 'javascript:alert(1)')), 'bad_request', 'request.origin'],
      [withChange(tx, (r) => (r.origin = 'https://example.org/path')), 'bad_request', 'request.origin'],
      [withChange(tx, (r) => (r.origin = 'https://EXAMPLE.org')), 'bad_request', 'request.origin'],
      [withChange(tx, (r) => (r.chainId = 0)), 'bad_request', 'request.chainId'],
      [withChange(tx, (r) => (r.chainId = 1.5)), 'bad_request', 'request.chainId'],
      [withChange(tx, (r) => (r.createdAt = -1)), 'bad_request', 'request.createdAt'],
      [withChange(tx, (r) => (r.account.index = -1)), 'bad_request', 'request.account.index'],
      [withChange(tx, (r) => (r.account.index = 2 ** 31)), 'bad_request', 'request.account.index'],
      [withChange(tx, (r) => (r.account.address = DEV_ADDRESS.toLowerCase())), 'bad_request', 'request.account.address'],
      [withChange(tx, (r) => (r.account.address = '0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266')), 'bad_request', 'request.account.address'],
      [withChange(tx, (r) => (r.account.extra = true)), 'bad_request', 'request.account.extra'],
      [withChange(tx, (r) => (r.tx.to = '0x1234')), 'bad_request', 'request.tx.to'],
      [withChange(tx, (r) => (r.tx.value = '12')), 'bad_request', 'request.tx.value'],
      [withChange(tx, (r) => (r.tx.value = '0x01')), 'bad_request', 'request.tx.value'],
      [withChange(tx, (r) => (r.tx.value = `0x1${'0'.repeat(64)}`)), 'bad_request', 'request.tx.value'],
      [withChange(tx, (r) => (r.tx.data = '0xabc')), 'bad_request', 'request.tx.data'],
      [withChange(tx, (r) => (r.tx.data = '0xABCD')), 'bad_request', 'request.tx.data'],
      [withChange(tx, (r) => (r.tx.data = `0x${'00'.repeat(128 * 1024 + 1)}`)), 'bad_request', 'request.tx.data'],
      [withChange(tx, (r) => (r.tx.nonce = '0x1')), 'bad_request', 'request.tx.nonce'],
      [withChange(tx, (r) => (r.tx.gas = `0x1${'0'.repeat(16)}`)), 'bad_request', 'request.tx.gas'],
      [withChange(tx, (r) => (r.tx.maxFeePerGas = 5)), 'bad_request', 'request.tx.maxFeePerGas'],
      [withChange(tx, (r) => (r.tx.maxPriorityFeePerGas = '0xffffffffffff')), 'bad_request', 'request.tx.maxPriorityFeePerGas'],
      [withChange(tx, (r) => (r.tx.chainId = 1)), 'chain_mismatch', 'request.tx.chainId'],
      [withChange(tx, (r) => delete r.tx.gas), 'bad_request', 'request.tx.gas'],
      [withChange(tx, (r) => (r.tx.gasLimit = '0x1')), 'bad_request', 'request.tx.gasLimit'],
      [withChange(message, (r) => (r.message = 'hello')), 'bad_request', 'request.message'],
      [withChange(typed, (r) => (r.typedData.domain.chainId = 5)), 'chain_mismatch', 'request.typedData.domain.chainId'],
      [withChange(typed, (r) => (r.typedData.message.to.wallet = 'bob')), 'bad_typed_data', 'request.typedData.message.to.wallet'],
    ];
    for (const [value, code, field] of cases) expectWalletError(() => decodeSigningRequest(value), code as 'bad_request', field);
  });

  it('refuses to encode a request that would not decode', () => {
    expectWalletError(() => encodeSigningRequest({ ...transactionRequest(), origin: 'not an origin' }), 'bad_request', 'request.origin');
    expectWalletError(() => encodeSigningRequest(transactionRequest({ to: '0x1234' })), 'bad_request', 'request.tx.to');
  });
});

describe('short code', () => {
  it('is the same on both devices and survives the approval restamp of createdAt', () => {
    const request = transactionRequest();
    const code = shortCode(request);
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}$/);
    expect(shortCode(roundTrip(request))).toBe(code);
    expect(shortCode({ ...request, createdAt: request.createdAt + 5_000 })).toBe(code);
  });

  it('changes with anything the user approves', () => {
    const request = transactionRequest();
    const code = shortCode(request);
    expect(shortCode(transactionRequest({ value: 1n }))).not.toBe(code);
    expect(shortCode({ ...request, origin: 'https://other.example' })).not.toBe(code);
    expect(shortCode({ ...request, id: 'ffeeddccbbaa99887766554433221100' })).not.toBe(code);
  });
});
