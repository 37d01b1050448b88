//! The C examples in include/rtws.h compile (as curl compiles its examples): every
//! ```c block of a doc comment in the header is compiled, on its own, against the
//! header with the system C compiler, as strict C99 with warnings as errors.
//!
//! How a snippet is compiled: after `PREAMBLE` (below), a snippet that defines a
//! function (a handler: a line that begins with `static `) is put at file scope; any
//! other is the body of a function. `#line` makes the compiler's messages point into
//! include/rtws.h.
//!
//! Flags: `-std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only`, as the CMake
//! header check, plus `-Wno-unused-parameter` (a handler in an example has the
//! signature its typedef requires and uses only the parameters the example is about)
//! and `-Wno-unused-function` (such a handler is defined and not registered).
//!
//! The compiler is `$CC`, else `cc` from PATH; without one, the tests say so and pass.
//! A doc fix is made in the Rust doc comment, then `RTWS_BLESS=1 cargo test --test
//! header` regenerates the header.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Declares the free variables the examples use, with the types of the
/// MessageWebSocket examples; for an example that names StreamWebSocket, every
/// MessageWebSocket here is read as StreamWebSocket (the StreamWebSocket docs are the
/// MessageWebSocket ones with the class name mapped: see tests/ffi_layout.rs).
/// `extern` so that an example need not use them all, and may declare its own
/// (which then hide these).
const PREAMBLE: &str = r#"#include <stdio.h>  /* puts, printf */
#include <stdlib.h> /* malloc */
#include "rtws.h"
extern MessageWebSocket *ws;                 /* a socket */
extern MessageWebSocketControl *control, *c; /* its Control */
extern IAsyncAction *connect;                /* its ConnectAsync */
extern IInputStream *input;                  /* a stream to read */
extern DataReader *r;                        /* a reader with bytes loaded */
extern DispatcherQueue *queue;               /* a queue the host runs */
"#;

