//! CSV files the app hands out (earnings, statements): RFC 4180 fields, and text that a
//! spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) is
//! prefixed with `'`, so a name chosen by someone else cannot become a formula in the reader's
//! spreadsheet.

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

/// One text field, quoted when it must be and defused when it could be read as a formula.
pub fn text(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One line of fields already made safe (numbers, or [`text`]), ended with CRLF.
pub fn line(fields: &[String]) -> String {
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
}

/// A CSV file download named `filename` (a plain ASCII name).
pub fn download(filename: &str, body: String) -> Response {
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(text("gpu-1"), "gpu-1");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(text("@sum"), "'@sum");
        assert_eq!(line(&["1".into(), text("x")]), "1,x\r\n");
    }
}
