//! Reading `tenuto.toml`: never fails, reports every problem.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::choices::{Choice, ProfileValue};
use crate::keys::{self, check_profile_name, Val, KEYS, SECTIONS};
use crate::model::Settings;
use crate::write::toml_string;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// A value (or the whole file) was not used; `tenuto config check` fails.
    Error,
    /// Something was ignored that may be a mistake (an unknown key).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// Something wrong in the file, or a value [`crate::set_key`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The key concerned (`"scheduling.mmcss_priority"`, `"profiles.reaper.exe"`),
    /// the section for an unknown section, or empty for the whole file.
    pub key: String,
    /// The 1-based line in the file, when known.
    pub line: Option<usize>,
    /// The full sentence: the key, the bad value, what is allowed, what was done.
    pub message: String,
}

impl fmt::Display for Problem {
    /// `tenuto.toml line 12: scheduling.mmcss_priority = "max" is not allowed; use
    /// low, normal, high or critical (kept the default "critical")`; without the
    /// prefix when there is no line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}: {}", crate::FILE_NAME, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Problem {}

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

    /// The problem that made the whole file unusable (unreadable, not UTF-8, not
    /// TOML), if any.
    pub fn file_problem(&self) -> Option<&Problem> {
        self.problems.iter().find(|p| p.key.is_empty())
    }
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
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
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

fn file_problem(line: Option<usize>, message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        key: String::new(),
        line,
        message,
    }
}

/// Parses the text of a settings file; the same rules as [`load`].
pub fn parse(text: &str) -> Loaded {
    let mut loaded = Loaded {
        settings: Settings::default(),
        problems: Vec::new(),
        source: Source::File,
        text_hash: text_hash(text.as_bytes()),
    };
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    match DeTable::parse(body) {
        Err(e) => {
            let line = e.span().map(|s| line_of(body, s.start));
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
                settings: &mut loaded.settings,
                problems: &mut loaded.problems,
            };
            reader.root(root.get_ref());
            loaded.problems.sort_by_key(|p| p.line);
        }
    }
    loaded
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Reader<'a> {
    text: &'a str,
    settings: &'a mut Settings,
    problems: &'a mut Vec<Problem>,
}

type Entry<'a, 'i> = (
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
);

impl Reader<'_> {
    fn line(&self, span: Range<usize>) -> Option<usize> {
        Some(line_of(self.text, span.start))
    }

    fn push(&mut self, severity: Severity, key: &str, span: Range<usize>, message: String) {
        let line = self.line(span);
        self.problems.push(Problem {
            severity,
            key: key.to_owned(),
            line,
            message,
        });
    }

    /// The value as written, for messages.
    fn shown(&self, value: &Spanned<DeValue<'_>>) -> String {
        match value.get_ref() {
            DeValue::String(s) => toml_string(s),
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
                    let hint = closest(name_str, SECTIONS.iter().copied())
                        .map(|s| format!("; did you mean [{s}]?"))
                        .unwrap_or_default();
                    let message = format!("unknown section [{name_str}] ignored{hint}");
                    self.push(Severity::Warning, name_str, name.span(), message);
                }
                (false, _) => {
                    let hint = did_you_mean_text(&did_you_mean_key(name_str), |k| {
                        format!(" (in [{}])", section_of(k))
                    });
                    let message =
                        format!("unknown key `{name_str}` outside any section ignored{hint}");
                    self.push(Severity::Warning, name_str, name.span(), message);
                }
            }
        }
        self.channels_rule(virtual_given);
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
                let hint =
                    did_you_mean_text(&did_you_mean_in(section, name.get_ref()), |_| String::new());
                let message = format!("unknown key `{full}` ignored{hint}");
                self.push(Severity::Warning, &full, name.span(), message);
                continue;
            }
            let val = to_val(value.get_ref());
            match keys::apply(self.settings, &full, &val) {
                Ok(()) => match full.as_str() {
                    "virtual.inputs" => given.0 = Some(value.span()),
                    "virtual.outputs" => given.1 = Some(value.span()),
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
        let mut seen: Vec<(String, String)> = Vec::new();
        for (name, value) in entries {
            let raw: &str = name.get_ref();
            let full = format!("profiles.{raw}");
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
                    if let Some((first, _)) = seen.iter().find(|(_, s)| *s == stored) {
                        let message = format!(
                            "{full} names the same executable as profiles.{first} (names are \
                             case-insensitive); used the later one, {}",
                            toml_string(profile.as_str())
                        );
                        self.push(Severity::Warning, &full, name.span(), message);
                    }
                    seen.push((raw.to_owned(), stored.clone()));
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
        other => Val::Other(noun(other)),
    }
}

/// Edit distance (optimal string alignment: insertions, deletions, substitutions
/// and swaps of neighbours), ASCII case-insensitive.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate nearest to `word` within distance 2, if any.
pub(crate) fn closest<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The known keys for an unknown `name` in `[section]`: a near name in the same
/// section, else every key of another section with the same or the nearest name
/// (`mode` is in `[wasapi]` and `[scheduling]`).
fn did_you_mean_in(section: &str, name: &str) -> Vec<&'static str> {
    let same = KEYS.iter().filter(|k| k.section() == section);
    if let Some(k) = closest(name, same.map(|k| k.name())) {
        return KEYS
            .iter()
            .filter(|i| i.section() == section && i.name() == k)
            .map(|i| i.key)
            .collect();
    }
    named(closest(name, KEYS.iter().map(|k| k.name())))
}

