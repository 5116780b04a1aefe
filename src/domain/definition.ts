// A check defined in the store rather than in config.yml: through the checks API, or created on its
// first ping (auto-provisioning). It is a check like an item (its signals are under its id), and its
// definition is the spec the API took: the fields of a config item, its group and its tags.

/** Where a check was defined; Scripto's scripts are checks too, defined through Scripto's API. */
export type CheckSource = 'config' | 'api' | 'auto' | 'scripto'

/** The sources of checks defined in the store and read as items. */
export type DefinedSource = 'api' | 'auto'

/** A check's fields as the API takes and shows them (validated by the API's schema before it is stored). */
export type DefinedSpec = Readonly<Record<string, unknown>>

export interface CheckDefinition {
  /** Its id: the key of its signals, and of its URLs (/refresh/<id>, /ping/<key>/<id>). */
  readonly id: string
  readonly source: DefinedSource
  readonly spec: DefinedSpec
  /** ms since the epoch. */
  readonly created: number
  readonly updated: number
}
