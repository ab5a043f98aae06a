//! The programs a bash script runs, read from its text without running it.
//!
//! A small tokenizer (quotes, `$( )`, `<( )`, backticks, `${ }`, `$(( ))`, heredocs, array
//! literals) and a walk over the tokens that knows where a command word stands: at the start,
//! after `|`, `||`, `&&`, `;`, a newline or `(`, after `if`/`then`/`do`/... and after
//! assignments and wrappers (`exec`, `command`, `"${sudo[@]}"`). It is not a full bash parser:
//! the commands `xargs` or `find -exec` run are not seen, nor names built by expansion.

use std::collections::BTreeSet;

#[derive(Debug, PartialEq)]
enum Tok {
    /// A word; `plain` when it holds no quote and no expansion.
    Word {
        text: String,
        plain: bool,
    },
    Op(&'static str),
}

/// Index of the `)` closing the `(` at `open`, skipping quoted text and nested parentheses.
fn close_paren(c: &[char], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < c.len() {
        match c[i] {
            '\\' => i += 1,
            '\'' => i = close_quote(c, i, '\''),
            '"' => i = close_quote(c, i, '"'),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    c.len()
}

/// Index of the quote closing the one at `open` (double quotes may hold `$( )` with quotes).
fn close_quote(c: &[char], open: usize, q: char) -> usize {
    let mut i = open + 1;
    while i < c.len() && c[i] != q {
        if q == '"' && c[i] == '\\' {
            i += 1;
        } else if q == '"' && c[i] == '$' && c.get(i + 1) == Some(&'(') {
            i = close_paren(c, i + 1);
        }
        i += 1;
    }
    i
}

fn close_brace(c: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (i, ch) in c.iter().enumerate().skip(open) {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    c.len()
}

/// Commands inside `$( )`, `<( )` and backticks found in `c[from..to]` (a double-quoted
/// string or a heredoc body).
fn nested(c: &[char], from: usize, to: usize, out: &mut BTreeSet<String>) {
    let mut i = from;
    while i < to {
        if c[i] == '\\' {
            i += 1;
        } else if c[i] == '$' && c.get(i + 1) == Some(&'(') && c.get(i + 2) != Some(&'(') {
            let end = close_paren(c, i + 1);
            out.extend(command_words(
                &c[i + 2..end.min(c.len())].iter().collect::<String>(),
            ));
            i = end;
        }
        i += 1;
    }
}

fn tokens(c: &[char], out: &mut BTreeSet<String>) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut word = String::new();
    let mut plain = true;
    let mut i = 0;
    macro_rules! flush {
        () => {{
            if !word.is_empty() {
                toks.push(Tok::Word {
                    text: std::mem::take(&mut word),
                    plain,
                });
            }
            plain = true;
        }};
    }
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        match ch {
            '#' if word.is_empty() => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ' ' | '\t' => flush!(),
            '\n' => {
                flush!();
                toks.push(Tok::Op("\n"));
            }
            ';' => {
                flush!();
                if next == Some(';') {
                    i += 1;
                    toks.push(Tok::Op(";;"));
                } else {
                    toks.push(Tok::Op(";"));
                }
            }
            '&' if word.ends_with(['>', '<']) => word.push('&'),
            '&' | '|' => {
                flush!();
                if next == Some(ch) {
                    i += 1;
                }
                toks.push(Tok::Op(if ch == '&' { "&" } else { "|" }));
            }
            '\\' => {
                word.push(next.unwrap_or(' '));
                i += 1;
            }
            '\'' | '"' => {
                let end = close_quote(c, i, ch);
                if ch == '"' {
                    nested(c, i + 1, end, out);
                }
                word.push_str(&c[i..(end + 1).min(c.len())].iter().collect::<String>());
                plain = false;
                i = end;
            }
            '`' => {
                let mut end = i + 1;
                while end < c.len() && c[end] != '`' {
                    end += 1;
                }
                out.extend(command_words(
                    &c[i + 1..end.min(c.len())].iter().collect::<String>(),
                ));
                word.push('`');
                plain = false;
                i = end;
            }
            '$' if next == Some('(') && c.get(i + 2) == Some(&'(') => {
                i = close_paren(c, i + 1);
                word.push('$');
                plain = false;
            }
            '$' | '<' | '>' if next == Some('(') => {
                let end = close_paren(c, i + 1);
                out.extend(command_words(
                    &c[i + 2..end.min(c.len())].iter().collect::<String>(),
                ));
                word.push('$');
                plain = false;
                i = end;
            }
            '$' if next == Some('{') => {
                i = close_brace(c, i + 1);
                word.push('$');
                plain = false;
            }
            '$' => {
                word.push('$');
                plain = false;
            }
            // An array literal `name=( ... )` or arithmetic `(( ... ))`: one word.
            '(' if word.ends_with('=') || (word.is_empty() && next == Some('(')) => {
                let end = close_paren(c, i);
                word.push_str(&c[i..(end + 1).min(c.len())].iter().collect::<String>());
                plain = false;
                i = end;
            }
            '(' | ')' => {
                flush!();
                toks.push(Tok::Op(if ch == '(' { "(" } else { ")" }));
            }
            _ => word.push(ch),
        }
        i += 1;
    }
    if !word.is_empty() {
        toks.push(Tok::Word { text: word, plain });
    }
    toks
}

/// The text without heredoc bodies (the `$( )` in unquoted bodies still count).
fn strip_heredocs(src: &str, out: &mut BTreeSet<String>) -> String {
    let mut kept = String::new();
    let mut until: Option<(String, bool)> = None;
    for line in src.lines() {
        if let Some((end, quoted)) = &until {
            if line.trim() == end {
                until = None;
            } else if !quoted {
                let c: Vec<char> = line.chars().collect();
                nested(&c, 0, c.len(), out);
            }
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
        if let Some(pos) = line.find("<<").filter(|p| !line[p + 2..].starts_with('<')) {
            let rest = line[pos + 2..].trim_start_matches('-').trim_start();
            let delim: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '\'' | '"'))
                .collect();
            let quoted = delim.contains(['\'', '"']);
            until = Some((delim.replace(['\'', '"'], ""), quoted));
        }
    }
    kept
}

/// Shell words that open or close a compound command.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "esac", "!",
    "{", "}", "time", "function", "select",
];

