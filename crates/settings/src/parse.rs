//! Reading `tenuto.toml`: never fails, reports every problem.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::choices::{Choice, ProfileValue};
use crate::keys::{self, check_profile_name, did_you_mean_in, did_you_mean_key, Val, SECTIONS};
use crate::model::Settings;
use crate::problem::{Problem, Severity};
use crate::quote::toml_string;
use crate::similar::{closest, did_you_mean_text};

/// Where the settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// There was no file: the defaults.
    Defaults,
    /// A file (or text) was read; its problems are in [`Loaded::problems`].
    File,
}

/// The result of [`load`] or [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The settings to use: the file's values, the default where a value was bad.
    pub settings: Settings,
    /// Everything wrong, in file order; the whole-file problem (if any) first.
    pub problems: Vec<Problem>,
    /// File or defaults.
    pub source: Source,
    /// A stable 64-bit FNV-1a hash of the file's bytes (0 without a file): equal
    /// hashes mean unchanged content, so a reload can skip parsing.
    pub text_hash: u64,
}

impl Loaded {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// The problem that made the whole file unusable (unreadable, too large, not
    /// UTF-8, not TOML), if any. It is then the only problem.
    pub fn file_problem(&self) -> Option<&Problem> {
        match self.problems.as_slice() {
            [only] if only.key.is_empty() => Some(only),
            _ => None,
        }
    }
}

/// A settings file larger than this many bytes is not read: a real one needs a
/// few kilobytes, and reading and checking a huge one entry by entry would hold
/// up the host that creates the driver. The limit bounds that work: even a file
/// of nothing but unknown keys at this size is checked well within the 100 ms a
/// host may wait for `CoCreateInstance` (figures in docs/MEASUREMENTS.md).
pub const MAX_FILE_BYTES: u64 = 256 << 10;

/// At most this many problems are listed; the rest are summed up in one closing
/// problem ("and K more"), so a file full of mistakes gives a readable report and
/// a bounded log.
pub const MAX_PROBLEMS: usize = 50;

fn too_large(what: &str, bytes: u64) -> Problem {
    file_problem(
        None,
        format!(
            "{what} is {bytes} bytes, more than the {MAX_FILE_BYTES} bytes (256 KiB) a settings \
             file may have, so it was not read; running with the default settings. A settings \
             file needs a few kilobytes: remove what is not a setting, or delete the file to \
             start from the defaults"
        ),
    )
}

/// FNV-1a, 64 bits: stable across runs and Rust versions.
pub(crate) fn text_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Reads the file at `path`. Never fails: a missing file gives the defaults and no
/// problem; an unreadable or broken one gives the defaults and one error.
pub fn load(path: &Path) -> Loaded {
    let defaults = |problems, source, text_hash| Loaded {
        settings: Settings::default(),
        problems,
        source,
        text_hash,
    };
    let bytes = match read_capped(path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            let size = std::fs::metadata(path).map_or(MAX_FILE_BYTES + 1, |m| m.len());
            let problem = too_large(&path.display().to_string(), size.max(MAX_FILE_BYTES + 1));
            return defaults(vec![problem], Source::File, 0);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return defaults(Vec::new(), Source::Defaults, 0)
        }
        Err(e) => {
            let problem = file_problem(
                None,
                format!(
                    "cannot read {}: {e}; running with the default settings",
                    path.display()
                ),
            );
            return defaults(vec![problem], Source::File, 0);
        }
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            let problem = file_problem(
                Some(line),
                format!(
                    "{} is not UTF-8 text (invalid byte at offset {}); running with the default \
                     settings",
                    path.display(),
                    e.valid_up_to()
                ),
            );
            defaults(vec![problem], Source::File, text_hash(&bytes))
        }
    }
}

/// The file's bytes, or `None` when it has more than [`MAX_FILE_BYTES`] (then at
/// most that many plus one are read).
fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() > MAX_FILE_BYTES {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    // The file may grow between the size check and the read.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_FILE_BYTES).then_some(bytes))
}

fn file_problem(line: Option<usize>, message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        key: String::new(),
        line,
        message,
    }
}

