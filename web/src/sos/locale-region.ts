/**
 * The region of the first language tag that names one (`['en', 'en-GB']` → 'GB'), or null: the default for the
 * emergency number and for phone numbers typed without a country code.
 */
export function localeRegion(languages: readonly string[]): string | null {
  for (const tag of languages) {
    try {
      const region = new Intl.Locale(tag).region;
      if (region !== undefined) return region;
    } catch {
      // Not a valid tag: try the next one.
    }
  }
  return null;
}