/// Commands whose first operand is itself a command.
const WRAPPERS: &[&str] = &["exec", "command", "builtin", "env", "nohup", "sudo"];

/// The programs a bash script runs: the first word of every simple command wherever it
/// stands (pipelines, lists, `$( )`, `<( )`, conditions, array prefixes like `sudo=(sudo)`),
/// leaving out comments, quoted text, heredoc bodies, arithmetic, `[[ ]]`, case patterns and
/// words built by expansion. Function names and builtins come back too; callers remove them.
pub(crate) fn command_words(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let text = strip_heredocs(&src.replace("\\\n", " "), &mut out);
    let c: Vec<char> = text.chars().collect();
    let toks = tokens(&c, &mut out);
    let mut at_cmd = true;
    let mut cases = 0;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Op(";;") if cases > 0 => {
                // Patterns up to `)`, or the `esac` that ends the case.
                i += 1;
                while i < toks.len() && toks[i] == Tok::Op("\n") {
                    i += 1;
                }
                if matches!(&toks.get(i), Some(Tok::Word { text, .. }) if text == "esac") {
                    cases -= 1;
                    at_cmd = false;
                } else {
                    while i < toks.len() && toks[i] != Tok::Op(")") {
                        i += 1;
                    }
                    at_cmd = true;
                }
            }
            Tok::Op(")") => at_cmd = false,
            // A group (`f() { cmd; }`) starts a command wherever it stands.
            Tok::Word { text, .. } if text == "{" => at_cmd = true,
            Tok::Op(_) => at_cmd = true,
            Tok::Word { text, plain } if at_cmd => {
                let t = text.as_str();
                let assignment = t.split_once('=').is_some_and(|(n, _)| {
                    !n.is_empty()
                        && n.trim_end_matches('+')
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
                if assignment || t.starts_with("((") {
                    // An array meant to prefix commands (`sudo=(sudo)`): its first word counts.
                    if let Some((_, list)) = t.split_once("=(") {
                        let first = list.split([' ', ')']).next().unwrap_or_default();
                        if first.starts_with(|c: char| c.is_ascii_alphabetic())
                            && first
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                        {
                            out.insert(first.to_owned());
                        }
                    }
                    at_cmd = assignment;
                } else if t.starts_with(['<', '>'])
                    || (t.starts_with(|c: char| c.is_ascii_digit()) && t.contains(['<', '>']))
                {
                    if t.trim_start_matches(|c: char| c.is_ascii_digit())
                        .chars()
                        .all(|c| matches!(c, '<' | '>' | '&'))
                    {
                        i += 1;
                    }
                } else if t == "case" {
                    cases += 1;
                    while i < toks.len()
                        && !matches!(&toks[i], Tok::Word { text, .. } if text == "in")
                    {
                        i += 1;
                    }
                    // The first pattern.
                    while i < toks.len() && toks[i] != Tok::Op(")") {
                        if matches!(&toks[i], Tok::Word { text, .. } if text == "esac") {
                            cases -= 1;
                            break;
                        }
                        i += 1;
                    }
                    at_cmd = true;
                } else if t == "[[" {
                    while i < toks.len()
                        && !matches!(&toks[i], Tok::Word { text, .. } if text == "]]")
                    {
                        i += 1;
                    }
                    at_cmd = false;
                } else if KEYWORDS.contains(&t) {
                    at_cmd = !matches!(
                        t,
                        "fi" | "done" | "esac" | "}" | "for" | "select" | "in" | "function"
                    );
                } else if WRAPPERS.contains(&t) {
                    out.insert(t.to_owned());
                } else if t.starts_with('-') {
                    // An option of a wrapper (`command -v x`).
                } else if !plain {
                    // `"${wrapper[@]}" cmd ...` runs cmd; other expanded words are not names.
                    at_cmd = t.starts_with("\"${") && t.ends_with("[@]}\"");
                } else {
                    out.insert(t.to_owned());
                    at_cmd = false;
                }
            }
            Tok::Word { .. } => {}
        }
        i += 1;
    }
    out
}

/// The functions a script defines (`name() {`), which are commands of its own.
pub(crate) fn function_names(src: &str) -> BTreeSet<String> {
    src.lines()
        .filter_map(|line| {
            let (name, rest) = line.trim_start().split_once("()")?;
            let name = name.trim();
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (valid && rest.trim_start().starts_with('{')).then(|| name.to_owned())
        })
        .collect()
}
