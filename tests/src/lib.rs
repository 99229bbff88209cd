//! Helpers for the end-to-end tests: network namespaces that clean up after themselves.
