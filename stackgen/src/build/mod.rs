//! `stackgen build`: build the firmware of a profile, measure the linked ELF and report its
//! memory budget; `stackgen run`: start it in QEMU.
//!
//! [`firmware`] drives a build ([`cargo`] runs cargo); [`run`] makes QEMU's command line.
//! [`model`] holds the types of the measurement and the report; [`measure`] reads them from
//! the ELF; [`report`] lays the measurement out as
//! `budget.md`, `budget.json` and `budget.html`.

pub mod cargo;
pub mod firmware;
pub mod measure;
pub mod model;
pub mod report;
pub mod run;
