//! The SMP part of the job on the host: three threads play the other CPUs (no painting), on
//! the committed flat file. The same checks as on the machine: no lookup or get succeeds after
//! the finish began, each FLB's finish runs once, after its last guard.
#![allow(missing_docs)]

use core::fmt;
use core::ops::Range;

use liveupdate_boot::{Arch, Image, Status, run, secondary};

struct Threads;

// SAFETY: `stack_bounds` is empty, so `measure` never paints.
unsafe impl Arch for Threads {
    fn name(&self) -> &'static str {
        "host"
    }
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str(" threads=4")
    }
    fn stack_pointer(&self) -> usize {
        0
    }
    fn stack_bounds(&self) -> Range<usize> {
        0..0
    }
    fn cpus(&self) -> usize {
        4
    }
    fn start_secondaries(&self) -> usize {
        for cpu in 1..4 {
            std::thread::spawn(move || secondary(&THREADS, cpu));
        }
        3
    }
}

static THREADS: Threads = Threads;
const FLAT: &[u8] = include_bytes!("flat-64.bin");

#[test]
fn other_threads_hammer_while_the_last_files_finish() {
    let mut report = String::new();
    let virt = FLAT.as_ptr().expose_provenance();
    // SAFETY: a static, never written, its provenance exposed.
    let image = unsafe { Image::new(0x4800_0000, virt, FLAT.len()) };
    let status = run(&mut report, image, &THREADS, 0);
    print!("{report}");
    assert_eq!(status, Status::Ok);
    let smp = report
        .lines()
        .find(|l| l.starts_with("luo-stub: smp "))
        .expect("an smp line");
    assert!(smp.starts_with("luo-stub: smp cpus=4 lookups="), "{smp}");
    for part in [
        "after_finish=0",
        "finish_runs=1",
        "early_finish=0",
        "wrong=0",
        "errors=0",
    ] {
        assert!(smp.contains(part), "{smp}");
    }
}
