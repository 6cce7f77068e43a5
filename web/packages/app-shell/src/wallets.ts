// Finding the person's wallets: EIP-6963 announcements (every modern extension), the older
// window.ethereum as a fallback, and on a local dev chain only, the built-in dev wallet.
import type { EIP1193Provider } from 'viem';

export interface WalletChoice {
  id: string;
  name: string;
  icon?: string;
  provider: EIP1193Provider;
  /** The built-in wallet with anvil's public test keys: never for real records. */
  dev?: boolean;
}

interface Eip6963Detail {
  info: { uuid: string; name: string; icon: string; rdns: string };
  provider: EIP1193Provider;
}

/** Asks installed wallets to announce themselves and collects them for `waitMs`. */
export function discoverWallets(waitMs = 300): Promise<WalletChoice[]> {
  const found = new Map<string, WalletChoice>();
  const onAnnounce = (event: Event) => {
    const { info, provider } = (event as CustomEvent<Eip6963Detail>).detail;
    found.set(info.uuid, { id: info.rdns || info.uuid, name: info.name, icon: info.icon, provider });
  };
  window.addEventListener('eip6963:announceProvider', onAnnounce);
  window.dispatchEvent(new Event('eip6963:requestProvider'));
  return new Promise((resolve) =>
    setTimeout(() => {
      window.removeEventListener('eip6963:announceProvider', onAnnounce);
      const legacy = (window as { ethereum?: EIP1193Provider }).ethereum;
      if (found.size === 0 && legacy)
        found.set('injected', { id: 'injected', name: 'Browser wallet', provider: legacy });
      resolve([...found.values()]);
    }, waitMs),
  );
}
