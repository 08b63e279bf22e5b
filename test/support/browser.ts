import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium: the browser the console's tests and benchmarks drive. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless chromium as this machine runs it: as root (no sandbox), no GPU, and none of the
 * background connections a closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
