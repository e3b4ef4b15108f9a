/** The popup: onboarding, unlock, and the wallet's screens behind a header with account and network selectors. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { activeAccountEntry } from '../../src/background/wallet-state.ts';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { UnlockForm } from '../ui/UnlockForm.tsx';
import { useAction, useWalletView } from '../ui/wallet-client.ts';
import { CreateWallet, FirstAddress, Pairing } from './Onboarding.tsx';
import { AccountsScreen } from './screens/AccountsScreen.tsx';
import { ActivityScreen } from './screens/ActivityScreen.tsx';
import { DevicesScreen } from './screens/DevicesScreen.tsx';
import { HomeScreen } from './screens/HomeScreen.tsx';
import { NetworksScreen } from './screens/NetworksScreen.tsx';
import { ReceiveScreen } from './screens/ReceiveScreen.tsx';
import { SendScreen } from './screens/SendScreen.tsx';
import { SettingsScreen } from './screens/SettingsScreen.tsx';
import { SitesScreen } from './screens/SitesScreen.tsx';
import { TokensScreen } from './screens/TokensScreen.tsx';

type Screen = 'home' | 'send' | 'receive' | 'activity' | 'tokens' | 'accounts' | 'networks' | 'devices' | 'sites' | 'settings';
/** The tabs; Send and Receive open from Home. */
const SCREENS: readonly { id: Screen; label: string }[] = [
  { id: 'home', label: 'Home' },
  { id: 'activity', label: 'Activity' },
  { id: 'tokens', label: 'Tokens' },
  { id: 'accounts', label: 'Accounts' },
  { id: 'networks', label: 'Networks' },
  { id: 'devices', label: 'Devices' },
  { id: 'sites', label: 'Sites' },
  { id: 'settings', label: 'Settings' },
];

function Header({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, run } = useAction(refresh);
  const { state } = view;
  const active = activeAccountEntry(state);
  return (
    <header class="wallet-header">
      <div class="row spread">
        <select data-testid="account-select" aria-label="Account" value={active?.index} onChange={(e) => void run({ action: 'select-account', index: Number(e.currentTarget.value) })}>
          {state.accounts.map((account) => (
            <option value={account.index} key={account.index}>
              {account.name}
            </option>
          ))}
        </select>
        <select data-testid="network-select" aria-label="Network" value={state.activeChainId} onChange={(e) => void run({ action: 'switch-chain', chainId: Number(e.currentTarget.value) })}>
          {state.networks.map((network) => (
            <option value={network.chainId} key={network.chainId} disabled={!network.rpcUrl}>
              {network.rpcUrl ? network.name : `${network.name} (set RPC)`}
            </option>
          ))}
        </select>
        <button class="icon" data-testid="lock" title="Lock Duet" onClick={() => void run({ action: 'lock' })}>
          Lock
        </button>
      </div>
      {error && <p class="error">{error}</p>}
    </header>
  );
}

function Wallet({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const [screen, setScreen] = useState<Screen>('home');
  return (
    <div class="wallet">
      <Header view={view} refresh={refresh} />
      <section class="screen" data-testid={`screen-${screen}`}>
        {screen === 'home' && <HomeScreen view={view} onSend={() => setScreen('send')} onReceive={() => setScreen('receive')} onDevices={() => setScreen('devices')} />}
        {screen === 'send' && <SendScreen view={view} onDone={() => setScreen('activity')} />}
        {screen === 'receive' && <ReceiveScreen view={view} onDone={() => setScreen('home')} />}
        {screen === 'activity' && <ActivityScreen view={view} refresh={refresh} />}
        {screen === 'tokens' && <TokensScreen view={view} refresh={refresh} />}
        {screen === 'accounts' && <AccountsScreen view={view} refresh={refresh} />}
        {screen === 'networks' && <NetworksScreen view={view} refresh={refresh} />}
        {screen === 'devices' && <DevicesScreen view={view} refresh={refresh} />}
        {screen === 'sites' && <SitesScreen view={view} refresh={refresh} />}
        {screen === 'settings' && <SettingsScreen view={view} refresh={refresh} />}
      </section>
      <nav class="tabs">
        {SCREENS.map(({ id, label }) => (
          <button key={id} class={id === screen ? 'tab active' : 'tab'} data-testid={`nav-${id}`} onClick={() => setScreen(id)}>
            {label}
          </button>
        ))}
      </nav>
    </div>
  );
}

export function PopupApp() {
  const { view, refresh } = useWalletView();
  const wasPairing = useRef(false);
  const [showFirstAddress, setShowFirstAddress] = useState(false);
  useEffect(() => {
    if (!view?.unlocked) return;
    if (!view.paired) wasPairing.current = true;
    else if (wasPairing.current) {
      wasPairing.current = false;
      setShowFirstAddress(true);
    }
  }, [view?.unlocked, view?.paired]);

  let body;
  if (!view) body = <p class="lede">Your browser and your phone co-sign every transaction. Neither holds the whole key.</p>;
  else if (!view.vaultExists) body = <CreateWallet view={view} refresh={refresh} />;
  else if (!view.unlocked) body = <UnlockForm refresh={refresh} />;
  else if (!view.paired) body = <Pairing view={view} refresh={refresh} />;
  else if (showFirstAddress) body = <FirstAddress view={view} onDone={() => setShowFirstAddress(false)} />;
  else body = <Wallet view={view} refresh={refresh} />;
  return (
    <main class="popup" data-testid="popup-root">
      <header class="brand">
        <span class="logo" aria-hidden="true" />
        <h1>Duet</h1>
      </header>
      {body}
    </main>
  );
}
