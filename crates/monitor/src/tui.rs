//! `tenuto monitor`: the terminal UI.
//!
//! [`App`] holds what is on screen ([`AppState`]) and refreshes it from the shared memory;
//! [`render`] draws an [`AppState`] and nothing else, so tests draw it on ratatui's
//! `TestBackend` and read the screen. [`run`] is the terminal loop: refresh and redraw
//! every [`TICK`], ↑/↓ select an instance, `q` (or Esc) quits.
//!
//! The monitor only reads: it opens every region read-only, takes no lock the driver
//! takes, and a slow or stopped monitor costs the driver nothing. It works whether started
//! before or after the DAW: with no instance it says so and keeps looking.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Block, Chart, Dataset, GraphType, List, ListItem, ListState,
    Paragraph, Wrap,
};
use ratatui::Frame;

use crate::layout::{priority_flags, text, Cause, Event, Snapshot};
use crate::{now_ms, EventCursor, InstanceInfo, Liveness, Namespace, Reader};

/// How often the screen is refreshed.
pub const TICK: Duration = Duration::from_millis(100);
/// Events kept on screen.
pub const EVENTS_KEPT: usize = 200;
/// How often the instance list is read again.
const LIST_EVERY: Duration = Duration::from_millis(500);

/// Everything [`render`] draws.
#[derive(Debug, Clone, Default)]
pub struct AppState {
    /// The live (and stale) instances, by process and number.
    pub instances: Vec<InstanceInfo>,
    /// The selected one's index in `instances`.
    pub selected: usize,
    /// The selected instance's latest snapshot.
    pub snapshot: Option<Snapshot>,
    /// Its recent events, oldest first.
    pub events: VecDeque<Event>,
    /// Events it published faster than this monitor read them.
    pub missed_events: u64,
    /// Now, ms since the Unix epoch (times on screen are relative to it).
    pub now_ms: u64,
}

/// A key the monitor reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Select the previous instance.
    Up,
    /// Select the next instance.
    Down,
    /// Quit.
    Quit,
    /// Anything else (ignored).
    Other,
}

/// The monitor's state and its sources.
#[derive(Debug)]
pub struct App {
    ns: Namespace,
    state: AppState,
    reader: Option<Reader>,
    cursor: EventCursor,
    /// The selected instance's (pid, number): the selection follows it when the list changes.
    selected_key: Option<(u32, u32)>,
    listed_at: Option<Instant>,
}

impl App {
    /// A monitor of the instances in `ns`.
    pub fn new(ns: Namespace) -> Self {
        Self {
            ns,
            state: AppState::default(),
            reader: None,
            cursor: EventCursor::default(),
            selected_key: None,
            listed_at: None,
        }
    }

    /// What is on screen.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Handles a key; returns whether to quit.
    pub fn key(&mut self, key: Key) -> bool {
        let n = self.state.instances.len();
        match key {
            Key::Quit => return true,
            Key::Up if n > 0 => self.select((self.state.selected + n - 1) % n),
            Key::Down if n > 0 => self.select((self.state.selected + 1) % n),
            _ => {}
        }
        false
    }

    fn select(&mut self, i: usize) {
        self.state.selected = i;
        let key = self.state.instances.get(i).map(|x| (x.pid, x.instance));
        if key != self.selected_key {
            self.selected_key = key;
            self.reader = None;
            self.state.snapshot = None;
            self.state.events.clear();
            self.state.missed_events = 0;
        }
        self.read_selected();
    }

    /// Reads the list (every half second) and the selected instance (every call).
    pub fn refresh(&mut self) {
        self.state.now_ms = now_ms();
        if self.listed_at.is_none_or(|t| t.elapsed() >= LIST_EVERY) {
            self.relist();
        }
        self.read_selected();
    }

    /// Reads the list of instances now.
    pub fn relist(&mut self) {
        self.listed_at = Some(Instant::now());
        self.state.instances = self.ns.list();
        let i = self
            .selected_key
            .and_then(|k| {
                self.state
                    .instances
                    .iter()
                    .position(|x| (x.pid, x.instance) == k)
            })
            .unwrap_or(0)
            .min(self.state.instances.len().saturating_sub(1));
        self.select(i);
    }