/// Parses the text of a settings file; the same rules as [`load`]. The work is
/// linear in the text's length; a text over [`MAX_FILE_BYTES`] is refused without
/// being parsed, and at most [`MAX_PROBLEMS`] problems are listed.
pub fn parse(text: &str) -> Loaded {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Loaded {
            settings: Settings::default(),
            problems: vec![too_large(crate::FILE_NAME, text.len() as u64)],
            source: Source::File,
            text_hash: 0,
        };
    }
    let mut loaded = Loaded {
        settings: Settings::default(),
        problems: Vec::new(),
        source: Source::File,
        text_hash: text_hash(text.as_bytes()),
    };
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    match DeTable::parse(body) {
        Err(e) => {
            let line = e.span().map(|s| Lines::new(body).line_of(s.start));
            let what = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            loaded.problems.push(file_problem(
                line,
                format!("the file is not valid TOML ({what}); running with the default settings"),
            ));
        }
        Ok(root) => {
            let mut reader = Reader {
                text: body,
                lines: Lines::new(body),
                settings: &mut loaded.settings,
                problems: Vec::new(),
                clock_span: None,
            };
            reader.root(root.get_ref());
            let mut found = reader.problems;
            found.sort_by_key(|(p, _)| p.line);
            // Suggestions cost more than the rest of a problem: only the listed ones get them.
            let listed = found.len().min(MAX_PROBLEMS);
            loaded.problems = found
                .drain(..listed)
                .map(|(mut p, hint)| {
                    if let Some(hint) = hint {
                        p.message.push_str(&hint.text());
                    }
                    p
                })
                .collect();
            cap_problems(&mut loaded.problems, found.into_iter().map(|(p, _)| p));
        }
    }
    loaded
}

/// Sums up the problems not listed (`rest`) in one more, after the listed ones.
fn cap_problems(problems: &mut Vec<Problem>, rest: impl ExactSizeIterator<Item = Problem>) {
    let count = rest.len();
    if count == 0 {
        return;
    }
    let errors = rest.filter(|p| p.severity == Severity::Error).count();
    let (severity, which) = match errors {
        0 => (Severity::Warning, "warnings".to_owned()),
        e if e == count => (Severity::Error, "errors".to_owned()),
        e => (Severity::Error, format!("problems, {e} of them errors")),
    };
    problems.push(Problem {
        severity,
        key: String::new(),
        line: None,
        message: format!(
            "and {count} more {which} after line {} (only the first {MAX_PROBLEMS} are listed)",
            problems.last().and_then(|p| p.line).unwrap_or(0)
        ),
    });
}

/// The start of every line of a text, found once, so that a line number costs
/// a binary search rather than a scan of the text.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let newlines = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i + 1);
        Self {
            starts: std::iter::once(0).chain(newlines).collect(),
        }
    }

    /// The 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

struct Reader<'a> {
    text: &'a str,
    lines: Lines,
    settings: &'a mut Settings,
    /// Every problem, with the suggestion its message will end with if it is listed.
    problems: Vec<(Problem, Option<Hint>)>,
    /// Where `wasapi.clock` was accepted, for the rule between it and the lists.
    clock_span: Option<Range<usize>>,
}

/// A "did you mean" still to be worked out.
enum Hint {
    /// For an unknown section.
    Section(String),
    /// For an unknown key outside any section.
    Bare(String),
    /// For an unknown key in a known section: (section, name).
    InSection(String, String),
}

impl Hint {
    /// "; did you mean …?", or nothing.
    fn text(&self) -> String {
        match self {
            Hint::Section(name) => closest(name, SECTIONS.iter().copied())
                .map(|s| format!("; did you mean [{s}]?"))
                .unwrap_or_default(),
            Hint::Bare(name) => did_you_mean_text(&did_you_mean_key(name), |k| {
                format!(" (in [{}])", section_of(k))
            }),
            Hint::InSection(section, name) => {
                did_you_mean_text(&did_you_mean_in(section, name), |_| String::new())
            }
        }
    }
}

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

