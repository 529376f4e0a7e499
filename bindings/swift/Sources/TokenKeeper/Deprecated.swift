// Names kept for one release after a rename (see CHANGELOG.md, "Renames"); compiled with the
// generated bindings into the TokenKeeper module.

/// Renamed `CredentialsStore`, the store's name on every surface.
@available(*, deprecated, renamed: "CredentialsStore")
public typealias CredentialsStorage = CredentialsStore
