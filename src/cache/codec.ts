import { SerializeError, UndefinedValueError, ValueTooLargeError } from './errors.ts';
import type { Serializer } from './serializer.ts';

/** Encodes a value for the store, refusing undefined, unserializable and oversized values with typed errors. */
export function encodeValue(serializer: Serializer, maxValueBytes: number, key: string, value: unknown): string {
  if (value === undefined) throw new UndefinedValueError(key);
  let encoded: string;
  try {
    encoded = serializer.encode(value);
  } catch (err) {
    throw new SerializeError(key, { cause: err });
  }
  // UTF-16 length × 3 bounds the UTF-8 size, so most values skip the exact count.
  if (encoded.length * 3 > maxValueBytes) {
    const bytes = Buffer.byteLength(encoded);
    if (bytes > maxValueBytes) throw new ValueTooLargeError(key, bytes, maxValueBytes);
  }
  return encoded;
}

/** "No value": a decode that failed, or nothing usable stored (a sentinel, since null is a value). */
export const NO_VALUE: unique symbol = Symbol('no value');
