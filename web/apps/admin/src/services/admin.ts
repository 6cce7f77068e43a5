// Everything the admin console does, outside React. It is for accounts that hold a registry role
// (checked on chain after sign-in); the registrar's decisions are transactions from its own
// wallet, and the vault keeps only the words (a decline's reason, a suspension's reason) and
// lists what the chain committed to. Every admin call lands in the vault's audit log.

import {
  MedkeyError,
  approveApplication,
  checkDirectoryEntry,
  consentRegistryAbi,
  setProviderSuspended,
  type CheckedEntry,
  type Deployment,
  type RegistrarContext,
  type Schemas,
} from '@medkey/client';
import {
  ANVIL_KEYS,
  AppStore,
  deploymentOf,
  keepAddress,
  placeNow,
  type AppConfig,
  type Place,
  type StatusState,
  type WalletChoice,
} from '@medkey/app-shell';
import { encodeFunctionData, type Address } from 'viem';

export type Phase = 'loading' | 'connect' | 'ready';
/** Every screen of the console, each with its address (`#/applications`…). */
export const SCREENS = ['applications', 'providers', 'registry'] as const;
export type Screen = (typeof SCREENS)[number];

export interface AdminState extends StatusState {
  phase: Phase;
  screen: Screen;
  config?: AppConfig | undefined;
  wallets: WalletChoice[];
  address?: Address | undefined;
  /** The registry roles this account holds: `admin`, `registrar`, `pauser`, `operator`. */
  roles: string[];
  applications: Schemas['ApplicationView'][];
  providers: CheckedEntry[];
  query: string;
  paused?: boolean | undefined;
  /** The running system, and the webhook deliveries that gave up. */
  system?: Schemas['SystemStatus'] | undefined;
  deadWebhooks: Schemas['FailedDelivery'][];
  /** Providers' histories with the registry, once asked for, by lower-case address. */
  histories: Record<string, Schemas['ProviderHistoryStep'][]>;
}

export class AdminApp extends AppStore<AdminState> {
  /** Searches asked so far; an answer shows only if it is the latest one's. */
  private searches = 0;

  constructor() {
    super({
      phase: 'loading',
      screen: 'applications',
      wallets: [],
      roles: [],
      applications: [],
      providers: [],
      query: '',
      deadWebhooks: [],
      histories: {},
    });
    this.returnTo = placeNow(SCREENS);
    this.subscribe(this.keepPlace);
  }

  /** The place the address named when the page loaded, to go to once signed in. */
  private returnTo: Place<Screen> | undefined;

  /** Each screen has an address: once signed in and back where the address said, it follows the screen. */
  private keepPlace = () => {
    if (this.state.phase === 'ready' && !this.returnTo) keepAddress({ screen: this.state.screen });
  };

  /** Shows `place` (Back, Forward, or the address after signing in) if this account's roles reach it. */
  visit(place: Place<Screen>) {
    if (place.screen === 'registry' || this.state.roles.includes('registrar')) this.show(place.screen);
  }

  /**
   * Keeps the applications current while they are on screen: one sent meanwhile shows up without
   * signing in again (the vault is asked every `everyMs`). Returns the stop.
   */
  watchApplications(everyMs = 15_000): () => void {
    const due = () =>
      this.state.screen === 'applications' &&
      Boolean(this.vault) &&
      !this.state.busy &&
      this.state.roles.includes('registrar');
    return this.every(everyMs, due, () => this.loadApplications());
  }

  private get deployment(): Deployment {
    return deploymentOf(this.state.config!);
  }

  private get registrar(): RegistrarContext {
    if (!this.vault || !this.wallet || !this.chain) throw new MedkeyError('signed_out', 'Sign in first.');
    return { vault: this.vault, wallet: this.wallet, chain: this.chain, deployment: this.deployment };
  }

  show(screen: Screen) {
    this.set({ screen, error: undefined, notice: undefined });
    if (screen === 'providers') void this.search(this.state.query);
    if (screen === 'registry') void this.loadSystem();
  }

  start(): Promise<void> {
    return this.startWith([
      { key: ANVIL_KEYS.admin, name: 'Dev wallet: the registry’s deployer (local test chain only)' },
    ]);
  }

  /** Signs in, then asks which registry roles this account holds; none: nothing here for it. */
  async connect(choice: WalletChoice): Promise<void> {
    const config = this.state.config;
    if (!config) return;
    try {
      const { wallet, vault } = await this.signIn(choice, config);
      const { roles } = await vault.adminRoles();
      // A registry-only account (no registrar role) has one screen.
      const screen = roles.includes('registrar') ? this.state.screen : 'registry';
      this.set({ phase: 'ready', address: wallet.address, roles, screen, busy: undefined });
      if (roles.includes('registrar')) await this.loadApplications();
      // Back where the address said (a reload, a bookmark); the address follows the screen from then on.
      const place = this.returnTo;
      this.returnTo = undefined;
      if (place) this.visit(place);
      else if (screen === 'registry' && roles.length > 0) void this.loadSystem();
      this.keepPlace();
    } catch (err) {
      this.fail(err);
    }
  }

