// Whom she shares with: her grants (signed in her wallet, relayed for free), revoking them,
// providers' requests for access (approving opens the share wizard filled in; she still reviews
// and signs), break-glass settings, and providers' names from the directory, each checked
// against the chain before it is shown.

import {
  CATEGORIES,
  checkDirectoryEntry,
  checkedNames,
  readEmergency,
  setEmergency,
  type Category,
  type CheckedEntry,
  type EmergencySettings,
  type GrantRequest,
  type RegisteredProvider,
  type Schemas,
} from '@medkey/client';
import type { StatusState } from '@medkey/app-shell';
import { isAddress, type Address, type Hex } from 'viem';
import { plural, type ServiceContext } from './context.ts';
import { lookUpProvider, share, stopSharing, type ShareContext } from './sharing.ts';
import type { RecordItem } from './timeline.ts';

export interface SharePrefill {
  requestId: string;
  provider: string;
  categories: Category[];
  purpose: string;
  days: number;
  /** The provider asked to add records too. */
  write: boolean;
}

export interface SharingSlice extends StatusState {
  grants: Schemas['GrantView'][];
  requests: Schemas['AccessRequestView'][];
  /** The provider the share wizard looked up on chain. */
  provider?: RegisteredProvider | undefined;
  /** Directory entries of the providers she deals with, checked against the chain, by lower-case address. */
  names: Record<string, CheckedEntry>;
  /** The share wizard's directory search. */
  found?: CheckedEntry[] | undefined;
  /** A grant the share wizard starts from (an access request being approved). */
  prefill?: SharePrefill | undefined;
  /** Break-glass: what an emergency provider may open, and who. */
  emergency?: EmergencySettings | undefined;
  /** Her records (read only here: sharing wraps their keys). */
  records: RecordItem[];
  screen?: string;
  notice?: string | undefined;
}

export const EMPTY_SHARING: Pick<
  SharingSlice,
  'grants' | 'requests' | 'provider' | 'names' | 'found' | 'prefill' | 'emergency'
> = {
  grants: [],
  requests: [],
  provider: undefined,
  names: {},
  found: undefined,
  prefill: undefined,
  emergency: undefined,
};

/** How long to wait for the vault's mirror to see a grant the chain has. */
const GRANT_SEEN_WITHIN_MS = 20_000;

export class SharingService {
  constructor(private readonly ctx: ServiceContext<SharingSlice>) {}

  async loadGrants(): Promise<void> {
    await this.ctx.run(undefined, async () => {
      const listing = await this.ctx.signedIn().vault.grants();
      const grants = Array.isArray(listing) ? [...listing] : [];
      grants.sort((a, b) => b.grant.block_number - a.grant.block_number);
      this.ctx.set({ grants });
      await this.loadNames(
        grants.map((g) => g.grant.provider),
        true,
      );
    });
  }

  async loadRequests(): Promise<void> {
    await this.ctx.run(undefined, async () => {
      const requests = await this.ctx.signedIn().vault.accessRequests('pending');
      this.ctx.set({ requests });
      await this.loadNames(requests.map((r) => r.provider));
    });
  }

  /**
   * Names for these providers from the directory, each checked against the chain; `fresh` reads
   * known ones again too (a suspension or a new profile since). Names are a help: without them,
   * addresses show, so a failure here is not an error on screen.
   */
  async loadNames(addresses: string[], fresh = false): Promise<void> {
    const missing = fresh ? addresses : addresses.filter((a) => !this.ctx.state.names[a.toLowerCase()]);
    if (missing.length === 0) return;
    try {
      const { vault, chain } = this.ctx.signedIn();
      const found = await checkedNames(vault, chain, this.ctx.deployment(), missing);
      this.ctx.set({ names: { ...this.ctx.state.names, ...Object.fromEntries(found) } });
    } catch {
      // Addresses show instead.
    }
  }

  /** Searches the directory by name, organisation, city or NPI; each result checked on chain. */
  async findProviders(query: string): Promise<void> {
    if (query.trim() === '') return this.ctx.set({ found: undefined });
    await this.ctx.run(undefined, async () => {
      const { vault, chain } = this.ctx.signedIn();
      const page = await vault.searchDirectory({ q: query, per_page: 10 });
      const found = await Promise.all(
        page.providers.map(async (entry) => ({
          entry,
          verdict: await checkDirectoryEntry(entry, chain, this.ctx.deployment()),
        })),
      );
      this.ctx.set({ found });
    });
  }

  /** Reads a provider's registration from the chain (never from the vault). */
  async lookUp(address: string): Promise<void> {
    const text = address.trim();
    if (!isAddress(text)) {
      return this.ctx.set({
        provider: undefined,
        error:
          'That is not a provider address: it starts with 0x and has 40 more letters and digits. Copy it from the provider.',
      });
    }
    await this.ctx.run(undefined, async () => {
      this.ctx.set({ provider: await lookUpProvider(this.shareContext(), text as Address) });
      await this.loadNames([text]);
    });
  }

