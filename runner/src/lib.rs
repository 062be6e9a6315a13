//! Host side of the GIC virtualization conformance suite.
//!
//! The folders are the pipeline, each stage using only those before it:
//! [`case`] (parse, validate, compile) → [`launch`] (toolchain, QEMU,
//! processes, collecting the kernel's events) → [`judge`] (goldens,
//! expressions, deviations, comparison) → [`report`] (text, JUnit/TAP,
//! results.json, the HTML matrix and its browser check). [`suite`] runs
//! the pipeline over a selection of cases and QEMUs (run directories,
//! bless), [`check`] is the static check of the inputs, [`cli`] the
//! command line. [`text`] and [`files`] are shared by all: quoting text,
//! writing files atomically.
#![warn(missing_docs)]

pub mod case;
pub mod check;
pub mod cli;
pub mod files;
pub mod judge;
pub mod launch;
pub mod report;
pub mod suite;
pub mod text;
