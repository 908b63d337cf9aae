//! The panel's only contact with Win32: windows, controls, GDI, the
//! message loop and the UI thread. Everything else in the crate is safe
//! Rust on top of these wrappers.
//!
//! # Safety invariant
//! * A [`Window`] is a window handle that was valid when it was wrapped. The
//!   wrappers pass it to Win32 functions that validate handles themselves
//!   (a destroyed window makes them fail, never misbehave), so a stale
//!   `Window` is harmless. Handles never cross to another thread except
//!   as the plain number [`Window::to_raw`], and the only cross-thread use
//!   ([`bring_to_front`]) is through functions that accept any handle.
//! * [`run_window`] owns one `Box<Slot>` per panel window and outlives the
//!   window: the pointer is stored in `GWLP_USERDATA` at `WM_NCCREATE` and
//!   cleared at `WM_NCDESTROY`, and the box is dropped only after the
//!   window is destroyed, all on the window's thread. The
//!   handler inside is borrowed through a `RefCell`: a message that arrives
//!   while the handler is already running (Win32 re-enters window
//!   procedures) goes to `DefWindowProcW` instead of aliasing it. Panics in
//!   the handler are caught before they can unwind into Win32 frames.
//! * Buffers handed to Win32 (`Vec<u16>` strings, `RECT`s, `LOGFONTW`s) live
//!   across the call and have the sizes the calls are told.
//! * [`spawn_ui_thread`] takes a reference on the module this code lives in
//!   (the DLL inside a DAW), released by `FreeLibraryAndExitThread` as the
//!   thread's last act, so the host can never unload the DLL under a
//!   running panel thread.

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::c_void;

use tenuto_win::to_wide;
use windows_sys::Win32::Foundation::{
    FreeLibrary, GetLastError, COLORREF, HMODULE, HWND, LPARAM, LRESULT, RECT, WPARAM,
};
use windows_sys::Win32::Graphics::Gdi::{
    CreateFontIndirectW, CreateSolidBrush, DeleteObject, DrawTextW, FillRect, GetDC, GetSysColor,
    GetSysColorBrush, InvalidateRect, ReleaseDC, SelectObject, SetBkColor, SetTextColor,
    COLOR_BTNFACE, DT_CALCRECT, DT_SINGLELINE, DT_WORDBREAK, HDC, HFONT,
};
use windows_sys::Win32::System::LibraryLoader::{
    FreeLibraryAndExitThread, GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows_sys::Win32::System::Threading::CreateThread;
use windows_sys::Win32::UI::HiDpi::{
    AdjustWindowRectExForDpi, GetDpiForSystem, GetDpiForWindow, GetSystemMetricsForDpi,
    SetThreadDpiAwarenessContext, SystemParametersInfoForDpi, DPI_AWARENESS_CONTEXT,
    DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE, DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2,
};
use windows_sys::Win32::UI::Input::KeyboardAndMouse::{EnableWindow, GetFocus, SetFocus};
use windows_sys::Win32::UI::WindowsAndMessaging as wm;

use windows_sys::Win32::UI::Controls::{BST_CHECKED, CB_SETMINVISIBLE};

pub use windows_sys::Win32::System::SystemServices::{
    SS_LEFT, SS_NOPREFIX, SS_OWNERDRAW, SS_PATHELLIPSIS,
};
pub use wm::{
    BS_AUTOCHECKBOX, BS_AUTORADIOBUTTON, BS_DEFPUSHBUTTON, BS_GROUPBOX, BS_PUSHBUTTON,
    CBS_DROPDOWNLIST, ES_AUTOHSCROLL, LBS_NOINTEGRALHEIGHT, LBS_NOTIFY, SM_CXEDGE, SM_CXMENUCHECK,
    SM_CXVSCROLL, WS_BORDER, WS_GROUP, WS_TABSTOP, WS_VSCROLL,
};

/// A window or control handle on the panel's thread (see the module's
/// safety invariant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window(HWND);

impl Window {
    /// The handle as a number, for storing it across threads.
    pub fn to_raw(self) -> isize {
        self.0 as isize
    }
}

/// A font owned by the panel; deleted on drop.
#[derive(Debug)]
pub struct Font(HFONT);

impl Drop for Font {
    fn drop(&mut self) {
        // SAFETY: we created the font and own it; controls using it are
        // given the next font (or destroyed) before the old one drops.
        unsafe { DeleteObject(self.0) };
    }
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left.
    pub x: i32,
    /// Top.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

/// An owner-drawn control's device context and size, from `WM_DRAWITEM`. The handle is
/// valid while that message is handled; GDI validates device contexts itself, so a canvas
/// used later (it is `Copy`) only makes the calls fail.
#[derive(Debug, Clone, Copy)]
pub struct Canvas {
    hdc: HDC,
    origin: (i32, i32),
    /// The control's width, pixels.
    pub w: i32,
    /// The control's height, pixels.
    pub h: i32,
}

impl Canvas {
    /// Fills `r` (relative to the control's top-left) with `color` (`0x00BBGGRR`).
    pub fn fill(&self, r: Rect, color: u32) {
        let rect = RECT {
            left: self.origin.0 + r.x,
            top: self.origin.1 + r.y,
            right: self.origin.0 + r.x + r.w,
            bottom: self.origin.1 + r.y + r.h,
        };
        // SAFETY: a brush we create and delete here; `rect` lives across the call; the
        // device context is the one WM_DRAWITEM gave (see the type's note).
        unsafe {
            let brush = CreateSolidBrush(color as COLORREF);
            if !brush.is_null() {
                FillRect(self.hdc, &rect, brush);
                DeleteObject(brush);
            }
        }
    }
}

/// What the window procedure hands to the [`Handler`].
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// `WM_COMMAND` from a control (or IDOK/IDCANCEL from the keyboard).
    Command {
        /// The control ID.
        id: u16,
        /// The notification code (`BN_CLICKED`, `CBN_SELCHANGE`, …).
        code: u16,
    },
    /// `WM_TIMER`.
    Timer(usize),
    /// `WM_DPICHANGED`: the new DPI and the rectangle Windows suggests.
    DpiChanged {
        /// New DPI.
        dpi: u32,
        /// Suggested window rectangle (screen coordinates).
        suggested: Rect,
    },
    /// `WM_CTLCOLORSTATIC`: the colour to draw a static control's text in.
    StaticColor(Window),
    /// `WM_DRAWITEM`: an owner-drawn control (`SS_OWNERDRAW`) is to be drawn now.
    Draw {
        /// The control ID.
        id: u16,
        /// Where to draw it, valid during this event only.
        canvas: Canvas,
    },
    /// `WM_CLOSE`.
    Close,
}

/// What the handler answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Let `DefWindowProcW` handle the message.
    Default,
    /// Handled.
    Done,
    /// For [`Event::StaticColor`]: draw the text in this colour (0x00BBGGRR).
    TextColor(u32),
}

