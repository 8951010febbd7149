//! Markdown tables with aligned columns, so the output pastes into `docs/` as is.

use std::fmt;

/// A table: a header row, then rows of cells; the first column is left-aligned, the
/// others right-aligned.
///
/// ```
/// use benches::Table;
/// let mut t = Table::new(["what", "ns/op"]);
/// t.row(["raw", "305"]);
/// assert_eq!(t.to_string(), "| what | ns/op |\n|:-----|------:|\n| raw  |   305 |\n");
/// ```
#[derive(Clone, Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
        self
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([self.header[c].chars().count(), 2])
                    .max()
                    .unwrap_or(2)
            })
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            for (c, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if c == 0 {
                    write!(f, "| {cell:<width$} ")?;
                } else {
                    write!(f, "| {cell:>width$} ")?;
                }
            }
            writeln!(f, "|")
        };
        line(f, &self.header)?;
        for (c, width) in widths.iter().enumerate() {
            if c == 0 {
                write!(f, "|:{}", "-".repeat(width + 1))?;
            } else {
                write!(f, "|{}:", "-".repeat(width + 1))?;
            }
        }
        writeln!(f, "|")?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}

/// Formats a number with thin thousands separators: `1234567.8` → `1,234,568`.
///
/// ```
/// assert_eq!(benches::table::thousands(1_234_567.8), "1,234,568");
/// assert_eq!(benches::table::thousands(-950.0), "-950");
/// ```
pub fn thousands(value: f64) -> String {
    let rounded = value.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}
