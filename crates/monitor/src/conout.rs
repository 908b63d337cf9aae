//! The console's screen buffer, written cell by cell with `WriteConsoleOutputW`: one call
//! puts rows of characters *and* their colours where they belong, without moving the
//! cursor or changing the console's current attribute. The terminal UI's only other way
//! through a console that does not process escape sequences (Wine's) is a cursor move, an
//! attribute and a `WriteConsoleW` per run of one colour, and crossterm's cursor move opens
//! and closes `CONOUT$` each time: six requests per run instead of one, each a round trip
//! through the wineserver under Wine, which the audio's event waits go through too.
//!
//! **Invariant.** `ConsoleOut::handle` is a handle to `CONOUT$` opened by
//! [`ConsoleOut::open`] and closed only in `Drop`, so it is valid for every call made
//! through `&self`. [`ConsoleOut::write_rows`] passes a pointer to a slice that outlives the
//! call, with the buffer size set to that slice's shape (whole rows, checked), and a region
//! of the same shape, so `WriteConsoleOutputW` reads only the slice. `CHAR_INFO` is plain data; building
//! one through its union field is safe, and nothing here reads the union.

use std::io;

use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
use windows_sys::Win32::Foundation::{CloseHandle, GENERIC_READ, GENERIC_WRITE, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::Console::{
    WriteConsoleOutputW, CHAR_INFO, CHAR_INFO_0, COORD, SMALL_RECT,
};

/// One console cell: a UTF-16 unit and its attribute.
pub fn cell(unit: u16, attr: u16) -> CHAR_INFO {
    CHAR_INFO {
        Char: CHAR_INFO_0 { UnicodeChar: unit },
        Attributes: attr,
    }
}

/// The active screen buffer, opened for writing cells.
#[derive(Debug)]
pub struct ConsoleOut {
    handle: HANDLE,
}

impl ConsoleOut {
    /// Opens `CONOUT$` (the active screen buffer, whatever stdout was redirected to).
    pub fn open() -> io::Result<Self> {
        let name: Vec<u16> = "CONOUT$\0".encode_utf16().collect();
        // SAFETY: `name` is NUL-terminated and outlives the call; no security attributes,
        // no template.
        let handle = unsafe {
            CreateFileW(
                name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                std::ptr::null(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            )
        };
        if handle == INVALID_HANDLE_VALUE || handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { handle })
    }

    /// Writes whole rows from row `top`: `cells` holds them one after another, `width`
    /// cells each. Cells beyond the buffer's edge are cut by the console.
    pub fn write_rows(&self, top: u16, width: u16, cells: &[CHAR_INFO]) -> io::Result<()> {
        let too_big =
            || io::Error::new(io::ErrorKind::InvalidInput, "a console beyond 32767 cells");
        if width == 0 || cells.is_empty() {
            return Ok(());
        }
        let rows = cells.len() / usize::from(width);
        let (Ok(w), Ok(h), Ok(y)) = (
            i16::try_from(width),
            i16::try_from(rows),
            i16::try_from(top),
        ) else {
            return Err(too_big());
        };
        if h == 0 || cells.len() != usize::from(width) * rows {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "console cells that are not whole rows",
            ));
        }
        let mut region = SMALL_RECT {
            Left: 0,
            Top: y,
            Right: w - 1,
            Bottom: y.checked_add(h - 1).ok_or_else(too_big)?,
        };
        // SAFETY: see the module's invariant: the handle is open, and `cells` holds exactly
        // `w` × `h` cells, the buffer size given, which the region (as wide and as high)
        // reads no further than.
        let ok = unsafe {
            WriteConsoleOutputW(
                self.handle,
                cells.as_ptr(),
                COORD { X: w, Y: h },
                COORD { X: 0, Y: 0 },
                &mut region,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for ConsoleOut {
    fn drop(&mut self) {
        // SAFETY: opened by `open` and closed only here.
        unsafe {
            CloseHandle(self.handle);
        }
    }
}
