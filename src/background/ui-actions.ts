/**
 * Carries out one request from the extension's pages on the wallet service and answers with
 * the fresh view (or the asked-for value), or a typed error the page can show.
 */
import { ProviderRpcError } from '../provider/rpc-error.ts';
import { PAIRING_KINDS, type PairingKind } from '../channel/pairing-offer.ts';
import { saveGuardPolicy } from './guard-panel.ts';
import { parseUiRequest, type UiRequest, type UiResponse } from './ui-messages.ts';
import { WalletActionError } from './wallet-action-error.ts';
import type { WalletService } from './wallet-service.ts';

function pairingKind(kind: string | undefined): PairingKind {
  if (kind === undefined) return 'new-wallet';
  if (!(PAIRING_KINDS as readonly string[]).includes(kind)) throw new WalletActionError('invalid_input', 'Unknown kind of pairing code.', 'kind');
  return kind as PairingKind;
}

async function perform(wallet: WalletService, request: UiRequest): Promise<unknown> {
  switch (request.action) {
    case 'view':
      return wallet.view();
    case 'balance':
      return wallet.balance();
    case 'send-quote':
      return wallet.sendQuote(request.asset, request.to);
    case 'activity':
      return wallet.activityView();
    case 'tokens':
      return wallet.tokensView();
    case 'send':
      await wallet.send(request);
      break;
    case 'speed-up':
      await wallet.replaceTransaction(request.id, 'speed-up');
      break;
    case 'cancel-transaction':
      await wallet.replaceTransaction(request.id, 'cancel');
      break;
    case 'add-token':
      await wallet.addTokenFromUi(request.address);
      break;
    case 'remove-token':
      await wallet.removeTokenFromUi(request.address);
      break;
    case 'remove-nft':
      await wallet.removeNftFromUi(request.address, request.tokenId);
      break;
    case 'create':
      await wallet.create(request.password, request);
      break;
    case 'unlock':
      await wallet.unlock(request.password);
      break;
    case 'lock':
      await wallet.lock();
      break;
    case 'change-password':
      await wallet.changePassword(request.currentPassword, request.newPassword);
      break;
    case 'start-pairing':
      await wallet.startPairing(pairingKind(request.kind), request.replace);
      break;
    case 'confirm-sas':
      wallet.confirmSas(request.matches);
      break;
    case 'cancel-pairing':
      wallet.cancelPairing();
      break;
    case 'decide':
      await wallet.decide(request.id, request.approved, request.accounts);
      break;
    case 'reject-site':
      await wallet.rejectSite(request.origin);
      break;
    case 'edit-transaction':
      await wallet.editTransaction(request.id, request);
      break;
    case 'extend-wait':
      await wallet.extendWait(request.id);
      break;
    case 'cancel-wait':
      wallet.cancelWait(request.id);
      break;
    case 'add-account':
      await wallet.addAccount(request.name);
      break;
    case 'rename-account':
      await wallet.renameAccount(request.index, request.name);
      break;
    case 'select-account':
      await wallet.selectAccount(request.index);
      break;
    case 'switch-chain':
      await wallet.switchNetworkFromUi(request.chainId);
      break;
    case 'add-network':
      await wallet.addNetworkFromUi(request);
      break;
    case 'set-network-rpc':
      await wallet.setNetworkRpc(request.chainId, request.rpcUrl);
      break;
    case 'remove-network':
      await wallet.removeNetworkFromUi(request.chainId);
      break;
    case 'revoke':
      await wallet.disconnectSite(request.origin);
      break;
    case 'set-site-network':
      await wallet.setSiteNetworkFromUi(request.origin, request.chainId);
      break;
    case 'rename-device':
      await wallet.renameDevice(request.id, request.name);
      break;
    case 'unpair-device':
      await wallet.unpairDevice(request.id);
      break;
    case 'set-auto-lock':
      await wallet.setAutoLock(request.minutes);
      break;
    case 'member-decide':
      wallet.decideMember(request.id, request.yes);
      break;
    case 'member-remove':
      await wallet.removeMember(request.key, request.dealer);
      break;
    case 'member-retry':
      await wallet.retryMemberChange();
      break;
    case 'member-cancel':
      wallet.cancelMemberChange();
      break;
    case 'member-cut-off':
      await wallet.cutOffRemoved();
      break;
    case 'member-rename':
      await wallet.renameMember(request.key, request.name);
      break;
    case 'guard-enrol':
      await wallet.enrolGuard(request.url, request.code);
      break;
    case 'guard-sas':
      wallet.linkingGuard().confirmSas(request.matches);
      break;
    case 'guard-totp':
      await wallet.guardAction((guard) => guard.confirmSecondFactor(request.code));
      break;
    case 'guard-phone-code':
      await wallet.guardAction((guard) => guard.phoneCode());
      break;
    case 'guard-add':
      await wallet.guardAction((guard) => guard.add());
      break;
    case 'guard-cancel':
      wallet.guard().cancel();
      break;
    case 'guard-request-code':
      await wallet.enterGuardCode(request.id, request.code);
      break;
    case 'guard-policy-set':
      await wallet.guardAction((guard) => saveGuardPolicy(guard, request.form, request.code));
      break;
    case 'guard-queue-cancel':
      await wallet.guardAction((guard) => guard.cancelQueued(request.item, request.code), request.code === undefined ? null : 'code');
      break;
    case 'guard-recovery':
      await wallet.guardRecovery(request.op, request.code ?? '');
      break;
    case 'guard-link-device':
      await wallet.linkGuardAsDevice(request.link);
      break;
    case 'default-cosigner':
      await wallet.setDefaultCoSigner(request.key ?? null);
      break;
    case 'cosign-with':
      await wallet.coSignWith(request.id, request.key);
      break;
    case 'set-page-settings':
      await wallet.setPageSettings(request);
      break;
    case 'set-direct-path':
      await wallet.setDirectPath(request.enabled, request.iceServers);
      break;
  }
  if (request.action !== 'lock') await wallet.touch();
  return wallet.view();
}

export async function handleUiRequest(wallet: WalletService, raw: unknown): Promise<UiResponse> {
  try {
    return { ok: true, value: await perform(wallet, parseUiRequest(raw)) };
  } catch (error) {
    if (error instanceof WalletActionError) return { ok: false, error: error.message, code: error.code, field: error.field };
    if (error instanceof ProviderRpcError) return { ok: false, error: error.message, code: String(error.code), field: null };
    return { ok: false, error: 'Something went wrong in Duet.', code: 'internal', field: null };
  }
}
