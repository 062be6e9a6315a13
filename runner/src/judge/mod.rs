//! Judging a run: the golden ([`golden`]: spec-derived expected events,
//! per GIC version, with expressions of the case language,
//! [`crate::case::expr`], over the platform's parameters), the comparison of a run's events with it ([`compare`]),
//! and the known model deviations that turn a FAIL into an XFAIL
//! ([`deviations`]).

pub mod compare;
pub mod deviations;
pub mod golden;
pub mod schema;
