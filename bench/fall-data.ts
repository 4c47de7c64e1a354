/**
 * Reads the fall-detection development data (`../shared/data/falls/*.jsonl.gz`, format in its README.md): one
 * trial a line, accelerometer in g at `hz`. The files stay outside the repository (their terms forbid
 * republishing them); this reader only parses them and checks every field it uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { STANDARD_GRAVITY, type FallDetector, type MotionSample } from '../web/src/sensors/fall-detector.ts';

export type FallTrial = {
  dataset: string;
  id: string;
  subject: string;
  activity: string;
  description: string;
  label: 'fall' | 'adl';
  hz: number;
  age: number;
  /** x, y, z in g, `hz` samples a second. */
  accelG: Array<[number, number, number]>;
};

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The data folder: `FALLS_DATA` when set (null if it is not a folder: a wrong setting must not fall back
 * silently), else `<repo>/../shared/data/falls`, else `/work/shared/data/falls`; null when none exists.
 */
export function findFallsData(): string | null {
  const isFolder = (candidate: string) => fs.existsSync(candidate) && fs.statSync(candidate).isDirectory();
  const configured = process.env['FALLS_DATA'];
  if (configured) return isFolder(configured) ? configured : null;
  return [path.resolve(repoRoot, '../shared/data/falls'), '/work/shared/data/falls'].find(isFolder) ?? null;
}

function field<T>(
  record: Record<string, unknown>,
  key: string,
  check: (v: unknown) => v is T,
  where: string,
): T {
  const value = record[key];
  if (!check(value)) throw new Error(`${where}: field "${key}" is missing or has the wrong type`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isLabel = (v: unknown): v is 'fall' | 'adl' => v === 'fall' || v === 'adl';
const isTriple = (v: unknown): v is [number, number, number] =>
  Array.isArray(v) && v.length === 3 && v.every(isNumber);
const isSamples = (v: unknown): v is Array<[number, number, number]> => Array.isArray(v) && v.every(isTriple);

export function parseFallTrial(line: string, where: string): FallTrial {
  const json: unknown = JSON.parse(line);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${where}: not an object`);
  const record = json as Record<string, unknown>;
  return {
    dataset: field(record, 'dataset', isString, where),
    id: field(record, 'id', isString, where),
    subject: field(record, 'subject', isString, where),
    activity: field(record, 'activity', isString, where),
    description: field(record, 'description', isString, where),
    label: field(record, 'label', isLabel, where),
    hz: field(record, 'hz', isNumber, where),
    age: field(record, 'age', isNumber, where),
    accelG: field(record, 'accel_g', isSamples, where),
  };
}

/** The `*.jsonl.gz` files of a folder, sorted by name; an error when there are none. */
export function fallDataFiles(folder: string): string[] {
  const files = fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.jsonl.gz'))
    .sort()
    .map((name) => path.join(folder, name));
  if (files.length === 0) throw new Error(`no *.jsonl.gz files in ${folder}`);
  return files;
}

/** Every trial of one file; `keep` (by id) avoids holding trials nobody asked for. */
export async function readFallTrials(file: string, keep?: (id: string) => boolean): Promise<FallTrial[]> {
  const lines = readline.createInterface({
    input: fs.createReadStream(file).pipe(zlib.createGunzip()),
    crlfDelay: Infinity,
  });
  const trials: FallTrial[] = [];
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    if (keep) {
      const id = /"id":"([^"]*)"/.exec(line)?.[1];
      if (id !== undefined && !keep(id)) continue;
    }
    trials.push(parseFallTrial(line, `${path.basename(file)}:${lineNumber}`));
  }
  return trials;
}

/** A trial as DeviceMotion would give it: t in ms, x, y, z in m/s² including gravity. */
export function motionSamples(trial: FallTrial): MotionSample[] {
  const periodMs = 1000 / trial.hz;
  return trial.accelG.map(([x, y, z], i) => ({
    t: i * periodMs,
    x: x * STANDARD_GRAVITY,
    y: y * STANDARD_GRAVITY,
    z: z * STANDARD_GRAVITY,
  }));
}

/** Feeds a trial to a detector sample by sample; the number of samples on which it reported a fall. */
export function runTrial(detector: FallDetector, trial: FallTrial): number {
  let alarms = 0;
  for (const sample of motionSamples(trial)) if (detector.push(sample)) alarms++;
  return alarms;
}
