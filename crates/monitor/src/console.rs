//! Drawing the terminal UI through the Windows console's own calls, for consoles that do not
//! process escape sequences.
//!
//! Wine's console (its conhost, which runs `tenuto.exe monitor` from a Unix terminal) accepts
//! `ENABLE_VIRTUAL_TERMINAL_PROCESSING` but stores an escape sequence's characters in its
//! cells like any text, then copies its cells to the terminal with cursor moves of its own
//! that count those characters as columns: a full-screen frame of cursor moves and colours
//! lands all over the screen. Characters written with `WriteConsoleW` at a cursor placed
//! with `SetConsoleCursorPosition`, in colours set with `SetConsoleTextAttribute`, are what
//! such a console keeps and draws correctly. [`vt_processed`] tells the two kinds of console
//! apart by writing one escape sequence and seeing whether the cursor moved.
//!
//! [`runs`], [`calls`] and [`attribute`] are the platform-free part (tested on every
//! system): a frame's changed cells grouped into runs of one row and one colour, the fewest
//! console calls that draw them, and ratatui's colours and modifiers as a console attribute. `ConsoleBackend` (Windows) is a ratatui backend that
//! draws those runs with crossterm's WinAPI commands and `crossterm_winapi` — no unsafe
//! code here.

use ratatui::buffer::Cell;
use ratatui::style::{Color, Modifier};

/// A console attribute's colour bits: blue, green, red, intensity (foreground in the low
/// nibble, background in the next).
const BLUE: u16 = 1;
const GREEN: u16 = 2;
const RED: u16 = 4;
const INTENSE: u16 = 8;

/// A colour as a console nibble; `None` for the console's default (`Color::Reset`) and for
/// colours a console cannot show (RGB, indexed beyond 16), which fall back to the default.
pub fn nibble(color: Color) -> Option<u16> {
    Some(match color {
        Color::Reset => return None,
        Color::Black => 0,
        Color::Red => RED,
        Color::Green => GREEN,
        Color::Yellow => RED | GREEN,
        Color::Blue => BLUE,
        Color::Magenta => RED | BLUE,
        Color::Cyan => GREEN | BLUE,
        Color::Gray => RED | GREEN | BLUE,
        Color::DarkGray => INTENSE,
        Color::LightRed => RED | INTENSE,
        Color::LightGreen => GREEN | INTENSE,
        Color::LightYellow => RED | GREEN | INTENSE,
        Color::LightBlue => BLUE | INTENSE,
        Color::LightMagenta => RED | BLUE | INTENSE,
        Color::LightCyan => GREEN | BLUE | INTENSE,
        Color::White => RED | GREEN | BLUE | INTENSE,
        // The ANSI order (red = 1, blue = 4) is the console's with red and blue swapped.
        Color::Indexed(i) if i < 16 => {
            let c = u16::from(i);
            (c & 8) | ((c & 1) << 2) | (c & 2) | ((c & 4) >> 2)
        }
        Color::Indexed(_) | Color::Rgb(..) => return None,
    })
}

/// The console attribute of a cell: its colours over the console's `default` attribute;
/// `REVERSED` swaps them (the selected instance), `BOLD` brightens the foreground. Other
/// modifiers have no console equivalent and are left out.
pub fn attribute(fg: Color, bg: Color, modifier: Modifier, default: u16) -> u16 {
    let mut f = nibble(fg).unwrap_or(default & 0x0f);
    let mut b = nibble(bg).unwrap_or((default >> 4) & 0x0f);
    if modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut f, &mut b);
    }
    if modifier.contains(Modifier::BOLD) {
        f |= INTENSE;
    }
    (default & !0xff) | (b << 4) | f
}

/// Cells of one row, side by side, in one attribute: one cursor move, one attribute, one
/// write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Column of the first cell.
    pub x: u16,
    /// Row.
    pub y: u16,
    /// Console attribute.
    pub attr: u16,
    /// The cells' text.
    pub text: String,
}

/// Groups the cells ratatui hands a backend (changed cells, in row order) into [`Run`]s. A
/// run only goes on with the cell right after its last one: a cell ratatui leaves out
/// (unchanged, or covered by a wide symbol) ends it, and the next run starts with a cursor
/// move of its own.
pub fn runs<'a>(content: impl Iterator<Item = (u16, u16, &'a Cell)>, default: u16) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut next_x = 0u16;
    for (x, y, cell) in content {
        let attr = attribute(cell.fg, cell.bg, cell.modifier, default);
        match out.last_mut() {
            Some(run) if run.y == y && next_x == x && run.attr == attr => {
                run.text.push_str(cell.symbol());
            }
            _ => out.push(Run {
                x,
                y,
                attr,
                text: cell.symbol().to_owned(),
            }),
        }
        next_x = x.saturating_add(1);
    }
    out
}

