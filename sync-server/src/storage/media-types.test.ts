import { describe, expect, it } from 'vitest';
import {
  bytesMatchType,
  checkDeclaredType,
  essenceOf,
  MAX_UPLOAD_BYTES,
  SIZE_LIMITS,
  SNIFF_BYTES,
} from './media-types.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const text = (value: string) => Buffer.from(value, 'latin1');

// Real first bytes of each format (from files the browsers and phones produce).
const SAMPLES: Record<string, Buffer> = {
  'audio/mpeg (ID3)': text('ID3\x04\x00\x00\x00\x00\x00\x23TSSE'),
  'audio/mpeg (frame)': hex('fffb9064 00000000 00000000 00000000'),
  'audio/ogg': text('OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00'),
  'audio/webm': hex('1a45dfa3 9f428681 0142f781 0142f281'),
  'audio/mp4': hex('00000020 66747970 4d344120 00000000'),
  'audio/wav': text('RIFF\x24\x08\x00\x00WAVEfmt '),
  'image/jpeg': hex('ffd8ffe0 00104a46 49460001 01000001'),
  'image/png': hex('89504e47 0d0a1a0a 0000000d 49484452'),
  'image/webp': text('RIFF\x1a\x00\x00\x00WEBPVP8 '),
  'image/heic': hex('00000018 66747970 68656963 00000000'),
  'image/svg+xml': text('\xef\xbb\xbf  <svg xmlns="ht'),
  'application/pdf': text('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0'),
  'application/json': text('\n  {"version":1,"'),
  'text/csv': text('recorded_at,kind,value\n'),
};

const typeOf = (label: string) => label.split(' ')[0] ?? '';

describe('magic numbers', () => {
  it('recognises each supported type from its first bytes', () => {
    for (const [label, head] of Object.entries(SAMPLES)) {
      expect(bytesMatchType(typeOf(label), head.subarray(0, SNIFF_BYTES)), label).toBe(true);
    }
  });

  it('refuses every other sample under each binary type (no signature accepts a foreign file)', () => {
    for (const label of Object.keys(SAMPLES)) {
      for (const [other, otherHead] of Object.entries(SAMPLES)) {
        const sameFamily =
          typeOf(other) === typeOf(label) ||
          (label.startsWith('audio/mp4') && other.startsWith('image/heic'));
        // CSV only refuses binary; JSON and SVG are text, so CSV accepts them by design.
        if (sameFamily || typeOf(label) === 'text/csv') continue;
        expect(
          bytesMatchType(typeOf(label), otherHead.subarray(0, SNIFF_BYTES)),
          `${other} as ${label}`,
        ).toBe(false);
      }
    }
  });

  it('refuses HTML and executables declared as media', () => {
    expect(bytesMatchType('audio/mpeg', text('<!doctype html><scr'))).toBe(false);
    expect(bytesMatchType('image/png', text('MZ\x90\x00\x03\x00\x00\x00'))).toBe(false);
    expect(bytesMatchType('text/csv', hex('7f454c46 02010100'))).toBe(false);
    expect(bytesMatchType('image/svg+xml', text('<html><svg'))).toBe(false);
  });

  it('ignores parameters and case in the declared type', () => {
    expect(essenceOf('Audio/WebM; codecs=opus')).toBe('audio/webm');
    expect(bytesMatchType('audio/webm;codecs=opus', SAMPLES['audio/webm'] ?? Buffer.alloc(0))).toBe(true);
  });
});

describe('types per bucket and size limits', () => {
  it('takes audio and photos as evidence, and the limit of their kind', () => {
    expect(checkDeclaredType('emergency', 'audio/webm;codecs=opus')).toEqual({
      ok: true,
      kind: 'audio',
      limit: SIZE_LIMITS.audio,
    });
    expect(checkDeclaredType('emergency', 'image/jpeg')).toEqual({
      ok: true,
      kind: 'image',
      limit: SIZE_LIMITS.image,
    });
    expect(checkDeclaredType('emergency', 'application/pdf')).toMatchObject({
      ok: false,
      code: 'content_type_not_allowed',
    });
  });

  it('takes what each bucket of the seed holds, and nothing in system buckets', () => {
    expect(checkDeclaredType('avatars', 'image/png').ok).toBe(true);
    expect(checkDeclaredType('documents', 'application/pdf').ok).toBe(true);
    expect(checkDeclaredType('exports', 'text/csv').ok).toBe(true);
    expect(checkDeclaredType('reports', 'application/pdf').ok).toBe(true);
    expect(checkDeclaredType('charts', 'image/svg+xml').ok).toBe(true);
    expect(checkDeclaredType('backups', 'application/json').ok).toBe(true);
    expect(checkDeclaredType('backups', 'audio/mpeg').ok).toBe(false);
    expect(checkDeclaredType('templates', 'application/pdf')).toMatchObject({
      ok: false,
      code: 'content_type_not_allowed',
    });
  });

  it('names unknown types', () => {
    const check = checkDeclaredType('emergency', 'video/x-msvideo');
    expect(check).toMatchObject({ ok: false, code: 'unsupported_content_type' });
  });

  it('bounds the tus server by the largest kind', () => {
    expect(MAX_UPLOAD_BYTES).toBe(SIZE_LIMITS.data);
    expect(SIZE_LIMITS.audio).toBe(25 * 1024 * 1024);
    expect(SIZE_LIMITS.image).toBe(10 * 1024 * 1024);
  });
});
