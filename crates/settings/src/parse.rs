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
    /// the section for an unknown section, or empty for the whole file and for the
    /// closing "and K more problems" of a list cut at [`MAX_PROBLEMS`].
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

/// Edit distances ("did you mean") are computed only for words up to this many
/// characters: every known key, section and choice is shorter, and longer words
/// would cost time proportional to their length for no suggestion.
const MAX_SUGGEST_CHARS: usize = 40;

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
        other => Val::Other(noun(other)),
    }
}

/// Edit distance (optimal string alignment: insertions, deletions, substitutions
/// and swaps of neighbours), ASCII case-insensitive; `None` when either word is
/// longer than [`MAX_SUGGEST_CHARS`] (no allocation, bounded work).
#[cfg(test)]
pub(crate) fn distance(a: &str, b: &str) -> Option<usize> {
    distance_within(a, b, usize::MAX)
}

/// [`distance`] when it is at most `limit`, else `None`; stops as soon as every
/// cell of a row exceeds `limit` (row minima never decrease).
fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    const N: usize = MAX_SUGGEST_CHARS + 1;
    let chars = |word: &str| -> Option<([char; N], usize)> {
        let mut out = ['\0'; N];
        let mut len = 0;
        for c in word.chars() {
            *out.get_mut(len)? = c.to_ascii_lowercase();
            len += 1;
        }
        (len < N).then_some((out, len))
    };
    let (a, a_len) = chars(a)?;
    let (b, b_len) = chars(b)?;
    let (a, b) = (&a[..a_len], &b[..b_len]);
    // Rows i, i - 1 and i - 2 of the table d[i][j] (the distance between a[..i]
    // and b[..j]) are rows[i % 3], rows[(i + 2) % 3] and rows[(i + 1) % 3].
    let mut rows = [[0usize; N]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let [row, up, two_up] = [i % 3, (i + 2) % 3, (i + 1) % 3];
        rows[row][0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[up][j] + 1)
                .min(rows[row][j - 1] + 1)
                .min(rows[up][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[two_up][j - 2] + 1);
            }
            rows[row][j] = best;
            row_min = row_min.min(best);
        }
        if row_min > limit {
            return None;
        }
    }
    Some(rows[a.len() % 3][b.len()]).filter(|d| *d <= limit)
}

/// The candidate nearest to `word` within distance 2, if any.
pub(crate) fn closest<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    // A word longer than the limit in bytes is longer in characters too.
    if word.len() > 4 * MAX_SUGGEST_CHARS {
        return None;
    }
    let chars = word.chars().count();
    candidates
        // The distance is at least the difference in length (candidates are ASCII).
        .filter(|c| c.len().abs_diff(chars) <= 2)
        .filter_map(|c| Some((distance_within(word, c, 2)?, c)))
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
        assert_eq!(distance("mode", "mode"), Some(0));
        assert_eq!(distance("mod", "mode"), Some(1));
        assert_eq!(distance("mdoe", "mode"), Some(1));
        assert_eq!(distance("schedulling", "scheduling"), Some(1));
        assert_eq!(distance("", "abc"), Some(3));
        assert_eq!(distance("Level", "level"), Some(0));
        assert_eq!(distance("kitten", "sitting"), Some(3));
        assert_eq!(distance("ca", "abc"), Some(3));
        let longest = "x".repeat(MAX_SUGGEST_CHARS);
        assert_eq!(distance(&longest, &longest), Some(0));
        assert_eq!(distance(&format!("{longest}y"), "mode"), None);
        assert_eq!(distance("mode", &format!("{longest}y")), None);
        assert_eq!(distance_within("kitten", "sitting", 3), Some(3));
        assert_eq!(distance_within("kitten", "sitting", 2), None);
        assert_eq!(distance_within("abcdef", "zzzzzz", 2), None);
        assert_eq!(distance_within("mdoe", "mode", 2), Some(1));
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