/// One console call of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Place the cursor (`SetConsoleCursorPosition`).
    Move(u16, u16),
    /// Set the attribute of what is written next (`SetConsoleTextAttribute`).
    Attr(u16),
    /// Write text at the cursor, which moves past it (`WriteConsoleW`).
    Write(String),
}

/// The calls that draw `runs`, leaving out a cursor move to where the previous write left
/// the cursor and an attribute the console already has. Every call is a request to the
/// console (under Wine a round trip through the wineserver, which the audio's event waits
/// also go through), so a frame makes as few as it can.
pub fn calls(runs: &[Run]) -> Vec<Call> {
    let mut out = Vec::with_capacity(runs.len() * 3);
    let mut cursor: Option<(u16, u16)> = None;
    let mut attr: Option<u16> = None;
    for run in runs {
        if cursor != Some((run.x, run.y)) {
            out.push(Call::Move(run.x, run.y));
        }
        if attr != Some(run.attr) {
            out.push(Call::Attr(run.attr));
            attr = Some(run.attr);
        }
        // The console moves one cell per UTF-16 unit written.
        let units = run.text.encode_utf16().count();
        cursor = Some((run.x.saturating_add(units as u16), run.y));
        out.push(Call::Write(run.text.clone()));
    }
    out
}

#[cfg(windows)]
pub use windows::{vt_processed, ConsoleBackend};

#[cfg(windows)]
mod windows {
    use std::io;

    use crossterm_winapi::{Console, ConsoleMode, Handle, ScreenBuffer};
    use ratatui::backend::{Backend, ClearType, WindowSize};
    use ratatui::buffer::Cell;
    use ratatui::crossterm::{cursor, terminal, Command};
    use ratatui::layout::{Position, Size};

    use super::{calls, runs, Call};

    const ENABLE_VIRTUAL_TERMINAL_PROCESSING: u32 = 0x0004;

    /// The cursor of the active screen buffer.
    fn cursor_at() -> io::Result<(i16, i16)> {
        let pos = ScreenBuffer::current()?.info()?.cursor_pos();
        Ok((pos.x, pos.y))
    }

    /// Whether the console processes escape sequences: escape processing is switched on
    /// (as crossterm would), an SGR reset written, and the cursor must not have moved. A
    /// console that stored the sequence as text moved it by its length; the characters
    /// left behind are cleared by the caller's first frame.
    pub fn vt_processed() -> io::Result<bool> {
        let out = Handle::current_out_handle()?;
        let mode = ConsoleMode::from(out.clone());
        let was = mode.mode()?;
        if mode
            .set_mode(was | ENABLE_VIRTUAL_TERMINAL_PROCESSING)
            .is_err()
        {
            return Ok(false);
        }
        let before = cursor_at()?;
        Console::from(out).write_char_buffer(b"\x1b[0m")?;
        Ok(cursor_at()? == before)
    }

    /// A ratatui backend over the console's own calls (see the module's text).
    #[derive(Debug)]
    pub struct ConsoleBackend {
        console: Console,
        /// The attribute the console had: `Color::Reset`'s colours, restored on drop.
        default: u16,
    }

    impl ConsoleBackend {
        /// A backend on the active screen buffer.
        pub fn new() -> io::Result<Self> {
            let default = ScreenBuffer::current()?.info()?.attributes();
            Ok(Self {
                console: Console::from(Handle::current_out_handle()?),
                default,
            })
        }

        fn size_now() -> io::Result<Size> {
            let (width, height) = terminal::size()?;
            Ok(Size { width, height })
        }
    }

    impl Drop for ConsoleBackend {
        fn drop(&mut self) {
            let _ = self.console.set_text_attribute(self.default);
        }
    }

    impl Backend for ConsoleBackend {
        fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
        where
            I: Iterator<Item = (u16, u16, &'a Cell)>,
        {
            let runs = runs(content, self.default);
            for call in calls(&runs) {
                match call {
                    Call::Move(x, y) => cursor::MoveTo(x, y).execute_winapi()?,
                    Call::Attr(a) => self.console.set_text_attribute(a)?,
                    Call::Write(text) => {
                        self.console.write_char_buffer(text.as_bytes())?;
                    }
                }
            }
            self.console.set_text_attribute(self.default)
        }

        fn hide_cursor(&mut self) -> io::Result<()> {
            cursor::Hide.execute_winapi()
        }

        fn show_cursor(&mut self) -> io::Result<()> {
            cursor::Show.execute_winapi()
        }

        fn get_cursor_position(&mut self) -> io::Result<Position> {
            let (x, y) = cursor_at()?;
            Ok(Position {
                x: x.max(0) as u16,
                y: y.max(0) as u16,
            })
        }

        fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
            let p = position.into();
            cursor::MoveTo(p.x, p.y).execute_winapi()
        }

        fn clear(&mut self) -> io::Result<()> {
            self.console.set_text_attribute(self.default)?;
            terminal::Clear(terminal::ClearType::All).execute_winapi()
        }

        fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
            let t = match clear_type {
                ClearType::All => terminal::ClearType::All,
                ClearType::AfterCursor => terminal::ClearType::FromCursorDown,
                ClearType::BeforeCursor => terminal::ClearType::FromCursorUp,
                ClearType::CurrentLine => terminal::ClearType::CurrentLine,
                ClearType::UntilNewLine => terminal::ClearType::UntilNewLine,
            };
            terminal::Clear(t).execute_winapi()
        }

        fn size(&self) -> io::Result<Size> {
            Self::size_now()
        }

        fn window_size(&mut self) -> io::Result<WindowSize> {
            Ok(WindowSize {
                columns_rows: Self::size_now()?,
                pixels: Size::default(),
            })
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn colours_map_to_console_bits() {
        let default = 0x07;
        assert_eq!(
            attribute(Color::Reset, Color::Reset, Modifier::empty(), default),
            0x07
        );
        assert_eq!(
            attribute(Color::Red, Color::Reset, Modifier::empty(), default),
            0x04
        );
        assert_eq!(
            attribute(Color::Black, Color::Green, Modifier::empty(), default),
            0x20
        );
        assert_eq!(
            attribute(Color::Cyan, Color::Reset, Modifier::empty(), default),
            0x03
        );
        // Reversed: the default's white on black becomes black on white.
        assert_eq!(
            attribute(Color::Reset, Color::Reset, Modifier::REVERSED, default),
            0x70
        );
        assert_eq!(
            attribute(Color::Red, Color::Reset, Modifier::BOLD, default),
            0x0c
        );
        // ANSI index 1 is red, 4 blue, 12 bright blue.
        assert_eq!(nibble(Color::Indexed(1)), Some(RED));
        assert_eq!(nibble(Color::Indexed(4)), Some(BLUE));
        assert_eq!(nibble(Color::Indexed(12)), Some(BLUE | INTENSE));
        assert_eq!(nibble(Color::Rgb(1, 2, 3)), None);
        // Bits above the colours (e.g. COMMON_LVB_*) are kept from the default.
        assert_eq!(
            attribute(Color::Blue, Color::Reset, Modifier::empty(), 0x0107),
            0x0101
        );
    }

    #[test]
    fn changed_cells_group_into_runs_of_one_row_and_colour() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 3));
        buf.set_string(0, 0, "ab", Style::new());
        buf.set_string(2, 0, "cd", Style::new().fg(Color::Red));
        buf.set_string(5, 0, "ef", Style::new().fg(Color::Red));
        buf.set_string(10, 0, "gh", Style::new());
        buf.set_string(0, 1, "─│█", Style::new());
        let cells: Vec<(u16, u16, &Cell)> = [(0, 0), (1, 0), (2, 0), (3, 0), (5, 0), (6, 0)]
            .iter()
            .chain(&[(10, 0), (11, 0), (0, 1), (1, 1), (2, 1)])
            .map(|&(x, y)| (x, y, &buf[(x, y)]))
            .collect();
        let got = runs(cells.into_iter(), 0x07);
        let want = [(0, 0, 0x07, "ab"), (2, 0, 0x04, "cd"), (5, 0, 0x04, "ef")]
            .into_iter()
            .chain([(10, 0, 0x07, "gh"), (0, 1, 0x07, "─│█")])
            .map(|(x, y, attr, text)| Run {
                x,
                y,
                attr,
                text: text.to_owned(),
            })
            .collect::<Vec<_>>();
        assert_eq!(got, want);
    }

    #[test]
    fn calls_skip_moves_to_where_the_cursor_is_and_attributes_already_set() {
        let run = |x, y, attr, text: &str| Run {
            x,
            y,
            attr,
            text: text.to_owned(),
        };
        let got = calls(&[
            run(0, 0, 0x07, "ab"),
            run(2, 0, 0x04, "cd"),
            run(5, 0, 0x04, "e"),
            run(0, 1, 0x04, "─█"),
            run(2, 1, 0x07, "x"),
        ]);
        let w = |t: &str| Call::Write(t.to_owned());
        assert_eq!(
            got,
            vec![
                Call::Move(0, 0),
                Call::Attr(0x07),
                w("ab"),
                Call::Attr(0x04),
                w("cd"),
                Call::Move(5, 0),
                w("e"),
                Call::Move(0, 1),
                w("─█"),
                Call::Attr(0x07),
                w("x"),
            ]
        );
    }

    #[test]
    fn a_row_break_starts_a_new_run_even_in_one_colour() {
        let buf = Buffer::with_lines(["xy", "zw"]);
        let cells = [(1u16, 0u16), (0, 1)].map(|(x, y)| (x, y, &buf[(x, y)]));
        let got = runs(cells.into_iter(), 0x07);
        assert_eq!(got.len(), 2);
        assert_eq!((got[1].x, got[1].y, got[1].text.as_str()), (0, 1, "z"));
    }
}
