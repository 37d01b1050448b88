//! The layout rules of src/ffi (see its mod.rs), checked on the sources:
//!
//! - every exported `Prefix_Member` function, opaque handle type and handler typedef
//!   is in the file that the table in src/ffi/mod.rs gives for its class;
//! - every file there opens with a `//!` comment that says what it may import;
//! - the members both socket classes share (MessageWebSocket_X / StreamWebSocket_X,
//!   and the same of their Control and Information) are the same in both classes'
//!   files, doc comment and body, up to the class name, but for the differences
//!   listed in `DOC_DIFFERENCES`.
//!
//! Why copies and a check rather than generated code: cbindgen reads only real
//! functions, so each C symbol needs its own `extern "C" fn` with its own doc
//! comment, and a few of those docs differ on purpose; the bodies are thin calls into
//! the core (the longer ones into ffi/websocket.rs). Generating the StreamWebSocket
//! files would need markers around the generated members, overrides for the docs that
//! differ and rustfmt in the loop; comparing the copies needs none of that.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn ffi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi")
}

/// Every .rs file under src/ffi, by its path relative to src/ffi ('/'-separated).
fn ffi_files() -> BTreeMap<String, String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read src/ffi") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(base).expect("under src/ffi");
                let rel: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                let text = std::fs::read_to_string(&path).expect("read a source file");
                out.insert(rel.join("/"), text);
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(&ffi_dir(), &ffi_dir(), &mut files);
    files
}

/// The table of src/ffi/mod.rs: C prefix (without the `_`) → file.
fn prefix_table(mod_rs: &str) -> BTreeMap<String, String> {
    let mut table = BTreeMap::new();
    for line in mod_rs.lines() {
        let Some(row) = line.strip_prefix("//! ") else {
            continue;
        };
        let Some((prefixes, file)) = row.rsplit_once('|') else {
            continue;
        };
        let file = file.trim();
        if !file.ends_with(".rs") {
            continue;
        }
        for part in prefixes.split('`').skip(1).step_by(2) {
            let prefix = part.strip_suffix('_').unwrap_or_else(|| {
                panic!("src/ffi/mod.rs table: `{part}` should be a C prefix ending in _")
            });
            let old = table.insert(prefix.to_owned(), file.to_owned());
            assert!(
                old.is_none(),
                "src/ffi/mod.rs table: {prefix}_ is listed twice"
            );
        }
    }
    assert!(
        table.len() > 20,
        "src/ffi/mod.rs: the table of C prefixes was not found (rows: `Prefix_` | file.rs)"
    );
    table
}

/// An item of a source file: its doc comment and attributes, and its text.
struct Item {
    name: String,
    file: String,
    /// The `///` lines, without the `///`.
    doc: Vec<String>,
    /// From the item's first line to its last, attributes excluded.
    code: Vec<String>,
}

/// The top-level `pub extern "C" fn`, `pub struct` and `pub type` items of a file
/// as rustfmt lays them out (the item ends at the first line that starts with `}`,
/// `>;` or `);`, or on its first line when that ends with `;`).
fn items(file: &str, text: &str) -> Vec<Item> {
    let lines: Vec<&str> = text.lines().collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let name = ["pub extern \"C\" fn ", "pub struct ", "pub type "]
            .iter()
            .find_map(|kw| line.strip_prefix(kw))
            .map(|rest| {
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            });
        let Some(name) = name else {
            i += 1;
            continue;
        };
        let mut first = i;
        while first > 0
            && (lines[first - 1].starts_with("///") || lines[first - 1].starts_with("#["))
        {
            first -= 1;
        }
        let doc = lines[first..i]
            .iter()
            .filter_map(|l| l.strip_prefix("///"))
            .map(|l| l.trim().to_owned())
            .collect();
        let mut last = i;
        if line.starts_with("pub type ") {
            // A typedef rustfmt wrapped ends at its first `;`.
            last = (i..lines.len())
                .find(|&j| lines[j].ends_with(';'))
                .unwrap_or_else(|| panic!("{file}: the end of {name} was not found"));
        } else if !line.ends_with(';') {
            last = (i + 1..lines.len())
                .find(|&j| {
                    ["}", ">;", ");"]
                        .iter()
                        .any(|end| lines[j].starts_with(end))
                })
                .unwrap_or_else(|| panic!("{file}: the end of {name} was not found"));
        }
        items.push(Item {
            name,
            file: file.to_owned(),
            doc,
            code: lines[i..=last].iter().map(|l| l.to_string()).collect(),
        });
        i = last + 1;
    }
    items
}

