// SPDX-License-Identifier: GPL-2.0

//! The pure-logic modules of the kernel crate (`rust/`), compiled unchanged for the
//! host so that `cargo test` runs their unit tests and the property tests in
//! `tests/`. `no_std` outside tests, as in the kernel.
#![cfg_attr(not(test), no_std)]

#[path = "../../../rust/segment.rs"]
pub mod segment;

#[path = "../../../rust/entry.rs"]
pub mod entry;

#[path = "../../../rust/request.rs"]
pub mod request;

#[path = "../../../rust/control.rs"]
pub mod control;
