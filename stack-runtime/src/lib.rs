//! stack-runtime: the protocol engine behind every stackgen-generated stack.
#![no_std]
#![forbid(unsafe_code)]