/// The panel's logic, called on its thread for each message it cares about.
pub trait Handler {
    /// The window exists (not yet shown): build the controls.
    fn created(&mut self, window: Window);
    /// A message.
    fn event(&mut self, window: Window, event: Event) -> Reply;
}

/// Notification codes and IDs the handler matches on.
pub mod codes {
    pub use windows_sys::Win32::UI::WindowsAndMessaging::{
        BN_CLICKED, CBN_SELCHANGE, EN_CHANGE, LBN_SELCHANGE,
    };
    /// `IDOK` (Enter).
    pub const IDOK: u16 = 1;
    /// `IDCANCEL` (Escape).
    pub const IDCANCEL: u16 = 2;
}

fn last_error() -> u32 {
    // SAFETY: no preconditions.
    unsafe { GetLastError() }
}

// ---------------------------------------------------------------------------
// Threads, modules and DPI awareness

/// A raw module handle that may be handed to the new thread.
struct ModuleRef(HMODULE);
// SAFETY: a module handle is a process-wide value, valid on any thread.
unsafe impl Send for ModuleRef {}

struct ThreadStart {
    module: ModuleRef,
    body: Box<dyn FnOnce() + Send>,
}

unsafe extern "system" fn ui_thread_main(param: *mut c_void) -> u32 {
    // SAFETY: `param` is the `Box<ThreadStart>` leaked by `spawn_ui_thread`
    // for this thread alone.
    let start = unsafe { Box::from_raw(param.cast::<ThreadStart>()) };
    let ThreadStart { module, body } = *start;
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
        eprintln!("tenuto panel: the settings window's thread panicked; it was closed");
    }
    // SAFETY: `module` holds the reference taken in `spawn_ui_thread`;
    // nothing of this module runs on this thread after this call.
    unsafe { FreeLibraryAndExitThread(module.0, 0) }
}

/// Starts `body` on a new thread that keeps the module containing this
/// code loaded until it ends (see the safety invariant).
pub fn spawn_ui_thread(body: Box<dyn FnOnce() + Send>) -> Result<(), u32> {
    let mut module: HMODULE = std::ptr::null_mut();
    // SAFETY: FROM_ADDRESS with an address inside this module; `module` is
    // a live out-pointer; the reference taken is released by the thread.
    let ok = unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
            (ui_thread_main as *const c_void).cast(),
            &mut module,
        )
    };
    if ok == 0 {
        return Err(last_error());
    }
    let start = Box::into_raw(Box::new(ThreadStart {
        module: ModuleRef(module),
        body,
    }));
    // SAFETY: the start routine has the right signature and takes
    // ownership of `start`; default security, stack size and flags.
    let thread = unsafe {
        CreateThread(
            std::ptr::null(),
            0,
            Some(ui_thread_main),
            start.cast::<c_void>().cast_const(),
            0,
            std::ptr::null_mut(),
        )
    };
    if thread.is_null() {
        let code = last_error();
        // SAFETY: the thread was not created, so we still own both.
        drop(unsafe { Box::from_raw(start) });
        // SAFETY: releases the reference taken above.
        unsafe { FreeLibrary(module) };
        return Err(code);
    }
    // SAFETY: we own the thread handle and do not need it.
    unsafe { windows_sys::Win32::Foundation::CloseHandle(thread) };
    Ok(())
}

