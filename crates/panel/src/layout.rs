//! Where every control goes: a small column-and-group layout computed from
//! measured text sizes, so that labels line up, nothing is clipped at any
//! DPI or font, and the window is exactly as large as its content.
//!
//! The panel is two columns of groups (frames with a title). A group holds
//! rows: a label and its control side by side (every control of a column
//! starts at the same x, so labels are aligned), or one control spanning
//! the row (check boxes, radio buttons, text). Sizes come from a
//! [`Measure`]; positions are pixels in the window's client area.

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

/// A rectangle in the client area, pixels.
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

impl Rect {
    /// Right edge (exclusive).
    pub fn right(&self) -> i32 {
        self.x + self.w
    }

    /// Bottom edge (exclusive).
    pub fn bottom(&self) -> i32 {
        self.y + self.h
    }

    /// Whether `other` lies entirely inside `self`.
    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// Whether the two overlap.
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }
}

/// One row of a group. `C` identifies a control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<C> {
    /// A label and its control; the control starts at the column's control x.
    Row {
        /// The label (a static).
        label: C,
        /// The control (a combo box, usually).
        control: C,
        /// Extra left indent of the label, pixels (sub-options).
        indent: i32,
    },
    /// One control alone on its row, at its natural size (check box, radio
    /// button, one-line text).
    Single {
        /// The control.
        control: C,
        /// Left indent, pixels.
        indent: i32,
    },
    /// Several controls side by side at their natural widths, starting at the
    /// column's control x (after `label`, placed as a row's label, when given):
    /// buttons under a list, an edit box with its hint. `fill`: the control that
    /// takes the rest of the row's width.
    Strip {
        /// A label in the label column, or none.
        label: Option<C>,
        /// The controls, left to right.
        controls: Vec<C>,
        /// Extra left indent of the label, pixels.
        indent: i32,
        /// The index in `controls` of the one that stretches, if any.
        fill: Option<usize>,
    },
    /// Text wrapped to the column's width: `lines` lines high when given
    /// (for text that changes), else as high as the text needs.
    Text {
        /// The static.
        control: C,
        /// Left indent, pixels.
        indent: i32,
        /// Fixed height in lines.
        lines: Option<i32>,
    },
}

/// A frame with a title and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group<C> {
    /// The group box.
    pub frame: C,
    /// Its rows, top to bottom.
    pub items: Vec<Item<C>>,
}

/// What the layout needs to know about sizes.
pub trait Measure<C> {
    /// The natural size of a control: text extent plus the control's own
    /// parts (check box square, drop-down arrow, borders).
    fn size(&self, control: &C) -> Size;
    /// The height of a text control wrapped to `width`.
    fn wrapped_height(&self, control: &C, width: i32) -> i32;
    /// The height of one line of text.
    fn line_height(&self) -> i32;
}

/// Spacing, pixels (already scaled to the DPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spacing {
    /// Around the window's content.
    pub margin: i32,
    /// Between the two columns, and between a label and its control.
    pub gap: i32,
    /// Between rows.
    pub row_gap: i32,
    /// Between groups.
    pub group_gap: i32,
    /// Inside a group box, left/right/bottom.
    pub group_pad: i32,
    /// From a group box's top edge to its first row (room for the title).
    pub group_title: i32,
    /// Narrowest a drop-down may be.
    pub min_control: i32,
}

impl Spacing {
    /// The panel's spacing for a font whose lines are `line` pixels high, at
    /// `scale` (1.0 = 96 DPI).
    pub fn for_font(line: i32, scale: f64) -> Self {
        let s = |v: f64| (v * scale).round() as i32;
        Spacing {
            margin: s(12.0),
            gap: s(12.0),
            row_gap: s(6.0),
            group_gap: s(10.0),
            group_pad: s(10.0),
            group_title: line + s(6.0),
            min_control: s(140.0),
        }
    }
}

/// The computed positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed<C> {
    /// Every control with its rectangle.
    pub rects: Vec<(C, Rect)>,
    /// The content's size including margins.
    pub size: Size,
}

impl<C: PartialEq> Placed<C> {
    /// The rectangle of `control`, if placed.
    pub fn rect(&self, control: &C) -> Option<Rect> {
        self.rects
            .iter()
            .find(|(c, _)| c == control)
            .map(|(_, r)| *r)
    }
}

struct ColumnWidths {
    label: i32,
    inner: i32,
}

