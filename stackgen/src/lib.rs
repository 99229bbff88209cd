//! stackgen: turns a profile (TOML) into a fully sized network-stack plan.
