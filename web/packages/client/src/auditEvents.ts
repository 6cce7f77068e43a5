// An activity log as FHIR R4 `AuditEvent` resources, for a patient (or a clinic) to keep or hand
// to another system. The same mapping as `medkey audit log --fhir`: the actor as a `did:pkh`
// agent, the record and grant as entities, the purpose as its HL7 ActReason code, a refusal as
// outcome 4 (minor failure). Only entries already checked against the signed log belong here.

import { bytesToHex } from '@noble/hashes/utils';
import { getAddress } from 'viem';
import type { AuditEntry } from './audit.ts';
import { PURPOSES } from './consent.ts';
import type { FhirResource } from './records.ts';

const ACTIONS: Record<string, 'C' | 'U' | 'D' | 'E'> = {
  record_created: 'C',
  attachment_stored: 'C',
  record_updated: 'U',
  keys_added: 'U',
  record_erased: 'D',
  grant_relayed: 'E',
  revoke_relayed: 'E',
};

/** An RFC 3339 instant to the second, as the CLI writes it. */
function instant(atMs: number): string {
  return new Date(Math.floor(atMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function auditEvent(chainId: number, e: AuditEntry): FhirResource {
  const did = (address: string) => ({
    identifier: { system: 'urn:ietf:rfc:3986', value: `did:pkh:eip155:${chainId}:${getAddress(address)}` },
  });
  const entities: unknown[] = [];
  if (e.record_id)
    entities.push({
      what: { identifier: { system: 'urn:medkey:record', value: bytesToHex(Uint8Array.from(e.record_id)) } },
    });
  if (e.grant_id) entities.push({ what: { identifier: { system: `urn:medkey:grant:${chainId}`, value: e.grant_id } } });
  if (e.patient)
    entities.push({
      what: did(e.patient),
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' },
    });
  const purpose = e.purpose === null || e.purpose === undefined ? undefined : PURPOSES[e.purpose];
  return {
    resourceType: 'AuditEvent',
    type: { system: 'urn:medkey:audit-event', code: e.kind },
    action: ACTIONS[e.kind] ?? 'R',
    recorded: instant(e.at_ms),
    outcome: e.outcome === 'ok' ? '0' : '4',
    outcomeDesc: e.outcome,
    agent: [{ who: did(e.actor), requestor: true }],
    source: { observer: { display: 'Medkey vault' } },
    ...(purpose
      ? {
          purposeOfEvent: [
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: purpose }] },
          ],
        }
      : {}),
    ...(entities.length > 0 ? { entity: entities } : {}),
  };
}

/** The entries as one FHIR Bundle (`collection`) of AuditEvents. */
export function auditEventBundle(chainId: number, entries: AuditEntry[]): FhirResource {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: entries.map((e) => ({ resource: auditEvent(chainId, e) })),
  };
}
