// Tests that drive a real program (curl, promtool, prometheus, chromium...) skip loudly where it is
// missing, and fail under CI, where .ci/run installs it.
import { execFileSync } from 'node:child_process'
import type { Test } from 'tap'

function which(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

/** The binary's path, or undefined after skipping (locally) or failing (CI) the test. */
export function requireBinary(t: Test, name: string, hint: string): string | undefined {
  const path = which(name)
  if (path !== undefined) return path
  const message = `${name} not found (${hint})`
  if (process.env.CI) {
    t.fail(`${message}: CI must have it`)
  } else {
    process.stderr.write(`\n*** SKIPPED: ${message}; this test proves nothing here ***\n\n`)
    t.skip(message, () => {})
  }
  return undefined
}