fn prefix_of(function: &str) -> &str {
    function.split('_').next().unwrap_or_default()
}

/// The class a handler typedef belongs to: the type of its sender (`Completed<X>`
/// or the first `*mut X` parameter other than the context).
fn handler_class(item: &Item) -> Option<String> {
    let code = item.code.join(" ");
    if let Some(rest) = code.split("Completed<").nth(1) {
        return rest.split('>').next().map(str::to_owned);
    }
    code.split("*mut ")
        .skip(1)
        .map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
        })
        .find(|t| *t != "c_void")
        .map(str::to_owned)
}

#[test]
fn every_c_function_is_in_the_file_of_its_class() {
    let files = ffi_files();
    let table = prefix_table(&files["mod.rs"]);
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    // A handler with no sender (DispatcherQueueHandler, RtwsLogHandler) belongs to
    // the class of the function that takes it.
    let all_functions: Vec<Item> = files
        .iter()
        .flat_map(|(file, text)| items(file, text))
        .filter(|it| it.code[0].starts_with("pub extern \"C\" fn "))
        .collect();
    let taker_class = |typedef: &str| {
        all_functions
            .iter()
            .find(|f| f.code.iter().any(|l| l.contains(&format!(": {typedef},"))))
            .map(|f| prefix_of(&f.name).to_owned())
    };
    for (file, text) in &files {
        // Every export must be seen by the parser below.
        let exports = text.lines().filter(|l| *l == "#[no_mangle]").count();
        let parsed = items(file, text);
        let functions: Vec<&Item> = parsed
            .iter()
            .filter(|it| it.code[0].starts_with("pub extern \"C\" fn "))
            .collect();
        if exports != functions.len() {
            problems.push(format!(
                "{file}: {exports} #[no_mangle] items but {} `pub extern \"C\" fn` items: \
                 this test reads only the latter (one per line, rustfmt's layout)",
                functions.len()
            ));
        }
        for item in &parsed {
            let class = if item.code[0].starts_with("pub extern \"C\" fn ") {
                prefix_of(&item.name).to_owned()
            } else if item.code[0].starts_with("pub struct ")
                && item.code.iter().any(|l| l.contains("_private: [u8; 0]"))
            {
                item.name.clone()
            } else if item.code[0].starts_with("pub type ") && item.name.contains("Handler") {
                match handler_class(item).or_else(|| taker_class(&item.name)) {
                    Some(class) => class,
                    None => {
                        problems.push(format!(
                            "{file}: neither the sender of {} nor a function taking it found",
                            item.name
                        ));
                        continue;
                    }
                }
            } else {
                continue;
            };
            match table.get(&class) {
                None => problems.push(format!(
                    "{file}: {} belongs to {class}, which the table of src/ffi/mod.rs does not \
                     list: add a row `{class}_` | <its file>",
                    item.name
                )),
                Some(want) if want != file => problems.push(format!(
                    "{file}: {} belongs to {class}, whose file is {want} (table of \
                     src/ffi/mod.rs): move it there",
                    item.name
                )),
                Some(_) => {
                    used.insert(class);
                }
            }
        }
    }
    for (prefix, file) in &table {
        if !used.contains(prefix) {
            problems.push(format!(
                "src/ffi/mod.rs lists {prefix}_ in {file}, which has nothing of it"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn every_ffi_file_says_what_it_is_for_and_what_it_may_import() {
    let mut problems = Vec::new();
    for (file, text) in ffi_files() {
        let head: Vec<&str> = text.lines().take_while(|l| l.starts_with("//!")).collect();
        if head.is_empty() {
            problems.push(format!("{file}: does not open with a //! comment"));
        } else if !head.iter().any(|l| l.contains("Imports:")) {
            problems.push(format!(
                "{file}: its //! comment does not say what it may import (`Imports: ...`)"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

// ----- The members both socket classes share ----------------------------------------

/// The files of the two socket classes, in pairs: MessageWebSocket's, StreamWebSocket's.
const CLASS_FILES: [(&str, &str); 3] = [
    ("message_websocket/mod.rs", "stream_websocket/mod.rs"),
    (
        "message_websocket/control.rs",
        "stream_websocket/control.rs",
    ),
    (
        "message_websocket/information.rs",
        "stream_websocket/information.rs",
    ),
];

/// Members that one class has and the other has not (by design, as in UWP). A
/// member added to one class only must be listed here, so that a member forgotten
/// in the other class does not go unnoticed.
const CLASS_SPECIFIC: &[&str] = &[
    "MessageWebSocketMessageReceivedHandler",
    "MessageWebSocket_SendNonfinalFrameAsync",
    "MessageWebSocket_SendFinalFrameAsync",
    "MessageWebSocket_add_MessageReceived",
    "MessageWebSocket_add_MessageReceivedEx",
    "MessageWebSocket_remove_MessageReceived",
    "MessageWebSocketControl_get_MessageType",
    "MessageWebSocketControl_put_MessageType",
    "MessageWebSocketControl_get_MaxMessageSize",
    "MessageWebSocketControl_put_MaxMessageSize",
    "MessageWebSocketControl_get_ReceiveMode",
    "MessageWebSocketControl_put_ReceiveMode",
    "StreamWebSocket_get_InputStream",
    "StreamWebSocketControl_get_NoDelay",
    "StreamWebSocketControl_put_NoDelay",
];

/// The doc comments of shared members that differ on purpose: in the
/// MessageWebSocket member's doc (its class names already mapped to
/// StreamWebSocket; whitespace collapsed), the first text is replaced with the
/// second before it is compared with the StreamWebSocket member's. Everything else
/// of the two docs must match. Each entry: member (StreamWebSocket name), the
/// MessageWebSocket text, the StreamWebSocket text, why.
const DOC_DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    (
        "StreamWebSocket_Create",
        "defaults: MessageType Binary, MaxMessageSize 0xFFFFFFFF, ReceiveMode FullMessage.",
        "defaults (NoDelay true).",
        "each class has its own settings",
    ),
    (
        "StreamWebSocket_get_OutputStream",
        "`DataWriter_StoreAsync`) sends one whole message of the Control's MessageType at \
         the time of the call.",
        "`DataWriter_StoreAsync` or `IOutputStream_WriteAsync`) sends one binary message, \
         completing once the kernel has taken it.",
        "a StreamWebSocket has no MessageType: it sends binary messages only",
    ),
    (
        "StreamWebSocket_ConnectAsync",
        "properties other than MessageType cannot change",
        "properties cannot change",
        "MessageType, which StreamWebSocket has not, may change at any time",
    ),
    (
        "StreamWebSocket_add_Closed",
        "per established connection, after its last MessageReceived, with",
        "per established connection, with",
        "a StreamWebSocket has no MessageReceived",
    ),
    (
        "StreamWebSocket_add_Closed",
        "1002, 1007, 1009).",
        "1002, 1003 for a text message, 1007). A failure also reaches pending and later \
         reads of the InputStream.",
        "a StreamWebSocket takes binary messages only, of any size, into its InputStream",
    ),
    (
        "StreamWebSocket_remove_Closed",
        "Removes a Closed handler, with the guarantee of remove_MessageReceived.",
        "Removes a Closed handler. Once this returns, the handler is not called again (it \
         waits for a running one on another thread; not from inside a handler of this \
         socket). Unknown tokens are ignored.",
        "the MessageWebSocket doc refers to remove_MessageReceived, which StreamWebSocket \
         has not",
    ),
    (
        "StreamWebSocketControl_put_SendTimeout",
        "sends fail with `WININET_E_TIMEOUT`, a MessageReceived reports it, and Closed",
        "sends and reads fail with `WININET_E_TIMEOUT`, and Closed",
        "a failure reaches a StreamWebSocket's reads, a MessageWebSocket's MessageReceived",
    ),
    (
        "StreamWebSocketControl_get_ReceiveTimeout",
        "(default 30 s, as UWP). An idle",
        "(default 30 s, as UWP); time while 1 MiB waits unread in the InputStream does \
         not count. An idle",
        "only a StreamWebSocket holds the server back while its input is unread",
    ),
    (
        "StreamWebSocketControl_put_ReceiveTimeout",
        "When it runs out, a MessageReceived reports `WININET_E_TIMEOUT` and Closed",
        "When it runs out, reads fail with `WININET_E_TIMEOUT` and Closed",
        "a failure reaches a StreamWebSocket's reads, a MessageWebSocket's MessageReceived",
    ),
];

const DOC_FIX: &str = "Make both the same (they are one member of both classes), or, if \
                       the doc's difference is meant, add it to DOC_DIFFERENCES in \
                       tests/ffi_layout.rs with the reason.";

fn to_stream(text: &str) -> String {
    text.replace("MessageWebSocket", "StreamWebSocket")
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The code with what rustfmt lays out differently for names of different lengths
/// taken out: whitespace, a trailing comma before a closing bracket, and the braces
/// of a closure whose body is one expression (`|| { f(x) }` is `|| f(x)`).
fn normalize_code(code: &[String]) -> String {
    let text: String = code
        .join("\n")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut text = text
        .replace(",)", ")")
        .replace(",]", "]")
        .replace(",}", "}");
    let mut from = 0;
    while let Some(at) = text[from..].find("|{").map(|i| i + from) {
        // `|{` ends a closure's parameter list (`||{`, `|h|{`) in rustfmt's layout.
        let open = at + 1;
        let mut depth = 0;
        let mut close = None;
        let mut statement = false;
        for (i, c) in text[open..].char_indices() {
            match c {
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                ';' if depth == 1 => statement = true,
                _ => {}
            }
        }
        match close {
            Some(close) if !statement => {
                text.replace_range(close..=close, "");
                text.replace_range(open..=open, "");
            }
            _ => from = open,
        }
    }
    text
}

/// A line diff of `a` and `b` (longest common subsequence) with 3 lines of context,
/// for the failure message.
fn line_diff(a: &[String], b: &[String]) -> String {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            lines.push((' ', &a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', &a[i]));
            i += 1;
        } else {
            lines.push(('+', &b[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        lines[k.saturating_sub(3)..(k + 4).min(lines.len())]
            .iter()
            .any(|(tag, _)| *tag != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line)) in lines.iter().enumerate() {
        if near_change(k) {
            if skipped {
                out.push_str("    ...\n");
                skipped = false;
            }
            let _ = writeln!(out, "    {tag} {line}");
        } else {
            skipped = true;
        }
    }
    if skipped {
        out.push_str("    ...\n");
    }
    out
}

fn full_text(item: &Item) -> Vec<String> {
    item.doc
        .iter()
        .map(|l| format!("/// {l}").trim_end().to_owned())
        .chain(item.code.iter().cloned())
        .collect()
}

#[test]
fn the_members_both_socket_classes_share_do_not_drift_apart() {
    let files = ffi_files();
    let mut problems = Vec::new();
    let mut differences_used = BTreeSet::new();
    let mut specific_seen = BTreeSet::new();
    for (message_file, stream_file) in CLASS_FILES {
        let message: BTreeMap<String, Item> = items(message_file, &files[message_file])
            .into_iter()
            .map(|it| (to_stream(&it.name), it))
            .collect();
        let stream: BTreeMap<String, Item> = items(stream_file, &files[stream_file])
            .into_iter()
            .map(|it| (it.name.clone(), it))
            .collect();
        for (name, item) in message.iter().filter(|(n, _)| !stream.contains_key(*n)) {
            if CLASS_SPECIFIC.contains(&item.name.as_str()) {
                specific_seen.insert(item.name.clone());
            } else {
                problems.push(format!(
                    "{} ({message_file}) has no {name} in {stream_file}: add it there (with \
                     the same doc comment and body), or, if StreamWebSocket must not have \
                     it, list {} in CLASS_SPECIFIC (tests/ffi_layout.rs)",
                    item.name, item.name
                ));
            }
        }
        for name in stream.keys().filter(|n| !message.contains_key(*n)) {
            if CLASS_SPECIFIC.contains(&name.as_str()) {
                specific_seen.insert(name.clone());
            } else {
                let other = name.replacen("StreamWebSocket", "MessageWebSocket", 1);
                problems.push(format!(
                    "{name} ({stream_file}) has no {other} in {message_file}: add it there \
                     (with the same doc comment and body), or, if MessageWebSocket must not \
                     have it, list {name} in CLASS_SPECIFIC (tests/ffi_layout.rs)",
                ));
            }
        }
        for (name, m) in &message {
            let Some(s) = stream.get(name) else { continue };
            // The MessageWebSocket member as it would read in the StreamWebSocket file.
            let mapped = Item {
                name: name.clone(),
                file: m.file.clone(),
                doc: m.doc.iter().map(|l| to_stream(l)).collect(),
                code: m.code.iter().map(|l| to_stream(l)).collect(),
            };
            let mut want_doc = collapse(&mapped.doc.join(" "));
            for (i, (member, from, to, _why)) in DOC_DIFFERENCES.iter().enumerate() {
                if member != name {
                    continue;
                }
                let (from, to) = (collapse(from), collapse(to));
                if want_doc.matches(&from).count() == 1 {
                    want_doc = want_doc.replacen(&from, &to, 1);
                    differences_used.insert(i);
                }
            }
            let doc_same = want_doc == collapse(&s.doc.join(" "));
            let code_same = normalize_code(&mapped.code) == normalize_code(&s.code);
            if !(doc_same && code_same) {
                let (what, fix) = match (doc_same, code_same) {
                    (false, false) => ("doc comment and body", DOC_FIX),
                    (false, true) => ("doc comment", DOC_FIX),
                    _ => (
                        "body",
                        "Make both the same: they are one member of both classes.",
                    ),
                };
                problems.push(format!(
                    "{} ({}) and {name} ({}) differ in their {what} beyond the class name \
                     (- the MessageWebSocket member with its class names mapped, + the \
                     StreamWebSocket member):\n{}  {fix}",
                    m.name,
                    m.file,
                    s.file,
                    line_diff(&full_text(&mapped), &full_text(s))
                ));
            }
        }
    }
    for (i, (member, from, _to, _why)) in DOC_DIFFERENCES.iter().enumerate() {
        if !differences_used.contains(&i) {
            problems.push(format!(
                "DOC_DIFFERENCES (tests/ffi_layout.rs) entry {i} for {member}: its \
                 MessageWebSocket text \"{from}\" is not in that member's doc (once): update \
                 or remove the entry"
            ));
        }
    }
    for name in CLASS_SPECIFIC {
        if !specific_seen.contains(*name) {
            problems.push(format!(
                "CLASS_SPECIFIC (tests/ffi_layout.rs) lists {name}, which is not a member of \
                 one socket class only: remove it"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

#[test]
fn the_code_normalization_keeps_what_matters() {
    let norm = |s: &str| normalize_code(&[s.to_owned()]);
    assert_eq!(norm("call(|| {\n    f(x, y)\n})"), norm("call(|| f(x, y))"));
    assert_eq!(norm("g(\n    a,\n    b,\n)"), norm("g(a, b)"));
    assert_eq!(
        norm("add(this, |h| {\n    Ok(s.add(h))\n})"),
        norm("add(this, |h| Ok(s.add(h)))")
    );
    assert_ne!(norm("call(|| { f(x); })"), norm("call(|| f(x))"));
    assert_ne!(norm("call(|| f(x))"), norm("call(|| f(y))"));
}

// ----- The members the async operation classes share --------------------------------

/// The four async operation classes: file, class, its Completed handler's typedef.
const ASYNC_CLASSES: [(&str, &str, &str); 4] = [
    (
        "async_op/async_action.rs",
        "IAsyncAction",
        "AsyncActionCompletedHandler",
    ),
    (
        "async_op/async_operation_uint32.rs",
        "IAsyncOperationUInt32",
        "AsyncOperationCompletedHandlerUInt32",
    ),
    (
        "async_op/async_operation_boolean.rs",
        "IAsyncOperationBoolean",
        "AsyncOperationCompletedHandlerBoolean",
    ),
    (
        "async_op/async_operation_ibuffer.rs",
        "IAsyncOperationIBuffer",
        "AsyncOperationCompletedHandlerIBuffer",
    ),
];

/// The members whose result type makes them differ (each class documents its own).
const ASYNC_RESULT_MEMBERS: [&str; 3] = ["GetResults", "Wait", "Complete"];

/// Every exported member of the async operation classes but those about the result
/// is the same in all four (one generic body in async_op/mod.rs, four C symbols):
/// the same doc comment and body with the class and handler names mapped.
#[test]
fn the_members_the_async_operation_classes_share_do_not_drift_apart() {
    let files = ffi_files();
    let members = |(file, class, handler): (&str, &str, &str)| -> BTreeMap<String, Vec<String>> {
        items(file, &files[file])
            .into_iter()
            .filter(|it| it.code[0].starts_with("pub extern \"C\" fn "))
            .filter_map(|it| {
                let member = it.name.strip_prefix(&format!("{class}_"))?.to_owned();
                if ASYNC_RESULT_MEMBERS.contains(&member.as_str()) {
                    return None;
                }
                let map = |l: &String| l.replace(handler, "HANDLER").replace(class, "CLASS");
                let mut text: Vec<String> = it.doc.iter().map(map).collect();
                text.push(normalize_code(&it.code.iter().map(map).collect::<Vec<_>>()));
                Some((member, text))
            })
            .collect()
    };
    let (first, rest) = ASYNC_CLASSES.split_first().expect("four classes");
    let want = members(*first);
    assert!(
        want.len() >= 8,
        "{} members found in {}",
        want.len(),
        first.0
    );
    let mut problems = Vec::new();
    for other in rest {
        let got = members(*other);
        if got.keys().ne(want.keys()) {
            problems.push(format!(
                "{} has the members {:?}, {} has {:?}: every async operation class has \
                 the same ones",
                first.0,
                want.keys().collect::<Vec<_>>(),
                other.0,
                got.keys().collect::<Vec<_>>()
            ));
            continue;
        }
        for (member, text) in &want {
            if got[member] != *text {
                problems.push(format!(
                    "{}_{member} ({}) and {}_{member} ({}) differ beyond their class names \
                     (- the first, + the second):\n{}  Make them the same: they are one \
                     member of every async operation class.",
                    first.1,
                    first.0,
                    other.1,
                    other.0,
                    line_diff(text, &got[member])
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}
