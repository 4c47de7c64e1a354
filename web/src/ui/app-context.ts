/** What every screen needs: the device, the preferences, the SOS flow and navigation. Provided by app.tsx. */
import { createContext, useContext } from 'solid-js';
import type { Device } from '../device/device.ts';
import type { PrefsStore } from '../device/prefs.ts';
import type { SosFlow } from '../sos/sos-flow.ts';

export type Route =
  | 'home'
  | 'sos'
  | 'contacts'
  | 'mood'
  | 'history'
  | 'settings'
  | 'account'
  | 'link'
  | 'coping'
  | 'support'
  | 'screeners'
  | 'insights';

export interface AppServices {
  readonly device: Device;
  readonly prefs: PrefsStore;
  readonly sos: SosFlow;
  /** `param`: the route's one parameter (`#/<route>/<param>`), e.g. the coping tool to open. */
  readonly navigate: (route: Route, param?: string) => void;
}

export const AppContext = createContext<AppServices>();

export function useApp(): AppServices {
  const services = useContext(AppContext);
  if (services === undefined) throw new Error('useApp() outside <AppContext.Provider>');
  return services;
}
