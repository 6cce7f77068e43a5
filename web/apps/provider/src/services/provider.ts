// Everything the provider app does, outside React: the wallet and session, the provider's
// standing with the registry (checked on chain), its application, the patients who shared with
// it, their records opened in this browser, and asking for access. Screens read `state` and call
// these methods; they hold no logic of their own. Keys and records live in memory only.

import {
  MedkeyError,
  PURPOSES,
  applyAsProvider,
  categoriesOf,
  checkVaultLog,
  encryptToBlob,
  inferCategory,
  openEmergencyAccess,
  publishedKey,
  sealNewRecord,
  type FhirResource,
  type Sealed,
  type CheckedLog,
  checkDirectoryEntry,
  deriveEncryptionKey,
  openRecordContent,
  readProvider,
  type Category,
  type CheckedEntry,
  type Deployment,
  type EncryptionKeyPair,
  type ProfileFields,
  type Purpose,
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
import {
  asResource,
  chartOf,
  formatTime,
  patientName,
  photoOf,
  str,
  type Chart,
  type Resource,
} from '@medkey/fhir-display';
import { isAddress, type Address } from 'viem';

export type Phase = 'loading' | 'connect' | 'ready';
/** Every screen of the provider's app; `patient` names the patient it shows (`#/patient/0x…`). */
export const SCREENS = ['patients', 'patient', 'apply', 'request', 'emergency', 'history'] as const;
export type Screen = (typeof SCREENS)[number];
export const SELECTABLE = { patient: /^0x[0-9a-fA-F]{40}$/ };

/** One patient who shared with this provider: what, why and until when, over all her grants. */
export interface PatientRow {
  patient: Address;
  /** Her name, once she shared her Patient resource and it was opened here. */
  name?: string | undefined;
  /** Her birth date as her own Patient record gives it (`YYYY-MM-DD`, or as written). */
  born?: string | undefined;
  /** Her photo from her own Patient record, as a `data:` URL (see `photoOf`). */
  photo?: string | undefined;
  grants: Schemas['GrantView'][];
}

/** A patient's records on screen; `chart` once her whole chart was opened in one batch. */
export interface PatientOnScreen {
  address: Address;
  records: Schemas['RecordView'][];
  opened: Record<string, Resource>;
  /** Records the vault would not release when the chart was opened, with its reason in words. */
  refused: { recordId: string; message: string }[];
  /** The chart of everything opened, once the whole chart was opened in one go. */
  chart?: Chart | undefined;
}

/** A record released and decrypted here. */
interface Released {
  view: Schemas['RecordView'];
  resource: Resource;
}

/** The most records one key release asks for (the vault's own bound). */
const RELEASE_BATCH = 500;

export interface ProviderState extends StatusState {
  phase: Phase;
  screen: Screen;
  config?: AppConfig | undefined;
  wallets: WalletChoice[];
  address?: Address | undefined;
  /** The registry's word on this account, and its directory entry checked against the chain. */
  standing?: { status: 'unregistered' | 'active' | 'suspended'; entry?: CheckedEntry | undefined } | undefined;
  applications: Schemas['ApplicationView'][];
  patients: PatientRow[];
  /** This provider's own access history, checked here against the operator's signed log. */
  history?: CheckedLog | undefined;
  /** The patient on screen: her records, the ones opened in this browser, and the ones refused. */
  patient?: PatientOnScreen | undefined;
}

export class ProviderApp extends AppStore<ProviderState> {
  private keys?: EncryptionKeyPair | undefined;

  /** The place the address named when the page loaded, to go to once signed in (see `keepPlace`). */
  private returnTo: Place<Screen> | undefined;

  constructor() {
    super({ phase: 'loading', screen: 'patients', wallets: [], applications: [], patients: [] });
    this.returnTo = placeNow(SCREENS, SELECTABLE);
    this.subscribe(this.keepPlace);
  }

  /** Each screen has an address: once signed in and back where the address said, it follows the screen. */
  private keepPlace = () => {
    if (this.state.phase !== 'ready' || !this.state.standing || this.returnTo) return;
    const { screen, patient } = this.state;
    keepAddress({ screen, selected: screen === 'patient' ? patient?.address : undefined });
  };

  /** Shows `place` (Back, Forward, or the address after signing in); a patient's chart opens again. */
  async visit(place: Place<Screen>): Promise<void> {
    if (this.state.standing?.status === 'unregistered') return this.show('apply');
    // Registered since it applied: its patients, not the application form, are where it works now.
    if (place.screen === 'apply' && this.state.screen === 'patients') return;
    if (place.screen === 'patient' && place.selected) await this.openPatient(place.selected as Address);
    else if (place.screen !== 'patient') this.show(place.screen);
  }

  private get deployment(): Deployment {
    return deploymentOf(this.state.config!);
  }

  show(screen: Screen) {
    this.set({ screen, error: undefined, notice: undefined });
    if (screen === 'history') void this.loadHistory();
  }

  start(): Promise<void> {
    return this.startWith([
      { key: ANVIL_KEYS.clinic, name: 'Dev wallet: the demo clinic (local test chain only)' },
      { key: ANVIL_KEYS.newcomer, name: 'Dev wallet: a new provider (local test chain only)' },
    ]);
  }

  /** Connects a wallet, signs in, and reads this account's standing from the chain. */
  async connect(choice: WalletChoice): Promise<void> {
    const config = this.state.config;
    if (!config) return;
    try {
      const { wallet } = await this.signIn(choice, config);
      this.set({ phase: 'ready', address: wallet.address, busy: undefined });
      await this.refreshStanding();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Registered or not, suspended or not (from the chain), the directory entry, the applications. */
  async refreshStanding(): Promise<void> {
    const { wallet, vault, chain } = this;
    if (!wallet || !vault || !chain) return;
    try {
      const onChain = await readProvider(chain, this.deployment, wallet.address);
      const applications = await vault.myApplications();
      let entry: CheckedEntry | undefined;
      if (onChain.status !== 'unregistered') {
        const listed = await vault.directoryEntry(wallet.address).catch(() => undefined);
        if (listed) entry = { entry: listed, verdict: await checkDirectoryEntry(listed, chain, this.deployment) };
      }
      if (onChain.status === 'unregistered') this.set({ screen: 'apply' });
      else await this.loadPatients();
      this.set({ standing: { status: onChain.status, entry }, applications });
      // Back where the address said (a reload, a bookmark), now that the account is known; the
      // address follows the screen from then on.
      const place = this.returnTo;
      try {
        if (place) await this.visit(place);
      } finally {
        this.returnTo = undefined;
        this.keepPlace();
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * This account's encryption key, derived from the wallet once per session. Before applying
   * (`firstUse`), the wallet signs twice and must give the same key, or the registry would hold a
   * key it can never derive again; once registered, the derived key must be the one on chain,
   * or every record shared with it would fail to open.
   */
  private async encryptionKeys(firstUse = false): Promise<EncryptionKeyPair> {
    const { wallet, chain } = this;
    if (this.keys) return this.keys;
    if (!wallet || !chain) throw new MedkeyError('not_connected', 'Connect your wallet first.');
    const keys = await deriveEncryptionKey(wallet, { checkDeterministic: firstUse, chain });
    const onChain = await readProvider(chain, this.deployment, wallet.address);
    const mine = keys.publicKey.every((b, i) => b === onChain.encryptionKey[i]);
    if (onChain.status !== 'unregistered' && !mine) {
      keys.secret.fill(0);
      throw new MedkeyError(
        'key_mismatch',
        'This wallet now gives a different encryption key from the one the registry holds for you, so records shared with you cannot be opened here. ' +
          'Use the wallet you registered with, or ask the registry to rotate your key.',
      );
    }
    this.keys = keys;
    return keys;
  }

  /** Applies with `fields`: the wallet signs the key message (twice, to check it) and then the profile. */
  async apply(fields: ProfileFields): Promise<void> {
    const { wallet, vault } = this;
    if (!wallet || !vault) return;
    this.set({
      busy: 'Sign the key message twice (to check your wallet gives the same key each time), then your profile, in your wallet.',
      error: undefined,
    });
    try {
      this.keys ??= await this.encryptionKeys(true);
      const application = await applyAsProvider(vault, wallet, this.keys, this.deployment, fields);
      this.set({
        busy: undefined,
        applications: [application, ...this.state.applications],
        notice: 'Your application was sent. The registry reviews it; this page shows the answer.',
      });
    } catch (err) {
      this.fail(err);
    }
  }

  /** The patients who shared with this provider, from the grants made to it. */
  async loadPatients(): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
    const listing = await vault.grants('provider');
    const grants = Array.isArray(listing) ? listing : [];
    const byPatient = new Map<string, PatientRow>();
    for (const grant of grants) {
      const key = grant.grant.patient.toLowerCase();
      const known = this.state.patients.find((p) => p.patient.toLowerCase() === key);
      const row = byPatient.get(key) ?? {
        patient: grant.grant.patient as Address,
        name: known?.name,
        born: known?.born,
        grants: [],
      };
      row.grants.push(grant);
      byPatient.set(key, row);
    }
    this.set({ patients: [...byPatient.values()] });
  }

  /**
   * Keeps "My patients" current while it is on screen: a patient who shares with this provider
   * shows up without signing in again (the vault is asked every `everyMs`). Returns the stop.
   */
  watchPatients(everyMs = 15_000): () => void {
    const due = () => this.state.screen === 'patients' && Boolean(this.vault) && !this.state.busy;
    return this.every(everyMs, due, () => this.loadPatients());
  }

  /** A patient's records this provider may read now; her name if she shared it. */
  async openPatient(address: Address): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
    this.set({ busy: 'Reading the records you may see…', error: undefined });
    try {
      const records = await vault.patientRecords(address);
      this.set({
        screen: 'patient',
        patient: { address, records, opened: {}, refused: [] },
        busy: undefined,
      });
      const details = records.find(
        (r) => r.resource_type === 'Patient' && r.created_by.toLowerCase() === r.owner.toLowerCase(),
      );
      if (details) await this.openRecord(details.record_id);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Releases a record's key through the vault's gate and decrypts it here. */
  async openRecord(recordId: string): Promise<void> {
    const patient = this.state.patient;
    if (!this.vault || !this.wallet || !patient) return;
    this.set({ busy: 'Opening the record…', error: undefined });
    try {
      const { opened, refused } = await this.release(patient.address, [recordId]);
      if (refused[0]) throw new MedkeyError(refused[0].code, refused[0].message);
      this.showOpened(opened, []);
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Opens every record of hers this provider may read, in batches of up to 500 key releases:
   * the vault still decides and logs each record on its own, and a refusal is kept with its
   * reason while the rest open.
   */
  async openChart(): Promise<void> {
    const patient = this.state.patient;
    if (!this.vault || !this.wallet || !patient) return;
    this.set({ error: undefined });
    try {
      const ids = patient.records.map((r) => r.record_id).filter((id) => !patient.opened[id]);
      const opened: Released[] = [];
      const refused: PatientOnScreen['refused'] = [];
      for (let i = 0; i < ids.length; i += RELEASE_BATCH) {
        this.set({ busy: `Opening her chart: ${i} of ${ids.length} records…` });
        const batch = await this.release(patient.address, ids.slice(i, i + RELEASE_BATCH));
        opened.push(...batch.opened);
        refused.push(...batch.refused.map((r) => ({ recordId: r.recordId, message: r.message })));
      }
      this.showOpened(opened, refused, true);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Asks the vault to release `ids`' keys and decrypts what it released, here. */
  private async release(
    patient: Address,
    ids: string[],
  ): Promise<{ opened: Released[]; refused: { recordId: string; code: string; message: string }[] }> {
    if (!this.keys) {
      this.set({ busy: 'Sign the key message in your wallet to open records in this browser.' });
      this.keys = await this.encryptionKeys();
    }
    const batch = await this.vault!.releaseKeys(patient, { record_ids: ids });
    const secret = this.keys.secret;
    // All at once: WebCrypto works on them in parallel, where one after another waits on each.
    const opened: Released[] = await Promise.all(
      batch.released.map(async (released) => {
        const content = await openRecordContent(released.record, released.ciphertext, released.wrapped_key, secret);
        content.dataKey.fill(0);
        // Decrypted content is untrusted: what is not a resource is kept as one that says so.
        const resource = (asResource(content.resource) ?? {
          resourceType: 'Unknown',
          content: content.resource,
        }) as Resource;
        return { view: released.record, resource };
      }),
    );
    const refused = batch.refused.map((r) => ({
      recordId: r.record_id,
      code: r.error.code,
      message: r.error.message,
    }));
    return { opened, refused };
  }

  /** Puts decrypted records on screen, and her name from her own Patient record among them. */
  private showOpened(opened: Released[], refused: PatientOnScreen['refused'], chart = false) {
    const patient = this.state.patient;
    if (!patient) return;
    // Her name comes from her own Patient record only, never from one a provider wrote.
    const own = opened.find(
      (o) => o.resource.resourceType === 'Patient' && o.view.created_by.toLowerCase() === o.view.owner.toLowerCase(),
    );
    const name = own ? patientName(own.resource)?.slice(0, 80) : undefined;
    const born = own ? str(own.resource.birthDate) : undefined;
    const photo = own ? photoOf(own.resource) : undefined;
    const patients = name
      ? this.state.patients.map((p) =>
          p.patient.toLowerCase() === patient.address.toLowerCase() ? { ...p, name, born, photo } : p,
        )
      : this.state.patients;
    const all = { ...patient.opened, ...Object.fromEntries(opened.map((o) => [o.view.record_id, o.resource])) };
    this.set({
      busy: undefined,
      patients,
      patient: {
        ...patient,
        opened: all,
        refused: chart ? refused : patient.refused,
        chart: chart || patient.chart ? chartOf(Object.values(all)) : undefined,
      },
    });
  }

  /**
   * Adds a FHIR resource (and optionally a file) to the patient's records under a write grant:
   * sealed here for her (her published key, checked against her signature) and for this
   * provider; the file is encrypted here under the record's key before it is uploaded.
   */
  async addRecord(resourceText: string, file?: File): Promise<void> {
    const { vault, wallet, state } = this;
    const patient = state.patient;
    if (!vault || !wallet || !patient || !state.config) return;
    this.set({ busy: 'Sealing the record for the patient and for you…', error: undefined, notice: undefined });
    let sealed: Sealed | undefined;
    try {
      let resource: FhirResource;
      try {
        resource = JSON.parse(resourceText) as FhirResource;
      } catch {
        throw new MedkeyError(
          'not_json',
          'That is not valid JSON. Paste a FHIR R4 resource, or choose a FHIR JSON file.',
        );
      }
      if (typeof resource?.resourceType !== 'string')
        throw new MedkeyError('not_fhir', 'That is not a FHIR resource: it has no resourceType.');
      this.keys ??= await this.encryptionKeys();
      const patientKey = await publishedKey(vault, patient.address, state.config.chain_id);
      sealed = await sealNewRecord({
        owner: patient.address,
        resource,
        category: inferCategory(resource) ?? 'documents',
        readers: [
          { address: patient.address, publicKey: patientKey },
          { address: wallet.address, publicKey: this.keys.publicKey },
        ],
        forPatient: true,
      });
      const created = await vault.createRecord(sealed.body);
      if (file) {
        const ciphertext = await encryptToBlob(sealed.dataKey, sealed.binding, file, () =>
          this.set({ busy: `Encrypting ${file.name}…` }),
        );
        await vault.uploadAttachmentBlob(created.record.record_id, sealed.binding.version, ciphertext, () =>
          this.set({ busy: `Uploading ${file.name}…` }),
        );
      }
      this.set({
        busy: undefined,
        notice: `Added to the patient’s records${file ? ` with ${file.name}` : ''}. The patient can read it, and so can you.`,
      });
      await this.openPatient(patient.address);
    } catch (err) {
      this.fail(err);
    } finally {
      sealed?.dataKey.fill(0);
    }
  }

  /** Asks a patient for access; she answers with a grant of her own, or declines. */
  async requestAccess(request: {
    patient: string;
    categories: Category[];
    purpose: Purpose;
    days: number;
    note: string;
    /** Also ask to add records in those categories (a write grant). */
    write?: boolean;
  }): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
    this.set({ busy: 'Sending your request…', error: undefined });
    try {
      await vault.requestAccess({
        patient: request.patient,
        categories: request.categories,
        purpose: request.purpose,
        duration_secs: request.days * 86_400,
        ...(request.write ? { write: true } : {}),
        ...(request.note ? { note: request.note } : {}),
      });
      this.set({
        busy: undefined,
        screen: 'patients',
        notice: 'Your request was sent. The patient sees it in their app and answers there.',
      });
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Break-glass: opens a 4-hour emergency grant to a patient who allowed it, from this wallet,
   * then her records. Only after the person confirmed that it is public and logged.
   */
  async openEmergency(patient: string, reason: string): Promise<void> {
    const { wallet, chain } = this;
    if (!wallet || !chain) return;
    if (!isAddress(patient.trim())) {
      this.set({ error: 'That is not a patient address: it starts with 0x and has 40 more characters.' });
      return;
    }
    this.set({ busy: 'Confirm the emergency access in your wallet.', error: undefined });
    try {
      const opened = await openEmergencyAccess(wallet, chain, this.deployment, patient.trim() as Address, reason);
      this.set({
        notice: `Emergency access open until ${formatTime(opened.expiresAt)}. The patient and anyone reading the chain can see it.`,
      });
      await this.loadPatients();
      await this.openPatient(patient.trim() as Address);
    } catch (err) {
      this.fail(err);
    }
  }

  /** What this provider opened or was refused, from the vault's signed, anchored log, checked here. */
  async loadHistory(): Promise<void> {
    const { vault, chain, state } = this;
    if (!vault || !chain || !state.config) return;
    this.set({ busy: 'Checking your access history…' });
    try {
      this.set({
        history: await checkVaultLog(vault, chain, this.deployment, state.config.audit_key),
        busy: undefined,
      });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Signs out and forgets the key and every record opened here. */
  async signOut(): Promise<void> {
    this.keys?.secret.fill(0);
    this.keys = undefined;
    await this.session?.signOut().catch(() => undefined);
    this.set({
      phase: 'connect',
      address: undefined,
      standing: undefined,
      patients: [],
      patient: undefined,
      applications: [],
      notice: 'You signed out. Keys and records were cleared from this browser.',
    });
  }
}

export { PURPOSES, categoriesOf };
