"""The documents a team relies on beside the bundled one: user data, kept by `search.documents.store`."""