/// Makes the calling thread per-monitor DPI aware until dropped (the
/// host's other threads and the process's default are untouched).
pub struct DpiAwareness(DPI_AWARENESS_CONTEXT);

impl DpiAwareness {
    /// Per-monitor v2 where available, else per-monitor.
    pub fn per_monitor() -> Self {
        // SAFETY: documented context constants; returns the previous
        // context or null on failure.
        let mut previous =
            unsafe { SetThreadDpiAwarenessContext(DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2) };
        if previous.is_null() {
            // SAFETY: as above.
            previous =
                unsafe { SetThreadDpiAwarenessContext(DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE) };
        }
        Self(previous)
    }
}

impl Drop for DpiAwareness {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: restores the context the thread had.
            unsafe { SetThreadDpiAwarenessContext(self.0) };
        }
    }
}

// ---------------------------------------------------------------------------
// The window class, the window procedure and the message loop

const CLASS_NAME: &str = "TenutoSettingsPanel";

struct Slot {
    handler: RefCell<Box<dyn Handler>>,
}

fn this_module() -> HMODULE {
    let mut module: HMODULE = std::ptr::null_mut();
    // SAFETY: an address inside this module; UNCHANGED_REFCOUNT takes no
    // reference; `module` is a live out-pointer.
    unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            (window_proc as *const c_void).cast(),
            &mut module,
        )
    };
    module
}

#[cfg(target_pointer_width = "64")]
fn set_user_data(hwnd: HWND, value: isize) {
    // SAFETY: `hwnd` is the window being created on this thread.
    unsafe { wm::SetWindowLongPtrW(hwnd, wm::GWLP_USERDATA, value) };
}

#[cfg(target_pointer_width = "64")]
fn user_data(hwnd: HWND) -> isize {
    // SAFETY: reading our own window's user data.
    unsafe { wm::GetWindowLongPtrW(hwnd, wm::GWLP_USERDATA) }
}

#[cfg(target_pointer_width = "32")]
fn set_user_data(hwnd: HWND, value: isize) {
    // SAFETY: `hwnd` is the window being created on this thread; on 32-bit
    // Windows a pointer fits the long.
    unsafe { wm::SetWindowLongW(hwnd, wm::GWLP_USERDATA, value as i32) };
}

#[cfg(target_pointer_width = "32")]
fn user_data(hwnd: HWND) -> isize {
    // SAFETY: reading our own window's user data.
    unsafe { wm::GetWindowLongW(hwnd, wm::GWLP_USERDATA) as isize }
}

fn loword(v: usize) -> u16 {
    (v & 0xffff) as u16
}

fn hiword(v: usize) -> u16 {
    ((v >> 16) & 0xffff) as u16
}

fn event_of(msg: u32, wparam: WPARAM, lparam: LPARAM) -> Option<Event> {
    match msg {
        wm::WM_COMMAND => Some(Event::Command {
            id: loword(wparam),
            code: hiword(wparam),
        }),
        wm::WM_TIMER => Some(Event::Timer(wparam)),
        wm::WM_DPICHANGED => {
            // SAFETY: for WM_DPICHANGED, lParam points to a RECT valid for
            // the duration of the message.
            let r = unsafe { *(lparam as *const RECT) };
            Some(Event::DpiChanged {
                dpi: u32::from(hiword(wparam)),
                suggested: Rect {
                    x: r.left,
                    y: r.top,
                    w: r.right - r.left,
                    h: r.bottom - r.top,
                },
            })
        }
        wm::WM_CTLCOLORSTATIC => Some(Event::StaticColor(Window(lparam as HWND))),
        wm::WM_DRAWITEM => {
            // SAFETY: for WM_DRAWITEM lParam points to a DRAWITEMSTRUCT valid for the
            // duration of the message.
            let d =
                unsafe { &*(lparam as *const windows_sys::Win32::UI::Controls::DRAWITEMSTRUCT) };
            Some(Event::Draw {
                id: loword(wparam),
                canvas: Canvas {
                    hdc: d.hDC,
                    origin: (d.rcItem.left, d.rcItem.top),
                    w: d.rcItem.right - d.rcItem.left,
                    h: d.rcItem.bottom - d.rcItem.top,
                },
            })
        }
        wm::WM_CLOSE => Some(Event::Close),
        _ => None,
    }
}

