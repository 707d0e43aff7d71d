//! Runtime for liveupdate records.
#![no_std]
