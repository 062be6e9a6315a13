//! Host side of the GIC virtualization conformance suite.
//!
//! Pipeline: [`case`] (parse + validate + compile) → [`qemu`] (launch) →
//! [`events`] (collect) → [`compare`] with [`golden`] (and
//! [`deviations`]) → [`report`]. [`suite`] ties them together;
//! [`toolchain`] prepares the machine.
#![warn(missing_docs)]

pub mod browser;
pub mod case;
pub mod check;
pub mod cli;
pub mod compare;
pub mod deviations;
pub mod events;
pub mod expr;
pub mod files;
pub mod formats;
pub mod golden;
pub mod html;
pub mod procs;
pub mod qemu;
pub mod report;
pub mod results;
pub mod suite;
pub mod text;
pub mod toolchain;
