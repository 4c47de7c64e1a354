import { expect, it } from 'vitest';
import { isPathProblem, parseObjectRef } from './object-paths.ts';

const user = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const incident = '0193a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa';

it("reads the owner and the incident from the seed's paths", () => {
  expect(parseObjectRef('emergency', `user-${user}/incident-${incident}/audio.mp3`)).toEqual({
    bucket: 'emergency',
    path: `user-${user}/incident-${incident}/audio.mp3`,
    ownerId: user,
    incidentId: incident,
  });
  expect(parseObjectRef('emergency', `user-${user}/incident-${incident}/photos/1.jpg`)).toMatchObject({
    incidentId: incident,
  });
  // An incident folder outside `emergency` is only a folder name (media_files allows incidents there only).
  expect(parseObjectRef('documents', `user-${user}/incident-${incident}/x.pdf`)).toMatchObject({
    incidentId: null,
  });
  expect(parseObjectRef('exports', `user-${user}/health-report-2026-01-05.pdf`)).toMatchObject({
    ownerId: user,
  });
  expect(parseObjectRef('templates', 'emergency-report-template.pdf')).toMatchObject({ ownerId: null });
  expect(parseObjectRef('assets', 'sounds/alarm.mp3')).toMatchObject({ ownerId: null, incidentId: null });
});

it('refuses names that could escape the store or need escaping', () => {
  for (const path of [
    `user-${user}/../x.mp3`,
    `/user-${user}/x.mp3`,
    `user-${user}//x.mp3`,
    `user-${user}/.hidden`,
    `user-${user}/a b.mp3`,
    `user-${user}/a%2f.mp3`,
    `user-${user}/x\\y.mp3`,
    `user-${user.toUpperCase()}/x.mp3`,
    `user-${user}`,
    'x.mp3',
    `user-${user}/${'a'.repeat(1100)}`,
  ]) {
    const ref = parseObjectRef('emergency', path);
    expect(isPathProblem(ref), path).toBe(true);
  }
  expect(parseObjectRef('videos', `user-${user}/x.mp4`)).toMatchObject({ code: 'invalid_bucket' });
});
