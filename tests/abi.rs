//! The ABI guard: what include/rtws.h declares is committed as two lists, and this
//! test fails when the header no longer matches them.
//!
//! - `tests/abi/symbols.txt`: every function, one per line as a normalized C
//!   declaration (parameter names dropped, whitespace normalized), sorted by name;
//! - `tests/abi/types.txt`: what programs compile into themselves: the typedefs
//!   (opaque handles, value structs with their fields, handler signatures), every
//!   enumerator with its value and every `#define` (HRESULTs, flags, macros), but
//!   the version numbers, which change with every release.
//!
//! A removed or changed line breaks programs built against the old header; a new
//! line is a compatible addition. Either way the test fails until the lists are
//! blessed, so they stay complete and every ABI change shows in review:
//! `RTWS_BLESS=1 cargo test --test abi`. The policy (README.md, "Versions and
//! compatibility"): a removal or change needs a new SONAME version (the next
//! 0.MINOR while rtws is 0.x, the next MAJOR from 1.0 on), an addition a new minor
//! release (0.x: patch).
//!
//! The header is read as a C99 compiler reads it (not C++, not C23, without
//! `RTWS_SYSTEM_HRESULTS`), by the small parser below, made for cbindgen's output.
//! The test also checks the built library against the header: its exported
//! functions (`nm -D`) are exactly those the header declares, and its SONAME is
//! `librtws.so.SOVERSION` (build.rs). Those two checks are skipped, saying so, when
//! binutils is not installed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `#define`s that are not ABI: the include guard and the version numbers.
const NOT_ABI: &[&str] = &[
    "RTWS_H",
    "RTWS_VERSION_MAJOR",
    "RTWS_VERSION_MINOR",
    "RTWS_VERSION_PATCH",
    "RTWS_VERSION_STRING",
];

// ---------------------------------------------------------------------------------
// Reading the header.

/// `text` without its comments (`/* */` and `//`); string and character literals
/// are kept as they are. Newlines inside block comments are kept, so lines stay
/// lines.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                out.push(' ');
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' | '\'' => {
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// C tokens: identifiers and numbers (with their suffixes), string literals, and
/// every other character on its own (`||`, `&&`, `>=` ... as two).
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(chars[start..i.min(chars.len())].iter().collect());
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn is_word(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"')
}

fn is_identifier(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Tokens back to text, spaced one way: `const char *`, `char **`,
/// `void (*)(void *, bool)`, `struct { int64_t Duration; }`, `= -1`.
fn render(tokens: &[String]) -> String {
    let mut out = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let token = token.as_str();
        if i > 0 {
            let prev = tokens[i - 1].as_str();
            // A minus that follows an operator or a parenthesis is a sign.
            let sign = prev == "-" && (i < 2 || !(is_word(&tokens[i - 2]) || tokens[i - 2] == ")"));
            let space = match (prev, token) {
                (_, ")" | "," | ";" | "]" | "[") => false,
                ("(" | "[", _) => false,
                ("*", _) if token != "{" && token != "=" => false,
                (")", "(") => false,
                _ => !sign,
            };
            if space {
                out.push(' ');
            }
        }
        out.push_str(token);
    }
    out
}

/// The value of a `#if` condition as a C99 compiler sees this header: `defined`
/// macros are those defined so far, `__STDC_VERSION__` is 199901L, any other name is 0.
fn eval_condition(expr: &[String], defined: &BTreeSet<String>) -> bool {
    struct Parser<'a> {
        t: &'a [String],
        i: usize,
        defined: &'a BTreeSet<String>,
    }
    impl<'a> Parser<'a> {
        fn peek(&self) -> Option<&'a str> {
            self.t.get(self.i).map(String::as_str)
        }
        fn peek2(&self) -> Option<&'a str> {
            self.t.get(self.i + 1).map(String::as_str)
        }
        fn eat(&mut self, s: &str) -> bool {
            if self.peek() == Some(s) {
                self.i += 1;
                true
            } else {
                false
            }
        }
        fn or(&mut self) -> i64 {
            let mut v = self.and();
            while self.peek() == Some("|") && self.peek2() == Some("|") {
                self.i += 2;
                let r = self.and();
                v = i64::from(v != 0 || r != 0);
            }
            v
        }
        fn and(&mut self) -> i64 {
            let mut v = self.compare();
            while self.peek() == Some("&") && self.peek2() == Some("&") {
                self.i += 2;
                let r = self.compare();
                v = i64::from(v != 0 && r != 0);
            }
            v
        }
        fn compare(&mut self) -> i64 {
            let a = self.unary();
            let op = match (self.peek(), self.peek2()) {
                (Some(o @ ("<" | ">" | "=" | "!")), Some("=")) => {
                    self.i += 2;
                    format!("{o}=")
                }
                (Some(o @ ("<" | ">")), _) => {
                    self.i += 1;
                    o.to_string()
                }
                _ => return a,
            };
            let b = self.unary();
            i64::from(match op.as_str() {
                "<" => a < b,
                ">" => a > b,
                "<=" => a <= b,
                ">=" => a >= b,
                "==" => a == b,
                _ => a != b,
            })
        }
        fn unary(&mut self) -> i64 {
            if self.eat("!") {
                return i64::from(self.unary() == 0);
            }
            if self.eat("(") {
                let v = self.or();
                assert!(self.eat(")"), "unbalanced #if condition: {:?}", self.t);
                return v;
            }
            let token = self.peek().expect("truncated #if condition").to_string();
            self.i += 1;
            if token == "defined" {
                let paren = self.eat("(");
                let name = self.peek().expect("defined without a name").to_string();
                self.i += 1;
                if paren {
                    assert!(self.eat(")"), "unbalanced defined(): {:?}", self.t);
                }
                return i64::from(self.defined.contains(&name));
            }
            if token == "__STDC_VERSION__" {
                return 199_901;
            }
            if token.starts_with(|c: char| c.is_ascii_digit()) {
                let digits = token.trim_end_matches(['L', 'l', 'U', 'u']);
                return digits.parse().expect("a number in an #if condition");
            }
            0
        }
    }
    let mut parser = Parser {
        t: expr,
        i: 0,
        defined,
    };
    let value = parser.or();
    assert!(parser.i == expr.len(), "unparsed #if condition: {expr:?}");
    value != 0
}