impl Reader<'_> {
    fn line(&self, span: Range<usize>) -> Option<usize> {
        Some(self.lines.line_of(span.start))
    }

    fn push(&mut self, severity: Severity, key: &str, span: Range<usize>, message: String) {
        self.push_hinted(severity, key, span, message, None);
    }

    fn push_hinted(
        &mut self,
        severity: Severity,
        key: &str,
        span: Range<usize>,
        message: String,
        hint: Option<Hint>,
    ) {
        let line = self.line(span);
        let problem = Problem {
            severity,
            key: key.to_owned(),
            line,
            message,
        };
        self.problems.push((problem, hint));
    }

    /// The value as written, for messages.
    fn shown(&self, value: &Spanned<DeValue<'_>>) -> String {
        match value.get_ref() {
            DeValue::String(s) => match s.char_indices().nth(SHOWN_CHARS) {
                None => toml_string(s),
                Some((end, _)) => format!(
                    "{}… (a string of {} characters)",
                    toml_string(&s[..end]),
                    s.chars().count()
                ),
            },
            _ => {
                let raw = self.text.get(value.span()).unwrap_or("").trim();
                if raw.is_empty() || raw.contains('\n') || raw.chars().count() > 60 {
                    format!("({})", noun(value.get_ref()))
                } else {
                    raw.to_owned()
                }
            }
        }
    }

    fn root(&mut self, root: &DeTable<'_>) {
        let mut entries: Vec<Entry<'_, '_>> = root.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut virtual_given = (None, None);
        for (name, value) in entries {
            let name_str: &str = name.get_ref();
            match (SECTIONS.contains(&name_str), value.get_ref()) {
                (true, DeValue::Table(table)) if name_str == "profiles" => self.profiles(table),
                (true, DeValue::Table(table)) => {
                    let given = self.section(name_str, table);
                    if name_str == "virtual" {
                        virtual_given = given;
                    }
                }
                (true, other) => {
                    let message = format!(
                        "`{name_str}` must be the section [{name_str}], not {}; ignored",
                        noun(other)
                    );
                    self.push(Severity::Error, name_str, name.span(), message);
                }
                (false, DeValue::Table(_)) => {
                    let message = format!("unknown section [{}] ignored", clip(name_str));
                    let hint = Hint::Section(name_str.to_owned());
                    self.push_hinted(
                        Severity::Warning,
                        name_str,
                        name.span(),
                        message,
                        Some(hint),
                    );
                }
                (false, _) => {
                    let message = format!(
                        "unknown key `{}` outside any section ignored",
                        clip(name_str)
                    );
                    let hint = Hint::Bare(name_str.to_owned());
                    self.push_hinted(
                        Severity::Warning,
                        name_str,
                        name.span(),
                        message,
                        Some(hint),
                    );
                }
            }
        }
        self.channels_rule(virtual_given);
        self.clock_rule();
    }

    /// `wasapi.clock` names an endpoint of the lists: otherwise it keeps its default,
    /// auto.
    fn clock_rule(&mut self) {
        let Some(why) = self.settings.wasapi.clock_problem() else {
            return;
        };
        let shown = toml_string(self.settings.wasapi.clock.as_str());
        self.settings.wasapi.clock = crate::ClockSetting::Auto;
        let message = format!(
            "wasapi.clock = {shown} {why}; use {} (kept the default \"auto\")",
            keys::allowed("wasapi.clock").unwrap_or_default()
        );
        let span = self.clock_span.clone().unwrap_or(0..0);
        self.push(Severity::Error, "wasapi.clock", span, message);
    }

    /// Reads one known section; for `[virtual]` returns the spans of `inputs` and
    /// `outputs` when they were given and accepted.
    fn section(
        &mut self,
        section: &str,
        table: &DeTable<'_>,
    ) -> (Option<Range<usize>>, Option<Range<usize>>) {
        let mut given = (None, None);
        let mut entries: Vec<Entry<'_, '_>> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (name, value) in entries {
            let full = format!("{section}.{}", name.get_ref());
            if keys::info(&full).is_none() {
                let message = format!("unknown key `{}` ignored", clip(&full));
                let hint = Hint::InSection(section.to_owned(), name.get_ref().to_string());
                self.push_hinted(Severity::Warning, &full, name.span(), message, Some(hint));
                continue;
            }
            let val = to_val(value.get_ref());
            match keys::apply(self.settings, &full, &val) {
                Ok(()) => match full.as_str() {
                    "virtual.inputs" => given.0 = Some(value.span()),
                    "virtual.outputs" => given.1 = Some(value.span()),
                    "wasapi.clock" => self.clock_span = Some(value.span()),
                    _ => {}
                },
                Err(refusal) => {
                    let default = keys::get_key(&Settings::default(), &full).unwrap_or_default();
                    let message = keys::refusal_message(
                        &full,
                        &self.shown(value),
                        &refusal,
                        &format!("kept the default {default}"),
                    );
                    self.push(Severity::Error, &full, value.span(), message);
                }
            }
        }
        given
    }

    /// inputs + outputs ≥ 1: when both were set to 0, `outputs` keeps its default.
    fn channels_rule(&mut self, given: (Option<Range<usize>>, Option<Range<usize>>)) {
        let v = &self.settings.virtual_device;
        if v.inputs + v.outputs > 0 {
            return;
        }
        let default = crate::VirtualSettings::default().outputs;
        self.settings.virtual_device.outputs = default;
        let (key, span) = match given {
            (_, Some(span)) => ("virtual.outputs", span),
            (Some(span), None) => ("virtual.inputs", span),
            (None, None) => ("virtual.outputs", 0..0),
        };
        let message = format!(
            "virtual.inputs = 0 and virtual.outputs = 0: the device needs at least one channel; \
             use {} (kept the default virtual.outputs = {default})",
            keys::allowed("virtual.outputs").unwrap_or_default()
        );
        self.push(Severity::Error, key, span, message);
    }

    fn profiles(&mut self, table: &DeTable<'_>) {
        let mut entries: Vec<Entry<'_, '_>> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        // Stored (lowercased) name -> the name as first written.
        let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for (name, value) in entries {
            let raw: &str = name.get_ref();
            let full = format!("profiles.{}", clip(raw));
            let stored = match check_profile_name(raw) {
                Ok(stored) => stored,
                Err(why) => {
                    self.push(
                        Severity::Error,
                        &full,
                        name.span(),
                        format!("{full}: {why} (profile ignored)"),
                    );
                    continue;
                }
            };
            let parsed = match value.get_ref() {
                DeValue::String(s) => ProfileValue::parse(s).ok_or("is not allowed".to_owned()),
                other => Err(format!("is {}, not a string", noun(other))),
            };
            match parsed {
                Ok(profile) => {
                    if let Some(first) = seen.get(&stored) {
                        let message = format!(
                            "{full} names the same executable as profiles.{} (names are \
                             case-insensitive); used the later one, {}",
                            clip(first),
                            toml_string(profile.as_str())
                        );
                        self.push(Severity::Warning, &full, name.span(), message);
                    } else {
                        seen.insert(stored.clone(), raw.to_owned());
                    }
                    self.settings.profiles.insert(stored, profile);
                }
                Err(reason) => {
                    let message = format!(
                        "{full} = {} {reason}; use {} (profile ignored)",
                        self.shown(value),
                        ProfileValue::allowed()
                    );
                    self.push(Severity::Error, &full, value.span(), message);
                }
            }
        }
    }
}