  /**
   * Signs the grant in the wallet and shares her existing records in those categories; who she
   * is (her own Patient record) too, unless `showWho` is false.
   */
  async share(request: GrantRequest, showWho = true): Promise<void> {
    await this.ctx.run('Sign the grant in your wallet (it costs nothing).', async () => {
      const ctx = this.shareContext();
      const views = this.ctx.state.records.map((r) => r.view);
      const { grantId, shared } = await share(
        ctx,
        request,
        views,
        (done, total) =>
          this.ctx.set({ busy: total === 0 ? 'Shared.' : `Sharing your existing records: ${done} of ${total}…` }),
        showWho,
      );
      const answered = this.ctx.state.prefill?.requestId;
      if (answered) await ctx.vault.approveRequest(answered, grantId);
      await this.waitForGrant(grantId, (state) => state !== 'revoked');
      // An approved request leaves the list; the new grant joins hers.
      if (answered) this.ctx.set({ requests: this.ctx.state.requests.filter((r) => r.id !== answered) });
      this.ctx.set({
        busy: undefined,
        screen: 'sharing',
        provider: undefined,
        notice: `Shared. ${plural(shared, 'existing record')} can now be opened by the provider.`,
      });
    });
  }

  async revoke(grantId: string): Promise<void> {
    await this.ctx.run('Sign the revocation in your wallet (it costs nothing).', async () => {
      await stopSharing(this.shareContext(), grantId as Hex);
      this.ctx.set({ busy: 'Sharing stopped on the chain; waiting for the vault to see it…' });
      await this.waitForGrant(grantId, (state) => state === 'revoked');
      this.ctx.set({ busy: undefined, notice: 'Sharing stopped. The vault refuses this provider from now on.' });
    });
  }

  /** Opens the share wizard filled in from a provider's request; she still reviews and signs. */
  approve(request: Schemas['AccessRequestView']) {
    const categories = request.categories.filter((c): c is Category => (CATEGORIES as readonly string[]).includes(c));
    this.ctx.set({
      screen: 'share',
      error: undefined,
      notice: undefined,
      prefill: {
        requestId: request.id,
        provider: request.provider,
        categories,
        purpose: request.purpose,
        days: Math.max(1, Math.round(request.duration_secs / 86_400)),
        write: request.write,
      },
    });
    void this.lookUp(request.provider);
  }

  async decline(requestId: string): Promise<void> {
    await this.ctx.run(undefined, async () => {
      await this.ctx.signedIn().vault.declineRequest(requestId);
      this.ctx.set({ notice: 'Request declined. The provider sees that you said no.' });
      await this.loadRequests();
    });
  }

  async loadEmergency(): Promise<void> {
    await this.ctx.run(undefined, async () => {
      const { vault, chain, wallet } = this.ctx.signedIn();
      this.ctx.set({ emergency: await readEmergency(vault, chain, this.ctx.deployment(), wallet.address) });
    });
  }

  /** Saves her break-glass choice: one transaction from her wallet, then keys wrapped ahead. */
  async saveEmergency(settings: EmergencySettings): Promise<void> {
    const bad = settings.providers.find((p) => !isAddress(p));
    if (bad)
      return this.ctx.set({
        error: `“${bad}” is not a provider address (0x and 40 letters and digits). Copy it from the provider.`,
      });
    await this.ctx.run('Confirm the transaction in your wallet (it pays a small network fee).', async () => {
      const { vault, chain, wallet } = this.ctx.signedIn();
      const secret = this.ctx.keys().secret;
      const wrapped = await setEmergency(
        { vault, wallet, chain, deployment: this.ctx.deployment(), secret },
        settings,
        (done, total) => this.ctx.set({ busy: `Preparing your records for emergencies: ${done} of ${total}…` }),
      );
      this.ctx.set({
        busy: undefined,
        emergency: settings,
        notice:
          settings.categories.length === 0
            ? 'Emergency access is off.'
            : `Saved. ${plural(wrapped, 'record')} ready for the providers you named.`,
      });
    });
  }

  private shareContext(): ShareContext {
    const { vault, wallet, chain } = this.ctx.signedIn();
    return { vault, wallet, chain, keys: this.ctx.keys(), deployment: this.ctx.deployment() };
  }

  /**
   * Reloads the grants until `grantId` is in the state wanted: the relay answers once the
   * transaction is mined, and the vault's mirror of the chain may be a block behind.
   */
  private async waitForGrant(grantId: string, wanted: (state: string) => boolean): Promise<void> {
    const deadline = Date.now() + GRANT_SEEN_WITHIN_MS;
    for (;;) {
      await this.loadGrants();
      const grant = this.ctx.state.grants.find((g) => g.grant.grant_id.toLowerCase() === grantId.toLowerCase());
      if ((grant && wanted(grant.state)) || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}
