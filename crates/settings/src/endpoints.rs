//! `wasapi.output` / `wasapi.input` as lists of endpoints, each with an optional
//! channel selection, and `wasapi.clock`: their spelling, parsing and checks.
//!
//! An entry is written `NAME` or `NAME [SELECTION]`: `NAME` is `default` or an endpoint
//! ID or friendly name, and `SELECTION` lists 1-based channels and ranges separated by
//! commas (`[1-2,5]`), or `all`. A trailing bracket part that is not a channel list in
//! that syntax stays part of the name (friendly names may end in brackets); one that is
//! but names channel 0, a reversed range or a channel twice is an error.

use std::fmt;

use serde::Serialize;

use crate::quote::toml_string;

/// The highest channel number a selection may name: far above any endpoint's channel
/// count, and small enough that a range expands to a short list.
pub const MAX_ENDPOINT_CHANNEL: u16 = 256;

/// An endpoint as `wasapi.output` / `wasapi.input` name it (a direction is off when its
/// list is empty; [`EndpointSetting::Off`] is what a single `off` reads as).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum EndpointSetting {
    /// Windows' default device for the direction (`"default"`).
    #[default]
    Default,
    /// Leave the direction out (`"off"`).
    Off,
    /// The endpoint with this ID, as `tenuto devices` shows it (e.g.
    /// `{0.0.0.00000000}.{5f9f0f6e-…}`), kept verbatim; a friendly name is accepted
    /// as a fallback (IDs are stable, names may be renumbered by Windows).
    Device(String),
}

impl EndpointSetting {
    /// The spelling in the file: `default`, `off`, or the ID (or name) as given.
    pub fn as_str(&self) -> &str {
        match self {
            EndpointSetting::Default => "default",
            EndpointSetting::Off => "off",
            EndpointSetting::Device(id) => id,
        }
    }

    /// The setting spelled `text`: `default` and `off` (ASCII case-insensitive,
    /// surrounding blanks ignored), else a device ID or name, kept verbatim. An empty
    /// or blank text is an error, which says why.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("is empty".to_owned());
        }
        if trimmed.eq_ignore_ascii_case("default") {
            return Ok(EndpointSetting::Default);
        }
        if trimmed.eq_ignore_ascii_case("off") {
            return Ok(EndpointSetting::Off);
        }
        Ok(EndpointSetting::Device(text.to_owned()))
    }

    /// The device ID or name, for [`EndpointSetting::Device`].
    pub fn device(&self) -> Option<&str> {
        match self {
            EndpointSetting::Device(id) => Some(id),
            _ => None,
        }
    }

    /// Whether both name the same endpoint as the file can tell: the same kind, and for
    /// devices the same ID or name ignoring ASCII case and surrounding blanks (Windows
    /// compares endpoint IDs case-insensitively).
    pub fn same_as(&self, other: &EndpointSetting) -> bool {
        match (self, other) {
            (EndpointSetting::Device(a), EndpointSetting::Device(b)) => {
                a.trim().eq_ignore_ascii_case(b.trim())
            }
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for EndpointSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EndpointSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One endpoint of `wasapi.output` or `wasapi.input`, with the channels used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EndpointEntry {
    /// Windows' default device or one endpoint by ID or name; never
    /// [`EndpointSetting::Off`] (a direction is off when its list is empty).
    pub endpoint: EndpointSetting,
    /// The channels used, 1-based, ascending, without duplicates, each at most
    /// [`MAX_ENDPOINT_CHANNEL`]; `None` = every channel of the endpoint.
    pub channels: Option<Vec<u16>>,
}

impl EndpointEntry {
    /// Every channel of `endpoint`.
    pub fn all_channels(endpoint: EndpointSetting) -> Self {
        EndpointEntry {
            endpoint,
            channels: None,
        }
    }

    /// The entry spelled `text`: `default` or an ID or name, with an optional trailing
    /// ` [SELECTION]`. The error reads after the value (`"is empty"`, `"has the channel
    /// selection [0], which names channel 0 …"`) and says what is allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.chars().any(char::is_control) {
            return Err("contains control characters".to_owned());
        }
        let (name, channels) = match split_selection(text) {
            Some((name, inner)) => match parse_selection(inner) {
                Ok(channels) => (name, channels),
                Err(why) => {
                    return Err(format!(
                        "has the channel selection [{}], which {why}; a selection lists \
                         channels from 1 to {MAX_ENDPOINT_CHANNEL} and ranges a-b with a <= b, \
                         separated by commas, each channel once, e.g. [1-2,5]",
                        inner.trim()
                    ))
                }
            },
            None => (text, None),
        };
        match EndpointSetting::parse(name)? {
            EndpointSetting::Off => Err("is off, which is no endpoint: off stands alone, as \
                 the whole value (no endpoint for that direction)"
                .to_owned()),
            endpoint => Ok(EndpointEntry { endpoint, channels }),
        }
    }

    /// A channel selection as typed without its brackets (`"3-4"`, `"1-2, 5"`); empty or
    /// `all` is every channel (`None`). The error says what is wrong and what is allowed.
    pub fn parse_channels(text: &str) -> Result<Option<Vec<u16>>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let why = match split_selection(&format!("x [{text}]")) {
            Some((_, inner)) => match parse_selection(inner) {
                Ok(channels) => return Ok(channels),
                Err(why) => why,
            },
            None => "is not a list of channel numbers and ranges".to_owned(),
        };
        Err(format!(
            "channels {} {why}; list channels from 1 to {MAX_ENDPOINT_CHANNEL} and ranges \
             a-b with a <= b, separated by commas, each channel once, e.g. 1-2,5 (empty: all)",
            toml_string(text.trim())
        ))
    }

    /// The spelling in the file: `default`, the ID or name as given, then ` [3-4]` with
    /// a selection. A name that itself ends in something that reads as a selection gets
    /// ` [all]`, so that [`EndpointEntry::parse`] gives back this entry.
    pub fn as_string(&self) -> String {
        let name = self.endpoint.as_str();
        match &self.channels {
            Some(channels) => format!("{name} [{}]", selection_text(channels)),
            None if split_selection(name).is_some() => format!("{name} [all]"),
            None => name.to_owned(),
        }
    }

    /// The selection as written between the brackets (`"1-2,5"`), `None` for every
    /// channel.
    pub fn channels_text(&self) -> Option<String> {
        self.channels.as_deref().map(selection_text)
    }

    /// Whether the entry uses channel `channel` (1-based) of its endpoint.
    pub fn uses_channel(&self, channel: u16) -> bool {
        match &self.channels {
            None => channel >= 1,
            Some(list) => list.binary_search(&channel).is_ok(),
        }
    }
}