/// Every key whose name (after the section) is `name`.
fn named(name: Option<&str>) -> Vec<&'static str> {
    match name {
        Some(n) => KEYS
            .iter()
            .filter(|i| i.name() == n)
            .map(|i| i.key)
            .collect(),
        None => Vec::new(),
    }
}

/// The known keys for an unknown full key (`schedulng.mode`, or a bare `mode`).
pub(crate) fn did_you_mean_key(key: &str) -> Vec<&'static str> {
    if let Some(k) = closest(key, KEYS.iter().map(|k| k.key)) {
        return vec![k];
    }
    match key.split_once('.') {
        Some((section, name)) => match closest(section, SECTIONS.iter().copied()) {
            Some(section) => did_you_mean_in(section, name),
            None => Vec::new(),
        },
        None => named(closest(key, KEYS.iter().map(|k| k.name()))),
    }
}

/// "; did you mean `a`?", "; did you mean `a` or `b`?" (with `where_` after each
/// key), or nothing without candidates.
pub(crate) fn did_you_mean_text(keys: &[&str], where_: impl Fn(&str) -> String) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let each: Vec<String> = keys.iter().map(|k| format!("`{k}`{}", where_(k))).collect();
    format!(
        "; did you mean {}?",
        crate::choices::list_or(each.iter().map(String::as_str))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("mode", "mode"), 0);
        assert_eq!(distance("mod", "mode"), 1);
        assert_eq!(distance("mdoe", "mode"), 1);
        assert_eq!(distance("schedulling", "scheduling"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("Level", "level"), 0);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean_in("scheduling", "mod"), ["scheduling.mode"]);
        assert_eq!(did_you_mean_in("wasapi", "mod"), ["wasapi.mode"]);
        assert_eq!(
            did_you_mean_in("driver", "mode"),
            ["wasapi.mode", "scheduling.mode"]
        );
        assert_eq!(did_you_mean_in("driver", "xyzzy"), [""; 0]);
        assert_eq!(did_you_mean_key("scheduling.mod"), ["scheduling.mode"]);
        assert_eq!(did_you_mean_key("schedulling.mode"), ["scheduling.mode"]);
        assert_eq!(did_you_mean_key("wasapi.outptu"), ["wasapi.output"]);
        assert_eq!(did_you_mean_key("buffer_size"), ["driver.buffer_size"]);
        assert_eq!(did_you_mean_key("mode"), ["wasapi.mode", "scheduling.mode"]);
        assert_eq!(did_you_mean_key("nothing.like.it"), [""; 0]);
        assert_eq!(did_you_mean_text(&[], |_| String::new()), "");
        assert_eq!(
            did_you_mean_text(&["a.b", "c.b"], |k| format!(" ({})", &k[..1])),
            "; did you mean `a.b` (a) or `c.b` (c)?"
        );
    }

    #[test]
    fn hash_is_fnv1a() {
        assert_eq!(text_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(text_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
