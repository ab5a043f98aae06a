//! A plain table: left-aligned columns two spaces apart, a header row, cells optionally coloured
//! or linked (OSC 8) when printing to a terminal; and the same rows as CSV.

/// A cell colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Green,
    Yellow,
    Red,
    Dim,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Self::Green => "32",
            Self::Yellow => "33",
            Self::Red => "31",
            Self::Dim => "2",
        }
    }
}

/// One cell: its text, and how a terminal may show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub color: Option<Color>,
    pub link: Option<String>,
}

impl Cell {
    /// A coloured cell.
    pub fn colored(text: impl Into<String>, color: Option<Color>) -> Self {
        Self {
            text: text.into(),
            color,
            link: None,
        }
    }

    /// A cell linking to `url` (shown as its text; OSC 8 on a terminal).
    pub fn link(text: impl Into<String>, url: &str) -> Self {
        Self {
            text: text.into(),
            color: None,
            link: (!url.is_empty()).then(|| url.to_owned()),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self {
            text,
            ..Self::default()
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

/// Rows under a header.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these columns.
    pub fn new(header: Vec<&'static str>) -> Self {
        Self {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// The table as text; `color` and `links` add escapes that take no width.
    pub fn render(&self, color: bool, links: bool) -> String {
        if self.header.is_empty() {
            return String::new();
        }
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(&c.text));
                }
            }
        }
        let mut out = String::new();
        let last = widths.len() - 1;
        let line = |out: &mut String, cells: Vec<(String, usize)>| {
            let mut text = String::new();
            for (i, (shown, visible)) in cells.into_iter().enumerate() {
                text.push_str(&shown);
                if i < last {
                    text.push_str(&" ".repeat(widths[i] - visible + 2));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        let header = self
            .header
            .iter()
            .map(|h| {
                let shown = if color {
                    format!("\x1b[1m{h}\x1b[0m")
                } else {
                    h.to_string()
                };
                (shown, width(h))
            })
            .collect();
        line(&mut out, header);
        for row in &self.rows {
            let cells = row
                .iter()
                .map(|c| {
                    let mut shown = c.text.clone();
                    if let (true, Some(url)) = (links, &c.link) {
                        shown = format!("\x1b]8;;{url}\x1b\\{shown}\x1b]8;;\x1b\\");
                    }
                    if let (true, Some(col)) = (color, c.color) {
                        shown = format!("\x1b[{}m{shown}\x1b[0m", col.code());
                    }
                    (shown, width(&c.text))
                })
                .collect();
            line(&mut out, cells);
        }
        out
    }

    /// The rows as CSV with the header; a linked cell's URL is its value.
    pub fn csv(&self) -> std::io::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.header)
            .map_err(std::io::Error::other)?;
        for row in &self.rows {
            let fields: Vec<&str> = row
                .iter()
                .map(|c| c.link.as_deref().unwrap_or(&c.text))
                .collect();
            w.write_record(fields).map_err(std::io::Error::other)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(vec!["ID", "STATE", "JOB"]);
        t.push(vec![
            "1001".into(),
            Cell::colored("online", Some(Color::Green)),
            Cell::link("job 7", "http://job/7"),
        ]);
        t.push(vec!["2".into(), "offline".into(), "".into()]);
        t
    }

    #[test]
    fn columns_line_up_without_escapes_when_not_on_a_terminal() {
        assert_eq!(
            sample().render(false, false),
            "ID    STATE    JOB\n1001  online   job 7\n2     offline\n"
        );
    }

    #[test]
    fn colour_and_links_take_no_width() {
        let text = sample().render(true, true);
        assert!(text.contains("\x1b[32monline\x1b[0m   "));
        assert!(text.contains("\x1b]8;;http://job/7\x1b\\job 7\x1b]8;;\x1b\\"));
    }

    #[test]
    fn csv_quotes_as_needed_and_gives_a_link_its_url() {
        let mut t = sample();
        t.push(vec!["3".into(), "a,b".into(), "".into()]);
        assert_eq!(
            t.csv().unwrap(),
            "ID,STATE,JOB\n1001,online,http://job/7\n2,offline,\n3,\"a,b\",\n"
        );
    }
}
