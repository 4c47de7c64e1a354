/** Everything the sync server may send to a device. */
export { PushResponse } from './push-response.ts';
export { PullResponse, PullResponseV1 } from './pull-response.ts';
export { Poke } from './poke.ts';