    fn read_selected(&mut self) {
        let Some(info) = self.state.instances.get(self.state.selected) else {
            self.reader = None;
            self.state.snapshot = None;
            return;
        };
        if self.reader.is_none() {
            self.reader = Reader::open(info).ok();
            if let Some(r) = &self.reader {
                self.cursor = r.cursor_oldest();
            }
        }
        let Some(r) = &self.reader else { return };
        if let Some(s) = r.snapshot() {
            self.state.snapshot = Some(s);
        }
        let mut new = Vec::new();
        self.state.missed_events += r.new_events_into(&mut self.cursor, &mut new);
        for e in new {
            if self.state.events.len() == EVENTS_KEPT {
                self.state.events.pop_front();
            }
            self.state.events.push_back(e);
        }
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn title(s: &str) -> Block<'_> {
    Block::bordered().title(Span::styled(s, Style::new().add_modifier(Modifier::BOLD)))
}

/// Draws the monitor.
pub fn render(frame: &mut Frame<'_>, app: &AppState) {
    let [head, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(frame.area());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("tenuto monitor", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                " — {} instance(s) · ↑/↓ select · q quit",
                app.instances.len()
            )),
        ])),
        head,
    );
    let [list, detail] =
        Layout::horizontal([Constraint::Length(30), Constraint::Min(40)]).areas(body);
    render_list(frame, list, app);
    match (app.instances.get(app.selected), &app.snapshot) {
        (None, _) => frame.render_widget(
            Paragraph::new(vec![
                Line::raw("No Tenuto driver is running."),
                Line::raw("Waiting for one to start (a DAW opening Tenuto)…"),
            ])
            .block(title("Instance")),
            detail,
        ),
        (Some(_), None) => {
            frame.render_widget(Paragraph::new("reading…").block(title("Instance")), detail)
        }
        (Some(info), Some(s)) => render_detail(frame, detail, app, info, s),
    }
}

fn render_list(frame: &mut Frame<'_>, area: Rect, app: &AppState) {
    let items: Vec<ListItem<'_>> = app
        .instances
        .iter()
        .map(|i| {
            let host = if i.host_exe.is_empty() {
                "?"
            } else {
                &i.host_exe
            };
            let mut second = vec![Span::raw(format!(
                "  pid {} #{} {}",
                i.pid,
                i.instance,
                i.state.name()
            ))];
            if i.liveness == Liveness::Stale {
                second.push(Span::styled(" (stale)", Style::new().fg(Color::Yellow)));
            }
            ListItem::new(vec![Line::raw(host.to_owned()), Line::from(second)])
        })
        .collect();
    let mut state = ListState::default();
    if !app.instances.is_empty() {
        state.select(Some(app.selected));
    }
    frame.render_stateful_widget(
        List::new(items)
            .block(title("Instances"))
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol("▶ "),
        area,
        &mut state,
    );
}