/// Names and values longer than this many characters are cut in messages.
const SHOWN_CHARS: usize = 60;

/// `text` for a message: as it is, or its first [`SHOWN_CHARS`] characters and
/// how long it was (a message, and the log line that carries it, stays short
/// whatever the file holds).
fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => text.into(),
        Some((end, _)) => format!("{}… ({} characters)", &text[..end], text.chars().count()).into(),
    }
}

fn section_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(s, _)| s)
}

fn noun(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "a whole number",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn to_val(value: &DeValue<'_>) -> Val {
    match value {
        DeValue::String(s) => Val::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(i) => Val::Int(i),
            Err(_) => Val::Other("a whole number out of range"),
        },
        DeValue::Boolean(b) => Val::Bool(*b),
        DeValue::Array(items) => Val::List(items.iter().map(|i| to_val(i.get_ref())).collect()),
        other => Val::Other(noun(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers() {
        let lines = Lines::new("a\nbc\n\nd");
        let got: Vec<usize> = (0..8).map(|o| lines.line_of(o)).collect();
        assert_eq!(got, [1, 1, 2, 2, 2, 3, 4, 4]);
        assert_eq!(Lines::new("").line_of(0), 1);
    }

    #[test]
    fn hash_is_fnv1a() {
        assert_eq!(text_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(text_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
