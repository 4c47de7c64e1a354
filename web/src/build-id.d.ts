/** Set by web/vite.config.ts (`define`) from VITALWATCH_BUILD_ID, else the build's start time. */
declare const __BUILD_ID__: string;
