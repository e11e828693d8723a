/**
 * A small, dependency-free schema language for event payloads: it validates data on append
 * (so a bug never writes a malformed event into the immutable log), infers the TypeScript type,
 * and marks personal fields, which the codec encrypts with the subject's data key.
 */
import type { JsonValue } from '../modules/event-store/event-store.port';

export const SHREDDED = '[shredded]' as const;
export type Shredded = typeof SHREDDED;

export interface Schema<T> {
  readonly kind: string;
  /** Returns an error message, or null when `value` conforms. */
  check(value: unknown, path: string): string | null;
  /** Phantom, for inference only. */
  readonly _type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function leaf<T>(kind: string, test: (v: unknown) => boolean, expected: string): Schema<T> {
  return { kind, check: (v, path) => (test(v) ? null : `${path}: expected ${expected}`) };
}

export interface ObjectSchema<Shape extends Record<string, Schema<unknown>>> extends Schema<ObjectOf<Shape>> {
  readonly kind: 'object';
  readonly shape: Shape;
}

type OptionalKeys<Shape> = { [K in keyof Shape]: Shape[K] extends OptionalSchema<unknown> ? K : never }[keyof Shape];
type RequiredKeys<Shape> = Exclude<keyof Shape, OptionalKeys<Shape>>;
export type ObjectOf<Shape extends Record<string, Schema<unknown>>> = {
  [K in RequiredKeys<Shape>]: Infer<Shape[K]>;
} & { [K in OptionalKeys<Shape>]?: Infer<Shape[K]> };

export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly kind: 'optional';
  readonly inner: Schema<T>;
}

export interface PersonalSchema<T> extends Schema<T | Shredded> {
  readonly kind: 'personal';
  readonly inner: Schema<T>;
}

export const s = {
  string: (opts: { min?: number; max?: number } = {}): Schema<string> =>
    leaf('string', (v) => typeof v === 'string' && v.length >= (opts.min ?? 0) && v.length <= (opts.max ?? 10_000), 'a string'),
  uuid: (): Schema<string> => leaf('uuid', (v) => typeof v === 'string' && UUID.test(v), 'a UUID'),
  isoDate: (): Schema<string> => leaf('isoDate', (v) => typeof v === 'string' && ISO.test(v), 'an ISO-8601 UTC time'),
  int: (opts: { min?: number; max?: number } = {}): Schema<number> =>
    leaf(
      'int',
      (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= (opts.min ?? Number.MIN_SAFE_INTEGER) && v <= (opts.max ?? Number.MAX_SAFE_INTEGER),
      'an integer',
    ),
  number: (): Schema<number> => leaf('number', (v) => typeof v === 'number' && Number.isFinite(v), 'a finite number'),
  boolean: (): Schema<boolean> => leaf('boolean', (v) => typeof v === 'boolean', 'a boolean'),
  literal: <L extends string | number | boolean>(value: L): Schema<L> => leaf('literal', (v) => v === value, JSON.stringify(value)),
  enum: <const V extends readonly string[]>(values: V): Schema<V[number]> =>
    leaf('enum', (v) => typeof v === 'string' && values.includes(v), `one of ${values.join(', ')}`),
  nullable: <T>(inner: Schema<T>): Schema<T | null> => ({
    kind: 'nullable',
    check: (v, path) => (v === null ? null : inner.check(v, path)),
  }),
  optional: <T>(inner: Schema<T>): OptionalSchema<T> => ({
    kind: 'optional',
    inner,
    check: (v, path) => (v === undefined ? null : inner.check(v, path)),
  }),
  array: <T>(item: Schema<T>, opts: { max?: number } = {}): Schema<T[]> => ({
    kind: 'array',
    check: (v, path) => {
      if (!Array.isArray(v)) return `${path}: expected an array`;
      if (v.length > (opts.max ?? 10_000)) return `${path}: too many items`;
      for (let i = 0; i < v.length; i++) {
        const error = item.check(v[i], `${path}[${i}]`);
        if (error) return error;
      }
      return null;
    },
  }),
  object: <Shape extends Record<string, Schema<unknown>>>(shape: Shape): ObjectSchema<Shape> => ({
    kind: 'object',
    shape,
    check: (v, path) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${path}: expected an object`;
      const record = v as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!(key in shape)) return `${path}.${key}: unknown field`;
      }
      for (const [key, schema] of Object.entries(shape)) {
        const error = schema.check(record[key], `${path}.${key}`);
        if (error) return error;
      }
      return null;
    },
  }),
  /** String keys to JSON scalars; for small non-personal summaries. */
  scalarRecord: (): Schema<Record<string, string | number | boolean>> => ({
    kind: 'scalarRecord',
    check: (v, path) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${path}: expected an object`;
      for (const [key, value] of Object.entries(v)) {
        if (!['string', 'number', 'boolean'].includes(typeof value)) return `${path}.${key}: expected a scalar`;
      }
      return null;
    },
  }),
  /** Any JSON value (checked to be JSON-serialisable plain data). */
  json: (): Schema<JsonValue> => ({
    kind: 'json',
    check: (v, path) => (isJson(v, 0) ? null : `${path}: expected plain JSON`),
  }),
  /**
   * A field that identifies a person (device id, face geometry, free text). Stored encrypted with
   * the subject's data key; reads as SHREDDED once the key is destroyed. Only top-level fields of an
   * event may be personal.
   */
  personal: <T>(inner: Schema<T>): PersonalSchema<T> => ({
    kind: 'personal',
    inner,
    check: (v, path) => (v === SHREDDED ? null : inner.check(v, path)),
  }),
};

function isJson(v: unknown, depth: number): boolean {
  if (depth > 32) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as Record<string, unknown>).every((x) => isJson(x, depth + 1));
  }
  return false;
}

/** Names of the top-level personal fields of an object schema. */
export function personalFieldsOf(schema: ObjectSchema<Record<string, Schema<unknown>>>): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => field.kind === 'personal' || (field.kind === 'optional' && (field as OptionalSchema<unknown>).inner.kind === 'personal'))
    .map(([name]) => name);
}
