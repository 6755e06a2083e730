//! The client's documented limits are its real ones: every row of SECURITY.md's client
//! table that names a constant is checked against that constant's value in the source,
//! and the prose quotes the response-field limit `shared` enforces (issue 9 item 17).

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// Every `.rs` file's text under `dir`.
fn sources(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&p).unwrap());
        }
    }
    out
}

/// The value of `const NAME: T = A * B * ...;` in `sources`, if it is a product of integers.
fn constant(sources: &[String], name: &str) -> Option<u64> {
    let needle = format!("const {name}: ");
    let text = sources
        .iter()
        .find_map(|s| s.find(&needle).map(|i| &s[i + needle.len()..]))?;
    let expr = text.split_once('=')?.1.split(';').next()?;
    expr.split('*')
        .map(|f| f.trim().replace('_', "").parse::<u64>().ok())
        .try_fold(1u64, |acc, f| Some(acc * f?))
}

/// `64 KiB`, `16 MiB`, `512 bytes`, `3000` as a number.
fn quoted(value: &str) -> Option<u64> {
    let mut words = value.split_whitespace();
    let n: u64 = words.next()?.replace(',', "").parse().ok()?;
    Some(match words.next() {
        None | Some("bytes") => n,
        Some("KiB") => n << 10,
        Some("MiB") => n << 20,
        Some(_) => return None,
    })
}

fn security_md_client_table_matches_the_constants() {
    let security = read("SECURITY.md");
    let mut code = sources(&repo().join("client/src"));
    code.extend(sources(&repo().join("shared/src/wire")));
    let table = security
        .split("### Client")
        .nth(1)
        .expect("a client table in SECURITY.md");
    let mut checked = 0;
    for row in table
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| `"))
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let names: Vec<&str> = cells[1]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            })
            .collect();
        let values: Vec<&str> = cells[2].split(", ").collect();
        for (name, value) in names.iter().zip(&values) {
            let Some(real) = constant(&code, name) else {
                panic!("SECURITY.md names `{name}`, which is not a constant in client/ or shared::wire");
            };
            assert_eq!(
                quoted(value),
                Some(real),
                "SECURITY.md says `{name}` is {value}, the source says {real}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 12,
        "only {checked} constants checked: the table moved?"
    );
}

fn the_field_limit_quoted_in_prose_is_the_one_enforced() {
    let n = shared::wire::limits::MAX_RESPONSE_HEADERS;
    let kib = shared::wire::limits::MAX_RESPONSE_HEAD >> 10;
    let security = read("SECURITY.md");
    assert!(
        security.contains(&format!(
            "a response head of at most\n  {kib} KiB and {n} fields"
        )),
        "SECURITY.md's client paragraph must quote {kib} KiB and {n} fields"
    );
}

tests::register! {
    security_md_client_table_matches_the_constants,
    the_field_limit_quoted_in_prose_is_the_one_enforced,
}
