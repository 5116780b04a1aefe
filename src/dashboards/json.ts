// The dashboard file's exact text, shared by the writer and the test that keeps it in sync.
import { dashboard } from './statuspage.js'

export const dashboardJson = () => `${JSON.stringify(dashboard, null, 2)}\n`
