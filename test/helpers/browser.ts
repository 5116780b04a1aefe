// Debian's chromium driven by playwright-core; never a downloaded browser.
import type { Test } from 'tap'
import { chromium, type Browser } from 'playwright-core'
import { requireBinary } from './binaries.js'

export async function launchChromium(t: Test): Promise<Browser | undefined> {
  const executablePath = requireBinary(t, 'chromium', 'apt-get install chromium')
  if (!executablePath) return undefined
  const browser = await chromium.launch({
    executablePath,
    // The machine has no network: keep chromium from trying to reach its services.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  t.teardown(() => browser.close())
  return browser
}
