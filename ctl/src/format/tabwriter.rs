//! Column alignment as Go's `text/tabwriter` does it with docker's settings
//! (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`: minimum cell width 10,
//! padding 3, spaces, left-aligned), so that `--format 'table …'` lines up
//! exactly as docker's tables do.
//!
//! The rules that matter (Go's elastic tabstops): a cell is text terminated by
//! a tab; the text after the last tab of a line is not part of any column.
//! Tab-terminated cells in *contiguous* lines form a column whose width is the
//! widest cell plus the padding, at least the minimum width. A line without
//! any tab ends every open column (Go flushes there). Widths count terminal
//! columns, as docker's fork counts them with go-runewidth.

use unicode_width::UnicodeWidthStr;

/// Column settings: Go's `minwidth` and `padding`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub min_width: usize,
    pub padding: usize,
}

/// docker's table settings (cli/command/formatter/formatter.go).
pub(crate) const TABLE: Settings = Settings { min_width: 10, padding: 3 };
/// `docker version`'s settings (cli/command/system/version.go).
pub(crate) const VERSION: Settings = Settings { min_width: 20, padding: 1 };

/// Align `text` (lines of tab-terminated cells) into docker's table columns.
pub(crate) fn align(text: &str) -> String {
    align_with(text, TABLE)
}

/// Align `text` with the given settings.
pub(crate) fn align_with(text: &str, settings: Settings) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut block: Vec<Vec<&str>> = Vec::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let cells: Vec<&str> = line.split('\t').collect();
        let is_last = lines.peek().is_none();
        let single = cells.len() == 1;
        block.push(cells);
        if single && !is_last {
            // Go flushes after a line with a single cell: it cannot affect
            // the columns of the lines that follow.
            write_block(&mut out, &block, true, settings);
            block.clear();
        }
    }
    write_block(&mut out, &block, false, settings);
    out
}

/// Write the lines of one flushed block; every line but the block's last is
/// followed by a newline, and `trailing_newline` adds one after the last.
fn write_block(out: &mut String, lines: &[Vec<&str>], trailing_newline: bool, settings: Settings) {
    let mut widths = Vec::new();
    let mut block = Block { out, lines, trailing_newline, settings };
    block.format_lines(0, lines.len(), &mut widths);
}

struct Block<'a, 'b> {
    out: &'a mut String,
    lines: &'a [Vec<&'b str>],
    trailing_newline: bool,
    settings: Settings,
}

impl Block<'_, '_> {
    /// Go's `format`: find the block of contiguous lines that have a cell in
    /// column `widths.len()`, fix that column's width, recurse to the right.
    fn format_lines(&mut self, mut line0: usize, line1: usize, widths: &mut Vec<usize>) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(line0, this, widths);
            line0 = this;
            let mut width = self.settings.min_width;
            while this < line1 && column + 1 < self.lines[this].len() {
                width = width.max(self.lines[this][column].width() + self.settings.padding);
                this += 1;
            }
            widths.push(width);
            self.format_lines(line0, this, widths);
            widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1, widths);
    }

    fn write_lines(&mut self, line0: usize, line1: usize, widths: &[usize]) {
        for i in line0..line1 {
            let line = &self.lines[i];
            for (j, cell) in line.iter().enumerate() {
                self.out.push_str(cell);
                if j + 1 < line.len()
                    && let Some(w) = widths.get(j)
                {
                    let pad = w.saturating_sub(cell.width());
                    self.out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if i + 1 < self.lines.len() || self.trailing_newline {
                self.out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_take_the_widest_cell_plus_three() {
        let got = align("CONTAINER ID\tNAMES\nabc\tweb\n");
        assert_eq!(got, "CONTAINER ID   NAMES\nabc            web\n");
    }

    #[test]
    fn narrow_columns_are_at_least_ten_wide() {
        let got = align("A\tB\tC\nx\ty\tz\n");
        assert_eq!(got, "A         B         C\nx         y         z\n");
    }

    #[test]
    fn the_last_cell_is_not_padded() {
        let got = align("ID\tSTATUS\n1\tUp 5 minutes\n");
        assert_eq!(got, "ID        STATUS\n1         Up 5 minutes\n");
    }

    #[test]
    fn a_line_without_tabs_ends_the_columns() {
        // Go flushes after a one-cell line: the columns below start afresh.
        let got = align("aaaaaaaaaaaaaaa\tb\nplain\nc\td\n");
        assert_eq!(got, "aaaaaaaaaaaaaaa   b\nplain\nc         d\n");
    }

    #[test]
    fn a_shorter_line_breaks_a_column_block() {
        // As Go's doc example: b and c are in distinct columns.
        let got = align("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n");
        let want = "aaaa      bbb       d\naa        b         dd\na         \naa        cccc      eee\n";
        assert_eq!(got, want);
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let got = align("名前\tX\nab\tY\n");
        assert_eq!(got, "名前      X\nab        Y\n");
    }

    #[test]
    fn version_settings_pad_by_one_to_twenty() {
        let got = align_with("Client:\n Version:\t0.1.0\n OS/Arch:\tlinux/amd64\n", VERSION);
        assert_eq!(got, "Client:\n Version:           0.1.0\n OS/Arch:           linux/amd64\n");
    }

    #[test]
    fn empty_input_stays_empty() {
        assert_eq!(align(""), "");
    }
}