  async loadApplications(): Promise<void> {
    try {
      this.set({ applications: await this.registrar.vault.adminApplications('pending') });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Checks the application, sends `registerProvider` from this wallet, lists the provider. */
  async approve(application: Schemas['ApplicationView']): Promise<void> {
    this.set({
      busy: `Confirm the registration of ${application.profile.display_name} in your wallet.`,
      error: undefined,
    });
    try {
      await approveApplication(this.registrar, application);
      this.set({
        busy: undefined,
        notice: `${application.profile.display_name} is registered and listed in the directory.`,
      });
      await this.loadApplications();
    } catch (err) {
      this.fail(err);
    }
  }

  async decline(application: Schemas['ApplicationView'], reason: string): Promise<void> {
    this.set({ busy: 'Declining…', error: undefined });
    try {
      await this.registrar.vault.declineApplication(application.id, reason);
      this.set({
        busy: undefined,
        notice: `The application of ${application.profile.display_name} was declined; they see your reason.`,
      });
      await this.loadApplications();
    } catch (err) {
      this.fail(err);
    }
  }

  /** The directory, each entry checked against the chain. Only the latest query's answer shows. */
  async search(query: string): Promise<void> {
    this.set({ query });
    const asked = ++this.searches;
    try {
      const { vault, chain } = this.registrar;
      const page = await vault.searchDirectory({ q: query, per_page: 50 });
      const providers = await Promise.all(
        page.providers.map(async (entry) => ({
          entry,
          verdict: await checkDirectoryEntry(entry, chain, this.deployment),
        })),
      );
      // A slower answer to an earlier query (typing, or the screen opening) must not replace it.
      if (asked === this.searches) this.set({ providers });
    } catch (err) {
      this.fail(err);
    }
  }

  /** A provider's registration, suspensions and reinstatements (with their reasons), from the chain. */
  async loadHistory(provider: Address): Promise<void> {
    try {
      const steps = await this.registrar.vault.providerHistory(provider);
      this.set({ histories: { ...this.state.histories, [provider.toLowerCase()]: steps } });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Suspends or reinstates with a reason: its words kept by the vault, its hash on chain. */
  async setSuspended(provider: Address, suspend: boolean, reason: string): Promise<void> {
    this.set({ busy: `Confirm the ${suspend ? 'suspension' : 'reinstatement'} in your wallet.`, error: undefined });
    try {
      await setProviderSuspended(this.registrar, provider, suspend, reason);
      await new Promise((resolve) => setTimeout(resolve, 300));
      this.set({
        busy: undefined,
        notice: suspend
          ? 'Suspended. Its grants are paused; patients see why.'
          : 'Reinstated. Its grants are live again.',
      });
      await this.search(this.state.query);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Pause, anchoring, the mirror, the relayer, webhooks and roles, read now. */
  async loadSystem(): Promise<void> {
    try {
      const vault = this.registrar.vault;
      const [system, deadWebhooks] = await Promise.all([vault.adminStatus(), vault.deadWebhooks()]);
      this.set({ system, deadWebhooks });
      await this.readPause();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Puts a dead webhook delivery back in the queue (operator or admin). */
  async retryWebhook(id: string): Promise<void> {
    try {
      await this.registrar.vault.retryWebhook(id);
      this.set({ notice: 'Queued again: the vault retries the delivery now.' });
      await this.loadSystem();
    } catch (err) {
      this.fail(err);
    }
  }

  async readPause(): Promise<void> {
    try {
      const { chain } = this.registrar;
      const paused = await chain.readContract({
        address: this.deployment.address,
        abi: consentRegistryAbi,
        functionName: 'paused',
      });
      this.set({ paused });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Stops (or restarts) new grants; revocations keep working either way. */
  async setPaused(pause: boolean): Promise<void> {
    this.set({ busy: `Confirm in your wallet: ${pause ? 'pause' : 'unpause'} the registry.`, error: undefined });
    try {
      const ctx = this.registrar;
      const data = encodeFunctionData({ abi: consentRegistryAbi, functionName: pause ? 'pause' : 'unpause' });
      const hash = await ctx.wallet.sendTransaction({
        to: this.deployment.address,
        data,
        chainId: this.deployment.chainId,
      });
      await ctx.chain.waitForTransactionReceipt({ hash });
      this.set({
        busy: undefined,
        notice: pause ? 'Paused: no new grants. Revocations still work.' : 'Unpaused: new grants are accepted again.',
      });
      await this.readPause();
    } catch (err) {
      this.fail(err);
    }
  }

  async signOut(): Promise<void> {
    await this.session?.signOut().catch(() => undefined);
    this.set({
      phase: 'connect',
      address: undefined,
      roles: [],
      applications: [],
      providers: [],
      notice: 'You signed out.',
    });
  }
}
