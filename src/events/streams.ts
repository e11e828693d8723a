import type { StreamCategory } from './define-event';

/** Stream names: `<category>-<id>`, never personal data. */
export const streams = {
  subject: (subjectId: string) => `subject-${subjectId}`,
  device: (deviceHash: string) => `device-${deviceHash}`,
  image: (imageId: string) => `image-${imageId}`,
  job: (jobId: string) => `job-${jobId}`,
  artwork: (artworkId: string) => `artwork-${artworkId}`,
  request: (requestId: string) => `request-${requestId}`,
  oplog: (subjectId: string) => `oplog-${subjectId}`,
  /** One audit stream per UTC day. */
  audit: (at: Date) => `audit-${at.toISOString().slice(0, 10)}`,
  retention: (at: Date) => `retention-${at.toISOString().slice(0, 10)}`,
  subjectKey: (subjectId: string) => `subjectkey-${subjectId}`,
} as const;

export function categoryOf(stream: string): StreamCategory | string {
  const dash = stream.indexOf('-');
  return dash < 0 ? stream : stream.slice(0, dash);
}

export function idOf(stream: string): string {
  const dash = stream.indexOf('-');
  return dash < 0 ? '' : stream.slice(dash + 1);
}
