//! The settings window itself: its controls, their layout at the window's
//! DPI, what happens when the user changes something, Apply, and the live
//! status. Safe code on top of [`super::sys`].

use std::path::PathBuf;
use std::sync::Arc;

use tenuto_engine::shared::Shared;
use tenuto_settings::Settings;

use super::sys::{self, codes, Event, Font, Reply, Window};
use crate::form::{self, Device, EndpointList, Entry, ModeControls, SchedulingEnables};
use crate::graph;
use crate::layout::{self, Group, Item, Measure, Size, Spacing};
use crate::PanelContext;

/// Every control, in creation (= tab) order. The discriminant is the
/// control's ID offset and its index in `Panel::controls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u16)]
enum C {
    FilePath,
    Message,
    GDevice,
    LBackend,
    Backend,
    LOutList,
    OutList,
    OutAdd,
    OutRemove,
    OutUp,
    OutDown,
    LOutDev,
    OutDev,
    LOutCh,
    OutCh,
    OutChHint,
    LInList,
    InList,
    InAdd,
    InRemove,
    InUp,
    InDown,
    LInDev,
    InDev,
    LInCh,
    InCh,
    InChHint,
    LClock,
    Clock,
    LWMode,
    WMode,
    LSafety,
    Safety,
    LWake,
    Wake,
    Convert,
    LRate,
    Rate,
    LInputs,
    Inputs,
    LOutputs,
    Outputs,
    LFormat,
    Format,
    LSource,
    Source,
    LType,
    SampleType,
    GStatus,
    LState,
    VState,
    LPolicy,
    VPolicy,
    LThread,
    VThread,
    LPeriods,
    VPeriods,
    LLate,
    VLate,
    LDemotions,
    VDemotions,
    LGaps,
    VGaps,
    LHist,
    Hist,
    LPrio,
    Prio,
    LLog,
    Log,
    GBuffer,
    LBuffer,
    Buffer,
    BufferNote,
    GSched,
    Mmcss,
    LTask,
    Task,
    LPriority,
    Priority,
    LFallback,
    Fallback,
    Manual,
    Inherit,
    LLevel,
    Level,
    LClass,
    Class,
    Base,
    Warning,
    Auto,
    Eco,
    GHost,
    LProfile,
    Profile,
    ProfileNote,
    Apply,
    Close,
}

const ALL: [C; 97] = [
    C::FilePath,
    C::Message,
    C::GDevice,
    C::LBackend,
    C::Backend,
    C::LOutList,
    C::OutList,
    C::OutAdd,
    C::OutRemove,
    C::OutUp,
    C::OutDown,
    C::LOutDev,
    C::OutDev,
    C::LOutCh,
    C::OutCh,
    C::OutChHint,
    C::LInList,
    C::InList,
    C::InAdd,
    C::InRemove,
    C::InUp,
    C::InDown,
    C::LInDev,
    C::InDev,
    C::LInCh,
    C::InCh,
    C::InChHint,
    C::LClock,
    C::Clock,
    C::LWMode,
    C::WMode,
    C::LSafety,
    C::Safety,
    C::LWake,
    C::Wake,
    C::Convert,
    C::LRate,
    C::Rate,
    C::LInputs,
    C::Inputs,
    C::LOutputs,
    C::Outputs,
    C::LFormat,
    C::Format,
    C::LSource,
    C::Source,
    C::LType,
    C::SampleType,
    C::GStatus,
    C::LState,
    C::VState,
    C::LPolicy,
    C::VPolicy,
    C::LThread,
    C::VThread,
    C::LPeriods,
    C::VPeriods,
    C::LLate,
    C::VLate,
    C::LDemotions,
    C::VDemotions,
    C::LGaps,
    C::VGaps,
    C::LHist,
    C::Hist,
    C::LPrio,
    C::Prio,
    C::LLog,
    C::Log,
    C::GBuffer,
    C::LBuffer,
    C::Buffer,
    C::BufferNote,
    C::GSched,
    C::Mmcss,
    C::LTask,
    C::Task,
    C::LPriority,
    C::Priority,
    C::LFallback,
    C::Fallback,
    C::Manual,
    C::Inherit,
    C::LLevel,
    C::Level,
    C::LClass,
    C::Class,
    C::Base,
    C::Warning,
    C::Auto,
    C::Eco,
    C::GHost,
    C::LProfile,
    C::Profile,
    C::ProfileNote,
    C::Apply,
    C::Close,
];

const ID_BASE: u16 = 100;
/// The widest a device drop-down grows (96-DPI pixels); longer names show in
/// full in its open list.
const DEVICE_COMBO_MAX: i32 = 520;
const TIMER_STATUS: usize = 1;
const STATUS_MS: u32 = 250;

const RED: u32 = 0x0000_20B0;
const GREEN: u32 = 0x0000_7000;
const GREY: u32 = 0x0060_6060;

impl C {
    fn id(self) -> u16 {
        ID_BASE + self as u16
    }

    fn from_id(id: u16) -> Option<C> {
        ALL.get(usize::from(id.checked_sub(ID_BASE)?)).copied()
    }

    /// Window class and style.
    fn kind(self) -> Kind {
        use C::*;
        match self {
            GDevice | GBuffer | GHost | GSched | GStatus => Kind::Group,
            Backend | OutDev | InDev | Clock | WMode | Safety | Wake | Rate | SampleType
            | Inputs | Outputs | Format | Source | Buffer | Profile | Log | Task | Priority
            | Fallback | Level | Class => Kind::Combo,
            OutList | InList => Kind::List,
            OutAdd | OutRemove | OutUp | OutDown | InAdd | InRemove | InUp | InDown => {
                Kind::ListButton
            }
            OutCh | InCh => Kind::Edit,
            Mmcss | Auto | Eco | Convert => Kind::Check,
            Manual | Inherit => Kind::Radio,
            Apply | Close => Kind::Button,
            FilePath => Kind::Path,
            Message | BufferNote | ProfileNote | Base | Warning | VPolicy => Kind::Text,
            VState | VThread | VPeriods | VLate | VDemotions | VGaps => Kind::Value,
            Hist | Prio => Kind::Graph,
            _ => Kind::Label,
        }
    }

