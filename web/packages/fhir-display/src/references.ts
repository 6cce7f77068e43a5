// Following a reference from one of her records to another (a report to its results, a
// prescription to its Medication, a procedure to who performed it), among records already
// decrypted on this device. Nothing is fetched: a reference that names no record here stays
// unresolved and the views say so.
//
// Records keep the JSON their file had, so references come in the forms files use: relative
// (`Observation/123`, with or without `_history`), absolute (`https://…/Observation/123`) and
// `urn:uuid:` / `urn:oid:` naming a resource whose `id` is that uuid (Medplum's C-CDA converter
// and many exports do this). A transaction Bundle whose `fullUrl`s differ from its ids needs the
// entry's `fullUrl`, which the record's sealed origin keeps (docs/envelope.md): the CLI writes
// it and the apps will read it once they write origins too.

import { obj, str, type Resource } from './read.ts';

const TYPE_AND_ID = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** Her decrypted records, found by the references other records make to them. */
export class RecordIndex {
  readonly #byKey = new Map<string, Resource>();

  constructor(resources: Iterable<Resource | undefined> = []) {
    for (const resource of resources) if (resource) this.add(resource);
  }

  /** Indexes `resource` under `Type/id` and `urn:uuid:id` (a later record with the same keys wins). */
  add(resource: Resource): void {
    const id = str(resource.id);
    if (!id || typeof resource.resourceType !== 'string') return;
    this.#byKey.set(`${resource.resourceType}/${id}`, resource);
    this.#byKey.set(`urn:uuid:${id.toLowerCase()}`, resource);
    this.#byKey.set(`urn:oid:${id}`, resource);
  }

  /** The record a FHIR Reference (`{ reference }`) or reference string points at, if it is here. */
  resolve(reference: unknown): Resource | undefined {
    const text = str(obj(reference)?.reference) ?? str(reference);
    if (!text) return undefined;
    if (text.startsWith('urn:uuid:')) return this.#byKey.get(text.toLowerCase());
    if (text.startsWith('urn:')) return this.#byKey.get(text);
    const match = TYPE_AND_ID.exec(text);
    return match ? this.#byKey.get(`${match[1]}/${match[2]}`) : undefined;
  }

  /** Every record indexed, once each. */
  all(): Resource[] {
    return [...new Set(this.#byKey.values())];
  }

  get size(): number {
    return this.all().length;
  }
}

/** An index that resolves nothing: for a record shown on its own. */
export const NO_RECORDS = new RecordIndex();
