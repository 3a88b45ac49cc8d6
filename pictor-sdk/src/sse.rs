//! An incremental parser of `text/event-stream` (the WHATWG Server-Sent Events format): bytes in,
//! events out, chunks split anywhere (even inside a UTF-8 character or between `\r` and `\n`).

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The last event id seen (`id:`), which persists across events as the spec says.
    pub(crate) id: Option<String>,
    /// The event type (`event:`), `message` when absent.
    pub(crate) event: String,
    /// The data lines joined with `\n`.
    pub(crate) data: String,
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a leading `\n` of the next one belongs to that line end.
    after_cr: bool,
    last_id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub(crate) fn new() -> Self {
        SseParser::default()
    }

    /// Feeds bytes; returns the events completed by them.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                other => self.line.push(other),
            }
        }
        events
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        let raw = std::mem::take(&mut self.line);
        if raw.is_empty() {
            // A blank line dispatches the event, if it has data.
            let event = self.event.take();
            if let Some(data) = self.data.take() {
                events.push(SseEvent {
                    id: self.last_id.clone(),
                    event: event.unwrap_or_else(|| "message".to_string()),
                    data,
                });
            }
            return;
        }
        let line = String::from_utf8_lossy(&raw);
        if line.starts_with(':') {
            return; // A comment (keep-alive).
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            _ => {} // `retry` and unknown fields are ignored.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STREAM: &str = ": keep-alive\n\
        id: 1\nevent: submitted\ndata: {\"seq\":1}\n\n\
        :another comment\r\n\
        id: 2\r\nevent: task_progress\r\ndata: line one\r\ndata: line two\r\n\r\n\
        data\n\n\
        id: 3\revent: completed\rdata:no-space\r\r\
        event: orphan\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                id: Some("1".into()),
                event: "submitted".into(),
                data: "{\"seq\":1}".into(),
            },
            SseEvent {
                id: Some("2".into()),
                event: "task_progress".into(),
                data: "line one\nline two".into(),
            },
            SseEvent {
                id: Some("2".into()),
                event: "message".into(),
                data: String::new(),
            },
            SseEvent {
                id: Some("3".into()),
                event: "completed".into(),
                data: "no-space".into(),
            },
        ]
    }

    #[test]
    fn parses_ids_kinds_multiline_data_and_comments() {
        let mut parser = SseParser::new();
        assert_eq!(parser.push(STREAM.as_bytes()), expected());
    }

    #[test]
    fn an_unfinished_event_is_held_back() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"id: 9\ndata: half").is_empty());
        let events = parser.push(b"\n\n");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, "half");
        assert_eq!(events[0].id.as_deref(), Some("9"));
    }

    #[test]
    fn multibyte_characters_survive_any_split() {
        let text = "data: é→🎬\n\n".as_bytes();
        for cut in 0..text.len() {
            let mut parser = SseParser::new();
            let mut events = parser.push(&text[..cut]);
            events.extend(parser.push(&text[cut..]));
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].data, "é→🎬");
        }
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_events(cuts in proptest::collection::vec(0usize..200, 0..12)) {
            let bytes = STREAM.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut parser = SseParser::new();
            let mut events = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain(std::iter::once(bytes.len())) {
                events.extend(parser.push(&bytes[start..cut]));
                start = cut;
            }
            prop_assert_eq!(events, expected());
        }
    }
}
