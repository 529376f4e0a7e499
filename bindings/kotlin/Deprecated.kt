// Names kept for one release after a rename (see CHANGELOG.md, "Renames"); compiled with the
// generated bindings into the same package.
package tokenkeeper

/** Renamed [CredentialsStore], the store's name on every surface. */
@Deprecated("renamed CredentialsStore", ReplaceWith("CredentialsStore"))
typealias CredentialsStorage = CredentialsStore
