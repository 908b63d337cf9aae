//! Drawing the terminal UI through the Windows console's own calls, for consoles that do not
//! process escape sequences.
//!
//! Wine's console (its conhost, which runs `tenuto.exe monitor` from a Unix terminal) accepts
//! `ENABLE_VIRTUAL_TERMINAL_PROCESSING` but stores an escape sequence's characters in its
//! cells like any text, then copies its cells to the terminal with cursor moves of its own
//! that count those characters as columns: a full-screen frame of cursor moves and colours
//! lands all over the screen. Cells written into the screen buffer with
//! `WriteConsoleOutputW` (character and attribute each) are what such a console keeps and
//! draws correctly. `vt_processed` (Windows) tells the two kinds of console apart by writing one
//! escape sequence and seeing whether the cursor moved.
//!
//! [`Shadow`] and [`attribute`] are the platform-free part (tested on every system): a copy
//! of the screen that a frame's changed cells update, naming the rows to write — one console
//! call per frame, whatever the colours — and ratatui's colours and modifiers as a console
//! attribute. `ConsoleBackend` (Windows) is a ratatui backend that writes those rows through
//! `conout` (the crate's module for that call, where its `unsafe` is) and uses crossterm's
//! WinAPI commands for the rest (cursor, clearing).

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

/// What a cell holds when its symbol is not one UTF-16 unit (a grapheme of several
/// characters, or one beyond the Basic Multilingual Plane): a console cell holds one unit.
/// The monitor draws none; a host name could bring one.
pub const UNSHOWABLE: u16 = b'?' as u16;

/// The UTF-16 unit a console cell shows for a ratatui symbol (an empty symbol — the cell
/// a wide symbol covers — as a space).
pub fn unit(symbol: &str) -> u16 {
    let mut units = symbol.encode_utf16();
    match (units.next(), units.next()) {
        (Some(u), None) => u,
        (None, _) => u16::from(b' '),
        (Some(_), Some(_)) => UNSHOWABLE,
    }
}

/// What the console's screen buffer holds, as this backend last wrote it: each cell's
/// UTF-16 unit and attribute, row by row. A frame's changed cells go into it, and the rows
/// from the first changed one to the last are written with one call, whatever lies between
/// (a frame changes cells all over the screen; one request per frame instead of one per
/// run of changed cells).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    width: u16,
    height: u16,
    cells: Vec<(u16, u16)>,
}

impl Shadow {
    /// A screen of `width` × `height` blank cells in the `default` attribute (what a
    /// cleared console holds).
    pub fn new(width: u16, height: u16, default: u16) -> Self {
        Self {
            width,
            height,
            cells: vec![(u16::from(b' '), default); usize::from(width) * usize::from(height)],
        }
    }

    /// Columns and rows.
    pub fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// Applies a frame's changed cells; the rows from the first changed to the last, if any
    /// changed. Cells outside the screen are left out (a resize raced the frame; ratatui
    /// redraws everything after one).
    pub fn apply<'a>(
        &mut self,
        content: impl Iterator<Item = (u16, u16, &'a Cell)>,
        default: u16,
    ) -> Option<(u16, u16)> {
        let mut rows: Option<(u16, u16)> = None;
        for (x, y, cell) in content {
            if x >= self.width || y >= self.height {
                continue;
            }
            let i = usize::from(y) * usize::from(self.width) + usize::from(x);
            if let Some(c) = self.cells.get_mut(i) {
                *c = (
                    unit(cell.symbol()),
                    attribute(cell.fg, cell.bg, cell.modifier, default),
                );
            }
            rows = Some(rows.map_or((y, y), |(a, b)| (a.min(y), b.max(y))));
        }
        rows
    }

    /// Rows `first..=last`, whole, in order.
    pub fn rows(&self, first: u16, last: u16) -> &[(u16, u16)] {
        let w = usize::from(self.width);
        let end = (usize::from(last) + 1).min(usize::from(self.height)) * w;
        self.cells
            .get(usize::from(first) * w..end)
            .unwrap_or_default()
    }
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

