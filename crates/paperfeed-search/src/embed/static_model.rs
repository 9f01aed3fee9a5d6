//! TODO: the bundled static embedding model.
