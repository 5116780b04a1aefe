// The generic prom-client way to export the item and script families: labelled Gauges and Counters
// whose collect() resets them and sets every series again from the snapshot. It is the baseline the
// benchmark measures renderFamilies against, and the reference its output must equal.
import { Counter, Gauge, Registry } from 'prom-client'
import type { Snapshot } from '../src/domain/snapshot.js'
import { ITEM_FAMILIES, ITEM_INFO, SCRIPT_FAMILIES, TAG_UP, type Counts, type FamilyDef, type Format } from '../src/metrics/families.js'
import { itemInfoPairs, tagStates } from '../src/metrics/labels.js'
import { CONTENT_TYPE } from '../src/metrics/metrics.js'

type Current = () => { snapshot: Snapshot; counts: Counts }
type Labels = Record<string, string>

export function naiveRegistry(current: Current, format: Format): Registry {
  const registry = new Registry()
  registry.setContentType(CONTENT_TYPE[format] as typeof Registry.PROMETHEUS_CONTENT_TYPE)
  // The snapshot of the scrape under way: the registry collects the families in order.
  let taken: ReturnType<Current> | undefined
  const add = (def: FamilyDef, first: boolean, labelNames: string[], series: (s: Snapshot) => Labels[]) => {
    const Metric = def.type === 'gauge' ? Gauge : Counter
    new Metric({
      name: def.name,
      help: def.help,
      labelNames,
      registers: [registry],
      collect(this: Gauge | Counter) {
        if (first || taken === undefined) taken = current()
        const { snapshot, counts } = taken
        this.reset()
        series(snapshot).forEach((labels, i) => {
          const v = def.value(snapshot, counts, i)
          if (v === undefined) return
          if (this instanceof Gauge) this.set(labels, v)
          else this.inc(labels, v)
        })
      },
    })
  }
  for (const [f, def] of ITEM_FAMILIES.entries()) {
    add(def, f === 0, ['group', 'id', 'name'], (s) => s.items.map(({ item }) => ({ group: item.group, id: item.id, name: item.name })))
  }
  add(ITEM_INFO, false, ['group', 'id', 'name', 'schedule', 'source', 'tags'], (s) => s.items.map(({ item }) => Object.fromEntries(itemInfoPairs(item))))
  add(TAG_UP, false, ['tag'], (s) => tagStates(s).map(({ tag }) => ({ tag })))
  for (const def of SCRIPT_FAMILIES) {
    add(def, false, ['id', 'name', 'server'], (s) => s.scripts.map(({ script }) => ({ id: String(script.id), name: script.name, server: script.server })))
  }
  return registry
}
