/** Object key layout. UUIDs only: no personal data in keys. */
export const objectKeys = {
  original: (subjectId: string, imageId: string) => `originals/${subjectId}/${imageId}`,
  temp: (subjectId: string, jobId: string, name: string) => `tmp/${subjectId}/${jobId}/${name}`,
  artwork: (subjectId: string, artworkId: string) => `artworks/${subjectId}/${artworkId}`,
  export: (subjectId: string, exportId: string) => `exports/${subjectId}/${exportId}`,
  /** Every prefix a subject's objects live under (erasure walks them all). */
  subjectPrefixes: (subjectId: string) => [`originals/${subjectId}/`, `tmp/${subjectId}/`, `artworks/${subjectId}/`, `exports/${subjectId}/`],
} as const;
