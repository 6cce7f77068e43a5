// Pulls a patient's records from her provider's FHIR API, on her own device: her Patient record,
// each US Core type searched by patient (Observations by category, as some EHRs require), every
// page by following `link[next]` exactly as given, then the practitioners, organisations,
// locations and medications they reference, and each DocumentReference's file. The bearer token
// goes to the FHIR server's own origin only; a file elsewhere is fetched without it. A part that
// fails is named and the rest kept.
//
// A sync passes what the last pull saw (`known`: each resource's SHA-256 as the server sent it) and
// its cursor (`since`): searches then ask only for what changed (`_lastUpdated=gt…`), and whatever
// comes back unchanged (a server that ignores the date, or keeps none) is dropped here, before any
// reference is followed or file fetched.
import { bytesToHex } from 'viem';
import type { RecordSource } from '../envelope/origin.ts';
import type { SmartSession } from './smartLaunch.ts';
import { refreshSession } from './smartTokens.ts';
import { isLoopback } from './smartServer.ts';

type Resource = { resourceType: string; id?: string } & Record<string, unknown>;

/** The searches of one pull, by patient (US Core's "SHALL support" searches). */
export const PATIENT_SEARCHES: { label: string; query: string; optional?: boolean }[] = [
  { label: 'allergies', query: 'AllergyIntolerance' },
  { label: 'conditions', query: 'Condition' },
  {
    label: 'medicines',
    query:
      'MedicationRequest?intent=proposal,plan,order,original-order,reflex-order,filler-order,instance-order,option',
  },
  // By category first (some EHRs refuse an Observation search without one), then all of them for
  // any category not listed (a server that requires a category refuses that one; it is not a failure).
  ...[
    'laboratory',
    'vital-signs',
    'social-history',
    'survey',
    'sdoh',
    'exam',
    'imaging',
    'procedure',
    'therapy',
    'activity',
    'clinical-test',
    'functional-status',
    'disability-status',
    'cognitive-status',
  ].map((category) => ({ label: `observations (${category})`, query: `Observation?category=${category}` })),
  { label: 'other observations', query: 'Observation', optional: true },
  { label: 'vaccinations', query: 'Immunization' },
  { label: 'procedures', query: 'Procedure' },
  { label: 'reports', query: 'DiagnosticReport' },
  { label: 'documents', query: 'DocumentReference' },
  { label: 'visits', query: 'Encounter' },
  { label: 'care plans', query: 'CarePlan' },
  { label: 'care teams', query: 'CareTeam' },
  { label: 'goals', query: 'Goal' },
  { label: 'devices', query: 'Device' },
  { label: 'orders', query: 'ServiceRequest' },
];

/** Context resources followed from references (each once). */
const REFERENCED = new Set(['Medication', 'Practitioner', 'PractitionerRole', 'Organization', 'Location']);
/** Bounds on what a server can make her device fetch. */
const MAX_PAGES_PER_SEARCH = 200;
const MAX_REFERENCED = 500;
const MAX_FILE_BYTES = 25 * 1024 * 1024;

export interface PullProgress {
  /** What is being pulled now, in words ("conditions", "files"). */
  step: string;
  /** Resources pulled so far. */
  resources: number;
}

export interface PullFailure {
  what: string;
  why: string;
}

export interface PullResult {
  /** What is new or changed since `known` (everything, on a first pull). */
  resources: Resource[];
  /** Where each of `resources` came from, keyed `Type/id` (sealed as the record's origin). */
  sources: Map<string, RecordSource>;
  /** The newest `meta.lastUpdated` seen (the server's clock), for the next sync; absent if none. */
  cursor?: string;
  /** Resources that came again unchanged (left out). */
  unchanged: number;
  failures: PullFailure[];
  /** The session after any refresh during the pull (a rotated refresh token replaces the old one). */
  session: SmartSession;
}

export interface PullOptions {
  fetcher?: typeof fetch;
  onProgress?: (progress: PullProgress) => void;
  /** The last pull's cursor: searches ask for what changed after it. */
  since?: string;
  /** `Type/id` → SHA-256 (hex) of what the last pull brought: the same again is left out. */
  known?: ReadonlyMap<string, string>;
}