impl fmt::Display for EndpointEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl Serialize for EndpointEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

/// `text` split into the name and the inside of a trailing ` [..]` whose inside is a
/// channel selection in syntax (digits, ranges, commas, blanks, or `all`), whatever its
/// values; `None` when there is no such part.
fn split_selection(text: &str) -> Option<(&str, &str)> {
    let body = text.trim_end().strip_suffix(']')?;
    let open = body.rfind('[')?;
    let (name, inner) = (&body[..open], &body[open + 1..]);
    // The selection is separated from the name by a blank, and the name is not empty.
    if !name.ends_with(char::is_whitespace) || name.trim().is_empty() {
        return None;
    }
    let lexical = inner.trim().eq_ignore_ascii_case("all")
        || inner.split(',').all(|item| {
            let item = item.trim();
            let (a, b) = item.split_once('-').unwrap_or((item, "0"));
            let digits =
                |s: &str| !s.trim().is_empty() && s.trim().bytes().all(|c| c.is_ascii_digit());
            digits(a) && digits(b)
        });
    lexical.then(|| (name.trim_end(), inner))
}

/// The channels of a selection that [`split_selection`] accepted: `None` for `all`.
fn parse_selection(inner: &str) -> Result<Option<Vec<u16>>, String> {
    if inner.trim().eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let number = |s: &str| -> Result<u16, String> {
        let n: u32 = s.trim().parse().unwrap_or(u32::MAX);
        match n {
            0 => Err("names channel 0 (channels count from 1)".to_owned()),
            n if n > u32::from(MAX_ENDPOINT_CHANNEL) => Err(format!(
                "names channel {} (at most {MAX_ENDPOINT_CHANNEL})",
                s.trim()
            )),
            n => Ok(n as u16),
        }
    };
    let mut channels = Vec::new();
    for item in inner.split(',') {
        let (first, last) = match item.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(item)?;
                (n, n)
            }
        };
        if first > last {
            return Err(format!(
                "has the reversed range {first}-{last} (write {last}-{first})"
            ));
        }
        channels.extend(first..=last);
    }
    let mut sorted = channels.clone();
    sorted.sort_unstable();
    if let Some(twice) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("names channel {} twice", twice[0]));
    }
    Ok(Some(sorted))
}