fn column_widths<C>(groups: &[Group<C>], m: &dyn Measure<C>, sp: &Spacing) -> ColumnWidths {
    let mut label = 0;
    let mut control = sp.min_control;
    let mut single = 0;
    for item in groups.iter().flat_map(|g| g.items.iter()) {
        match item {
            Item::Row {
                label: l,
                control: c,
                indent,
            } => {
                label = label.max(indent + m.size(l).w);
                control = control.max(m.size(c).w);
            }
            Item::Single { control: c, indent } => single = single.max(indent + m.size(c).w),
            Item::Strip {
                label: l,
                controls,
                indent,
                ..
            } => {
                if let Some(l) = l {
                    label = label.max(indent + m.size(l).w);
                }
                control = control.max(strip_width(controls, m, sp));
            }
            Item::Text { .. } => {}
        }
    }
    for g in groups {
        // The title must fit too.
        single = single.max(m.size(&g.frame).w);
    }
    // Spare width goes to the controls, so they line up at the right edge.
    let inner = (label + sp.gap + control).max(single);
    ColumnWidths { label, inner }
}

/// Lays out `columns` of groups side by side, then `header` items spanning
/// the full width above them and `footer` controls (buttons) right-aligned
/// below them. The last group of each column is stretched so both
/// columns end at the same height.
pub fn layout<C: Clone>(
    header: &[Item<C>],
    columns: &[Vec<Group<C>>],
    footer: &[C],
    m: &dyn Measure<C>,
    sp: &Spacing,
) -> Placed<C> {
    let mut rects = Vec::new();
    let widths: Vec<ColumnWidths> = columns
        .iter()
        .map(|groups| column_widths(groups, m, sp))
        .collect();
    let columns_width: i32 = widths
        .iter()
        .map(|w| w.inner + 2 * sp.group_pad)
        .sum::<i32>()
        + sp.gap * (i32::try_from(columns.len()).unwrap_or(1) - 1).max(0);
    let footer_width: i32 = footer.iter().map(|c| m.size(c).w + sp.row_gap).sum();
    let full = columns_width.max(footer_width);

    let mut y = sp.margin;
    for item in header {
        y = place_item(item, sp.margin, y, full, 0, m, sp, &mut rects) + sp.row_gap;
    }
    if !header.is_empty() {
        y += sp.row_gap;
    }
    let top = y;
    let mut x = sp.margin;
    let mut bottoms = Vec::new();
    let mut last_frames = Vec::new();
    for (groups, w) in columns.iter().zip(&widths) {
        let mut gy = top;
        let group_w = w.inner + 2 * sp.group_pad;
        for (gi, g) in groups.iter().enumerate() {
            let mut iy = gy + sp.group_title;
            for item in &g.items {
                iy = place_item(
                    item,
                    x + sp.group_pad,
                    iy,
                    w.inner,
                    w.label,
                    m,
                    sp,
                    &mut rects,
                ) + sp.row_gap;
            }
            let h = iy - sp.row_gap + sp.group_pad - gy;
            rects.push((
                g.frame.clone(),
                Rect {
                    x,
                    y: gy,
                    w: group_w,
                    h,
                },
            ));
            if gi + 1 == groups.len() {
                last_frames.push(rects.len() - 1);
            }
            gy += h + sp.group_gap;
        }
        bottoms.push(gy - sp.group_gap);
        x += group_w + sp.gap;
    }
    let bottom = bottoms.iter().copied().max().unwrap_or(top);
    for i in last_frames {
        if let Some((_, r)) = rects.get_mut(i) {
            r.h = bottom - r.y;
        }
    }
    // The footer: right-aligned buttons, all as wide as the widest.
    let mut y = bottom + sp.group_gap;
    let button = footer.iter().fold(Size::default(), |acc, c| {
        let s = m.size(c);
        Size {
            w: acc.w.max(s.w),
            h: acc.h.max(s.h),
        }
    });
    let n = i32::try_from(footer.len()).unwrap_or(0);
    let mut bx = sp.margin + full - n * button.w - (n - 1).max(0) * sp.row_gap;
    for c in footer {
        rects.push((
            c.clone(),
            Rect {
                x: bx,
                y,
                w: button.w,
                h: button.h,
            },
        ));
        bx += button.w + sp.row_gap;
    }
    if n > 0 {
        y += button.h;
    } else {
        y -= sp.group_gap;
    }
    Placed {
        rects,
        size: Size {
            w: full + 2 * sp.margin,
            h: y + sp.margin,
        },
    }
}

