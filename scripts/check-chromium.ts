/** Fails with install instructions when no Chromium can be found for the end-to-end tests. */
import { ChromiumNotFoundError, findChromium } from '../src/devstack/chromium.ts';

try {
  console.log(`Chromium: ${findChromium()}`);
} catch (error) {
  if (!(error instanceof ChromiumNotFoundError)) throw error;
  console.error(error.message);
  process.exit(1);
}
