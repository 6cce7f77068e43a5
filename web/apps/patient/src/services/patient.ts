// The patient app outside React: one store of state, and the services that act on it, each on
// its own slice (session and key, records, sharing and requests, links and the emergency card,
// account, activity). Screens read `state` and call the services; they hold no logic of their
// own. Navigation (which screen, and what it loads) is the one thing decided here.

import {
  ANVIL_KEYS,
  AppStore,
  deploymentOf,
  keepAddress,
  otherActors,
  placeNow,
  type ShellState,
} from '@medkey/app-shell';
import { CATEGORIES } from '@medkey/client';
import { AccountService, type AccountSlice } from './accountService.ts';
import { ConnectService, EMPTY_CONNECT, type ConnectSlice } from './connectService.ts';
import { ActivityService, type ActivitySlice } from './activityService.ts';
import type { ServiceContext } from './context.ts';
import { EMPTY_LINKS, LinksService, type LinksSlice } from './linksService.ts';
import { EMPTY_RECORDS, RecordsService, type RecordsSlice } from './recordsService.ts';
import { SCREENS, SELECTABLE, type Screen, type ScreenPlace } from './screenUrl.ts';
import { recordAuthors } from './timeline.ts';
import { IDLE_LOCK_MINUTES, LOCKED_FOR_IDLE, SessionService, type SessionSlice } from './sessionService.ts';
import { EMPTY_SHARING, SharingService, type SharingSlice } from './sharingService.ts';

export type { Phase } from './sessionService.ts';
export type { SharePrefill } from './sharingService.ts';
export { IDLE_LOCK_MINUTES };

export type { Screen } from './screenUrl.ts';

/** The whole app's state: each service's slice, and which screen shows what. */
export type PatientState = ShellState &
  SessionSlice &
  RecordsSlice &
  SharingSlice &
  LinksSlice &
  AccountSlice &
  ActivitySlice &
  ConnectSlice & {
    screen: Screen;
    /** The record the record screen shows. */
    selected?: string | undefined;
  };

export class PatientApp extends AppStore<PatientState> {
  /** Signing in, her key, locking. */
  readonly login: SessionService;
  readonly records: RecordsService;
  readonly sharing: SharingService;
  readonly links: LinksService;
  readonly account: AccountService;
  readonly activity: ActivityService;
  /** Connecting a provider's FHIR API (SMART on FHIR) and pulling her records from it. */
  readonly connect: ConnectService;

  constructor(idleMs = IDLE_LOCK_MINUTES * 60_000) {
    super({
      phase: 'loading',
      screen: 'records',
      wallets: [],
      ...EMPTY_RECORDS,
      ...EMPTY_SHARING,
      ...EMPTY_LINKS,
      ...EMPTY_CONNECT,
    });
    const ctx = {
      set: (patch: Partial<PatientState>) => this.set(patch),
      run: this.run,
      signedIn: this.signedIn,
      keys: () => this.login.keys(),
      deployment: () => deploymentOf(this.state.config!),
    } as ServiceContext<PatientState>;
    // The state is read through, never copied: each service sees every change at once.
    Object.defineProperty(ctx, 'state', { get: () => this.state, enumerable: true });
    this.login = new SessionService(
      ctx,
      (choice, config) => this.signIn(choice, config),
      async () => {
        await this.records.load();
        // Back where she was (the address after a reload or a bookmark; the screen before a lock).
        const place = this.returnTo;
        this.returnTo = undefined;
        const gone = place?.screen === 'record' && !this.state.records.some((r) => r.view.record_id === place.selected);
        if (place && place.screen !== 'records' && !gone) this.show(place.screen, place.selected);
        else this.keepAddress();
        // Records a provider added name it: the directory's name, checked on chain.
        await this.sharing.loadNames(recordAuthors(this.state.records));
      },
      this.lock,
      idleMs,
    );
    this.records = new RecordsService(ctx, async (categories, stored) => {
      await this.connect.stored(stored);
      await this.links.refresh(categories);
    });
    this.sharing = new SharingService(ctx);
    this.links = new LinksService(ctx);
    this.account = new AccountService(ctx);
    this.activity = new ActivityService(ctx);
    this.connect = new ConnectService(ctx, (file) => this.records.planFile(file));
    this.returnTo = placeNow(SCREENS, SELECTABLE);
    this.subscribe(this.keepAddress);
  }