/// `WM_NEXTDLGCTL` as the dialog manager does it: with `lparam` set, focus
/// the control `wparam`; else the next (`wparam` 0) or previous tab stop.
fn next_control(hwnd: HWND, wparam: WPARAM, lparam: LPARAM) {
    // SAFETY: handles of this thread's windows (or null, which the calls
    // accept); GetNextDlgTabItem walks `hwnd`'s children.
    unsafe {
        let target = if loword(lparam as usize) != 0 {
            wparam as HWND
        } else {
            wm::GetNextDlgTabItem(hwnd, GetFocus(), i32::from(wparam != 0))
        };
        if !target.is_null() {
            SetFocus(target);
        }
    }
}

unsafe extern "system" fn window_proc(
    hwnd: HWND,
    msg: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> LRESULT {
    if msg == wm::WM_NCCREATE {
        // SAFETY: for WM_NCCREATE lParam is the CREATESTRUCTW whose
        // lpCreateParams is the `Box<Slot>` pointer `run_window` passed.
        let params = unsafe { (*(lparam as *const wm::CREATESTRUCTW)).lpCreateParams };
        set_user_data(hwnd, params as isize);
    }
    let slot = user_data(hwnd) as *const Slot;
    if msg == wm::WM_NCDESTROY {
        // The slot itself belongs to `run_window`, which drops it later.
        set_user_data(hwnd, 0);
        // SAFETY: default processing of our own window's message.
        return unsafe { wm::DefWindowProcW(hwnd, msg, wparam, lparam) };
    }
    if msg == wm::WM_NEXTDLGCTL {
        // IsDialogMessageW moves the focus (Tab, Shift+Tab, a label's
        // mnemonic) by sending this to the "dialog"; only the dialog
        // procedure handles it, and this is a plain window.
        next_control(hwnd, wparam, lparam);
        return 0;
    }
    if msg == wm::WM_DESTROY {
        // SAFETY: ends this thread's message loop.
        unsafe { wm::PostQuitMessage(0) };
    }
    // SAFETY: the slot lives from WM_NCCREATE to WM_NCDESTROY on this
    // thread (see the invariant); null before and after.
    let reply = match (unsafe { slot.as_ref() }, event_of(msg, wparam, lparam)) {
        (Some(slot), Some(event)) => match slot.handler.try_borrow_mut() {
            Ok(mut handler) => {
                let window = Window(hwnd);
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handler.event(window, event)
                }))
                .unwrap_or_else(|_| {
                    eprintln!("tenuto panel: the settings window failed and was closed");
                    destroy(window);
                    Reply::Done
                })
            }
            Err(_) => Reply::Default,
        },
        _ => Reply::Default,
    };
    match reply {
        // WM_DRAWITEM answers TRUE when it drew.
        Reply::Done if msg == wm::WM_DRAWITEM => 1,
        Reply::Done => 0,
        Reply::TextColor(color) => {
            let hdc = wparam as HDC;
            // SAFETY: for WM_CTLCOLORSTATIC wParam is the control's DC,
            // valid during the message; the brush is a system brush that
            // must not be freed.
            unsafe {
                SetTextColor(hdc, color as COLORREF);
                SetBkColor(hdc, GetSysColor(COLOR_BTNFACE));
                GetSysColorBrush(COLOR_BTNFACE) as LRESULT
            }
        }
        // SAFETY: default processing of our own window's message.
        Reply::Default => unsafe { wm::DefWindowProcW(hwnd, msg, wparam, lparam) },
    }
}