/// `[1, 2, 5]` → `"1-2,5"`: consecutive channels as ranges.
fn selection_text(channels: &[u16]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < channels.len() {
        let mut j = i;
        while j + 1 < channels.len() && channels[j + 1] == channels[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            channels[i].to_string()
        } else {
            format!("{}-{}", channels[i], channels[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// The list a single string value gives: `off` is the empty list, anything else one
/// entry.
pub(crate) fn parse_single(text: &str) -> Result<Vec<EndpointEntry>, String> {
    match EndpointSetting::parse(text) {
        Ok(EndpointSetting::Off) => Ok(Vec::new()),
        _ => EndpointEntry::parse(text).map(|e| vec![e]),
    }
}

/// The list an array value gives: each item an entry, no endpoint twice.
pub(crate) fn parse_list<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<EndpointEntry>, String> {
    let mut list: Vec<EndpointEntry> = Vec::new();
    for item in items {
        let entry = EndpointEntry::parse(item)
            .map_err(|why| format!("is not allowed: its entry {} {why}", toml_string(item)))?;
        if let Some(first) = list.iter().find(|e| e.endpoint.same_as(&entry.endpoint)) {
            return Err(format!(
                "lists the endpoint {} twice ({} and {}); list each endpoint once, with every \
                 channel it should carry in one selection",
                toml_string(entry.endpoint.as_str()),
                toml_string(&first.as_string()),
                toml_string(&entry.as_string()),
            ));
        }
        list.push(entry);
    }
    Ok(list)
}

/// A list in the file's spelling: `"off"` when empty, a plain string for one entry
/// without a selection (the single-endpoint form), else an array of strings.
pub(crate) fn list_toml(list: &[EndpointEntry]) -> String {
    match list {
        [] => toml_string("off"),
        [one] if one.channels.is_none() => toml_string(&one.as_string()),
        many => {
            let items: Vec<String> = many.iter().map(|e| toml_string(&e.as_string())).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

/// A list for people: `off`, or the entries separated by ", " ("USB Audio [3-4],
/// default").
pub fn endpoint_list_text(list: &[EndpointEntry]) -> String {
    if list.is_empty() {
        return "off".to_owned();
    }
    let items: Vec<String> = list.iter().map(EndpointEntry::as_string).collect();
    items.join(", ")
}

/// `wasapi.clock`: the endpoint whose clock the aggregate follows (the master); every
/// other endpoint is resampled to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ClockSetting {
    /// `"auto"`: the first input endpoint, else the first output endpoint.
    #[default]
    Auto,
    /// The ID or name of an endpoint of `wasapi.output` or `wasapi.input` (or `default`),
    /// as written there, without a channel selection.
    Endpoint(String),
}

impl ClockSetting {
    /// The spelling in the file: `auto` or the endpoint as given.
    pub fn as_str(&self) -> &str {
        match self {
            ClockSetting::Auto => "auto",
            ClockSetting::Endpoint(e) => e,
        }
    }

    /// `auto` (ASCII case-insensitive, surrounding blanks ignored), else an endpoint's
    /// ID or name, kept verbatim. An empty text, `off` or control characters are errors,
    /// which say why. Whether the endpoint is listed is checked against the lists
    /// ([`crate::WasapiSettings::clock_problem`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().eq_ignore_ascii_case("auto") {
            return Ok(ClockSetting::Auto);
        }
        if text.chars().any(char::is_control) {
            return Err("contains control characters".to_owned());
        }
        match EndpointSetting::parse(text)? {
            EndpointSetting::Off => Err("is off, which is no endpoint".to_owned()),
            _ => Ok(ClockSetting::Endpoint(text.to_owned())),
        }
    }
}

impl fmt::Display for ClockSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ClockSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(name: &str) -> EndpointSetting {
        EndpointSetting::Device(name.to_owned())
    }

    #[test]
    fn selections_parse_and_print_compactly() {
        let e = EndpointEntry::parse("USB Audio [3-4]").unwrap();
        assert_eq!(e.endpoint, device("USB Audio"));
        assert_eq!(e.channels, Some(vec![3, 4]));
        assert_eq!(e.as_string(), "USB Audio [3-4]");
        let e = EndpointEntry::parse("default [ 5, 1-2 ]").unwrap();
        assert_eq!(e.endpoint, EndpointSetting::Default);
        assert_eq!(e.channels, Some(vec![1, 2, 5]));
        assert_eq!(e.to_string(), "default [1-2,5]");
        assert_eq!(e.channels_text().as_deref(), Some("1-2,5"));
        assert!(e.uses_channel(5) && !e.uses_channel(3));
        let e = EndpointEntry::parse("Speakers (Realtek)").unwrap();
        assert_eq!(
            (e.endpoint, e.channels),
            (device("Speakers (Realtek)"), None)
        );
        assert_eq!(selection_text(&[1, 3, 4, 5, 7, 8]), "1,3-5,7-8");
        // Typed without brackets, as the settings window's channels box takes them.
        assert_eq!(
            EndpointEntry::parse_channels(" 4,1-2 "),
            Ok(Some(vec![1, 2, 4]))
        );
        assert_eq!(EndpointEntry::parse_channels(""), Ok(None));
        assert_eq!(EndpointEntry::parse_channels("ALL"), Ok(None));
        let e = EndpointEntry::parse_channels("1-x").unwrap_err();
        assert!(e.starts_with("channels \"1-x\" is not a list"), "{e}");
        let e = EndpointEntry::parse_channels("2,2").unwrap_err();
        assert!(e.contains("names channel 2 twice"), "{e}");
    }

    #[test]
    fn brackets_that_are_no_selection_stay_in_the_name() {
        for name in [
            "Line 1/2 [Focusrite]",
            "Mic [2-]",
            "Mic[2]",
            "Mic [1 2]",
            "[3-4]",
            "Out [1-2] tail",
        ] {
            let e = EndpointEntry::parse(name).unwrap();
            assert_eq!((e.endpoint.as_str(), e.channels), (name, None), "{name}");
        }
        // A name that ends in what reads as a selection is written with [all].
        let e = EndpointEntry::all_channels(device("Mic [2]"));
        assert_eq!(e.as_string(), "Mic [2] [all]");
        assert_eq!(EndpointEntry::parse(&e.as_string()).unwrap(), e);
        let e = EndpointEntry {
            endpoint: device("Mic [0]"),
            channels: Some(vec![1]),
        };
        assert_eq!(EndpointEntry::parse(&e.as_string()).unwrap(), e);
    }

    #[test]
    fn bad_selections_say_what_is_allowed() {
        for (text, why) in [
            ("USB [0-2]", "names channel 0 (channels count from 1)"),
            ("USB [4-3]", "has the reversed range 4-3 (write 3-4)"),
            ("USB [1-3,2]", "names channel 2 twice"),
            ("USB [999]", "names channel 999 (at most 256)"),
        ] {
            let e = EndpointEntry::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
            assert!(e.starts_with("has the channel selection ["), "{e}");
            assert!(e.contains("e.g. [1-2,5]"), "{e}");
        }
        assert!(EndpointEntry::parse("off")
            .unwrap_err()
            .contains("off stands alone"));
        assert_eq!(EndpointEntry::parse("  ").unwrap_err(), "is empty");
        assert!(EndpointEntry::parse("a\nb")
            .unwrap_err()
            .contains("control"));
    }

    #[test]
    fn lists_refuse_an_endpoint_twice_and_spell_themselves() {
        let list = parse_list(["Speakers", "USB Audio [3-4]", "default [1,2]"]).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list_toml(&list),
            "[\"Speakers\", \"USB Audio [3-4]\", \"default [1-2]\"]"
        );
        assert_eq!(
            endpoint_list_text(&list),
            "Speakers, USB Audio [3-4], default [1-2]"
        );
        let e = parse_list(["USB", "x [2-1]"]).unwrap_err();
        assert!(
            e.starts_with("is not allowed: its entry \"x [2-1]\" has the channel selection [2-1]"),
            "{e}"
        );
        let e = parse_list(["USB [1]", "usb [2]"]).unwrap_err();
        assert!(e.starts_with("lists the endpoint \"usb\" twice"), "{e}");
        assert!(parse_list(["default", "DEFAULT [1]"]).is_err());
        assert_eq!(parse_single("OFF").unwrap(), []);
        assert_eq!(list_toml(&[]), "\"off\"");
        assert_eq!(
            list_toml(&parse_single("Speakers").unwrap()),
            "\"Speakers\""
        );
        assert_eq!(
            list_toml(&parse_single("Speakers [1]").unwrap()),
            "[\"Speakers [1]\"]"
        );
    }

    #[test]
    fn clock_spellings() {
        assert_eq!(ClockSetting::parse(" AUTO "), Ok(ClockSetting::Auto));
        assert_eq!(
            ClockSetting::parse("USB Audio"),
            Ok(ClockSetting::Endpoint("USB Audio".to_owned()))
        );
        assert!(ClockSetting::parse("off").is_err());
        assert!(ClockSetting::parse("").is_err());
    }
}
