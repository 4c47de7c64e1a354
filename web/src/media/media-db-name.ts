/** The media database's name, apart from media-db.ts so the entry chunk can look for it without loading that. */
export const MEDIA_DB_NAME = 'vitalwatch-media';