    use super::Shadow;
    use crate::conout::{cell, ConsoleOut};

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
        /// The same screen buffer, for its size (crossterm's `terminal::size` opens and
        /// closes `CONOUT$` on every call, and ratatui asks for the size every frame).
        screen: ScreenBuffer,
        /// Where the frames' cells are written.
        out: ConsoleOut,
        /// What the screen buffer holds; reset with the screen by `clear`.
        shadow: Shadow,
        /// The attribute the console had: `Color::Reset`'s colours, restored on drop.
        default: u16,
    }

    impl ConsoleBackend {
        /// A backend on the active screen buffer.
        pub fn new() -> io::Result<Self> {
            let handle = Handle::current_out_handle()?;
            let screen = ScreenBuffer::from(handle.clone());
            let default = screen.info()?.attributes();
            let mut backend = Self {
                console: Console::from(handle),
                screen,
                out: ConsoleOut::open()?,
                shadow: Shadow::new(0, 0, default),
                default,
            };
            let size = backend.size_now()?;
            backend.shadow = Shadow::new(size.width, size.height, default);
            Ok(backend)
        }

        /// The window's columns and rows (as crossterm's `terminal::size` reckons them).
        fn size_now(&self) -> io::Result<Size> {
            let s = self.screen.info()?.terminal_size();
            Ok(Size {
                width: u16::try_from(s.width + 1).unwrap_or(0),
                height: u16::try_from(s.height + 1).unwrap_or(0),
            })
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
            let Some((first, last)) = self.shadow.apply(content, self.default) else {
                return Ok(());
            };
            let cells: Vec<_> = self
                .shadow
                .rows(first, last)
                .iter()
                .map(|&(u, a)| cell(u, a))
                .collect();
            self.out.write_rows(first, self.shadow.size().0, &cells)
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
            terminal::Clear(terminal::ClearType::All).execute_winapi()?;
            // ratatui clears after a resize, then draws every cell.
            let size = self.size_now()?;
            self.shadow = Shadow::new(size.width, size.height, self.default);
            Ok(())
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
            self.size_now()
        }

        fn window_size(&mut self) -> io::Result<WindowSize> {
            Ok(WindowSize {
                columns_rows: self.size_now()?,
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
    fn a_frame_updates_the_shadow_and_names_the_rows_it_changed() {
        let mut shadow = Shadow::new(4, 3, 0x07);
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 3));
        buf.set_string(1, 0, "ab", Style::new().fg(Color::Red));
        buf.set_string(0, 2, "─", Style::new());
        let cells = [(1u16, 0u16), (2, 0), (0, 2)].map(|(x, y)| (x, y, &buf[(x, y)]));
        assert_eq!(shadow.apply(cells.into_iter(), 0x07), Some((0, 2)));
        let u = |c: char| c as u16;
        let blank = (u(' '), 0x07);
        // Rows 0 to 2, whole: the unchanged row between is written as it stands.
        assert_eq!(
            shadow.rows(0, 2),
            &[
                blank,
                (u('a'), 0x04),
                (u('b'), 0x04),
                blank,
                blank,
                blank,
                blank,
                blank,
                (u('─'), 0x07),
                blank,
                blank,
                blank,
            ][..]
        );
        // A later frame that changes one cell of row 1 writes row 1 alone; the cells drawn
        // before stay.
        buf.set_string(3, 1, "x", Style::new());
        let cells = [(3u16, 1u16)].map(|(x, y)| (x, y, &buf[(x, y)]));
        assert_eq!(shadow.apply(cells.into_iter(), 0x07), Some((1, 1)));
        assert_eq!(
            shadow.rows(1, 1),
            &[blank, blank, blank, (u('x'), 0x07)][..]
        );
        assert_eq!(shadow.rows(0, 0)[1], (u('a'), 0x04));
        // Nothing changed: nothing to write.
        assert_eq!(shadow.apply(std::iter::empty(), 0x07), None);
    }

    #[test]
    fn cells_beyond_the_screen_are_left_out() {
        let mut shadow = Shadow::new(2, 2, 0x07);
        let buf = Buffer::with_lines(["xyz", "zwq", "abc"]);
        let cells = [(2u16, 0u16), (0, 2)].map(|(x, y)| (x, y, &buf[(x, y)]));
        assert_eq!(shadow.apply(cells.into_iter(), 0x07), None);
        assert_eq!(shadow.rows(0, 1).len(), 4);
        assert_eq!(shadow.rows(1, 5).len(), 2);
    }

    #[test]
    fn a_cell_holds_one_utf16_unit() {
        assert_eq!(unit("µ"), 0xb5);
        assert_eq!(unit("…"), 0x2026);
        // The cell a wide symbol covers comes with an empty symbol.
        assert_eq!(unit(""), u16::from(b' '));
        // Beyond the BMP (two units) and several characters: shown as '?'.
        assert_eq!(unit("🎵"), UNSHOWABLE);
        assert_eq!(unit("e\u{301}"), UNSHOWABLE);
    }
}
