"""Small shared helpers: atomic I/O, manifests and content hashes, errors, progress."""
