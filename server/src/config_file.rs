//! `--config FILE`: settings and site rules from TOML, beneath the command line and the
//! environment (command line > environment > file > default).
//!
//! Every flag is a key of the same name (`cache_control` for `--cache-control`), found
//! through clap's own description of the flags and checked by the flag's own parser, so a
//! new flag needs no code here. The arrays of tables are the site rules
//! ([`crate::rules::file`]). Unknown keys are errors naming the key, the line and the
//! nearest valid name.

use crate::config::Config;
use crate::rules::file::{SiteRules, KINDS};
use crate::rules::{RuleError, Rules};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Largest config file read. A real one is a few KiB; the cap keeps a wrong path (a
/// device, a log file) from being read whole into memory.
pub const MAX_CONFIG_FILE: u64 = 1024 * 1024;

/// Flags that make no sense in a file (the file cannot name itself or ask to be printed).
const NOT_IN_FILE: [&str; 4] = ["config", "print_config", "help", "version"];

/// Why the settings could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Bad flags or environment (also `--help` and `--version`): clap's own report.
    Args(clap::Error),
    /// The file cannot be read or has a mistake; the message names the file and line.
    File(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Args(e) => write!(f, "{}", first_line(e)),
            LoadError::File(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LoadError {}

/// The settings, with what is needed to print them as they came to be.
#[derive(Debug)]
pub struct Loaded {
    /// The effective settings.
    pub config: Config,
    /// Where each came from (command line, environment, default).
    pub matches: ArgMatches,
    /// The keys whose values came from the file.
    pub from_file: Vec<String>,
}

/// The clap command every parse uses: the flags exactly as `--help` shows them.
pub fn command() -> clap::Command {
    Config::command()
}

/// The flags that are also file keys: every long flag but [`NOT_IN_FILE`].
pub fn file_keys(cmd: &clap::Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments()
        .filter(|a| a.get_long().is_some() && !NOT_IN_FILE.contains(&a.get_id().as_str()))
}

/// Parses `args` (with the program name first), reading `--config FILE` when given.
pub fn load<I, T>(args: I) -> Result<Loaded, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cmd = command();
    let first = cmd
        .clone()
        .try_get_matches_from(&argv)
        .map_err(LoadError::Args)?;
    let file = first.get_one::<PathBuf>("config").cloned();
    let mut from_file = Vec::new();
    let mut source = None;
    let (matches, site) = match file {
        Some(path) if first.subcommand().is_none() => {
            let text = read(&path)?;
            let origin = Origin::new(&path, &text);
            let table = DeTable::parse(&text).map_err(|e| origin.toml_error(&e))?;
            let injected = flag_args(&cmd, &first, table.get_ref(), &origin)?;
            from_file = injected.iter().map(|(key, _)| key.clone()).collect();
            let injected = injected.into_iter().flat_map(|(_, args)| args);
            let site = site_rules(table.get_ref(), &text, &origin)?;
            let mut full = vec![argv.first().cloned().unwrap_or_else(|| "server".into())];
            full.extend(injected);
            full.extend(argv.iter().skip(1).cloned());
            let matches = cmd
                .clone()
                .try_get_matches_from(full)
                .map_err(|e| LoadError::File(format!("{}: {}", origin.name, first_line(&e))))?;
            source = Some((path, text));
            (matches, site)
        }
        _ => (first, SiteRules::default()),
    };
    let mut config = Config::from_arg_matches(&matches).map_err(LoadError::Args)?;
    config.site = site;
    config.argv = argv;
    config.values = file_keys(&cmd)
        .map(|a| {
            let id = a.get_id().as_str();
            let raw = matches.get_raw(id).into_iter().flatten();
            (
                id.to_string(),
                raw.map(|v| v.to_string_lossy().into_owned()).collect(),
            )
        })
        .collect();
    if let Err(e) = Rules::build(&config, None) {
        return Err(match &source {
            Some((path, text)) => rule_error(&Origin::new(path, text), &e),
            None => LoadError::File(e.to_string()),
        });
    }
    Ok(Loaded {
        config,
        matches,
        from_file,
    })
}

/// Settings a reload applies; every other key needs a restart (sockets, root, limits).
pub const RELOADABLE: [&str; 4] = [
    "cache_control",
    "fallback",
    "security_headers",
    "allow_insecure_auth",
];

/// SIGHUP: the settings read again from the same command line, environment and file,
/// with the keys that changed but cannot change without a restart.
pub fn reread(current: &Config) -> Result<(Config, Vec<String>), LoadError> {
    let loaded = load(current.argv.clone())?;
    let fixed = current
        .values
        .iter()
        .zip(&loaded.config.values)
        .filter(|((key, old), (_, new))| old != new && !RELOADABLE.contains(&key.as_str()))
        .map(|((key, _), _)| key.clone())
        .collect();
    Ok((loaded.config, fixed))
}

/// A rule error at the line of the rule's table.
fn rule_error(origin: &Origin<'_>, e: &RuleError) -> LoadError {
    let table = DeTable::parse(origin.text).ok();
    let offset = table
        .as_ref()
        .and_then(|t| match t.get_ref().get(e.kind)?.get_ref() {
            DeValue::Array(items) => items.get(e.index).map(|item| item.span().start),
            _ => None,
        });
    match offset {
        Some(offset) => origin.at(offset, e),
        None => LoadError::File(format!("{}: {e}", origin.name)),
    }
}

/// Reads the file, refusing anything larger than [`MAX_CONFIG_FILE`].
fn read(path: &Path) -> Result<String, LoadError> {
    let shown = path.display();
    let fail = |e: std::io::Error| {
        LoadError::File(format!(
            "cannot read config file '{shown}': {e}; check the path given to --config"
        ))
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_CONFIG_FILE {
        return Err(LoadError::File(format!(
            "config file '{shown}' is larger than {MAX_CONFIG_FILE} bytes; is it the right file?"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| LoadError::File(format!("config file '{shown}' is not UTF-8 text")))
}

/// The file being read: its name for messages, its text for line numbers, its folder
/// for relative paths.
struct Origin<'t> {
    name: String,
    text: &'t str,
    folder: PathBuf,
}

impl<'t> Origin<'t> {
    fn new(path: &Path, text: &'t str) -> Origin<'t> {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Origin {
            name: path.display().to_string(),
            text,
            folder,
        }
    }

    /// The 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// `FILE:LINE: message`.
    fn at(&self, offset: usize, message: impl fmt::Display) -> LoadError {
        LoadError::File(format!("{}:{}: {message}", self.name, self.line(offset)))
    }

    fn toml_error(&self, e: &toml::de::Error) -> LoadError {
        match e.span() {
            Some(span) => self.at(span.start, e.message().trim_end()),
            None => LoadError::File(format!("{}: {}", self.name, e.message().trim_end())),
        }
    }
}

/// Each flag key of the file with the command-line arguments that stand for it, skipping
/// flags the command line or the environment already set. Each is checked by the flag's
/// parser alone, so an error names its key and line.
fn flag_args(
    cmd: &clap::Command,
    first: &ArgMatches,
    table: &DeTable<'_>,
    origin: &Origin<'_>,
) -> Result<Vec<(String, Vec<OsString>)>, LoadError> {
    let kinds = KINDS.map(|(kind, _)| kind);
    let mut injected = Vec::new();
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        if kinds.contains(&name) {
            continue;
        }
        let Some(arg) = file_keys(cmd).find(|a| a.get_id() == name) else {
            let valid: Vec<&str> = file_keys(cmd)
                .map(|a| a.get_id().as_str())
                .chain(kinds)
                .collect();
            return Err(origin.at(key.span().start, unknown_key(name, &valid)));
        };
        if matches!(
            first.value_source(name),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let long = arg.get_long().unwrap_or(name);
        let values = flag_values(arg, value.get_ref(), origin)
            .map_err(|m| origin.at(value.span().start, format!("{name}: {m}")))?;
        let args: Vec<OsString> = values
            .into_iter()
            .map(|v| {
                let mut a = OsString::from(format!("--{long}="));
                a.push(v);
                a
            })
            .collect();
        let alone = std::iter::once(OsString::from("server")).chain(args.iter().cloned());
        // A flag that needs another (--tls-cert needs --tls-key) is checked with both
        // in the full parse below.
        match cmd.clone().try_get_matches_from(alone) {
            Err(e) if e.kind() != clap::error::ErrorKind::MissingRequiredArgument => {
                let shown = &origin.text[value.span()];
                let why = match std::error::Error::source(&e) {
                    Some(source) => format!("invalid value {shown}: {source}"),
                    None => first_line(&e).escape_debug().to_string(),
                };
                return Err(origin.at(value.span().start, format!("{name}: {why}")));
            }
            _ => {}
        }
        injected.push((name.to_string(), args));
    }
    Ok(injected)
}

/// A file value as the flag's command-line values. Relative paths are taken from the
/// file's folder, so a config file works from any working directory.
fn flag_values(
    arg: &Arg,
    value: &DeValue<'_>,
    origin: &Origin<'_>,
) -> Result<Vec<OsString>, String> {
    let is_path = arg.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>();
    let scalar = |v: &DeValue<'_>| -> Result<OsString, String> {
        Ok(match v {
            DeValue::String(s) if is_path && Path::new(s.as_ref()).is_relative() => {
                origin.folder.join(s.as_ref()).into_os_string()
            }
            DeValue::String(s) => OsString::from(s.as_ref()),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| "integer out of range".to_string())?
                .to_string()
                .into(),
            DeValue::Float(f) => OsString::from(f.as_str()),
            DeValue::Boolean(b) => OsString::from(b.to_string()),
            other => {
                return Err(format!(
                    "expected a string, number or boolean, not {}",
                    other.type_str()
                ))
            }
        })
    };
    match value {
        DeValue::Array(items) if matches!(arg.get_action(), ArgAction::Append) => {
            if items.is_empty() {
                return Err("give at least one value".into());
            }
            items.iter().map(|v| scalar(v.get_ref())).collect()
        }
        DeValue::Array(_) => Err("takes one value, not a list".into()),
        v => Ok(vec![scalar(v)?]),
    }
}

/// The rule tables, their keys checked (with lines) before serde reads them.
fn site_rules(
    table: &DeTable<'_>,
    text: &str,
    origin: &Origin<'_>,
) -> Result<SiteRules, LoadError> {
    for (kind, fields) in KINDS {
        let Some(value) = table.get(kind) else {
            continue;
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(origin.at(
                value.span().start,
                format!("{kind} must be an array of tables: write [[{kind}]] above each rule"),
            ));
        };
        for item in items.iter() {
            let DeValue::Table(rule) = item.get_ref() else {
                return Err(origin.at(
                    item.span().start,
                    format!("each {kind} rule is a table: write [[{kind}]] above it"),
                ));
            };
            check_keys(kind, rule, fields, origin)?;
        }
    }
    toml::from_str(text).map_err(|e| origin.toml_error(&e))
}

fn check_keys(
    kind: &str,
    rule: &DeTable<'_>,
    fields: &[&str],
    origin: &Origin<'_>,
) -> Result<(), LoadError> {
    for key in rule.keys() {
        let name: &str = key.get_ref();
        if !fields.contains(&name) {
            let message = format!("in [[{kind}]]: {}", unknown_key(name, fields));
            return Err(origin.at(key.span().start, message));
        }
    }
    if !rule.keys().any(|k: &Spanned<_>| k.get_ref() == "source") {
        return Err(LoadError::File(format!(
            "{}: a [[{kind}]] rule has no source; give the paths it covers, such as source = \"/private/**\"",
            origin.name
        )));
    }
    Ok(())
}

/// "unknown key 'x'; did you mean 'y'?" (or the list of valid keys when none is near).
fn unknown_key(name: &str, valid: &[&str]) -> String {
    match nearest(name, valid) {
        Some(near) => format!("unknown key '{name}'; did you mean '{near}'?"),
        None => format!("unknown key '{name}'; valid keys are {}", valid.join(", ")),
    }
}

/// The valid name closest to `name` by edit distance, when close enough to be a typo.
fn nearest<'v>(name: &str, valid: &[&'v str]) -> Option<&'v str> {
    let (best, distance) = valid
        .iter()
        .map(|v| (*v, edit_distance(&name.to_ascii_lowercase(), v)))
        .min_by_key(|(_, d)| *d)?;
    (distance <= (name.len() / 3).max(2)).then_some(best)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// clap's message on one line, without its `error: ` prefix and usage tail.
fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = message.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

#[cfg(test)]
#[path = "config_file_tests.rs"]
pub(crate) mod tests;