/// Creates the panel window (hidden) with `title` and a client area of
/// `w`×`h` pixels, lets `handler` build it, shows it and runs its message
/// loop until it is destroyed. `on_created` gets the handle as soon as the
/// window exists (for bringing it to the front from other threads).
pub fn run_window(
    title: &str,
    handler: Box<dyn Handler>,
    on_created: impl FnOnce(Window),
) -> Result<(), u32> {
    let module = this_module();
    let class = to_wide(CLASS_NAME);
    let wc = wm::WNDCLASSEXW {
        cbSize: std::mem::size_of::<wm::WNDCLASSEXW>() as u32,
        style: wm::CS_HREDRAW | wm::CS_VREDRAW,
        lpfnWndProc: Some(window_proc),
        cbClsExtra: 0,
        cbWndExtra: 0,
        hInstance: module,
        hIcon: std::ptr::null_mut(),
        // SAFETY: a system cursor, no instance.
        hCursor: unsafe { wm::LoadCursorW(std::ptr::null_mut(), wm::IDC_ARROW) },
        hbrBackground: (COLOR_BTNFACE + 1) as usize as _,
        lpszMenuName: std::ptr::null(),
        lpszClassName: class.as_ptr(),
        hIconSm: std::ptr::null_mut(),
    };
    // SAFETY: a fully initialised class description; its strings outlive
    // the call. Failure because the class exists (an earlier panel) is fine.
    let atom = unsafe { wm::RegisterClassExW(&wc) };
    if atom == 0 && last_error() != windows_sys::Win32::Foundation::ERROR_CLASS_ALREADY_EXISTS {
        return Err(last_error());
    }
    let slot = Box::new(Slot {
        handler: RefCell::new(handler),
    });
    let slot_ptr: *const Slot = &*slot;
    let wtitle = to_wide(title);
    let style = wm::WS_OVERLAPPED | wm::WS_CAPTION | wm::WS_SYSMENU | wm::WS_MINIMIZEBOX;
    // SAFETY: registered class; NUL-terminated strings; the create
    // parameter is the slot the window procedure takes over.
    let hwnd = unsafe {
        wm::CreateWindowExW(
            0,
            class.as_ptr(),
            wtitle.as_ptr(),
            style,
            wm::CW_USEDEFAULT,
            wm::CW_USEDEFAULT,
            640,
            480,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            module,
            slot_ptr.cast::<c_void>(),
        )
    };
    if hwnd.is_null() {
        return Err(last_error());
    }
    let window = Window(hwnd);
    let built = match slot.handler.try_borrow_mut() {
        Ok(mut handler) => {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.created(window)))
                .is_ok()
        }
        Err(_) => false,
    };
    if !built {
        destroy(window);
        return Err(0);
    }
    on_created(window);
    // SAFETY: our window.
    unsafe {
        wm::ShowWindow(hwnd, wm::SW_SHOWNORMAL);
        SetForegroundWindow(hwnd);
    }
    let mut msg: wm::MSG = wm::MSG {
        hwnd: std::ptr::null_mut(),
        message: 0,
        wParam: 0,
        lParam: 0,
        time: 0,
        pt: windows_sys::Win32::Foundation::POINT { x: 0, y: 0 },
    };
    loop {
        // SAFETY: `msg` is a live MSG; all windows of this thread.
        let got = unsafe { wm::GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) };
        if got == 0 || got == -1 {
            break;
        }
        // SAFETY: `msg` was filled by GetMessageW; `hwnd` may already be
        // destroyed, which IsDialogMessageW tolerates.
        unsafe {
            if wm::IsDialogMessageW(hwnd, &msg) == 0 {
                wm::TranslateMessage(&msg);
                wm::DispatchMessageW(&msg);
            }
        }
    }
    // SAFETY: any handle; the window normally no longer exists here (the
    // loop ends with WM_QUIT from WM_DESTROY), but if GetMessageW failed it
    // must go before the slot it points to.
    if unsafe { wm::IsWindow(hwnd) } != 0 {
        destroy(window);
    }
    drop(slot);
    // SAFETY: the class was registered by this module; it fails harmlessly
    // if a window of it still exists.
    unsafe { wm::UnregisterClassW(class.as_ptr(), module) };
    Ok(())
}

use wm::SetForegroundWindow;

/// Brings the panel window `raw` (from [`Window::to_raw`]) to the front;
/// callable from any thread. Does nothing if it no longer exists.
pub fn bring_to_front(raw: isize) {
    let hwnd = raw as HWND;
    // SAFETY: all three accept any handle value and fail on invalid ones;
    // ShowWindowAsync does not wait for the window's thread.
    unsafe {
        if wm::IsWindow(hwnd) == 0 {
            return;
        }
        if wm::IsIconic(hwnd) != 0 {
            wm::ShowWindowAsync(hwnd, wm::SW_RESTORE);
        }
        SetForegroundWindow(hwnd);
    }
}

// ---------------------------------------------------------------------------
// Controls

/// Creates a child control of `parent`.
pub fn create_control(
    parent: Window,
    class: &str,
    text: &str,
    style: u32,
    id: u16,
) -> Result<Window, u32> {
    let wclass = to_wide(class);
    let wtext = to_wide(text);
    // SAFETY: a system control class; NUL-terminated strings; our parent
    // window; the menu parameter carries the child ID as Win32 defines.
    let hwnd = unsafe {
        wm::CreateWindowExW(
            0,
            wclass.as_ptr(),
            wtext.as_ptr(),
            wm::WS_CHILD | wm::WS_VISIBLE | style,
            0,
            0,
            10,
            10,
            parent.0,
            usize::from(id) as wm::HMENU,
            this_module(),
            std::ptr::null(),
        )
    };
    if hwnd.is_null() {
        Err(last_error())
    } else {
        Ok(Window(hwnd))
    }
}

fn send(w: Window, msg: u32, wparam: usize, lparam: isize) -> isize {
    // SAFETY: messages sent here take integers or pointers to buffers that
    // the callers keep alive for the call (see each caller).
    unsafe { wm::SendMessageW(w.0, msg, wparam, lparam) }
}

/// Sets a window's text.
pub fn set_text(w: Window, text: &str) {
    let t = to_wide(text);
    // SAFETY: NUL-terminated string alive for the call.
    unsafe { wm::SetWindowTextW(w.0, t.as_ptr()) };
}

/// Sets a control's font and redraws it.
pub fn set_font(w: Window, font: &Font) {
    send(w, wm::WM_SETFONT, font.0 as usize, 1);
}

/// Enables or disables a control.
pub fn enable(w: Window, on: bool) {
    // SAFETY: any window handle.
    unsafe { EnableWindow(w.0, i32::from(on)) };
}

