//! `--print-config`: the effective settings as a TOML config file, each key with its help
//! text and where its value came from, then the site rules.

use crate::config_file::{self, Loaded};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction};
use std::any::TypeId;
use std::fmt::Write;

/// Width the help comments are wrapped to.
const COMMENT_WIDTH: usize = 88;

/// The effective settings as TOML that `--config` reads back to the same settings.
pub fn render(loaded: &Loaded) -> String {
    let cmd = config_file::command();
    let mut out = String::from(
        "# Effective settings (command line > environment > config file > default).\n",
    );
    for arg in config_file::file_keys(&cmd) {
        let id = arg.get_id().as_str();
        out.push('\n');
        if let Some(help) = arg.get_help() {
            comment(&mut out, &help.to_string());
        }
        let Some(value) = value(arg, loaded) else {
            let _ = writeln!(out, "# {id} is not set");
            continue;
        };
        let _ = write!(out, "{id} = {value}");
        match source(arg, loaded) {
            Some(from) => {
                let _ = writeln!(out, "  # from {from}");
            }
            None => out.push('\n'),
        }
    }
    if !loaded.config.site.is_empty() {
        out.push_str("\n# Site rules, in file order; the first match of each kind applies.\n\n");
        match toml::to_string(&loaded.config.site) {
            Ok(rules) => out.push_str(&rules),
            Err(e) => {
                let _ = writeln!(out, "# the rules cannot be printed: {e}");
            }
        }
    }
    out
}

/// The value as TOML: booleans and integers bare, lists as arrays, the rest as strings.
fn value(arg: &Arg, loaded: &Loaded) -> Option<String> {
    let id = arg.get_id().as_str();
    let kind = arg.get_value_parser().type_id();
    if kind == TypeId::of::<bool>() {
        return loaded.matches.get_one::<bool>(id).map(bool::to_string);
    }
    let raw: Vec<String> = loaded
        .matches
        .get_raw(id)?
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let integer = [
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<i64>(),
    ]
    .into_iter()
    .any(|t| kind == t);
    let one = |v: &String| {
        if integer && v.parse::<i64>().is_ok() {
            v.clone()
        } else {
            toml::Value::String(v.clone()).to_string()
        }
    };
    if matches!(arg.get_action(), ArgAction::Append) {
        let items: Vec<String> = raw.iter().map(one).collect();
        return Some(format!("[{}]", items.join(", ")));
    }
    raw.first().map(one)
}

/// Where a value came from, unless it is the default.
fn source(arg: &Arg, loaded: &Loaded) -> Option<String> {
    let id = arg.get_id().as_str();
    if loaded.from_file.iter().any(|k| k == id) {
        return Some("the config file".into());
    }
    match loaded.matches.value_source(id)? {
        ValueSource::CommandLine => Some("the command line".into()),
        ValueSource::EnvVariable => Some(match arg.get_env() {
            Some(name) => format!("the environment ({})", name.to_string_lossy()),
            None => "the environment".into(),
        }),
        _ => None,
    }
}

/// Appends `text` as `# ` comment lines wrapped at [`COMMENT_WIDTH`].
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > COMMENT_WIDTH && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file::load;

    #[test]
    fn printed_settings_read_back_to_the_same_settings() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.toml");
        std::fs::write(&first, crate::config_file::tests::ISSUE_SHAPE).unwrap();
        let args = |file: &std::path::Path| {
            vec![
                "server".into(),
                "--config".into(),
                file.as_os_str().to_owned(),
                "--port=7002".into(),
                "--listing".into(),
                "--index=a.html,b.html".into(),
                "--allow-insecure-auth".into(),
            ]
        };
        let loaded = load::<_, std::ffi::OsString>(args(&first)).unwrap();
        let printed = render(&loaded);
        assert!(
            printed.contains("port = 7002  # from the command line"),
            "{printed}"
        );
        assert!(
            printed.contains("cache_control = \"no-cache\"  # from the config file"),
            "{printed}"
        );
        assert!(
            printed.contains("listing = true  # from the command line"),
            "{printed}"
        );
        assert!(
            printed.contains("index = [\"a.html\", \"b.html\"]"),
            "{printed}"
        );
        assert!(
            printed.contains("# max_connections is not set"),
            "{printed}"
        );
        assert!(printed.contains("[[redirects]]"), "{printed}");
        let second = dir.path().join("second.toml");
        std::fs::write(&second, &printed).unwrap();
        let again = load(["server".into(), "--config".into(), second.into_os_string()]).unwrap();
        assert!(again.config.allow_insecure_auth, "printed as a file key");
        let (mut a, mut b) = (loaded.config, again.config);
        a.argv.clear();
        b.argv.clear();
        a.config = None;
        b.config = None;
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
