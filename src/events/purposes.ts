/** The six purposes the privacy policy allows facial data to be used for. Nothing else. */
export const PURPOSES = [
  'photo-restore',
  'time-painting',
  'ai-edit',
  'photo-enlarge',
  'erase-pen',
  'face-detection-verification',
] as const;

export type Purpose = (typeof PURPOSES)[number];

export function isPurpose(value: unknown): value is Purpose {
  return typeof value === 'string' && (PURPOSES as readonly string[]).includes(value);
}