/// Shows or hides a control.
pub fn show(w: Window, on: bool) {
    // SAFETY: any window handle.
    unsafe { wm::ShowWindow(w.0, if on { wm::SW_SHOWNA } else { wm::SW_HIDE }) };
}

/// Gives the keyboard focus to a control of this thread.
pub fn focus(w: Window) {
    // SAFETY: a window of this thread.
    unsafe { SetFocus(w.0) };
}

/// Moves a control (client coordinates of its parent).
pub fn place(w: Window, r: Rect) {
    // SAFETY: any window handle.
    unsafe { wm::MoveWindow(w.0, r.x, r.y, r.w, r.h, 1) };
}

/// Moves and sizes the top-level window (screen coordinates).
pub fn place_window(w: Window, r: Rect) {
    // SAFETY: our window; no z-order change.
    unsafe {
        wm::SetWindowPos(
            w.0,
            std::ptr::null_mut(),
            r.x,
            r.y,
            r.w,
            r.h,
            wm::SWP_NOZORDER | wm::SWP_NOACTIVATE,
        )
    };
}

/// The window's rectangle on the screen.
pub fn window_rect(w: Window) -> Rect {
    let mut r = RECT {
        left: 0,
        top: 0,
        right: 0,
        bottom: 0,
    };
    // SAFETY: live out-pointer.
    unsafe { wm::GetWindowRect(w.0, &mut r) };
    Rect {
        x: r.left,
        y: r.top,
        w: r.right - r.left,
        h: r.bottom - r.top,
    }
}

/// Redraws a control.
pub fn redraw(w: Window) {
    // SAFETY: whole client area.
    unsafe { InvalidateRect(w.0, std::ptr::null(), 1) };
}

/// Destroys a window (its thread's message loop ends with the panel).
pub fn destroy(w: Window) {
    // SAFETY: a window of this thread.
    unsafe { wm::DestroyWindow(w.0) };
}

/// Empties a combo box and fills it with `items`.
pub fn combo_fill(w: Window, items: &[String]) {
    send(w, wm::CB_RESETCONTENT, 0, 0);
    for item in items {
        let t = to_wide(item);
        // The string is copied by the control; `t` lives for the call.
        send(w, wm::CB_ADDSTRING, 0, t.as_ptr() as isize);
    }
    send(w, CB_SETMINVISIBLE, items.len().clamp(1, 16), 0);
}

/// Makes a combo box's open list at least `width` pixels wide.
pub fn combo_dropped_width(w: Window, width: i32) {
    send(
        w,
        wm::CB_SETDROPPEDWIDTH,
        usize::try_from(width).unwrap_or(0),
        0,
    );
}

/// Selects item `index` of a combo box (`None`: no selection).
pub fn combo_select(w: Window, index: Option<usize>) {
    let i = index.map_or(usize::MAX, |i| i);
    send(w, wm::CB_SETCURSEL, i, 0);
}

/// The selected item of a combo box.
pub fn combo_selected(w: Window) -> Option<usize> {
    usize::try_from(send(w, wm::CB_GETCURSEL, 0, 0)).ok()
}

/// Empties a list box and fills it with `items`.
pub fn list_fill(w: Window, items: &[String]) {
    send(w, wm::LB_RESETCONTENT, 0, 0);
    for item in items {
        let t = to_wide(item);
        // The string is copied by the control; `t` lives for the call.
        send(w, wm::LB_ADDSTRING, 0, t.as_ptr() as isize);
    }
}

/// Selects item `index` of a list box (`None`: no selection).
pub fn list_select(w: Window, index: Option<usize>) {
    let i = index.map_or(usize::MAX, |i| i);
    send(w, wm::LB_SETCURSEL, i, 0);
}

/// The selected item of a (single-selection) list box.
pub fn list_selected(w: Window) -> Option<usize> {
    usize::try_from(send(w, wm::LB_GETCURSEL, 0, 0)).ok()
}

/// A control's text (an edit box's contents).
pub fn text_of(w: Window) -> String {
    window_text(w.0)
}

/// Checks or unchecks a check box or radio button.
pub fn set_checked(w: Window, on: bool) {
    send(w, wm::BM_SETCHECK, usize::from(on), 0);
}

/// Whether a check box or radio button is checked.
pub fn is_checked(w: Window) -> bool {
    send(w, wm::BM_GETCHECK, 0, 0) == BST_CHECKED as isize
}

/// Starts (or restarts) a timer on the window.
pub fn set_timer(w: Window, id: usize, ms: u32) {
    // SAFETY: our window; no callback (WM_TIMER).
    unsafe { wm::SetTimer(w.0, id, ms, None) };
}

// ---------------------------------------------------------------------------
// DPI, fonts and text measurement

/// The DPI of the monitor the window is on (96 = 100 %).
pub fn dpi_of(w: Window) -> u32 {
    // SAFETY: any window handle; 0 for an invalid one.
    let dpi = unsafe { GetDpiForWindow(w.0) };
    if dpi == 0 {
        96
    } else {
        dpi
    }
}