/// The header's declarations as one C99 compiler sees them: the `#define` lines that
/// are active (collapsed to single spaces), and the other active code, split into
/// top-level declarations at `;`.
fn active_parts(header: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = strip_comments(header).replace("\\\n", " ");
    let mut defines = Vec::new();
    let mut code = String::new();
    let mut defined = BTreeSet::new();
    // Per open #if: (this branch is active, an earlier branch was taken).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let active = |stack: &[(bool, bool)]| stack.iter().all(|&(on, _)| on);
    for line in text.lines() {
        let trimmed = line.trim();
        let Some(directive) = trimmed.strip_prefix('#') else {
            if active(&stack) {
                code.push_str(line);
                code.push('\n');
            }
            continue;
        };
        let toks = tokens(directive);
        let (Some(keyword), rest) = (toks.first().map(String::as_str), &toks[1.min(toks.len())..])
        else {
            continue;
        };
        match keyword {
            "if" | "ifdef" | "ifndef" => {
                let value = match keyword {
                    "if" => eval_condition(rest, &defined),
                    "ifdef" => defined.contains(&rest[0]),
                    _ => !defined.contains(&rest[0]),
                };
                stack.push((value, value));
            }
            "else" => {
                let top = stack.last_mut().expect("#else without #if");
                *top = (!top.1, true);
            }
            "elif" => {
                let taken = stack.last().expect("#elif without #if").1;
                let value = !taken && eval_condition(rest, &defined);
                *stack.last_mut().unwrap() = (value, taken || value);
            }
            "endif" => {
                stack.pop().expect("#endif without #if");
            }
            "define" if active(&stack) => {
                defined.insert(rest[0].clone());
                let words: Vec<&str> = directive.split_whitespace().collect();
                defines.push(format!("#{}", words.join(" ")));
            }
            "include" | "define" | "pragma" => {}
            other => panic!("include/rtws.h: unexpected directive #{other}: teach tests/abi.rs"),
        }
    }
    assert!(stack.is_empty(), "include/rtws.h: an #if is not closed");
    let mut declarations = Vec::new();
    let mut current = Vec::new();
    let mut depth = 0usize;
    for token in tokens(&code) {
        match token.as_str() {
            "{" => depth += 1,
            "}" => depth = depth.checked_sub(1).expect("unbalanced braces in rtws.h"),
            ";" if depth == 0 => {
                declarations.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(token);
    }
    assert!(
        current.is_empty(),
        "include/rtws.h ends inside a declaration: {current:?}"
    );
    (defines, declarations)
}

/// Splits `tokens` at the commas outside parentheses and braces.
fn split_top_level(tokens: &[String], separator: &str) -> Vec<Vec<String>> {
    let mut parts = vec![Vec::new()];
    let mut depth = 0i32;
    for token in tokens {
        match token.as_str() {
            "(" | "{" | "[" => depth += 1,
            ")" | "}" | "]" => depth -= 1,
            t if t == separator && depth == 0 => {
                parts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().unwrap().push(token.clone());
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// A parameter list without the parameter names: `(const char *value, bool *b)` ->
/// `(const char *, bool *)`.
fn unnamed_parameters(params: &[String]) -> Vec<String> {
    let mut out = vec!["(".to_string()];
    for (i, mut param) in split_top_level(params, ",").into_iter().enumerate() {
        let n = param.len();
        let named = n >= 2
            && is_identifier(&param[n - 1])
            && !matches!(param[n - 2].as_str(), "struct" | "enum" | "union")
            && !param.iter().any(|t| t == "(");
        if named {
            param.pop();
        }
        if i > 0 {
            out.push(",".to_string());
        }
        out.extend(param);
    }
    out.push(")".to_string());
    out
}

/// The index of the `)` that closes the `(` at `open`.
fn closing(tokens: &[String], open: usize) -> usize {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.as_str() {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses: {}", render(tokens))
}

/// The ABI of include/rtws.h: (functions, types), each by name.
fn header_abi(header: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let (defines, declarations) = active_parts(header);
    let mut functions = BTreeMap::new();
    let mut types = BTreeMap::new();
    let add = |map: &mut BTreeMap<String, String>, name: String, line: String| {
        if let Some(old) = map.insert(name.clone(), line.clone()) {
            panic!("include/rtws.h declares {name} twice: `{old}` and `{line}`");
        }
    };
    for define in defines {
        let name = define_name(&define);
        if !NOT_ABI.contains(&name.as_str()) {
            add(&mut types, name, define);
        }
    }
    for decl in declarations {
        let first = decl[0].as_str();
        if first == "typedef" {
            let t = typedef_tokens(&decl);
            let line = render(&t);
            add(&mut types, type_name(&line), line);
        } else if first == "enum" && decl.iter().any(|t| t == "{") {
            let open = decl.iter().position(|t| t == "{").unwrap();
            let tag = render(&decl[..open]);
            for enumerator in split_top_level(&decl[open + 1..decl.len() - 1], ",") {
                let line = format!("{tag} {{ {} }}", render(&enumerator));
                add(&mut types, enumerator[0].clone(), line);
            }
        } else if first == "struct" && decl.iter().any(|t| t == "{") {
            let line = render(&decl);
            add(&mut types, decl[1].clone(), line);
        } else {
            let open = decl
                .iter()
                .position(|t| t == "(")
                .unwrap_or_else(|| panic!("include/rtws.h: not a function: {}", render(&decl)));
            let close = closing(&decl, open);
            assert!(
                close == decl.len() - 1 && open >= 2,
                "include/rtws.h: not a plain function declaration: {}",
                render(&decl)
            );
            let mut t = decl[..open].to_vec();
            t.extend(unnamed_parameters(&decl[open + 1..close]));
            add(
                &mut functions,
                decl[open - 1].clone(),
                function_line(&t, open),
            );
        }
    }
    (functions, types)
}

/// A typedef with the parameter names of a function-pointer type dropped.
fn typedef_tokens(decl: &[String]) -> Vec<String> {
    // typedef R (*Name)(params)
    if let Some(star) = decl.windows(2).position(|w| w[0] == "(" && w[1] == "*") {
        let close = closing(decl, star);
        if decl.get(close + 1).map(String::as_str) == Some("(") {
            let end = closing(decl, close + 1);
            let mut t = decl[..=close].to_vec();
            t.extend(unnamed_parameters(&decl[close + 2..end]));
            return t;
        }
    }
    decl.to_vec()
}

/// `RET NAME(params)`, the name glued to its parenthesis (and to a `*` before it).
fn function_line(tokens: &[String], open: usize) -> String {
    let ret = render(&tokens[..open - 1]);
    let space = if ret.ends_with('*') { "" } else { " " };
    format!(
        "{ret}{space}{}{}",
        tokens[open - 1],
        render(&tokens[open..])
    )
}

/// The name a `#define` line defines.
fn define_name(line: &str) -> String {
    let rest = line.trim_start_matches("#define").trim_start();
    rest.split(|c: char| c == '(' || c.is_whitespace())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The name a rendered typedef defines: the function pointer's, else the last word.
fn type_name(line: &str) -> String {
    if let Some(i) = line.find("(*") {
        let rest = &line[i + 2..];
        return rest[..rest.find(')').unwrap()].to_string();
    }
    line.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .find(|s| !s.is_empty())
        .unwrap()
        .to_string()
}

/// The name a committed line declares (the inverse of `header_abi`, for the report).
fn line_name(line: &str) -> String {
    if line.starts_with("#define") {
        define_name(line)
    } else if line.starts_with("typedef") {
        type_name(line)
    } else if let Some(body) = line.strip_prefix("enum ").and_then(|l| l.split_once("{ ")) {
        body.1
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    } else if line.starts_with("struct ") {
        line.split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    } else {
        let head = &line[..line.find('(').unwrap_or(line.len())];
        head.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

// ---------------------------------------------------------------------------------
// The committed lists.

fn list_text(file: &str, what: &str, entries: &BTreeMap<String, String>) -> String {
    let mut text = format!(
        "// {file}: {what} of include/rtws.h, one per line,\n\
         // sorted by name. The committed ABI of librtws, checked by tests/abi.rs: after an\n\
         // intended change `RTWS_BLESS=1 cargo test --test abi` rewrites it (README.md,\n\
         // \"Versions and compatibility\", says which version the change needs).\n"
    );
    for line in entries.values() {
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn read_list(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("//"))
        .map(|l| (line_name(l), l.to_string()))
        .collect()
}

/// What changed from `committed` to `current`, in words; empty when nothing did.
fn differences(
    file: &str,
    committed: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    for (name, line) in committed {
        match current.get(name) {
            None => writeln!(out, "  removed from the header: {line}").unwrap(),
            Some(now) if now != line => {
                writeln!(out, "  changed: {line}\n       to: {now}").unwrap();
            }
            Some(_) => {}
        }
    }
    for (name, line) in current {
        if !committed.contains_key(name) {
            writeln!(out, "  added (not in {file} yet): {line}").unwrap();
        }
    }
    out
}

#[test]
fn the_header_matches_the_committed_abi() {
    let header = std::fs::read_to_string(root().join("include/rtws.h")).expect("include/rtws.h");
    let (functions, types) = header_abi(&header);
    assert!(
        functions.len() > 100 && functions.contains_key("rtws_GetVersion"),
        "the parser found only {} functions in include/rtws.h",
        functions.len()
    );
    let lists = [
        ("tests/abi/symbols.txt", "the functions", &functions),
        (
            "tests/abi/types.txt",
            "the types, enumerators and macros",
            &types,
        ),
    ];
    if std::env::var_os("RTWS_BLESS").is_some() {
        for (file, what, entries) in lists {
            std::fs::create_dir_all(root().join("tests/abi")).expect("mkdir tests/abi");
            std::fs::write(root().join(file), list_text(file, what, entries)).expect("write list");
        }
        return;
    }
    let mut report = String::new();
    for (file, _, entries) in lists {
        let diff = differences(file, &read_list(&root().join(file)), entries);
        if !diff.is_empty() {
            writeln!(report, "{file}:\n{diff}").unwrap();
        }
    }
    assert!(
        report.is_empty(),
        "the ABI of include/rtws.h differs from the committed lists:\n{report}\n\
         A removal or change breaks programs built against the old header: it needs a new \
         SONAME version (Cargo.toml: the next 0.MINOR while rtws is 0.x, the next MAJOR from \
         1.0). An addition is compatible (a new minor release; 0.x: patch). If the change is \
         intended, bless it and commit the lists:\n    RTWS_BLESS=1 cargo test --test abi\n\
         (README.md, \"Versions and compatibility\")"
    );
}

#[test]
fn the_parser_reads_cbindgen_declarations() {
    let header = r#"
#ifndef RTWS_H
#define RTWS_H
#define X_FLAG 4294967295
#define X_OK(hr) (((HRESULT)(hr)) >= 0)
enum Color
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // comment
 {
  Color_Red = 0,
  Color_Blue = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum Color Color;
#else
typedef int32_t Color;
#endif
#endif
typedef struct Thing Thing;
typedef struct {
  int64_t Duration;  /* ticks */
} TimeSpan;
typedef void (*Handler)(void *context,
                        Thing *sender, const char *text);
#ifdef __cplusplus
extern "C" {
#endif
HRESULT Thing_Create(const char *name, Thing **result);
uint32_t Thing_Count(void);
#ifdef __cplusplus
}  // extern "C"
#endif
#endif
"#;
    let (functions, types) = header_abi(header);
    let f: Vec<_> = functions.values().cloned().collect();
    assert_eq!(
        f,
        [
            "uint32_t Thing_Count(void)",
            "HRESULT Thing_Create(const char *, Thing **)"
        ]
    );
    let expected: HashMap<&str, &str> = [
        ("X_FLAG", "#define X_FLAG 4294967295"),
        ("X_OK", "#define X_OK(hr) (((HRESULT)(hr)) >= 0)"),
        ("Color_Red", "enum Color { Color_Red = 0 }"),
        ("Color_Blue", "enum Color { Color_Blue = 2 }"),
        ("Color", "typedef int32_t Color"),
        ("Thing", "typedef struct Thing Thing"),
        ("TimeSpan", "typedef struct { int64_t Duration; } TimeSpan"),
        (
            "Handler",
            "typedef void (*Handler)(void *, Thing *, const char *)",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(types.len(), expected.len(), "{types:#?}");
    for (name, line) in &types {
        assert_eq!(expected.get(name.as_str()), Some(&line.as_str()), "{name}");
        assert_eq!(&line_name(line), name, "the name of `{line}`");
    }
    for (name, line) in &functions {
        assert_eq!(&line_name(line), name, "the name of `{line}`");
    }
}

// ---------------------------------------------------------------------------------
// The built library.

/// The cdylib cargo built with this test (target/<profile>/deps/librtws.so).
fn built_library() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let lib = exe.parent()?.join("librtws.so");
    lib.exists().then_some(lib)
}

fn tool_output(tool: &str, args: &[&str], lib: &Path) -> Option<String> {
    match Command::new(tool).args(args).arg(lib).output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => panic!(
            "{tool} {args:?} {} failed: {}",
            lib.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            eprintln!("skipped: {tool} not available ({e}); install binutils");
            None
        }
    }
}

#[test]
fn the_library_exports_exactly_the_header_functions() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(lib) = built_library() else {
        eprintln!("skipped: no librtws.so next to the test binary");
        return;
    };
    let Some(nm) = tool_output("nm", &["-D", "--defined-only", "--format=posix"], &lib) else {
        return;
    };
    let exported: BTreeSet<String> = nm
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|s| s.split('@').next().unwrap().to_string())
        .collect();
    let header = std::fs::read_to_string(root().join("include/rtws.h")).expect("include/rtws.h");
    let declared: BTreeSet<String> = header_abi(&header).0.into_keys().collect();
    let missing: Vec<_> = declared.difference(&exported).collect();
    let extra: Vec<_> = exported.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} and include/rtws.h disagree.\n  declared, not exported: {missing:?}\n  \
         exported, not declared: {extra:?}\n(is the header stale? `cargo test --test header`)",
        lib.display()
    );
}

#[test]
fn the_library_has_its_soname() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Some(lib) = built_library() else {
        eprintln!("skipped: no librtws.so next to the test binary");
        return;
    };
    let Some(dynamic) = tool_output("readelf", &["-d"], &lib) else {
        return;
    };
    let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap();
    let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap();
    let patch = env!("CARGO_PKG_VERSION_PATCH");
    let soversion = match (major, minor) {
        (0, 0) => format!("0.0.{patch}"),
        (0, minor) => format!("0.{minor}"),
        (major, _) => major.to_string(),
    };
    let expected = format!("Library soname: [librtws.so.{soversion}]");
    assert!(
        dynamic.contains(&expected),
        "{}: no `{expected}` in readelf -d:\n{dynamic}",
        lib.display()
    );
}