  /** Where to go once she has signed in and her records are open (see `keepAddress`). */
  private returnTo: ScreenPlace | undefined;

  /**
   * Each screen has an address: whenever the screen on show (signed in) is not the one the
   * address names, a new history entry names it, so Back and Forward move between screens.
   * Signed out, the address stays, to come back to after signing in.
   */
  private keepAddress = () => {
    if (this.state.phase !== 'ready' || this.returnTo) return;
    keepAddress({
      screen: this.state.screen,
      selected: this.state.screen === 'record' ? this.state.selected : undefined,
    });
  };

  /**
   * Keeps her timeline current while it is on screen: a record a provider adds under her write
   * grant shows up without signing in again (the vault is asked every `everyMs`). Returns the stop.
   */
  watchRecords(everyMs = 20_000): () => void {
    const due = () => {
      const { phase, screen, busy, planned } = this.state;
      return phase === 'ready' && (screen === 'records' || screen === 'results') && !busy && planned.length === 0;
    };
    return this.every(everyMs, due, () => this.records.refresh());
  }

  start(): Promise<void> {
    return this.startWith([{ key: ANVIL_KEYS.patient, name: 'Dev wallet (local test chain only)' }]);
  }

  /** Goes to `screen` and loads what it shows; what the last screen had under way is dropped. */
  show(screen: Screen, selected?: string) {
    this.records.clearPreview();
    // Leaving a screen drops what it had under way (a planned upload, a prefilled grant): nothing is stored unasked.
    this.set({
      screen,
      ...(selected ? { selected } : {}),
      error: undefined,
      notice: undefined,
      provider: undefined,
      ...(screen === 'share' ? {} : { prefill: undefined }),
      ...(screen === 'add' ? {} : { planned: [] }),
      history: undefined,
      // A link or card is shown once, on the screen that made it.
      newLink: undefined,
      cardDraft: undefined,
      card: undefined,
    });
    // After the record is on screen: its history is below it and can come a moment later.
    if (screen === 'record' && selected) setTimeout(() => void this.records.loadHistory(selected), 0);
    if (screen === 'sharing') {
      void this.sharing.loadGrants();
      void this.sharing.loadRequests();
      void this.sharing.loadEmergency();
    }
    if (screen === 'links') void this.links.load();
    if (screen === 'activity')
      void this.activity.load().then(() =>
        // The providers in her log by their checked directory names.
        this.sharing.loadNames(
          otherActors(
            (this.state.activity?.entries ?? []).map((e) => e.entry),
            this.state.address,
          ),
        ),
      );
    if (screen === 'settings') void this.account.loadMfa();
    if (screen === 'add') void this.connect.loadConnections();
  }

  /** Forgets the key and every opened record, and signs out. */
  lock = async (reason = LOCKED_FOR_IDLE): Promise<void> => {
    // Locked while away, she comes back to this screen; signing out on purpose starts afresh.
    this.returnTo =
      reason === LOCKED_FOR_IDLE
        ? { screen: this.state.screen, ...(this.state.selected ? { selected: this.state.selected } : {}) }
        : undefined;
    this.records.clearPreview();
    this.login.forget();
    const session = this.session;
    this.session = undefined;
    this.set({
      phase: 'connect',
      ...EMPTY_RECORDS,
      ...EMPTY_SHARING,
      ...EMPTY_LINKS,
      ...EMPTY_CONNECT,
      mfa: undefined,
      activity: undefined,
      askingCode: false,
      selected: undefined,
      screen: 'records',
      notice: reason,
      busy: undefined,
      address: undefined,
    });
    await session?.signOut().catch(() => undefined);
  };

  /** Restarts the idle countdown (the app calls this on every keypress, click and scroll). */
  touch = () => this.login.touch();
}

export { CATEGORY_LABELS } from '@medkey/app-shell';
export { CATEGORIES };
