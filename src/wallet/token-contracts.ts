/**
 * The token contracts a request's display describes, whose symbol and decimals the extension
 * reads from the network before the request is shown (token-reader.ts): the contract a token call
 * goes to, the verifying contract of a permit, and every `token` address in typed data (Permit2's
 * details and permitted tokens).
 */
import { checkTypedData, type TypedValue } from './typed-data.ts';
import type { SigningRequest } from './signing-request.ts';
import { TOKEN_CALL_SELECTORS } from './token-call.ts';

function tokenAddresses(node: TypedValue, name: string, out: string[]): void {
  if (node.kind === 'atomic') {
    if (name === 'token' && node.type === 'address') out.push(node.value);
    return;
  }
  if (node.kind === 'array') for (const item of node.items) tokenAddresses(item, name, out);
  else for (const field of node.fields) tokenAddresses(field.value, field.name, out);
}

export function describedTokenContracts(request: SigningRequest): string[] {
  switch (request.kind) {
    case 'transaction':
      return request.tx.to !== null && TOKEN_CALL_SELECTORS.has(request.tx.data.slice(0, 10).toLowerCase()) ? [request.tx.to] : [];
    case 'typed_data': {
      const checked = checkTypedData(request.typedData, request.chainId, 'request.typedData', request.typedDataVersion ?? 'v4');
      const out: string[] = [];
      const verifyingContract = checked.domain.fields.find((field) => field.name === 'verifyingContract')?.value;
      if (checked.payload.primaryType === 'Permit' && verifyingContract?.kind === 'atomic') out.push(verifyingContract.value);
      tokenAddresses(checked.message, '', out);
      return out;
    }
    case 'personal_sign':
    case 'typed_data_v1':
      return [];
  }
}
