import type { JsonObject } from '../modules/event-store/event-store.port';
import { personalFieldsOf, s, type Infer, type ObjectSchema, type Schema } from './schema';

/** Stream categories: streams are `<category>-<id>`, the id a UUID or a non-personal key. */
export const STREAM_CATEGORIES = ['subject', 'device', 'image', 'job', 'artwork', 'request', 'oplog', 'audit', 'retention', 'subjectkey'] as const;
export type StreamCategory = (typeof STREAM_CATEGORIES)[number];

/** Turns the stored data of an older schema version into the next version's shape. */
export type Upcaster = (data: JsonObject) => JsonObject;

export interface EventDefinition<T extends string = string, S extends ObjectSchema<Record<string, Schema<unknown>>> = ObjectSchema<Record<string, Schema<unknown>>>> {
  readonly type: T;
  readonly category: StreamCategory;
  /** The version new events are written with. */
  readonly schemaVersion: number;
  readonly schema: S;
  /** Top-level fields encrypted with the subject's data key. */
  readonly personalFields: readonly string[];
  /** upcasters[v] turns version v into v + 1. */
  readonly upcasters: Readonly<Record<number, Upcaster>>;
  /** What the history and audit views call the resource this event is about, e.g. `image:<id>`. */
  readonly resourceOf: (data: Infer<S>) => string;
}

export function defineEvent<T extends string, Shape extends Record<string, Schema<unknown>>>(
  type: T,
  category: StreamCategory,
  shape: Shape,
  options: {
    schemaVersion?: number;
    upcasters?: Record<number, Upcaster>;
    resourceOf?: (data: Infer<ObjectSchema<Shape>>) => string;
  } = {},
): EventDefinition<T, ObjectSchema<Shape>> {
  const schema = s.object(shape);
  const personalFields = personalFieldsOf(schema as unknown as ObjectSchema<Record<string, Schema<unknown>>>);
  return {
    type,
    category,
    schemaVersion: options.schemaVersion ?? 1,
    schema,
    personalFields,
    upcasters: options.upcasters ?? {},
    resourceOf: options.resourceOf ?? (() => category),
  };
}
