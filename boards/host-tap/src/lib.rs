//! Linux TAP board support for stack-runtime.
