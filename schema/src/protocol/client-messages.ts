/** Everything a device may send to the sync server. */
export { PushRequest } from './push-request.ts';
export { PullRequest } from './pull-request.ts';