const FLAGS: &[&str] = &[
    "-std=c99",
    "-pedantic",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-unused-function",
    "-fsyntax-only",
    "-x",
    "c",
    "-",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Snippet {
    /// The line of include/rtws.h where the snippet's first line is.
    line: usize,
    /// The function the doc comment documents (the declaration after it).
    function: String,
    text: String,
}

/// Every ```c block of include/rtws.h, without the comment's ` * `.
fn snippets(header: &str) -> Vec<Snippet> {
    let lines: Vec<&str> = header.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "* ```c" {
            i += 1;
            continue;
        }
        let first = i + 1;
        let mut end = first;
        while lines
            .get(end)
            .is_some_and(|l| l.trim() != "* ```" && l.trim() != "*/")
        {
            end += 1;
        }
        assert_eq!(
            lines.get(end).map(|l| l.trim()),
            Some("* ```"),
            "include/rtws.h:{first}: a ```c block without its closing ```"
        );
        let text = lines[first..end]
            .iter()
            .map(|l| {
                let l = l.trim_start();
                l.strip_prefix("* ").or(l.strip_prefix('*')).unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        // The declaration after the comment: the function's name is before its `(`.
        let function = lines[end..]
            .iter()
            .skip_while(|l| !l.trim_start().starts_with("*/"))
            .nth(1)
            .and_then(|decl| decl.split('(').next())
            .and_then(|head| head.split_whitespace().last())
            .unwrap_or("?")
            .trim_start_matches('*')
            .to_owned();
        out.push(Snippet {
            line: first + 1,
            function,
            text,
        });
        i = end + 1;
    }
    out
}

/// The translation unit that compiles one snippet.
fn translation_unit(snippet: &Snippet) -> String {
    let mut preamble = PREAMBLE.to_owned();
    if snippet.text.contains("StreamWebSocket") {
        preamble = preamble.replace("MessageWebSocket", "StreamWebSocket");
    }
    let header = root().join("include/rtws.h");
    let line = format!("#line {} \"{}\"\n", snippet.line, header.display());
    if snippet.text.lines().any(|l| l.starts_with("static ")) {
        format!("{preamble}{line}{}\n", snippet.text)
    } else {
        format!(
            "{preamble}void rtws_example(void);\nvoid rtws_example(void) {{\n{line}{}\n}}\n",
            snippet.text
        )
    }
}

/// `$CC` (which may have arguments, as `ccache cc`), else `cc`.
fn compiler() -> String {
    std::env::var("CC")
        .ok()
        .filter(|cc| !cc.trim().is_empty())
        .unwrap_or_else(|| "cc".to_owned())
}

fn compiler_command() -> Command {
    let cc = compiler();
    let mut words = cc.split_whitespace();
    let mut command = Command::new(words.next().expect("a non-empty compiler"));
    command.args(words);
    command
}

/// Whether the C compiler runs; if not, says so (the caller then skips).
fn have_compiler() -> bool {
    match compiler_command().arg("--version").output() {
        Ok(out) if out.status.success() => true,
        _ => {
            eprintln!(
                "SKIPPED: no C compiler ({} from $CC or PATH): the C examples in \
                 include/rtws.h were not compiled",
                compiler()
            );
            false
        }
    }
}

/// Compiles `source` (-fsyntax-only); the compiler's messages on failure.
fn compile(source: &str) -> Result<(), String> {
    let include = root().join("include");
    let mut child = compiler_command()
        .args(FLAGS)
        .arg(format!("-I{}", include.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the C compiler");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(source.as_bytes())
        .expect("write the example to the compiler");
    let out = child.wait_with_output().expect("run the C compiler");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The Rust file under src/ffi that defines `function`, for the failure message.
fn rust_file_of(function: &str) -> String {
    fn find(dir: &Path, needle: &str) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()? {
            let path = entry.ok()?.path();
            if path.is_dir() {
                if let Some(found) = find(&path, needle) {
                    return Some(found);
                }
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle)) {
                return Some(path);
            }
        }
        None
    }
    let needle = format!("pub extern \"C\" fn {function}(");
    find(&root().join("src/ffi"), &needle).map_or_else(
        || "src/ffi".to_owned(),
        |p| p.strip_prefix(root()).unwrap_or(&p).display().to_string(),
    )
}

#[test]
fn the_c_examples_in_the_header_compile() {
    if !have_compiler() {
        return;
    }
    let header = std::fs::read_to_string(root().join("include/rtws.h")).expect("read rtws.h");
    let snippets = snippets(&header);
    assert_eq!(
        snippets.len(),
        header.matches("```c").count(),
        "every ```c block of include/rtws.h is found"
    );
    assert!(!snippets.is_empty(), "include/rtws.h has C examples");
    let mut failures = Vec::new();
    for snippet in &snippets {
        if let Err(messages) = compile(&translation_unit(snippet)) {
            failures.push(format!(
                "The C example of {} (include/rtws.h:{}) does not compile. Fix the ```c \
                 block of its doc comment in {}, then run `RTWS_BLESS=1 cargo test --test \
                 header`.\n{}",
                snippet.function,
                snippet.line,
                rust_file_of(&snippet.function),
                messages
            ));
        }
    }
    eprintln!(
        "{} of {} C examples in include/rtws.h compile ({} {})",
        snippets.len() - failures.len(),
        snippets.len(),
        compiler(),
        FLAGS.join(" ")
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The check itself works: the preamble compiles, its `ws` has the type of the
/// example's class, and an example that does not compile is caught.
#[test]
fn a_broken_example_fails() {
    if !have_compiler() {
        return;
    }
    let example = |text: &str| Snippet {
        line: 1,
        function: "test".to_owned(),
        text: text.to_owned(),
    };
    for good in [
        "",
        "MessageWebSocket_Close(ws);",
        "StreamWebSocket_Close(ws);",
    ] {
        compile(&translation_unit(&example(good)))
            .unwrap_or_else(|e| panic!("`{good}` compiles after the preamble: {e}"));
    }
    for broken in [
        "undeclared_function();",
        "MessageWebSocket_Close(control);",
        "if (ws) { ... }",
        "int set_but_never_read = 0; set_but_never_read = 1;",
    ] {
        compile(&translation_unit(&example(broken)))
            .expect_err(&format!("`{broken}` fails to compile"));
    }
}
