//! Replays every committed fuzz input through the target bodies, on stable: each file of
//! `fuzz/corpus/<target>/` and each crash input `fuzz/artifacts/<target>/crash-*`, so a crash
//! found once stays fixed. Also checks that `fuzz/` and `fuzz::TARGETS` name the same targets.

use std::collections::BTreeSet;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use liveupdate_host_tests::fuzz::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Regular files of `dir` whose name starts with `prefix`, sorted; none if `dir` is absent.
fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = read
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

/// Names of the sub-folders of `dir`.
fn subdirs(dir: &Path) -> BTreeSet<String> {
    let Ok(read) = fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    read.map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect()
}

#[test]
fn every_committed_input_replays() {
    let fuzz = fuzz_dir();
    let mut failures = Vec::new();
    let mut total = 0;
    for &(name, body) in TARGETS {
        let corpus = files(&fuzz.join("corpus").join(name), "");
        let crashes = files(&fuzz.join("artifacts").join(name), "crash-");
        assert!(!corpus.is_empty(), "target {name} has no committed corpus");
        for path in corpus.iter().chain(&crashes) {
            let data = fs::read(path).expect("readable input");
            if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
        println!(
            "{name}: replayed {} corpus and {} crash inputs",
            corpus.len(),
            crashes.len()
        );
        total += corpus.len() + crashes.len();
    }
    println!("replayed {total} inputs over {} targets", TARGETS.len());
    assert!(
        failures.is_empty(),
        "{} input(s) fail (the panic of each is printed above):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fuzz_project_and_bodies_name_the_same_targets() {
    let fuzz = fuzz_dir();
    let listed: BTreeSet<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(listed.len(), TARGETS.len(), "a target is listed twice");

    let manifest = fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut files = BTreeSet::new();
    for path in self::files(&fuzz.join("fuzz_targets"), "") {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name");
        let text = fs::read_to_string(&path).expect("readable target");
        let call = format!("liveupdate_host_tests::fuzz::{name}(data)");
        assert!(
            text.contains(&call),
            "{} does not call {call}",
            path.display()
        );
        let bin = format!("name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\"");
        assert!(
            manifest.contains(&bin),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        files.insert(name.to_owned());
    }
    assert_eq!(files, listed, "fuzz/fuzz_targets/ and fuzz::TARGETS differ");

    // Inputs filed under a name that is no target would never be replayed.
    for sub in ["corpus", "artifacts"] {
        let stray: Vec<_> = subdirs(&fuzz.join(sub))
            .difference(&listed)
            .cloned()
            .collect();
        assert!(
            stray.is_empty(),
            "fuzz/{sub}/ has folders of no target: {stray:?}"
        );
    }
}
