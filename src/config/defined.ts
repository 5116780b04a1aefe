// The config in force: the checks of config.yml and those defined in the store (the checks API,
// first pings) as one Config, so that the page, /metrics, badges and check-ins see one list.
import type { CheckDefinition } from '../domain/definition.js'
import type { Group, Item } from '../domain/item.js'
import { compileCheck, type Config, type RawCheck } from './load.js'

/** The group of a defined check that names none. */
export const DEFAULT_GROUP = 'Checks'

/** A definition's spec as the API validated it: a check's fields, with its group. */
export type DefinedFields = RawCheck & { readonly group?: string }

/** Each definition compiled, with the defaults it was compiled against: a write recompiles none of the others. */
const compiled = new WeakMap<CheckDefinition, { defaults: Config['checkDefaults']; item: Item }>()

/** Definition `d` as the item at `index`: the same object as before while nothing of it changed. */
function itemOf(d: CheckDefinition, index: number, file: Config): Item {
  const known = compiled.get(d)
  if (known !== undefined && known.defaults === file.checkDefaults) {
    if (known.item.index === index) return known.item
    const moved = Object.freeze({ ...known.item, index })
    compiled.set(d, { defaults: file.checkDefaults, item: moved })
    return moved
  }
  const spec = d.spec as DefinedFields
  const item = compileCheck(spec, { id: d.id, group: spec.group ?? DEFAULT_GROUP, index, source: d.source }, file.checkDefaults, [], () => {})
  compiled.set(d, { defaults: file.checkDefaults, item })
  return item
}

/**
 * `file` with the checks that `definitions` define, in their order (the order they were first
 * written): their items after the file's, each in its group (after the file's items of that group;
 * groups the file lacks come after its own). A new check comes last, so every other keeps its
 * index and its Item: what is derived per item (metric labels, due times) is kept for them.
 * An id that config.yml defines is the file's: such a definition is left out, and named in
 * `shadowed`. A definition is compiled as the API checked it when it was written; what no longer
 * compiles (a zone this Node does not know) falls back as compileCheck says.
 */
export function withDefinitions(file: Config, definitions: ReadonlyMap<string, CheckDefinition>): { config: Config; shadowed: string[] } {
  if (definitions.size === 0) return { config: file, shadowed: [] }
  const shadowed: string[] = []
  const items: Item[] = [...file.items]
  const added = new Map<string, Item[]>()
  const itemsById = new Map(file.itemsById)
  for (const d of definitions.values()) {
    if (file.itemsById.has(d.id)) {
      shadowed.push(d.id)
      continue
    }
    const item = itemOf(d, items.length, file)
    items.push(item)
    itemsById.set(item.id, [item])
    const list = added.get(item.group)
    if (list === undefined) added.set(item.group, [item])
    else list.push(item)
  }
  if (items.length === file.items.length) return { config: file, shadowed }
  const groups: Group[] = file.groups.map((g) => {
    const more = added.get(g.name)
    if (more === undefined) return g
    added.delete(g.name)
    return Object.freeze({ name: g.name, items: Object.freeze([...g.items, ...more]) })
  })
  for (const [name, list] of added) groups.push(Object.freeze({ name, items: Object.freeze(list) }))
  return {
    config: Object.freeze({ ...file, groups: Object.freeze(groups), items: Object.freeze(items), itemsById }),
    shadowed,
  }
}