/// A system metric at `dpi`.
pub fn metric(index: wm::SYSTEM_METRICS_INDEX, dpi: u32) -> i32 {
    // SAFETY: plain query.
    unsafe { GetSystemMetricsForDpi(index, dpi) }
}

/// The system's message font at `dpi`, optionally bold.
pub fn message_font(dpi: u32, bold: bool) -> Option<Font> {
    // SAFETY: NONCLIENTMETRICSW is plain data; all-zero is a valid value.
    let mut ncm: wm::NONCLIENTMETRICSW = unsafe { std::mem::zeroed() };
    ncm.cbSize = std::mem::size_of::<wm::NONCLIENTMETRICSW>() as u32;
    // SAFETY: `ncm` is live and its size is given in cbSize and uiParam.
    let ok = unsafe {
        SystemParametersInfoForDpi(
            wm::SPI_GETNONCLIENTMETRICS,
            ncm.cbSize,
            (&mut ncm as *mut wm::NONCLIENTMETRICSW).cast(),
            0,
            dpi,
        )
    };
    if ok == 0 {
        // Older systems: the metrics at the system DPI, scaled.
        // SAFETY: as above.
        let ok = unsafe {
            wm::SystemParametersInfoW(
                wm::SPI_GETNONCLIENTMETRICS,
                ncm.cbSize,
                (&mut ncm as *mut wm::NONCLIENTMETRICSW).cast(),
                0,
            )
        };
        if ok == 0 {
            return None;
        }
        // SAFETY: plain query.
        let system = unsafe { GetDpiForSystem() }.max(1);
        let h = i64::from(ncm.lfMessageFont.lfHeight) * i64::from(dpi) / i64::from(system);
        ncm.lfMessageFont.lfHeight = i32::try_from(h).unwrap_or(-12);
    }
    let mut lf = ncm.lfMessageFont;
    if bold {
        lf.lfWeight = 600;
    }
    // SAFETY: a valid LOGFONTW.
    let font = unsafe { CreateFontIndirectW(&lf) };
    (!font.is_null()).then_some(Font(font))
}

/// The size `text` takes in `font`, on one line (`&` mnemonics are not
/// counted) or, with `wrap_width`, wrapped to that width.
pub fn text_size(w: Window, font: &Font, text: &str, wrap_width: Option<i32>) -> (i32, i32) {
    let t: Vec<u16> = text.encode_utf16().collect();
    let mut r = RECT {
        left: 0,
        top: 0,
        right: wrap_width.unwrap_or(0),
        bottom: 0,
    };
    let format = DT_CALCRECT
        | if wrap_width.is_some() {
            DT_WORDBREAK
        } else {
            DT_SINGLELINE
        };
    // SAFETY: a DC of our window, released below; the font outlives the
    // selection, which is undone before release; `t` and `r` are live and
    // the length is `t`'s.
    unsafe {
        let hdc = GetDC(w.0);
        if hdc.is_null() {
            return (0, 0);
        }
        let old = SelectObject(hdc, font.0);
        DrawTextW(
            hdc,
            t.as_ptr(),
            i32::try_from(t.len()).unwrap_or(i32::MAX),
            &mut r,
            format,
        );
        SelectObject(hdc, old);
        ReleaseDC(w.0, hdc);
    }
    (r.right - r.left, r.bottom - r.top)
}

/// The outer size of a window whose client area is `w`×`h` at `dpi`.
pub fn outer_size(w: i32, h: i32, dpi: u32) -> (i32, i32) {
    let mut r = RECT {
        left: 0,
        top: 0,
        right: w,
        bottom: h,
    };
    let style = wm::WS_OVERLAPPED | wm::WS_CAPTION | wm::WS_SYSMENU | wm::WS_MINIMIZEBOX;
    // SAFETY: live RECT.
    unsafe { AdjustWindowRectExForDpi(&mut r, style, 0, 0, dpi) };
    (r.right - r.left, r.bottom - r.top)
}

// ---------------------------------------------------------------------------
// Inspection, for tests (any thread of the process)

/// What a control shows, as read back from the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlState {
    /// The window class (`Button`, `ComboBox`, `Static`).
    pub class: String,
    /// Its text (a drop-down's: the selected entry's; a list box's: its items, one per
    /// line).
    pub text: String,
    /// Check boxes and radio buttons: checked or not.
    pub checked: Option<bool>,
    /// Enabled.
    pub enabled: bool,
}

fn window_text(hwnd: HWND) -> String {
    let mut buf = vec![0u16; 1024];
    // SAFETY: `buf` is live and its length is given; any handle.
    let n = unsafe { wm::GetWindowTextW(hwnd, buf.as_mut_ptr(), 1024) };
    String::from_utf16_lossy(buf.get(..usize::try_from(n).unwrap_or(0)).unwrap_or(&[]))
}