export async function pullRecords(start: SmartSession, options: PullOptions = {}): Promise<PullResult> {
  const fetcher = options.fetcher ?? fetch;
  // A sync starts from a kept refresh token (no access token yet) or one about to run out.
  let session =
    start.expiresAt - Date.now() < 10_000 && start.refreshToken ? await refreshSession(start, fetcher) : start;
  const base = session.server.fhirBase;
  const origin = new URL(base).origin;
  const found = new Map<string, Resource>();
  const sources = new Map<string, RecordSource>();
  const failures: PullFailure[] = [];
  const retrievedAt = new Date().toISOString();
  let cursor = options.since;
  let unchanged = 0;
  const progress = (step: string) => options.onProgress?.({ step, resources: found.size });

  /** GET with her token (refreshed once if it expired), to the FHIR server's origin only. */
  async function get(url: string, accept = 'application/fhir+json'): Promise<Response> {
    if (new URL(url).origin !== origin)
      throw new Error(`a link to another server (${new URL(url).host}) was not followed`);
    const once = () => fetcher(url, { headers: { accept, authorization: `Bearer ${session.accessToken}` } });
    let response = await once();
    if (response.status === 401 && session.refreshToken) {
      session = await refreshSession(session, fetcher);
      response = await once();
    }
    return response;
  }

  async function json(url: string): Promise<Resource> {
    const response = await get(url);
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    return (await response.json()) as Resource;
  }

  /** Keeps a resource unless it came before exactly as it is (hashed as sent, before any file is added). */
  const keep = async (r: unknown) => {
    const resource = r as Resource;
    if (!resource || typeof resource.resourceType !== 'string' || typeof resource.id !== 'string') return;
    const key = `${resource.resourceType}/${resource.id}`;
    if (sources.has(key)) return;
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(resource)));
    const hash = bytesToHex(new Uint8Array(digest)).slice(2);
    const meta = resource.meta as { versionId?: unknown; lastUpdated?: unknown } | undefined;
    const lastUpdated = typeof meta?.lastUpdated === 'string' ? meta.lastUpdated : undefined;
    if (lastUpdated && (!cursor || Date.parse(lastUpdated) > Date.parse(cursor))) cursor = lastUpdated;
    sources.set(key, {
      server: base,
      resourceType: resource.resourceType,
      id: resource.id,
      ...(typeof meta?.versionId === 'string' && { versionId: meta.versionId }),
      ...(lastUpdated && { lastUpdated }),
      retrievedAt,
      sha256: hash,
    });
    if (options.known?.get(key) === hash) unchanged++;
    else found.set(key, resource);
  };

  progress('your details');
  try {
    await keep(await json(`${base}/Patient/${encodeURIComponent(session.patient)}`));
  } catch (e) {
    failures.push({ what: 'your details (Patient)', why: (e as Error).message });
  }

  for (const search of PATIENT_SEARCHES) {
    progress(search.label);
    const url = new URL(`${base}/${search.query}`);
    url.searchParams.set('patient', session.patient);
    url.searchParams.set('_count', '100');
    if (options.since) url.searchParams.set('_lastUpdated', `gt${options.since}`);
    try {
      let next: string | undefined = url.toString();
      for (let page = 0; next && page < MAX_PAGES_PER_SEARCH; page++) {
        let response = await get(next);
        // A server that cannot search by date is asked for everything (what is unchanged is left out).
        if (page === 0 && options.since && response.status === 400) {
          url.searchParams.delete('_lastUpdated');
          next = url.toString();
          response = await get(next);
        }
        // A search a server does not offer (or wants narrower) is skipped when it is only a catch-all.
        if (search.optional && response.status >= 400 && response.status < 500 && response.status !== 401) break;
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        const bundle = (await response.json()) as Resource;
        for (const entry of (bundle.entry as { resource?: unknown; search?: { mode?: string } }[] | undefined) ?? [])
          if (entry.search?.mode !== 'outcome') await keep(entry.resource);
        next = ((bundle.link as { relation?: string; url?: string }[] | undefined) ?? []).find(
          (l) => l.relation === 'next',
        )?.url;
      }
    } catch (e) {
      failures.push({ what: search.label, why: (e as Error).message });
    }
  }

  progress('doctors, clinics and medicines they name');
  const wanted = new Set<string>();
  for (const resource of found.values()) collectReferences(resource, wanted);
  let followed = 0;
  for (const reference of wanted) {
    if (sources.has(reference) || followed >= MAX_REFERENCED) continue;
    followed++;
    try {
      await keep(await json(`${base}/${reference}`));
    } catch (e) {
      failures.push({ what: reference, why: (e as Error).message });
    }
  }

  progress('files');
  for (const resource of found.values()) {
    if (resource.resourceType !== 'DocumentReference') continue;
    for (const content of (resource.content as { attachment?: Record<string, unknown> }[] | undefined) ?? []) {
      const attachment = content.attachment;
      if (!attachment || typeof attachment.data === 'string' || typeof attachment.url !== 'string') continue;
      try {
        attachment.data = await fetchFile(attachment.url);
      } catch (e) {
        failures.push({ what: `the file of DocumentReference/${resource.id}`, why: (e as Error).message });
      }
    }
  }

  /** A document's file as base64: with her token on the FHIR server, without it anywhere else. */
  async function fetchFile(address: string): Promise<string> {
    const url = new URL(address, `${base}/`);
    if (url.protocol !== 'https:' && url.origin !== origin && !isLoopback(url.toString()))
      throw new Error('the file is not on a secure (https) address');
    const response =
      url.origin === origin
        ? await get(url.toString(), '*/*')
        : await fetcher(url.toString(), { headers: { accept: '*/*' } }).catch(() => {
            // A browser may reach only the servers its page allows (and that allow it: CORS).
            throw new Error(
              `it is on ${url.host}, which this browser may not reach; the Medkey command line can bring it`,
            );
          });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > MAX_FILE_BYTES) throw new Error('the file is larger than 25 MB');
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }

  progress('done');
  const resources = [...found.values()];
  for (const key of sources.keys()) if (!found.has(key)) sources.delete(key);
  return { resources, sources, ...(cursor && { cursor }), unchanged, failures, session };
}

/** Every `Type/id` reference to a context resource inside a resource (relative or on this server). */
function collectReferences(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) collectReferences(v, into);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') {
        const match = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(v);
        if (match && REFERENCED.has(match[1]!)) into.add(`${match[1]}/${match[2]}`);
      } else collectReferences(v, into);
    }
  }
}
