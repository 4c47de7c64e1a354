/**
 * Writes the PWA icons into web/public/: a white heart on the VitalWatch red. Uses only node built-ins so it
 * needs no image tooling; the PNGs are committed, so this only reruns when the design changes:
 *   node web/scripts/make-icons.mjs
 *
 * The maskable icon keeps the heart inside the central 80% circle that every launcher mask preserves.
 */
import { writeFileSync } from 'node:fs';
import { deflateSync, crc32 } from 'node:zlib';

const BACKGROUND = [0xb0, 0x00, 0x20];
const FOREGROUND = [0xff, 0xff, 0xff];
// Samples per axis per pixel; 4x4 is enough to keep the curve edge from looking jagged at 192px.
const SUPERSAMPLE = 4;

/**
 * Classic implicit heart curve, (x² + y² − 1)³ − x²y³ ≤ 0, roughly spanning x∈[-1.14,1.14], y∈[-1,1.25].
 * @param {number} x
 * @param {number} y
 */
function insideHeart(x, y) {
  const a = x * x + y * y - 1;
  return a * a * a - x * x * y * y * y <= 0;
}

/**
 * heartScale is the fraction of the icon width that the heart's width occupies.
 * @param {number} size
 * @param {number} heartScale
 * @returns {Buffer} size × size RGB pixels, row-major
 */
function renderRgb(size, heartScale) {
  const halfWidth = (size * heartScale) / 2;
  const unit = halfWidth / 1.14;
  // The curve's bounding box is vertically off-centre (-1..1.25); shift so the heart sits visually centred.
  const centreY = size / 2 + 0.125 * unit;
  const pixels = Buffer.alloc(size * size * 3);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const x = (px + (sx + 0.5) / SUPERSAMPLE - size / 2) / unit;
          const y = (centreY - (py + (sy + 0.5) / SUPERSAMPLE)) / unit;
          if (insideHeart(x, y)) hits++;
        }
      }
      const coverage = hits / (SUPERSAMPLE * SUPERSAMPLE);
      const offset = (py * size + px) * 3;
      for (let c = 0; c < 3; c++) {
        pixels[offset + c] = Math.round(BACKGROUND[c] * (1 - coverage) + FOREGROUND[c] * coverage);
      }
    }
  }
  return pixels;
}

/**
 * @param {string} type four-letter PNG chunk type
 * @param {Buffer} data
 */
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * @param {number} size
 * @param {Buffer} rgb
 */
function encodePng(size, rgb) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour RGB, no alpha (maskable icons must be opaque)
  header[10] = 0; // compression
  header[11] = 0; // filter method
  header[12] = 0; // no interlace
  const stride = size * 3;
  const raw = Buffer.alloc((stride + 1) * size);
  for (let row = 0; row < size; row++) {
    raw[row * (stride + 1)] = 0; // filter type None per scanline
    rgb.copy(raw, row * (stride + 1) + 1, row * stride, (row + 1) * stride);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const icons = [
  { file: 'pwa-192x192.png', size: 192, heartScale: 0.62 },
  { file: 'pwa-512x512.png', size: 512, heartScale: 0.62 },
  { file: 'maskable-icon-512x512.png', size: 512, heartScale: 0.5 },
  { file: 'apple-touch-icon-180x180.png', size: 180, heartScale: 0.62 },
];

for (const { file, size, heartScale } of icons) {
  const target = new URL(`../public/${file}`, import.meta.url);
  writeFileSync(target, encodePng(size, renderRgb(size, heartScale)));
  console.log(`wrote public/${file}`);
}
