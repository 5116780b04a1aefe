// The config in force: the checks of config.yml and those defined in the store (the checks API,
// first pings) as one Config, so that the page, /metrics, badges and check-ins see one list.
import type { CheckDefinition } from '../domain/definition.js'
import type { Group, Item } from '../domain/item.js'
import { compileCheck, type Config, type RawCheck } from './load.js'

/** The group of a defined check that names none. */
export const DEFAULT_GROUP = 'Checks'

/** A definition's spec as the API validated it: a check's fields, with its group. */
export type DefinedFields = RawCheck & { readonly group?: string }

/**
 * `file` with the checks that `definitions` define: each in its group (after the file's items of
 * that group; groups the file lacks come after its own, by name), its items after the file's.
 * An id that config.yml defines is the file's: such a definition is left out, and named in
 * `shadowed`. A definition is compiled as the API checked it when it was written; what no longer
 * compiles (a zone this Node does not know) falls back as compileCheck says.
 */
export function withDefinitions(file: Config, definitions: ReadonlyMap<string, CheckDefinition>): { config: Config; shadowed: string[] } {
  if (definitions.size === 0) return { config: file, shadowed: [] }
  const shadowed: string[] = []
  const defined = [...definitions.values()].filter((d) => {
    if (!file.itemsById.has(d.id)) return true
    shadowed.push(d.id)
    return false
  })
  if (defined.length === 0) return { config: file, shadowed }
  const groupOf = (d: CheckDefinition) => (d.spec as DefinedFields).group ?? DEFAULT_GROUP
  // By group, then id: a stable order whatever order they were written in.
  defined.sort((a, b) => {
    const ga = groupOf(a)
    const gb = groupOf(b)
    return ga < gb ? -1 : ga > gb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
  })
  const items: Item[] = [...file.items]
  const added = new Map<string, Item[]>()
  for (const d of defined) {
    const group = groupOf(d)
    const item = compileCheck(d.spec as DefinedFields, { id: d.id, group, index: items.length, source: d.source }, file.checkDefaults, [], () => {})
    items.push(item)
    const list = added.get(group)
    if (list === undefined) added.set(group, [item])
    else list.push(item)
  }
  const groups: Group[] = file.groups.map((g) => {
    const more = added.get(g.name)
    if (more === undefined) return g
    added.delete(g.name)
    return Object.freeze({ name: g.name, items: Object.freeze([...g.items, ...more]) })
  })
  for (const [name, list] of added) groups.push(Object.freeze({ name, items: Object.freeze(list) }))
  const itemsById = new Map(file.itemsById)
  for (const item of items.slice(file.items.length)) itemsById.set(item.id, [item])
  return {
    config: Object.freeze({ ...file, groups: Object.freeze(groups), items: Object.freeze(items), itemsById }),
    shadowed,
  }
}