fn summary(info: &InstanceInfo, s: &Snapshot) -> Vec<Line<'static>> {
    let period = s.period_ns();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(text(&s.host_exe), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                "  pid {} #{}  {}  {} Hz  {} frames ({:.2} ms)  latency in {} / out {} frames",
                info.pid,
                info.instance,
                s.state().name(),
                s.sample_rate,
                s.buffer_size,
                ms(period),
                s.input_latency,
                s.output_latency
            )),
        ]),
        Line::raw(format!("driver: {}", text(&s.driver))),
        Line::raw(format!("scheduling: {}", text(&s.policy))),
        Line::from(vec![
            Span::raw(format!(
                "priority: {}",
                s.priority().map_or("not sampled".into(), |p| p.to_string())
            )),
            if s.demoted != 0 {
                Span::styled(" DEMOTED", Style::new().fg(Color::Red).add_modifier(Modifier::BOLD))
            } else {
                Span::raw("")
            },
            Span::raw(format!(
                " · demotions {} · priority changes {}",
                s.demotions, s.priority_changes
            )),
        ]),
        Line::raw(format!(
            "periods {} · late {}: {}",
            s.periods,
            s.late_periods,
            Cause::ALL
                .iter()
                .map(|c| format!("{} {}", c.name(), s.late(*c)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Line::raw(format!(
            "device: underruns {}, overruns {}, resyncs {}, slips {}, stalls {} ({} ms lost) · worst wake-up {:.3} ms",
            s.output_underruns,
            s.input_overruns,
            s.resyncs,
            s.clock_slips,
            s.device_stalls,
            s.device_stall_lost_us / 1000,
            ms(s.max_wake_late_ns)
        )),
    ];
    let err = text(&s.stream_error);
    if !err.is_empty() {
        lines.push(Line::styled(
            format!("error: {err}"),
            Style::new().fg(Color::Red),
        ));
    }
    if info.liveness == Liveness::Stale {
        lines.push(Line::styled(
            format!(
                "no update for {:.1} s",
                info.heartbeat_age_ms as f64 / 1000.0
            ),
            Style::new().fg(Color::Yellow),
        ));
    }
    lines
}

fn render_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    app: &AppState,
    info: &InstanceInfo,
    s: &Snapshot,
) {
    let head = summary(info, s);
    let [top, graphs, split, events] = Layout::vertical([
        Constraint::Length(wrapped_rows(&head, area.width.saturating_sub(2)) + 2),
        Constraint::Min(8),
        Constraint::Length(8),
        Constraint::Min(6),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(head)
            .wrap(Wrap { trim: true })
            .block(title("Instance")),
        top,
    );
    let [prio, hist] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(graphs);
    render_priority(frame, prio, app, s);
    render_histogram(frame, hist, s);
    render_split(frame, split, s);
    render_events(frame, events, app);
}

/// Rows that `lines` take wrapped at `width` columns: a long line (the scheduling text) wraps
/// at words, so it gets one row more than its width alone needs; every line stays on screen.
fn wrapped_rows(lines: &[Line<'_>], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let rows: usize = lines
        .iter()
        .map(|l| match l.width() {
            w if w <= width => 1,
            w => w.div_ceil(width) + 1,
        })
        .sum();
    u16::try_from(rows).unwrap_or(u16::MAX)
}

fn render_priority(frame: &mut Frame<'_>, area: Rect, app: &AppState, s: &Snapshot) {
    let now = app.now_ms.max(s.updated_ms);
    let ago = |t: u64| -(now.saturating_sub(t) as f64 / 1000.0);
    let samples: Vec<_> = s
        .recent_priorities()
        .filter(|p| p.flags & priority_flags::VALID != 0)
        .collect();
    let line: Vec<(f64, f64)> = samples
        .iter()
        .map(|p| (ago(p.time_ms), f64::from(p.priority)))
        .collect();
    let demoted: Vec<(f64, f64)> = samples
        .iter()
        .filter(|p| p.flags & priority_flags::DEMOTED != 0)
        .map(|p| (ago(p.time_ms), f64::from(p.priority)))
        .collect();
    let lo = samples.iter().map(|p| p.priority).min().unwrap_or(0);
    let hi = samples.iter().map(|p| p.priority).max().unwrap_or(0);
    let span = line.first().map_or(10.0, |p| (-p.0).max(1.0));
    let name = match (s.priority(), samples.is_empty()) {
        (Some(p), false) => format!("Priority (now {p}, lowest {lo})"),
        _ => "Priority (not sampled)".into(),
    };
    let datasets = vec![
        Dataset::default()
            .name("priority")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Cyan))
            .data(&line),
        Dataset::default()
            .name("demoted")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(Color::Red))
            .data(&demoted),
    ];
    let ylo = f64::from(lo) - 1.0;
    let yhi = f64::from(hi) + 1.0;
    frame.render_widget(
        Chart::new(datasets)
            .block(title(&name))
            .x_axis(
                Axis::default()
                    .bounds([-span, 0.0])
                    .labels([format!("-{span:.0}s"), "now".into()]),
            )
            .y_axis(
                Axis::default()
                    .bounds([ylo, yhi])
                    .labels([format!("{lo}"), format!("{hi}")]),
            ),
        area,
    );
}

