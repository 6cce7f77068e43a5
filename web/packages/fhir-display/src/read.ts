// Reading decrypted JSON: a record is untrusted input (a provider under a write grant or a share
// link's author wrote it, not only the patient), so every value is type-checked before it is
// shown. Each reader answers the type it promises or `undefined` (`[]` for lists); nothing here
// throws, so one odd field never takes a screen away.

export type Json = Record<string, unknown>;

/** A FHIR resource as decrypted: its `resourceType` checked, everything else still unknown. */
export interface Resource {
  resourceType: string;
  [field: string]: unknown;
}

export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

export const bool = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);

export const obj = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;

/** A list of objects: anything else in the list is skipped. */
export const objs = (value: unknown): Json[] =>
  Array.isArray(value) ? value.map(obj).filter((v): v is Json => v !== undefined) : [];

/** A list of strings: anything else in the list is skipped. */
export const strs = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