    /// The control's fixed text (labels, check boxes, buttons, titles).
    fn text(self) -> &'static str {
        use C::*;
        match self {
            GDevice => "Device",
            GBuffer => "Buffer",
            GHost => "This host",
            GSched => "Scheduling of the driver thread",
            GStatus => "Status",
            LBackend => "&Backend:",
            // Output device / Input device share their mnemonics with the virtual
            // device's Outputs / Inputs (and Clock source with Inputs capture): only
            // one of the two sets is enabled at a time, and the dialog manager skips
            // disabled controls.
            LOutList => "Output devices:",
            LOutDev => "&Output device:",
            LOutCh => "Its channels:",
            LInList => "Input devices:",
            LInDev => "&Input device:",
            LInCh => "Its channels:",
            OutChHint | InChHint => form::CHANNELS_HINT,
            OutAdd | InAdd => "Add",
            OutRemove | InRemove => "Remove",
            OutUp | InUp => "Up",
            OutDown | InDown => "Down",
            LClock => "Clock so&urce:",
            LWMode => "&WASAPI mode:",
            LSafety => "E&xtra output buffer:",
            LWake => "Wake-up:",
            LRate => "Sample ra&te:",
            LType => "Sample t&ype:",
            LInputs => "&Inputs:",
            LOutputs => "&Outputs:",
            LFormat => "De&vice format:",
            LSource => "Inputs capt&ure:",
            LBuffer => "Buffer si&ze:",
            BufferNote => form::BUFFER_NOTE,
            LProfile => "Pro&file:",
            LLog => "Lo&g level:",
            Mmcss => "&Register driver thread with MMCSS",
            LTask => "MMCSS tas&k:",
            LPriority => "&Priority:",
            LFallback => "If MMCSS is u&navailable:",
            Manual => "&Manual priority",
            Inherit => "Keep the &host's priority",
            LLevel => "Thread &level:",
            LClass => "Process cla&ss:",
            Auto => "&Decide from the host's threads (Auto)",
            Eco => "Opt out of power throttling (&EcoQoS)",
            Convert => form::CONVERT_RATE,
            LState => "State:",
            LPolicy => "Scheduling in effect:",
            LThread => "Thread priority:",
            LPeriods => "Periods:",
            LLate => "Late periods:",
            LDemotions => "Demotions:",
            LGaps => "Device gaps:",
            LHist => "Wake-up lateness, 1 \u{00b5}s \u{2192} 8 s (red: late):",
            LPrio => "Priority, last 30 s (red: demoted):",
            Apply => "&Apply",
            Close => "&Close",
            _ => "",
        }
    }

    /// The settings key a drop-down edits.
    fn key(self) -> Option<&'static str> {
        use C::*;
        Some(match self {
            Backend => "driver.backend",
            Clock => "wasapi.clock",
            WMode => "wasapi.mode",
            Safety => "wasapi.output_safety",
            Wake => "wasapi.wake_up",
            Rate => "virtual.sample_rate",
            SampleType => "driver.sample_type",
            Inputs => "virtual.inputs",
            Outputs => "virtual.outputs",
            Format => "virtual.format",
            Source => "virtual.source",
            Buffer => "driver.buffer_size",
            Task => "scheduling.mmcss_task",
            Priority => "scheduling.mmcss_priority",
            Fallback => "scheduling.mmcss_fallback",
            Level => "scheduling.manual_level",
            Class => "scheduling.process_class",
            Log => "logging.level",
            _ => return None,
        })
    }
}

/// The controls only the WASAPI backend uses.
const WASAPI_ONLY: [C; 30] = [
    C::LOutList,
    C::OutList,
    C::OutAdd,
    C::OutRemove,
    C::OutUp,
    C::OutDown,
    C::LOutDev,
    C::OutDev,
    C::LOutCh,
    C::OutCh,
    C::OutChHint,
    C::LInList,
    C::InList,
    C::InAdd,
    C::InRemove,
    C::InUp,
    C::InDown,
    C::LInDev,
    C::InDev,
    C::LInCh,
    C::InCh,
    C::InChHint,
    C::LClock,
    C::Clock,
    C::LWMode,
    C::WMode,
    C::LSafety,
    C::Safety,
    C::LWake,
    C::Wake,
];

/// The controls only the virtual device uses.
const VIRTUAL_ONLY: [C; 10] = [
    C::LRate,
    C::Rate,
    C::LInputs,
    C::Inputs,
    C::LOutputs,
    C::Outputs,
    C::LFormat,
    C::Format,
    C::LSource,
    C::Source,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    Label,
    Combo,
    /// An endpoint list (a list box).
    List,
    /// A button that edits an endpoint list.
    ListButton,
    /// A one-line edit box.
    Edit,
    Check,
    Radio,
    Button,
    /// A one-line path, shortened with an ellipsis in the middle.
    Path,
    /// Wrapped text.
    Text,
    /// A status value.
    Value,
    /// An owner-drawn graph of the status area.
    Graph,
}

/// The two endpoint lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Out,
    In,
}

/// The controls that edit one direction's endpoint list.
struct ListControls {
    list: C,
    device: C,
    add: C,
    remove: C,
    up: C,
    down: C,
    channels: C,
}

impl Dir {
    const BOTH: [Dir; 2] = [Dir::Out, Dir::In];

    fn controls(self) -> ListControls {
        match self {
            Dir::Out => ListControls {
                list: C::OutList,
                device: C::OutDev,
                add: C::OutAdd,
                remove: C::OutRemove,
                up: C::OutUp,
                down: C::OutDown,
                channels: C::OutCh,
            },
            Dir::In => ListControls {
                list: C::InList,
                device: C::InDev,
                add: C::InAdd,
                remove: C::InRemove,
                up: C::InUp,
                down: C::InDown,
                channels: C::InCh,
            },
        }
    }

