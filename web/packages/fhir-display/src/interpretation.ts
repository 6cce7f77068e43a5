// Whether a result is out of range, as a person reads it: the lab's own interpretation flag
// (HL7 v3 ObservationInterpretation: H, HH, L, LL, A, AA, N, …) when the record has one, else
// the value against the record's own reference range when both are numbers in the same unit.
// A flag Medkey worked out says so ("above the normal range") rather than speak for the lab.

import { conceptText } from './fhir.ts';
import { num, obj, objs, str, type Json } from './read.ts';

export type FlagLevel = 'normal' | 'high' | 'low' | 'abnormal' | 'critical';

export interface Flag {
  level: FlagLevel;
  /** In words: "High", "Critically low", "Above the normal range". */
  words: string;
  /** What a row shows beside the value: ↑ ↓ ↑↑ ↓↓ !, or nothing for normal. */
  symbol: string;
  /** `lab`: the record's own interpretation; `range`: worked out here from its reference range. */
  from: 'lab' | 'range';
}

const CODES: Record<string, Omit<Flag, 'from'>> = {
  N: { level: 'normal', words: 'Normal', symbol: '' },
  H: { level: 'high', words: 'High', symbol: '↑' },
  HU: { level: 'high', words: 'Significantly high', symbol: '↑↑' },
  HH: { level: 'critical', words: 'Critically high', symbol: '↑↑' },
  L: { level: 'low', words: 'Low', symbol: '↓' },
  LU: { level: 'low', words: 'Significantly low', symbol: '↓↓' },
  LL: { level: 'critical', words: 'Critically low', symbol: '↓↓' },
  A: { level: 'abnormal', words: 'Abnormal', symbol: '!' },
  AA: { level: 'critical', words: 'Critically abnormal', symbol: '!!' },
  POS: { level: 'abnormal', words: 'Positive', symbol: '!' },
  DET: { level: 'abnormal', words: 'Detected', symbol: '!' },
  NEG: { level: 'normal', words: 'Negative', symbol: '' },
  ND: { level: 'normal', words: 'Not detected', symbol: '' },
};

/** The lab's own flag, from the first interpretation coded in a way Medkey knows. */
function labFlag(interpretations: unknown): Flag | undefined {
  for (const concept of objs(interpretations)) {
    for (const coding of objs(concept.coding)) {
      const code = str(coding.code)?.toUpperCase();
      if (code && Object.hasOwn(CODES, code)) return { ...CODES[code]!, from: 'lab' };
    }
    const text = conceptText(concept)?.toLowerCase();
    if (text === 'high') return { ...CODES.H!, from: 'lab' };
    if (text === 'low') return { ...CODES.L!, from: 'lab' };
    if (text === 'normal') return { ...CODES.N!, from: 'lab' };
  }
  return undefined;
}

/** The bounds of a reference range in `unit` (a bound in another unit does not count). */
export function rangeBounds(element: Json, unit: string | undefined) {
  const range = objs(element.referenceRange)[0];
  const bound = (q: unknown) => {
    const quantity = obj(q);
    const boundUnit = str(quantity?.unit) ?? str(quantity?.code);
    return boundUnit && unit && boundUnit !== unit ? undefined : num(quantity?.value);
  };
  return { low: bound(range?.low), high: bound(range?.high) };
}

/** The flag of a value (an Observation, or one of its components). */
export function flagOf(element: Json): Flag | undefined {
  const lab = labFlag(element.interpretation);
  if (lab) return lab;
  const quantity = obj(element.valueQuantity);
  const value = num(quantity?.value);
  if (value === undefined || str(quantity?.comparator)) return undefined;
  const { low, high } = rangeBounds(element, str(quantity?.unit) ?? str(quantity?.code));
  if (high !== undefined && value > high)
    return { level: 'high', words: 'Above the normal range', symbol: '↑', from: 'range' };
  if (low !== undefined && value < low)
    return { level: 'low', words: 'Below the normal range', symbol: '↓', from: 'range' };
  if (low !== undefined || high !== undefined)
    return { level: 'normal', words: 'Within the normal range', symbol: '', from: 'range' };
  return undefined;
}

/** A flag a person should look at (anything but normal). */
export const isFlagged = (flag: Flag | undefined): boolean => flag !== undefined && flag.level !== 'normal';
