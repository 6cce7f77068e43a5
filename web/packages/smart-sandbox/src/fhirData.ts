// The sandbox's FHIR data: each patient's transaction Bundle loaded into Medplum's in-memory
// repository, and which resources belong to whom (the patient compartment the API enforces:
// everything a patient's Bundle brought, practitioners and organisations included).
import { readFileSync } from 'node:fs';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { router } from './medplum.ts';

export type FhirRepository = InstanceType<typeof router.MemoryRepository>;

export class FhirData {
  readonly repo: FhirRepository = new router.MemoryRepository();
  readonly fhir = new router.FhirRouter();
  /** Per patient id, the `Type/id` of every resource in that patient's compartment. */
  readonly compartments = new Map<string, Set<string>>();

  /** Loads one patient's transaction Bundle; returns the patient's id. */
  async load(path: string): Promise<string> {
    const bundle = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
    const [outcome, result] = await this.fhir.handleRequest(
      { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: bundle },
      this.repo,
    );
    const stored = (result as Bundle | undefined)?.entry?.map((e) => e.resource).filter(Boolean) as Resource[];
    if (!stored?.length) throw new Error(`sandbox: ${path} did not load: ${JSON.stringify(outcome)}`);
    const patient = stored.find((r) => r.resourceType === 'Patient');
    if (!patient?.id) throw new Error(`sandbox: ${path} has no Patient`);
    this.compartments.set(patient.id, new Set(stored.map((r) => `${r.resourceType}/${r.id}`)));
    return patient.id;
  }

  /** The resources of one type in a patient's compartment. */
  async ofType(patientId: string, resourceType: string): Promise<Resource[]> {
    const keys = [...(this.compartments.get(patientId) ?? [])].filter((k) => k.startsWith(`${resourceType}/`));
    return Promise.all(keys.map((k) => this.repo.readReference({ reference: k }) as Promise<Resource>));
  }

  /** Adds (or replaces) a resource in a patient's compartment, as an EHR does when a result comes in. */
  async put(patientId: string, resource: Resource): Promise<Resource> {
    const saved = resource.id
      ? await this.repo.updateResource(resource as Resource & { id: string })
      : await this.repo.createResource(resource);
    this.compartments.get(patientId)?.add(`${saved.resourceType}/${saved.id}`);
    return saved;
  }

  /**
   * Makes the documents look as EHRs serve them: the first inline file moves to a Binary the
   * DocumentReference points at (`Binary/{id}`), and a file on the public web (which tests cannot
   * reach) moves to `elsewhere`, a server on another origin.
   */
  async reshapeDocuments(patientId: string, elsewhere: string): Promise<void> {
    const documents = (await this.repo.searchResources({
      resourceType: 'DocumentReference',
      count: 1000,
    } as never)) as (Resource & {
      content?: { attachment?: { url?: string; data?: string; contentType?: string } }[];
    })[];
    let moved = false;
    for (const document of documents) {
      if (!this.owns(patientId, `DocumentReference/${document.id}`)) continue;
      let changed = false;
      for (const { attachment } of document.content ?? []) {
        if (!attachment) continue;
        if (attachment.url?.startsWith('https://')) {
          attachment.url = `${elsewhere}/${attachment.url.split('/').pop()}`;
          changed = true;
        } else if (!moved && attachment.data) {
          const binary = await this.put(patientId, {
            resourceType: 'Binary',
            contentType: attachment.contentType ?? 'application/octet-stream',
            data: attachment.data,
          } as Resource);
          delete attachment.data;
          attachment.url = `Binary/${binary.id}`;
          moved = changed = true;
        }
      }
      if (changed) await this.repo.updateResource(document as Resource & { id: string });
    }
  }

  owns(patientId: string, reference: string): boolean {
    return this.compartments.get(patientId)?.has(reference) ?? false;
  }
}
