//! The layers of rtws-core import only downward: `net` ← `session` ← `winrt`.
//! The compiler enforces the crate boundaries (rtws-types ← rtws-protocol ←
//! rtws-core ← rtws); this test enforces the order of the modules inside
//! rtws-core, which the compiler cannot: every `crate::<layer>` a file names
//! must be its own layer or one below.

use std::path::Path;

/// Bottom first.
const LAYERS: &[&str] = &["net", "session", "winrt"];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layers `text` names through `crate::`, with the line of each.
fn named_layers(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(layer) = LAYERS.iter().find(|l| {
                rest.starts_with(*l)
                    && !rest[l.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            }) {
                found.push((n + 1, *layer));
            }
        }
    }
    found
}

#[test]
fn no_file_imports_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut checked = 0;
    for (rank, layer) in LAYERS.iter().enumerate() {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no sources under src/{layer}");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            for (line, named) in named_layers(&text) {
                let named_rank = LAYERS.iter().position(|l| *l == named).expect("a layer");
                if named_rank > rank {
                    violations.push(format!(
                        "{}:{line}: `{layer}` imports `{named}`, a layer above it",
                        file.strip_prefix(&src).unwrap_or(&file).display()
                    ));
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} files found");
    assert!(
        violations.is_empty(),
        "upward imports (the order is {LAYERS:?}, bottom first; report upward \
         through a trait the lower layer defines, as session::report does):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    let sample = "use crate::winrt::socket::Socket; // crate::session in a comment\n\
                  let x = crate::net::wire::f();\nuse crate::networking;";
    assert_eq!(named_layers(sample), vec![(1, "winrt"), (2, "net")]);
}