fn class_name(hwnd: HWND) -> String {
    let mut buf = vec![0u16; 64];
    // SAFETY: as above.
    let n = unsafe { wm::GetClassNameW(hwnd, buf.as_mut_ptr(), 64) };
    String::from_utf16_lossy(buf.get(..usize::try_from(n).unwrap_or(0)).unwrap_or(&[]))
}

fn combo_text(hwnd: HWND) -> String {
    // SAFETY: plain queries of a combo box (cross-thread sends are fine:
    // the window's thread pumps messages); the buffer is one longer than
    // the length the control reported.
    unsafe {
        let i = wm::SendMessageW(hwnd, wm::CB_GETCURSEL, 0, 0);
        let Ok(index) = usize::try_from(i) else {
            return String::new();
        };
        let len = wm::SendMessageW(hwnd, wm::CB_GETLBTEXTLEN, index, 0);
        let Ok(len) = usize::try_from(len) else {
            return String::new();
        };
        let mut buf = vec![0u16; len + 1];
        let n = wm::SendMessageW(hwnd, wm::CB_GETLBTEXT, index, buf.as_mut_ptr() as isize);
        String::from_utf16_lossy(buf.get(..usize::try_from(n).unwrap_or(0)).unwrap_or(&[]))
    }
}

/// A list box's items, one per line.
fn list_text(hwnd: HWND) -> String {
    // SAFETY: plain queries of a list box (cross-thread sends are fine: the window's
    // thread pumps messages); each buffer is one longer than the length the control
    // reported for that item.
    unsafe {
        let count = usize::try_from(wm::SendMessageW(hwnd, wm::LB_GETCOUNT, 0, 0)).unwrap_or(0);
        let mut items = Vec::with_capacity(count);
        for index in 0..count {
            let len = wm::SendMessageW(hwnd, wm::LB_GETTEXTLEN, index, 0);
            let Ok(len) = usize::try_from(len) else {
                continue;
            };
            let mut buf = vec![0u16; len + 1];
            let n = wm::SendMessageW(hwnd, wm::LB_GETTEXT, index, buf.as_mut_ptr() as isize);
            items.push(String::from_utf16_lossy(
                buf.get(..usize::try_from(n).unwrap_or(0)).unwrap_or(&[]),
            ));
        }
        items.join("\n")
    }
}

unsafe extern "system" fn collect_window(hwnd: HWND, lparam: LPARAM) -> windows_sys::core::BOOL {
    // SAFETY: `lparam` is the `Vec<HWND>` the enumerating function passed,
    // alive and not otherwise borrowed during the enumeration.
    let found = unsafe { &mut *(lparam as *mut Vec<HWND>) };
    found.push(hwnd);
    1
}

/// This process's top-level windows titled `title`.
pub fn windows_titled(title: &str) -> Vec<isize> {
    let mut all: Vec<HWND> = Vec::new();
    // SAFETY: the callback only pushes into `all`, which outlives the call.
    unsafe { wm::EnumWindows(Some(collect_window), &mut all as *mut Vec<HWND> as LPARAM) };
    // SAFETY: plain query.
    let me = unsafe { windows_sys::Win32::System::Threading::GetCurrentProcessId() };
    all.into_iter()
        .filter(|&h| {
            let mut pid = 0u32;
            // SAFETY: any handle; live out-pointer.
            unsafe { wm::GetWindowThreadProcessId(h, &mut pid) };
            pid == me && window_text(h) == title
        })
        .map(|h| h as isize)
        .collect()
}

/// The controls of window `raw`, in creation order.
pub fn controls_of(raw: isize) -> Vec<ControlState> {
    let mut children: Vec<HWND> = Vec::new();
    // SAFETY: as in `windows_titled`; any parent handle.
    unsafe {
        wm::EnumChildWindows(
            raw as HWND,
            Some(collect_window),
            &mut children as *mut Vec<HWND> as LPARAM,
        )
    };
    children
        .into_iter()
        .map(|h| {
            let class = class_name(h);
            let text = if class.eq_ignore_ascii_case("ComboBox") {
                combo_text(h)
            } else if class.eq_ignore_ascii_case("ListBox") {
                list_text(h)
            } else {
                window_text(h)
            };
            // SAFETY: plain queries of any handle.
            let (style, enabled) = unsafe {
                (
                    wm::GetWindowLongW(h, wm::GWL_STYLE) as u32,
                    windows_sys::Win32::UI::Input::KeyboardAndMouse::IsWindowEnabled(h) != 0,
                )
            };
            let kind = style & 0x0f;
            let checkable = class.eq_ignore_ascii_case("Button")
                && [BS_AUTOCHECKBOX as u32, BS_AUTORADIOBUTTON as u32].contains(&kind);
            ControlState {
                checked: checkable.then(|| {
                    // SAFETY: a button; plain query.
                    unsafe { wm::SendMessageW(h, wm::BM_GETCHECK, 0, 0) == BST_CHECKED as isize }
                }),
                class,
                text,
                enabled,
            }
        })
        .collect()
}
