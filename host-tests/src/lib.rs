//! Host-side simulation and tools for liveupdate records (grows with the `luo` tool).

pub mod fuzz;