/// A bucket's upper bound in at most four columns: "8µ", "128µ", "2m", "1s".
fn short_bucket_label(i: usize) -> String {
    let us = 1u64 << i.min(63);
    if us >= 1_000_000 {
        format!("{}s", us / 1_000_000)
    } else if us >= 1000 {
        format!("{}m", us / 1000)
    } else {
        format!("{us}µ")
    }
}

fn render_histogram(frame: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let h = &s.wake_histogram;
    let first = h.iter().position(|n| *n > 0).unwrap_or(0);
    let last = h.iter().rposition(|n| *n > 0).unwrap_or(0);
    // Heights on a log scale: one late period among thousands on time must still show.
    let height = |n: u64| {
        if n == 0 {
            0
        } else {
            ((n as f64).ln() * 100.0) as u64 + 100
        }
    };
    let bars: Vec<Bar<'_>> = (first..=last)
        .map(|i| {
            let n = h.get(i).copied().unwrap_or(0);
            Bar::default()
                .value(height(n))
                .label(Line::raw(short_bucket_label(i)))
                .text_value(if n >= 10_000 {
                    format!("{}k", n / 1000)
                } else {
                    n.to_string()
                })
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(title("Wake-up lateness (periods, log; under µs/ms)"))
            .bar_width(4)
            .bar_gap(1)
            .bar_style(Style::new().fg(Color::Green))
            .value_style(Style::new().fg(Color::Black).bg(Color::Green))
            .data(BarGroup::default().bars(&bars)),
        area,
    );
}

fn render_split(frame: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let rows = area.height.saturating_sub(2) as usize;
    let width = area.width.saturating_sub(2) as usize;
    let label_w = 34;
    let bar_w = width.saturating_sub(label_w).max(10);
    let recent: Vec<_> = s.recent_periods().collect();
    let lines: Vec<Line<'_>> = recent
        .iter()
        .rev()
        .take(rows)
        .map(|p| {
            let period = p.period_ns.max(1);
            let cells = |ns: u64| ((ns as f64 / period as f64) * bar_w as f64).round() as usize;
            let e = cells(p.engine_ns).min(bar_w);
            let h = cells(p.host_ns).min(bar_w - e);
            let w = cells(p.wake_late_ns).min(bar_w - e - h);
            let rest = bar_w - e - h - w;
            let late = p.slack_ns < 0;
            let mut spans = vec![Span::raw(format!(
                "#{:<8} e{:>6.3} h{:>6.3} s{:>7.3} ",
                p.period,
                ms(p.engine_ns),
                ms(p.host_ns),
                p.slack_ns as f64 / 1e6
            ))];
            spans.push(Span::styled(
                "░".repeat(w),
                Style::new().fg(Color::DarkGray),
            ));
            spans.push(Span::styled("█".repeat(e), Style::new().fg(Color::Blue)));
            spans.push(Span::styled("█".repeat(h), Style::new().fg(Color::Green)));
            spans.push(if late {
                Span::styled(
                    " LATE",
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::styled("·".repeat(rest), Style::new().fg(Color::DarkGray))
            });
            Line::from(spans)
        })
        .collect();
    let body = if lines.is_empty() {
        vec![Line::raw("no periods yet")]
    } else {
        lines
    };
    frame.render_widget(
        Paragraph::new(body).block(title(
            "Period time split, ms (wake-up ░ engine █ host █ slack ·), newest first",
        )),
        area,
    );
}

fn render_events(frame: &mut Frame<'_>, area: Rect, app: &AppState) {
    let rows = area.height.saturating_sub(2) as usize;
    let mut lines: Vec<ListItem<'_>> = app
        .events
        .iter()
        .rev()
        .take(rows)
        .map(|e| {
            let color = match e.kind {
                crate::EventKind::Late(_) | crate::EventKind::StreamError => Color::Red,
                crate::EventKind::Demoted => Color::Magenta,
                crate::EventKind::DeviceGap => Color::Yellow,
                _ => Color::Reset,
            };
            let mut t = format!(
                "{:>7.1}s ago  {}",
                app.now_ms.saturating_sub(e.time_ms) as f64 / 1000.0,
                e.kind.name()
            );
            if let Some(p) = e.period {
                t.push_str(&format!("  period {p}"));
            }
            if let Some(p) = e.priority {
                t.push_str(&format!("  priority {p}"));
            }
            if !e.text.is_empty() {
                t.push_str("  ");
                t.push_str(&e.text);
            }
            ListItem::new(Line::styled(t, Style::new().fg(color)))
        })
        .collect();
    if lines.is_empty() {
        lines.push(ListItem::new("no events yet"));
    }
    let name = if app.missed_events > 0 {
        format!("Events, newest first ({} missed)", app.missed_events)
    } else {
        "Events, newest first".into()
    };
    frame.render_widget(List::new(lines).block(title(&name)), area);
}

/// Runs the monitor in the terminal until `q`: raw mode and the alternate screen while it
/// runs (restored on return and on panic). A Windows console that does not process escape
/// sequences (Wine's) is drawn through the console's own calls instead
/// ([`crate::console`]), without an alternate screen: the screen is cleared at the start and
/// at the end.
pub fn run(ns: &Namespace) -> std::io::Result<()> {
    #[cfg(windows)]
    if !crate::console::vt_processed()? {
        return run_console(ns);
    }
    use ratatui::crossterm::{execute, terminal};
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ratatui::restore();
        hook(info);
    }));
    terminal::enable_raw_mode()?;
    let result = execute!(std::io::stdout(), terminal::EnterAlternateScreen).and_then(|()| {
        // A frame goes out at the draw's flush rather than at each kilobyte of a line buffer.
        let out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
        let mut terminal = ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(out))?;
        event_loop(&mut terminal, ns)
    });
    ratatui::restore();
    result
}