/// The natural width of a strip's controls with the gaps between them.
fn strip_width<C>(controls: &[C], m: &dyn Measure<C>, sp: &Spacing) -> i32 {
    let n = i32::try_from(controls.len()).unwrap_or(0);
    controls.iter().map(|c| m.size(c).w).sum::<i32>() + (n - 1).max(0) * sp.row_gap
}

/// Places one item at (`x`, `y`) in a column `width` wide whose labels are
/// `label_w` wide; returns the item's bottom.
#[allow(clippy::too_many_arguments)]
fn place_item<C: Clone>(
    item: &Item<C>,
    x: i32,
    y: i32,
    width: i32,
    label_w: i32,
    m: &dyn Measure<C>,
    sp: &Spacing,
    rects: &mut Vec<(C, Rect)>,
) -> i32 {
    match item {
        Item::Row {
            label,
            control,
            indent,
        } => {
            let ls = m.size(label);
            let cs = m.size(control);
            let h = ls.h.max(cs.h);
            let cx = x + label_w + sp.gap;
            // Centred on a control one line high (a drop-down); level with
            // the first line of taller text.
            let label_y = if cs.h >= 2 * ls.h {
                y
            } else {
                y + (h - ls.h) / 2
            };
            rects.push((
                label.clone(),
                Rect {
                    x: x + indent,
                    y: label_y,
                    w: label_w - indent,
                    h: ls.h,
                },
            ));
            rects.push((
                control.clone(),
                Rect {
                    x: cx,
                    y: y + (h - cs.h) / 2,
                    w: width - label_w - sp.gap,
                    h: cs.h,
                },
            ));
            y + h
        }
        Item::Single { control, indent } => {
            let s = m.size(control);
            rects.push((
                control.clone(),
                Rect {
                    x: x + indent,
                    y,
                    w: (width - indent).max(s.w.min(width - indent)),
                    h: s.h,
                },
            ));
            y + s.h
        }
        Item::Strip {
            label,
            controls,
            indent,
            fill,
        } => {
            let sizes: Vec<Size> = controls.iter().map(|c| m.size(c)).collect();
            let label_size = label.as_ref().map(|l| m.size(l));
            let h = sizes
                .iter()
                .chain(&label_size)
                .map(|s| s.h)
                .max()
                .unwrap_or(0);
            if let (Some(l), Some(ls)) = (label, label_size) {
                rects.push((
                    l.clone(),
                    Rect {
                        x: x + indent,
                        y: y + (h - ls.h) / 2,
                        w: label_w - indent,
                        h: ls.h,
                    },
                ));
            }
            let cx = x + label_w + sp.gap;
            let spare = (width - label_w - sp.gap - strip_width(controls, m, sp)).max(0);
            let mut at = cx;
            for (i, (c, s)) in controls.iter().zip(&sizes).enumerate() {
                let w = if Some(i) == *fill { s.w + spare } else { s.w };
                rects.push((
                    c.clone(),
                    Rect {
                        x: at,
                        y: y + (h - s.h) / 2,
                        w,
                        h: s.h,
                    },
                ));
                at += w + sp.row_gap;
            }
            y + h
        }
        Item::Text {
            control,
            indent,
            lines,
        } => {
            let w = width - indent;
            let h = match lines {
                Some(n) => n * m.line_height(),
                None => m.wrapped_height(control, w),
            };
            rects.push((
                control.clone(),
                Rect {
                    x: x + indent,
                    y,
                    w,
                    h,
                },
            ));
            y + h
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake font: 7 px per character, 16 px lines; controls are 24 px high.
    struct Fake;

    impl Measure<&'static str> for Fake {
        fn size(&self, c: &&'static str) -> Size {
            let chars = i32::try_from(c.chars().count()).unwrap();
            if let Some(text) = c.strip_prefix("combo:") {
                Size {
                    w: 7 * i32::try_from(text.len()).unwrap() + 30,
                    h: 24,
                }
            } else {
                Size {
                    w: 7 * chars,
                    h: 16,
                }
            }
        }
        fn wrapped_height(&self, c: &&'static str, width: i32) -> i32 {
            let w = 7 * i32::try_from(c.len()).unwrap();
            16 * ((w + width - 1) / width)
        }
        fn line_height(&self) -> i32 {
            16
        }
    }

    fn row(label: &'static str, control: &'static str) -> Item<&'static str> {
        Item::Row {
            label,
            control,
            indent: 0,
        }
    }

    #[test]
    fn labels_align_nothing_overlaps_and_everything_fits() {
        let sp = Spacing::for_font(16, 1.0);
        let header = [Item::Text {
            control: "a problem line that is long enough to wrap maybe",
            indent: 0,
            lines: Some(2),
        }];
        let columns = vec![
            vec![
                Group {
                    frame: "Device",
                    items: vec![
                        row("Sample rate:", "combo:48 kHz"),
                        row("Inputs:", "combo:2"),
                    ],
                },
                Group {
                    frame: "Buffer",
                    items: vec![row("Buffer size:", "combo:128 samples (2.7 ms)")],
                },
            ],
            vec![Group {
                frame: "Scheduling",
                items: vec![
                    Item::Single {
                        control: "Register driver thread with MMCSS",
                        indent: 0,
                    },
                    Item::Row {
                        label: "MMCSS task:",
                        control: "combo:Pro Audio",
                        indent: 20,
                    },
                    Item::Text {
                        control: "TIME_CRITICAL in a normal process: base priority 15",
                        indent: 20,
                        lines: None,
                    },
                    Item::Strip {
                        label: Some("Channels:"),
                        controls: vec!["edit", "e.g. 1-2,5"],
                        indent: 20,
                        fill: None,
                    },
                    Item::Strip {
                        label: None,
                        controls: vec!["Add", "Remove", "Up", "Down"],
                        indent: 0,
                        fill: Some(3),
                    },
                ],
            }],
        ];
        let footer = ["Apply", "Close"];
        let placed = layout(&header, &columns, &footer, &Fake, &sp);
        let r = |c| placed.rect(&c).unwrap();
        // Controls of a column share their x; labels end before it.
        assert_eq!(r("combo:48 kHz").x, r("combo:2").x);
        assert_eq!(r("combo:48 kHz").x, r("combo:128 samples (2.7 ms)").x);
        assert!(r("Sample rate:").right() < r("combo:48 kHz").x);
        // Every control inside its group, inside the window; no overlaps
        // except controls with their own frame.
        let window = Rect {
            x: 0,
            y: 0,
            w: placed.size.w,
            h: placed.size.h,
        };
        for (c, rect) in &placed.rects {
            assert!(window.contains(rect), "{c} {rect:?} outside {window:?}");
            let natural = Fake.size(c);
            assert!(rect.w >= natural.w.min(rect.w), "{c} clipped");
        }
        let frames = ["Device", "Buffer", "Scheduling"];
        for (a, ra) in &placed.rects {
            for (b, rb) in &placed.rects {
                if a != b && !frames.contains(a) && !frames.contains(b) {
                    assert!(!ra.overlaps(rb), "{a} overlaps {b}");
                }
            }
        }
        assert!(r("Device").contains(&r("combo:2")));
        assert!(r("Scheduling").contains(&r("combo:Pro Audio")));
        // Labels wide enough for their text; combos for theirs.
        assert!(r("Sample rate:").w >= Fake.size(&"Sample rate:").w);
        assert!(r("combo:128 samples (2.7 ms)").w >= Fake.size(&"combo:128 samples (2.7 ms)").w);
        // A strip starts at the controls' x, left to right; its fill control takes
        // the rest of the column, so the strip ends at the column's right edge.
        assert_eq!(r("edit").x, r("combo:Pro Audio").x);
        assert!(r("Channels:").right() < r("edit").x);
        assert_eq!(r("e.g. 1-2,5").x, r("edit").right() + sp.row_gap);
        assert_eq!(r("Add").x, r("combo:Pro Audio").x);
        assert_eq!(r("Remove").w, Fake.size(&"Remove").w);
        assert!(r("Down").w > Fake.size(&"Down").w);
        assert_eq!(r("Down").right(), r("combo:Pro Audio").right());
        // Columns end level; buttons right-aligned at the bottom, same size.
        assert_eq!(r("Buffer").bottom(), r("Scheduling").bottom());
        assert_eq!(r("Close").right(), placed.size.w - sp.margin);
        assert_eq!(r("Apply").w, r("Close").w);
        assert!(r("Apply").y > r("Buffer").bottom());
    }
}