    /// The direction a list control belongs to.
    fn of(c: C) -> Option<Dir> {
        Dir::BOTH.into_iter().find(|d| {
            let k = d.controls();
            [k.list, k.device, k.add, k.remove, k.up, k.down, k.channels].contains(&c)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Note {
    Hint(String),
    Error(String),
    Saved(String),
}

pub(crate) struct Panel {
    path: PathBuf,
    host_exe: Option<String>,
    profile_key: Option<String>,
    live: Option<Arc<Shared>>,
    on_apply: Box<dyn Fn() + Send + Sync>,
    /// The settings as in the file (after the last Apply).
    original: Settings,
    file_exists: bool,
    /// The file's problems, until a save replaces them.
    problems: Option<String>,
    note: Note,
    window: Option<Window>,
    controls: Vec<Window>,
    entries: Vec<(C, Vec<Entry>)>,
    tasks: Vec<String>,
    /// The render and capture endpoints, listed when the window opened; `None`
    /// when the enumeration failed (`device_error` says why).
    outputs: Option<Vec<Device>>,
    inputs: Option<Vec<Device>>,
    device_error: Option<String>,
    /// The output and input endpoint lists as edited (saved by Apply).
    out_list: EndpointList,
    in_list: EndpointList,
    /// "Keep the host's priority" rather than "Manual priority", remembered
    /// while the radio buttons are off (MMCSS or Auto checked).
    keep_host: bool,
    dpi: u32,
    font: Option<Font>,
    bold: Option<Font>,
    /// The status graphs' data, refreshed with the status.
    timeline: graph::PriorityTimeline,
    histogram: [u64; tenuto_engine::stats::HISTOGRAM_BUCKETS],
    period_us: u64,
}

impl Panel {
    pub(crate) fn new(ctx: PanelContext) -> Self {
        let loaded = tenuto_settings::load(&ctx.settings_path);
        let problems = form::problems_line(&loaded.problems);
        let loaded_lists = (
            loaded.settings.wasapi.output.clone(),
            loaded.settings.wasapi.input.clone(),
        );
        let profile_key = form::profile_key(ctx.host_exe.as_deref());
        // On this (the panel's) thread; `endpoints` enters COM for the call.
        let (outputs, inputs, device_error) = match super::devices() {
            Ok((outputs, inputs)) => (Some(outputs), Some(inputs), None),
            Err(e) => (
                None,
                None,
                Some(format!("Could not list the audio devices: {e}")),
            ),
        };
        Panel {
            file_exists: ctx.settings_path.is_file(),
            path: ctx.settings_path,
            host_exe: ctx.host_exe,
            profile_key,
            live: ctx.live,
            on_apply: ctx.on_apply,
            original: loaded.settings,
            problems,
            note: Note::Hint(String::new()),
            window: None,
            controls: Vec::new(),
            entries: Vec::new(),
            tasks: tenuto_sched::windows::mmcss_tasks(),
            outputs,
            inputs,
            device_error,
            out_list: EndpointList::new(loaded_lists.0),
            in_list: EndpointList::new(loaded_lists.1),
            keep_host: false,
            dpi: 96,
            font: None,
            bold: None,
            timeline: graph::PriorityTimeline::new(),
            histogram: [0; tenuto_engine::stats::HISTOGRAM_BUCKETS],
            period_us: 0,
        }
    }

    fn ctl(&self, c: C) -> Option<Window> {
        self.controls.get(c as usize).copied()
    }

    fn scale(&self, v: i32) -> i32 {
        (i64::from(v) * i64::from(self.dpi) / 96) as i32
    }

    // -----------------------------------------------------------------
    // Building

    fn build(&mut self, window: Window) -> Result<(), u32> {
        self.window = Some(window);
        for c in ALL {
            let (class, style) = match c.kind() {
                Kind::Group => ("Button", sys::BS_GROUPBOX as u32),
                Kind::Label | Kind::Value => ("Static", sys::SS_LEFT),
                Kind::Path => (
                    "Static",
                    sys::SS_LEFT | sys::SS_NOPREFIX | sys::SS_PATHELLIPSIS,
                ),
                Kind::Text => ("Static", sys::SS_LEFT | sys::SS_NOPREFIX),
                Kind::Graph => ("Static", sys::SS_OWNERDRAW),
                Kind::Combo => (
                    "ComboBox",
                    sys::CBS_DROPDOWNLIST as u32
                        | sys::WS_VSCROLL
                        | sys::WS_TABSTOP
                        | sys::WS_GROUP,
                ),
                Kind::Check => (
                    "Button",
                    sys::BS_AUTOCHECKBOX as u32 | sys::WS_TABSTOP | sys::WS_GROUP,
                ),
                Kind::List => (
                    "ListBox",
                    sys::LBS_NOTIFY as u32
                        | sys::LBS_NOINTEGRALHEIGHT as u32
                        | sys::WS_VSCROLL
                        | sys::WS_BORDER
                        | sys::WS_TABSTOP
                        | sys::WS_GROUP,
                ),
                Kind::ListButton => (
                    "Button",
                    sys::BS_PUSHBUTTON as u32 | sys::WS_TABSTOP | sys::WS_GROUP,
                ),
                Kind::Edit => (
                    "Edit",
                    sys::ES_AUTOHSCROLL as u32 | sys::WS_BORDER | sys::WS_TABSTOP | sys::WS_GROUP,
                ),
                Kind::Radio => {
                    let first = if c == C::Manual { sys::WS_GROUP } else { 0 };
                    (
                        "Button",
                        sys::BS_AUTORADIOBUTTON as u32 | sys::WS_TABSTOP | first,
                    )
                }
                Kind::Button => {
                    let default = if c == C::Apply {
                        sys::BS_DEFPUSHBUTTON
                    } else {
                        sys::BS_PUSHBUTTON
                    };
                    ("Button", default as u32 | sys::WS_TABSTOP | sys::WS_GROUP)
                }
            };
            let text = match c {
                C::LProfile => self.profile_label(),
                C::FilePath => self.path_text(),
                _ => c.text().to_owned(),
            };
            let w = sys::create_control(window, class, &text, style, c.id())?;
            self.controls.push(w);
        }
        self.fill();
        self.show_values(&self.original.clone());
        self.relabel_buffers();
        self.apply_fonts();
        self.update_dependents();
        self.update_status();
        self.refresh_note();
        if self.live.is_some() {
            sys::set_timer(window, TIMER_STATUS, STATUS_MS);
        }
        if let Some(first) = self.ctl(C::Backend) {
            sys::focus(first);
        }
        Ok(())
    }

    fn path_text(&self) -> String {
        format!("Settings file: {}", self.path.display())
    }

    fn profile_label(&self) -> String {
        match &self.host_exe {
            Some(exe) => format!("Pro&file for {exe}:"),
            None => "Pro&file:".to_owned(),
        }
    }

    fn entries_of(&self, c: C) -> &[Entry] {
        self.entries
            .iter()
            .find(|(k, _)| *k == c)
            .map_or(&[][..], |(_, e)| e.as_slice())
    }

    fn set_entries(&mut self, c: C, entries: Vec<Entry>) {
        if let Some(w) = self.ctl(c) {
            let labels: Vec<String> = entries.iter().map(|e| e.label.clone()).collect();
            sys::combo_fill(w, &labels);
        }
        match self.entries.iter_mut().find(|(k, _)| *k == c) {
            Some(slot) => slot.1 = entries,
            None => self.entries.push((c, entries)),
        }
    }

    fn fill(&mut self) {
        let s = &self.original;
        let rate = s.virtual_device.sample_rate;
        let task = s.scheduling.mmcss_task.clone();
        let safety = s.wasapi.output_safety;
        let clock = s.wasapi.clock.clone();
        self.set_entries(C::Backend, form::backends());
        for d in Dir::BOTH {
            self.show_list(d);
        }
        self.show_clock(Some(clock.as_str().to_owned()), &clock);
        self.set_entries(C::WMode, form::wasapi_modes());
        self.set_entries(C::Safety, form::output_safeties(safety));
        self.set_entries(C::Wake, form::wake_ups());
        self.set_entries(C::Rate, form::sample_rates());
        self.set_entries(C::SampleType, form::sample_types());
        self.set_entries(C::Inputs, form::channel_counts());
        self.set_entries(C::Outputs, form::channel_counts());
        self.set_entries(C::Format, form::device_formats());
        self.set_entries(C::Source, form::sources());
        self.set_entries(C::Buffer, form::buffer_sizes(rate));
        let tasks = form::mmcss_tasks(&self.tasks, &task);
        self.set_entries(C::Task, tasks);
        self.set_entries(C::Priority, form::mmcss_priorities());
        self.set_entries(C::Fallback, form::fallbacks());
        self.set_entries(C::Level, form::manual_levels());
        self.set_entries(C::Class, form::process_classes());
        self.set_entries(C::Profile, form::profiles());
        self.set_entries(C::Log, form::log_levels());
        if self.profile_key.is_none() {
            for c in [C::LProfile, C::Profile] {
                if let Some(w) = self.ctl(c) {
                    sys::enable(w, false);
                }
            }
        }
    }

    /// Puts `settings`' values into the controls.
    fn show_values(&mut self, settings: &Settings) {
        self.out_list = EndpointList::new(settings.wasapi.output.clone());
        self.in_list = EndpointList::new(settings.wasapi.input.clone());
        for d in Dir::BOTH {
            self.show_list(d);
        }
        let clock = &settings.wasapi.clock;
        self.show_clock(Some(clock.as_str().to_owned()), clock);
        let values = form::values_of(settings, self.profile_key.as_deref());
        let value = |key: &str| {
            values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let combos: Vec<C> = ALL
            .iter()
            .copied()
            .filter(|c| c.kind() == Kind::Combo)
            .collect();
        for c in combos {
            // The device drop-downs show their list's selected entry (`show_list`).
            let key = match (c, &self.profile_key, c.key()) {
                (C::Profile, Some(k), _) => k.clone(),
                (C::Profile, None, _) => String::new(),
                (_, _, Some(k)) => k.to_owned(),
                (_, _, None) => continue,
            };
            let v = if c == C::Profile && self.profile_key.is_none() {
                "none".to_owned()
            } else {
                value(&key)
            };
            let index = form::index_of(self.entries_of(c), &v);
            if let Some(w) = self.ctl(c) {
                sys::combo_select(w, index);
            }
        }
        let mode = ModeControls::from_mode(settings.scheduling.mode);
        self.set_check(C::Mmcss, mode.mmcss);
        self.set_check(C::Auto, mode.auto);
        self.keep_host = mode.inherit;
        self.set_check(C::Eco, settings.scheduling.eco_qos_opt_out);
        self.set_check(C::Convert, settings.wasapi.convert_rate);
    }

    fn list(&self, d: Dir) -> &EndpointList {
        match d {
            Dir::Out => &self.out_list,
            Dir::In => &self.in_list,
        }
    }

    fn list_mut(&mut self, d: Dir) -> &mut EndpointList {
        match d {
            Dir::Out => &mut self.out_list,
            Dir::In => &mut self.in_list,
        }
    }

    fn devices_of(&self, d: Dir) -> Option<&[Device]> {
        match d {
            Dir::Out => self.outputs.as_deref(),
            Dir::In => self.inputs.as_deref(),
        }
    }

    /// Shows a direction's list: its entries, the selected one's device in the
    /// device drop-down and its channels in the channels box.
    fn show_list(&mut self, d: Dir) {
        let k = d.controls();
        let devices = self.devices_of(d);
        let list = self.list(d);
        let labels = list.labels(devices);
        let selected = list.selected;
        let current = list.current().cloned();
        let entries = form::endpoint_entries(
            devices,
            current.as_ref().map_or("default", |e| e.endpoint.as_str()),
        );
        if let Some(w) = self.ctl(k.list) {
            sys::list_fill(w, &labels);
            sys::list_select(w, selected);
        }
        self.set_entries(k.device, entries);
        let index = current
            .as_ref()
            .and_then(|e| form::index_of(self.entries_of(k.device), e.endpoint.as_str()));
        if let Some(w) = self.ctl(k.device) {
            sys::combo_select(w, index);
        }
        let channels = current
            .as_ref()
            .and_then(|e| e.channels_text())
            .unwrap_or_default();
        // The box's own change notification, sent while this handler runs, is not
        // delivered (`sys` refuses re-entry), so writing it changes nothing else.
        if let Some(w) = self.ctl(k.channels) {
            if sys::text_of(w) != channels {
                sys::set_text(w, &channels);
            }
        }
    }

    /// Refills the Clock drop-down from the lists and selects `chosen` while it is
    /// among them (else Auto); `current` is the file's clock, whose spelling an
    /// unchanged choice keeps.
    fn show_clock(&mut self, chosen: Option<String>, current: &tenuto_settings::ClockSetting) {
        let entries = form::clock_entries(
            (self.outputs.as_deref(), self.inputs.as_deref()),
            (&self.out_list.entries, &self.in_list.entries),
            current,
        );
        let value = form::clock_value(&entries, chosen.as_deref());
        self.set_entries(C::Clock, entries);
        let index = form::index_of(self.entries_of(C::Clock), &value);
        if let Some(w) = self.ctl(C::Clock) {
            sys::combo_select(w, index);
        }
    }

    /// A control of a direction's list was used (`code`: its notification).
    fn list_event(&mut self, d: Dir, c: C, code: u16) {
        let k = d.controls();
        let devices = self.devices_of(d).map(<[Device]>::to_vec);
        let result = if c == k.list && code == sys::codes::LBN_SELCHANGE as u16 {
            if let Some(i) = self.ctl(k.list).and_then(sys::list_selected) {
                self.list_mut(d).select(i);
            }
            Ok(())
        } else if c == k.device && code == sys::codes::CBN_SELCHANGE as u16 {
            match self.selected_value(k.device) {
                Some(v) => self.list_mut(d).choose(&v),
                None => Ok(()),
            }
        } else if c == k.channels && code == sys::codes::EN_CHANGE as u16 {
            // The box keeps what is typed (rewriting it would move the caret under the
            // user's fingers); the list shows the channels the entry takes, the last
            // valid ones while the text is not, and Apply refuses such a text.
            let text = self.ctl(k.channels).map(sys::text_of).unwrap_or_default();
            let side = if d == Dir::Out { "output" } else { "input" };
            match self.list_mut(d).set_channels(&text) {
                Ok(()) => {
                    let labels = self.list(d).labels(devices.as_deref());
                    let selected = self.list(d).selected;
                    if let Some(w) = self.ctl(k.list) {
                        sys::list_fill(w, &labels);
                        sys::list_select(w, selected);
                    }
                    self.changed();
                }
                Err(e) => {
                    self.note = Note::Error(format!("The selected {side} device's {e}"));
                    self.refresh_note();
                }
            }
            return;
        } else if code == sys::codes::BN_CLICKED as u16 {
            let list = self.list_mut(d);
            if c == k.add {
                list.add(devices.as_deref())
            } else {
                if c == k.remove {
                    list.remove();
                } else if c == k.up || c == k.down {
                    list.shift(c == k.up);
                }
                Ok(())
            }
        } else {
            return;
        };
        self.show_list(d);
        let chosen = self.selected_value(C::Clock);
        let current = self.original.wasapi.clock.clone();
        self.show_clock(chosen, &current);
        self.relabel_buffers();
        match result {
            Ok(()) => self.changed(),
            Err(e) => {
                self.update_dependents();
                self.note = Note::Error(e);
                self.refresh_note();
            }
        }
    }

    fn set_check(&self, c: C, on: bool) {
        if let Some(w) = self.ctl(c) {
            sys::set_checked(w, on);
        }
    }

    fn checked(&self, c: C) -> bool {
        self.ctl(c).is_some_and(sys::is_checked)
    }

    fn selected_value(&self, c: C) -> Option<String> {
        let i = sys::combo_selected(self.ctl(c)?)?;
        self.entries_of(c).get(i).map(|e| e.value.clone())
    }

    fn mode_controls(&self) -> ModeControls {
        ModeControls {
            mmcss: self.checked(C::Mmcss),
            auto: self.checked(C::Auto),
            inherit: self.keep_host,
        }
    }

    /// Every edited key with the controls' value.
    fn values(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in ALL {
            if let (Some(key), Some(v)) = (c.key(), self.selected_value(c)) {
                out.push((key.to_owned(), v));
            }
        }
        out.push((
            "scheduling.mode".to_owned(),
            self.mode_controls().mode().as_str().to_owned(),
        ));
        out.push((
            "scheduling.eco_qos_opt_out".to_owned(),
            self.checked(C::Eco).to_string(),
        ));
        out.push((
            "wasapi.convert_rate".to_owned(),
            self.checked(C::Convert).to_string(),
        ));
        out.push((
            "wasapi.output".to_owned(),
            form::list_value(&self.out_list.entries),
        ));
        out.push((
            "wasapi.input".to_owned(),
            form::list_value(&self.in_list.entries),
        ));
        if let (Some(key), Some(v)) = (&self.profile_key, self.selected_value(C::Profile)) {
            out.push((key.clone(), v));
        }
        out
    }

    // -----------------------------------------------------------------
    // Fonts and layout

    fn apply_fonts(&mut self) {
        let Some(window) = self.window else { return };
        self.dpi = sys::dpi_of(window);
        self.apply_fonts_at(None);
    }

    /// Makes the fonts for the current DPI, gives them to the controls and
    /// lays the window out again; `at`: the window's new top-left.
    fn apply_fonts_at(&mut self, at: Option<(i32, i32)>) {
        let font = sys::message_font(self.dpi, false);
        let bold = sys::message_font(self.dpi, true);
        for (c, w) in ALL.iter().zip(&self.controls) {
            let f = if c.kind() == Kind::Group {
                &bold
            } else {
                &font
            };
            if let Some(f) = f {
                sys::set_font(*w, f);
            }
        }
        // The old fonts are no longer used by any control: drop them now.
        self.font = font;
        self.bold = bold;
        self.relayout(at);
    }

    fn groups(&self) -> Sections {
        let row = |label, control| Item::Row {
            label,
            control,
            indent: 0,
        };
        let sub = self.scale(20);
        let sub_row = |label, control| Item::Row {
            label,
            control,
            indent: sub,
        };
        let text = |control, lines| Item::Text {
            control,
            indent: 0,
            lines,
        };
        let header = vec![
            Item::Single {
                control: C::FilePath,
                indent: 0,
            },
            text(C::Message, Some(2)),
        ];
        let single = |control, indent| Item::Single { control, indent };
        let buttons = |controls: [C; 4]| Item::Strip {
            label: None,
            controls: controls.to_vec(),
            indent: 0,
            fill: None,
        };
        let channels = |label, edit, hint| Item::Strip {
            label: Some(label),
            controls: vec![edit, hint],
            indent: sub,
            fill: None,
        };
        let mut status_items = if self.live.is_some() {
            vec![
                row(C::LState, C::VState),
                single(C::LPolicy, 0),
                Item::Text {
                    control: C::VPolicy,
                    indent: sub,
                    lines: Some(5),
                },
                row(C::LThread, C::VThread),
                row(C::LPeriods, C::VPeriods),
                row(C::LLate, C::VLate),
                row(C::LDemotions, C::VDemotions),
                row(C::LGaps, C::VGaps),
                single(C::LHist, 0),
                single(C::Hist, 0),
                single(C::LPrio, 0),
                single(C::Prio, 0),
            ]
        } else {
            vec![text(C::VPolicy, None)]
        };
        status_items.push(row(C::LLog, C::Log));
        // The backend's own options under it, indented: WASAPI's, then the
        // virtual device's (only one set is enabled).
        let left = vec![
            Group {
                frame: C::GDevice,
                items: vec![
                    row(C::LBackend, C::Backend),
                    sub_row(C::LOutList, C::OutList),
                    buttons([C::OutAdd, C::OutRemove, C::OutUp, C::OutDown]),
                    sub_row(C::LOutDev, C::OutDev),
                    channels(C::LOutCh, C::OutCh, C::OutChHint),
                    sub_row(C::LInList, C::InList),
                    buttons([C::InAdd, C::InRemove, C::InUp, C::InDown]),
                    sub_row(C::LInDev, C::InDev),
                    channels(C::LInCh, C::InCh, C::InChHint),
                    sub_row(C::LClock, C::Clock),
                    sub_row(C::LWMode, C::WMode),
                    sub_row(C::LSafety, C::Safety),
                    sub_row(C::LWake, C::Wake),
                    single(C::Convert, sub),
                    sub_row(C::LRate, C::Rate),
                    sub_row(C::LInputs, C::Inputs),
                    sub_row(C::LOutputs, C::Outputs),
                    sub_row(C::LFormat, C::Format),
                    sub_row(C::LSource, C::Source),
                    row(C::LType, C::SampleType),
                ],
            },
            Group {
                frame: C::GStatus,
                items: status_items,
            },
        ];
        let buffer = Group {
            frame: C::GBuffer,
            items: vec![row(C::LBuffer, C::Buffer), text(C::BufferNote, None)],
        };
        let sched = Group {
            frame: C::GSched,
            items: vec![
                single(C::Mmcss, 0),
                sub_row(C::LTask, C::Task),
                sub_row(C::LPriority, C::Priority),
                sub_row(C::LFallback, C::Fallback),
                single(C::Manual, 0),
                single(C::Inherit, 0),
                sub_row(C::LLevel, C::Level),
                sub_row(C::LClass, C::Class),
                Item::Text {
                    control: C::Base,
                    indent: sub,
                    lines: None,
                },
                Item::Text {
                    control: C::Warning,
                    indent: sub,
                    lines: None,
                },
                single(C::Auto, 0),
                single(C::Eco, 0),
            ],
        };
        let host = Group {
            frame: C::GHost,
            items: vec![row(C::LProfile, C::Profile), text(C::ProfileNote, None)],
        };
        (
            header,
            vec![left, vec![buffer, sched, host]],
            vec![C::Apply, C::Close],
        )
    }

    /// Positions every control for the current DPI and font and sizes the
    /// window; `at`: the window's new top-left (after a DPI change).
    fn relayout(&mut self, at: Option<(i32, i32)>) {
        let (Some(window), Some(font)) = (self.window, self.font.as_ref()) else {
            return;
        };
        let measurer = Measurer {
            panel: self,
            window,
            font,
        };
        let line = measurer.line_height();
        let spacing = Spacing::for_font(line, f64::from(self.dpi) / 96.0);
        let (header, columns, footer) = self.groups();
        let placed = layout::layout(&header, &columns, &footer, &measurer, &spacing);
        // A device's full name in the open list even when the box is narrower.
        for c in [C::OutDev, C::InDev, C::Clock] {
            if let Some(w) = self.ctl(c) {
                sys::combo_dropped_width(w, measurer.combo_width(c));
            }
        }
        let used: Vec<C> = placed.rects.iter().map(|(c, _)| *c).collect();
        for (c, r) in &placed.rects {
            if let Some(w) = self.ctl(*c) {
                let h = if c.kind() == Kind::Combo {
                    // A drop-down's height includes its open list.
                    r.h + self.scale(320)
                } else {
                    r.h
                };
                sys::place(
                    w,
                    sys::Rect {
                        x: r.x,
                        y: r.y,
                        w: r.w,
                        h,
                    },
                );
            }
        }
        for c in ALL {
            if let Some(w) = self.ctl(c) {
                sys::show(w, used.contains(&c));
            }
        }
        let (w, h) = sys::outer_size(placed.size.w, placed.size.h, self.dpi);
        let current = sys::window_rect(window);
        let (x, y) = at.unwrap_or((current.x, current.y));
        sys::place_window(window, sys::Rect { x, y, w, h });
    }

    // -----------------------------------------------------------------
    // Reacting

    /// Enables, the base priority text, the realtime warning, the buffer
    /// labels: everything that follows from other controls.
    fn update_dependents(&mut self) {
        let mode = self.mode_controls();
        let fallback_manual = self.selected_value(C::Fallback).as_deref() == Some("manual");
        let e = SchedulingEnables::of(mode, fallback_manual);
        let set = |cs: &[C], on: bool| {
            for c in cs {
                if let Some(w) = self.ctl(*c) {
                    sys::enable(w, on);
                }
            }
        };
        let backend = self.selected_value(C::Backend).unwrap_or_default();
        let devices = form::DeviceEnables::of(&backend);
        set(&WASAPI_ONLY, devices.wasapi);
        set(&VIRTUAL_ONLY, devices.virtual_device);
        // What a list's buttons and channels box can do with its selection.
        for d in Dir::BOTH {
            let k = d.controls();
            let list = self.list(d);
            let n = list.entries.len();
            let at = list.selected;
            set(&[k.remove, k.channels], devices.wasapi && at.is_some());
            set(&[k.up], devices.wasapi && at.is_some_and(|i| i > 0));
            set(&[k.down], devices.wasapi && at.is_some_and(|i| i + 1 < n));
        }
        // Exclusive mode runs at the host's rate: nothing to convert.
        let wasapi_mode = self.selected_value(C::WMode).unwrap_or_default();
        set(
            &[C::Convert],
            form::convert_rate_applies(&backend, &wasapi_mode),
        );
        set(&[C::Mmcss], e.mmcss_box);
        set(
            &[
                C::LTask,
                C::Task,
                C::LPriority,
                C::Priority,
                C::LFallback,
                C::Fallback,
            ],
            e.mmcss_options,
        );
        set(&[C::Manual, C::Inherit], e.radios);
        // Radio buttons that do not apply show no choice.
        self.set_check(C::Manual, e.radios && !self.keep_host);
        self.set_check(C::Inherit, e.radios && self.keep_host);
        set(
            &[C::LLevel, C::Level, C::LClass, C::Class, C::Base],
            e.manual_options,
        );

        // What the controls would save, for the texts below.
        let values = self.values();
        let preview = form::apply(&self.original, self.profile_key.as_deref(), &values);
        let base = match &preview {
            Ok((s, _)) => format!("Result: {}", s.scheduling.base_priority_text()),
            Err(_) => String::new(),
        };
        if let Some(w) = self.ctl(C::Base) {
            sys::set_text(w, &base);
        }
        let realtime = self.selected_value(C::Class).as_deref() == Some("realtime");
        if let Some(w) = self.ctl(C::Warning) {
            sys::set_text(
                w,
                if realtime {
                    form::REALTIME_WARNING
                } else {
                    form::PROCESS_CLASS_HINT
                },
            );
            sys::enable(w, e.manual_options || realtime);
            sys::redraw(w);
        }
        let profile_note = match &preview {
            Ok((s, _)) => form::profile_note(self.host_exe.as_deref(), s),
            Err(_) => String::new(),
        };
        if let Some(w) = self.ctl(C::ProfileNote) {
            sys::set_text(w, &profile_note);
        }
        // When the chosen devices cannot run the buffer size as preferred, what hosts are
        // offered instead and why (the rule the driver answers getBufferSize with).
        let buffer_note = match &preview {
            Ok((s, _)) => form::buffer_note(
                s,
                self.outputs.as_deref().unwrap_or(&[]),
                self.inputs.as_deref().unwrap_or(&[]),
            ),
            Err(_) => form::BUFFER_NOTE.to_owned(),
        };
        if let Some(w) = self.ctl(C::BufferNote) {
            sys::set_text(w, &buffer_note);
        }
        if let Err(e) = preview {
            self.note = Note::Error(format!("Not valid: {e}"));
            self.refresh_note();
        }
    }

    /// The buffer sizes' durations at the rate the chosen device runs at: the
    /// virtual device's sample rate, or the chosen WASAPI device's mix rate.
    fn relabel_buffers(&mut self) {
        let wasapi =
            form::DeviceEnables::of(&self.selected_value(C::Backend).unwrap_or_default()).wasapi;
        let rate = if wasapi {
            form::wasapi_rate(
                self.outputs.as_deref().unwrap_or(&[]),
                &self.out_list.entries,
                self.inputs.as_deref().unwrap_or(&[]),
                &self.in_list.entries,
            )
        } else {
            self.selected_value(C::Rate)
                .and_then(|r| r.parse().ok())
                .unwrap_or(self.original.virtual_device.sample_rate)
        };
        let current = self.selected_value(C::Buffer);
        self.set_entries(C::Buffer, form::buffer_sizes(rate));
        let index = current.and_then(|v| form::index_of(self.entries_of(C::Buffer), &v));
        if let Some(w) = self.ctl(C::Buffer) {
            sys::combo_select(w, index);
        }
    }

    fn changed(&mut self) {
        self.update_dependents();
        if let Some(why) = self.channels_problem() {
            self.note = Note::Error(format!("Not valid: {why}"));
            self.refresh_note();
            return;
        }
        if matches!(self.note, Note::Error(_)) {
            if form::apply(&self.original, self.profile_key.as_deref(), &self.values()).is_ok() {
                self.note = Note::Hint(String::new());
            } else {
                return;
            }
        }
        let pending = form::apply(&self.original, self.profile_key.as_deref(), &self.values())
            .map(|(_, changed)| changed.len())
            .unwrap_or(0);
        self.note = Note::Hint(if pending == 0 {
            String::new()
        } else {
            let fix = if self.problems.is_some() {
                " Saving also replaces the file's problems with the values shown."
            } else {
                ""
            };
            format!(
                "{pending} unsaved change{}: press Apply to save {}.{fix}",
                if pending == 1 { "" } else { "s" },
                if pending == 1 { "it" } else { "them" }
            )
        });
        self.refresh_note();
    }

    fn refresh_note(&self) {
        let text = match &self.note {
            Note::Error(t) | Note::Saved(t) => t.clone(),
            Note::Hint(t) if !t.is_empty() => t.clone(),
            Note::Hint(_) => match (&self.problems, &self.device_error) {
                (Some(p), _) => p.clone(),
                (None, Some(e)) => e.clone(),
                (None, None) if self.live.is_some() => "Apply saves the settings; the host then \
                    restarts the driver to use them."
                    .to_owned(),
                (None, None) => "Apply saves the settings; hosts use them the next time they \
                    start the driver."
                    .to_owned(),
            },
        };
        if let Some(w) = self.ctl(C::Message) {
            sys::set_text(w, &text);
            sys::redraw(w);
        }
    }

    fn note_color(&self) -> Option<u32> {
        match &self.note {
            Note::Error(_) => Some(RED),
            Note::Saved(_) => Some(GREEN),
            Note::Hint(t)
                if t.is_empty() && (self.problems.is_some() || self.device_error.is_some()) =>
            {
                Some(RED)
            }
            Note::Hint(_) => None,
        }
    }

    /// Why a channels box holds what its entry cannot take (the entry keeps its last
    /// valid channels meanwhile), naming the list; `None` when both are valid.
    fn channels_problem(&self) -> Option<String> {
        Dir::BOTH.into_iter().find_map(|d| {
            self.list(d).current()?;
            let text = self.ctl(d.controls().channels).map(sys::text_of)?;
            let why = tenuto_settings::EndpointEntry::parse_channels(&text).err()?;
            let list = if d == Dir::Out { "output" } else { "input" };
            Some(format!("the selected {list} device's {why}"))
        })
    }

    fn apply(&mut self) {
        if let Some(why) = self.channels_problem() {
            self.note = Note::Error(format!("Not saved: {why}"));
            self.refresh_note();
            return;
        }
        let values = self.values();
        let (settings, changed) =
            match form::apply(&self.original, self.profile_key.as_deref(), &values) {
                Ok(v) => v,
                Err(e) => {
                    self.note = Note::Error(format!("Not saved: {e}"));
                    self.refresh_note();
                    return;
                }
            };
        if changed.is_empty() && self.file_exists && self.problems.is_none() {
            self.note = Note::Hint("Nothing to save: the file already has these values.".into());
            self.refresh_note();
            return;
        }
        match tenuto_settings::save_atomic(&self.path, &settings) {
            Ok(()) => {
                self.original = settings;
                self.file_exists = true;
                self.problems = None;
                let what = match changed.len() {
                    0 => "Saved the settings.".to_owned(),
                    1 => "Saved 1 change.".to_owned(),
                    n => format!("Saved {n} changes."),
                };
                let then = if self.live.is_some() {
                    "The host now restarts the driver to use the new settings."
                } else {
                    "Hosts use the new settings the next time they start the driver."
                };
                self.note = Note::Saved(format!("{what} {then}"));
                self.refresh_note();
                (self.on_apply)();
            }
            Err(e) => {
                self.note = Note::Error(format!("Could not save {}: {e}", self.path.display()));
                self.refresh_note();
            }
        }
    }

    fn update_status(&mut self) {
        let Some(live) = self.live.clone() else {
            if let Some(w) = self.ctl(C::VPolicy) {
                sys::set_text(
                    w,
                    "Live status (scheduling in effect, thread priority, late periods and \
                     their causes) appears when a host opens this window while it uses \
                     the driver.",
                );
            }
            return;
        };
        let rows = form::status_rows(&live);
        let targets = [
            C::VState,
            C::VPolicy,
            C::VThread,
            C::VPeriods,
            C::VLate,
            C::VDemotions,
            C::VGaps,
        ];
        for ((_, value), c) in rows.iter().zip(targets) {
            if let Some(w) = self.ctl(c) {
                sys::set_text(w, value);
            }
        }
        self.timeline.sample(&live);
        self.histogram = live.counters.snapshot().wake_histogram;
        let rate = live.sample_rate();
        self.period_us = if rate > 0.0 {
            (f64::from(live.buffer_size()) * 1e6 / rate) as u64
        } else {
            0
        };
        for c in [C::Hist, C::Prio] {
            if let Some(w) = self.ctl(c) {
                sys::redraw(w);
            }
        }
    }

    /// Draws a status graph (owner-drawn statics).
    fn draw(&self, c: C, canvas: &sys::Canvas) {
        let shapes = match c {
            C::Hist => graph::histogram(&self.histogram, self.period_us, canvas.w, canvas.h),
            C::Prio => self.timeline.strip(canvas.w, canvas.h),
            _ => return,
        };
        for (r, color) in shapes {
            canvas.fill(
                sys::Rect {
                    x: r.x,
                    y: r.y,
                    w: r.w,
                    h: r.h,
                },
                color,
            );
        }
    }

    fn close(&self, window: Window) {
        sys::destroy(window);
    }
}

impl sys::Handler for Panel {
    fn created(&mut self, window: Window) {
        if let Err(code) = self.build(window) {
            eprintln!("tenuto panel: could not create a control (Windows error {code})");
        }
    }

    fn event(&mut self, window: Window, event: Event) -> Reply {
        match event {
            Event::Command { id, code } => {
                match (id, C::from_id(id)) {
                    (codes::IDOK, _) | (_, Some(C::Apply)) => self.apply(),
                    (codes::IDCANCEL, _) | (_, Some(C::Close)) => self.close(window),
                    (_, Some(c)) if Dir::of(c).is_some() => {
                        if let Some(d) = Dir::of(c) {
                            self.list_event(d, c, code);
                        }
                    }
                    (_, Some(c)) if code == codes::CBN_SELCHANGE as u16 => {
                        if matches!(c, C::Rate | C::Backend) {
                            self.relabel_buffers();
                        }
                        self.changed();
                    }
                    (_, Some(c))
                        if code == codes::BN_CLICKED as u16
                            && matches!(c.kind(), Kind::Check | Kind::Radio) =>
                    {
                        if c.kind() == Kind::Radio {
                            self.keep_host = self.checked(C::Inherit);
                        }
                        self.changed()
                    }
                    _ => return Reply::Default,
                }
                Reply::Done
            }
            Event::Timer(TIMER_STATUS) => {
                self.update_status();
                Reply::Done
            }
            Event::Timer(_) => Reply::Default,
            Event::Draw { id, canvas } => match C::from_id(id) {
                Some(c @ (C::Hist | C::Prio)) => {
                    self.draw(c, &canvas);
                    Reply::Done
                }
                _ => Reply::Default,
            },
            Event::DpiChanged { dpi, suggested } => {
                self.dpi = dpi;
                self.apply_fonts_at(Some((suggested.x, suggested.y)));
                Reply::Done
            }
            Event::StaticColor(ctl) => {
                let color = if Some(ctl) == self.ctl(C::Message) {
                    self.note_color()
                } else if Some(ctl) == self.ctl(C::Warning) {
                    let realtime = self.selected_value(C::Class).as_deref() == Some("realtime");
                    Some(if realtime { RED } else { GREY })
                } else if [
                    C::BufferNote,
                    C::ProfileNote,
                    C::FilePath,
                    C::OutChHint,
                    C::InChHint,
                ]
                .iter()
                .any(|c| self.ctl(*c) == Some(ctl))
                {
                    Some(GREY)
                } else {
                    None
                };
                color.map_or(Reply::Default, Reply::TextColor)
            }
            Event::Close => {
                self.close(window);
                Reply::Done
            }
        }
    }
}

/// The header rows, the two columns of groups, the buttons.
type Sections = (Vec<Item<C>>, Vec<Vec<Group<C>>>, Vec<C>);

/// Sizes from the real font.
struct Measurer<'a> {
    panel: &'a Panel,
    window: Window,
    font: &'a Font,
}

impl Measurer<'_> {
    fn text(&self, text: &str) -> Size {
        let (w, h) = sys::text_size(self.window, self.font, text, None);
        Size { w, h }
    }

    fn text_of(&self, c: C) -> String {
        match c {
            C::LProfile => self.panel.profile_label(),
            _ => c.text().to_owned(),
        }
    }
}

impl Measurer<'_> {
    /// A drop-down as wide as its widest entry.
    fn combo_width(&self, c: C) -> i32 {
        let p = self.panel;
        let widest = p
            .entries_of(c)
            .iter()
            .map(|e| self.text(&e.label).w)
            .max()
            .unwrap_or(0);
        widest + sys::metric(sys::SM_CXVSCROLL, p.dpi) + p.scale(14)
    }
}

impl Measure<C> for Measurer<'_> {
    fn size(&self, c: &C) -> Size {
        let p = self.panel;
        let line = self.line_height();
        match c.kind() {
            Kind::Label => {
                let t = self.text(&self.text_of(*c));
                Size { w: t.w, h: line }
            }
            Kind::Group => {
                let bold = p.bold.as_ref().unwrap_or(self.font);
                let (w, _) = sys::text_size(self.window, bold, c.text(), None);
                Size {
                    w: w + p.scale(24),
                    h: line,
                }
            }
            Kind::Combo => {
                let w = self.combo_width(*c);
                // Devices' names are Windows' (and may be long): their lists
                // open wider instead.
                let w = if matches!(c, C::OutDev | C::InDev | C::Clock) {
                    w.min(p.scale(DEVICE_COMBO_MAX))
                } else {
                    w
                };
                let h = p
                    .ctl(*c)
                    .map_or(line + p.scale(8), |w| sys::window_rect(w).h);
                Size { w, h }
            }
            Kind::Check | Kind::Radio => {
                let t = self.text(c.text());
                let check = sys::metric(sys::SM_CXMENUCHECK, p.dpi);
                Size {
                    w: t.w + check + p.scale(10),
                    h: line.max(check) + p.scale(4),
                }
            }
            Kind::Button => {
                let t = self.text(c.text());
                Size {
                    w: (t.w + p.scale(28)).max(p.scale(96)),
                    h: line + p.scale(12),
                }
            }
            Kind::ListButton => {
                let t = self.text(c.text());
                Size {
                    w: (t.w + p.scale(20)).max(p.scale(64)),
                    h: line + p.scale(10),
                }
            }
            // Room for four entries; longer lists scroll.
            Kind::List => Size {
                w: p.scale(140),
                h: 4 * line + 2 * sys::metric(sys::SM_CXEDGE, p.dpi) + p.scale(2),
            },
            // "1-2,5,7-8" and a little more; longer selections scroll.
            Kind::Edit => Size {
                w: self.text("1-16,17-24").w + p.scale(10),
                h: line + p.scale(8),
            },
            Kind::Path => {
                let t = self.text(&p.path_text());
                Size {
                    w: t.w.min(p.scale(520)),
                    h: line,
                }
            }
            Kind::Value => Size {
                w: p.scale(60),
                // Two lines where a value grows: late periods with their causes, and the
                // state with a device notice or the stream's rate conversion.
                h: if matches!(c, C::VLate | C::VState) {
                    2 * line
                } else {
                    line
                },
            },
            Kind::Text => Size {
                w: p.scale(100),
                h: line,
            },
            Kind::Graph => Size {
                w: p.scale(160),
                h: p.scale(if *c == C::Hist { 56 } else { 36 }),
            },
        }
    }

    fn wrapped_height(&self, c: &C, width: i32) -> i32 {
        let text = match c {
            C::ProfileNote => {
                let notes = form::profile_notes(self.panel.host_exe.as_deref());
                return notes
                    .iter()
                    .map(|t| sys::text_size(self.window, self.font, t, Some(width)).1)
                    .max()
                    .unwrap_or(0)
                    .max(self.line_height());
            }
            // The longest texts they show.
            C::Base => "Result: ABOVE_NORMAL in a REALTIME process: base priority 25 \u{2014} \
                 among MMCSS threads (23\u{2013}26)"
                .to_owned(),
            C::Warning => form::REALTIME_WARNING.to_owned(),
            C::BufferNote => form::longest_buffer_note(),
            C::VPolicy => "Live status (scheduling in effect, thread priority, late periods \
                 and their causes) appears when a host opens this window while it uses the \
                 driver."
                .to_owned(),
            _ => self.text_of(*c),
        };
        let (_, h) = sys::text_size(self.window, self.font, &text, Some(width));
        h.max(self.line_height())
    }

    fn line_height(&self) -> i32 {
        self.text("Ag").h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_table_and_mnemonics_are_unique() {
        for (i, c) in ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?}");
            assert_eq!(C::from_id(c.id()), Some(*c));
        }
        // Unique among the controls enabled together: WASAPI's and the virtual
        // device's are never enabled at once (see `update_dependents`).
        for (backend, off) in [("wasapi", &VIRTUAL_ONLY[..]), ("virtual", &WASAPI_ONLY[..])] {
            let mut seen = Vec::new();
            for c in ALL.iter().filter(|c| !off.contains(c)) {
                let text = if *c == C::LProfile {
                    "Pro&file:"
                } else {
                    c.text()
                };
                if let Some((_, after)) = text.split_once('&') {
                    let key = after.chars().next().unwrap().to_ascii_lowercase();
                    assert!(
                        !seen.contains(&key),
                        "{backend}: mnemonic {key} twice ({c:?})"
                    );
                    seen.push(key);
                }
            }
            for key in ['r', 'a', 'c', 'b', 'o', 'i'] {
                assert!(seen.contains(&key), "{backend}: no {key}");
            }
        }
        // Each label with a mnemonic comes right before its control (a mnemonic
        // focuses the next control); the two sets are runs of consecutive controls.
        for set in [&WASAPI_ONLY[..], &VIRTUAL_ONLY[..]] {
            for pair in set.windows(2) {
                assert_eq!(pair[0] as usize + 1, pair[1] as usize, "{pair:?}");
            }
            for pair in set.windows(2).filter(|p| p[0].text().contains('&')) {
                assert_eq!(pair[0].kind(), Kind::Label, "{pair:?}");
                assert!(
                    matches!(pair[1].kind(), Kind::Combo | Kind::List | Kind::Edit),
                    "{pair:?}"
                );
            }
        }
        // Every control of a list belongs to its direction, and only those.
        for d in Dir::BOTH {
            let k = d.controls();
            for c in [k.list, k.device, k.add, k.remove, k.up, k.down, k.channels] {
                assert_eq!(Dir::of(c), Some(d), "{c:?}");
            }
        }
        assert_eq!(Dir::of(C::Clock), None);
    }
}