/// [`run`] on a console drawn through its own calls.
#[cfg(windows)]
fn run_console(ns: &Namespace) -> std::io::Result<()> {
    use ratatui::backend::Backend;
    use ratatui::crossterm::terminal;
    fn restore() {
        let _ = terminal::disable_raw_mode();
        if let Ok(mut b) = crate::console::ConsoleBackend::new() {
            let _ = b.clear();
            let _ = b.set_cursor_position((0, 0));
            let _ = b.show_cursor();
        }
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
    }));
    terminal::enable_raw_mode()?;
    let result = crate::console::ConsoleBackend::new().and_then(|backend| {
        let mut terminal = ratatui::Terminal::new(backend)?;
        terminal.clear()?;
        event_loop(&mut terminal, ns)
    });
    restore();
    result
}

fn map_key(code: ratatui::crossterm::event::KeyCode) -> Key {
    use ratatui::crossterm::event::KeyCode as C;
    match code {
        C::Up | C::Char('k') => Key::Up,
        C::Down | C::Char('j') => Key::Down,
        C::Char('q') | C::Esc => Key::Quit,
        _ => Key::Other,
    }
}

fn event_loop<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    ns: &Namespace,
) -> std::io::Result<()> {
    use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};
    let mut app = App::new(ns.clone());
    loop {
        app.refresh();
        terminal.draw(|f| render(f, app.state()))?;
        let deadline = Instant::now() + TICK;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !event::poll(left)? {
                break;
            }
            if let TermEvent::Key(k) = event::read()? {
                if k.kind == KeyEventKind::Press {
                    if app.key(map_key(k.code)) {
                        return Ok(());
                    }
                    terminal.draw(|f| render(f, app.state()))?;
                }
            }
        }
    }
}
