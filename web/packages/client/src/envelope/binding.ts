// What a ciphertext and its wrapped keys are bound to (docs/envelope.md, "Record binding"):
// "medkey/v1/record" ‖ id(16) ‖ version(u32 BE) ‖ owner(20) ‖ category(1) ‖ len(1) ‖ resource type.

import { hexToBytes, type Address } from 'viem';
import { EnvelopeError } from '../errors.ts';

export const MAX_RESOURCE_TYPE = 64;
const LABEL = new TextEncoder().encode('medkey/v1/record');

export interface RecordBinding {
  /** The record's UUID, e.g. "3f2c…-…". */
  recordId: string;
  /** Each update is a new version with a new data key. */
  version: number;
  /** The patient who owns the record. */
  owner: Address;
  /** Bit index of the record's category. */
  category: number;
  /** The FHIR resource type, 1 to 64 ASCII bytes; refused (never truncated) beyond. */
  resourceType: string;
}

export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new EnvelopeError('truncated', `"${uuid}" is not a UUID`);
  return hexToBytes(`0x${hex}`);
}

export function bindingBytes(binding: RecordBinding): Uint8Array {
  const resource = binding.resourceType;
  if (resource.length === 0 || resource.length > MAX_RESOURCE_TYPE || !/^[\x20-\x7e]+$/.test(resource)) {
    throw new EnvelopeError('resource_type', `resource type "${resource.slice(0, 80)}" is not 1 to 64 ASCII bytes`);
  }
  if (!Number.isInteger(binding.version) || binding.version < 0 || binding.version > 0xffffffff) {
    throw new EnvelopeError('truncated', `version ${binding.version} is not a 32-bit unsigned integer`);
  }
  if (!Number.isInteger(binding.category) || binding.category < 0 || binding.category > 255) {
    throw new EnvelopeError('truncated', `category ${binding.category} is not one byte`);
  }
  const owner = hexToBytes(binding.owner);
  if (owner.length !== 20) throw new EnvelopeError('truncated', `owner ${binding.owner} is not a 20-byte address`);
  const out = new Uint8Array(16 + 16 + 4 + 20 + 2 + resource.length);
  out.set(LABEL, 0);
  out.set(uuidBytes(binding.recordId), 16);
  new DataView(out.buffer).setUint32(32, binding.version, false);
  out.set(owner, 36);
  out[56] = binding.category;
  out[57] = resource.length;
  out.set(new TextEncoder().encode(resource), 58);
  return out;
}
