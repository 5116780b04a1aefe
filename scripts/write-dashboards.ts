// npm run dashboards: writes dashboards/statuspage.json from src/dashboards/statuspage.ts.
// A test fails when the committed file differs from what this writes.
import { writeFileSync } from 'node:fs'
import { dashboardJson } from '../src/dashboards/json.js'

writeFileSync('dashboards/statuspage.json', dashboardJson())
