//! The writer's line format, shared by the writer (which produces it) and the observer (which
//! checks it before stamping it with the server's clock).

use std::fmt;

/// What a writer line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Beat,
    /// The writer process started; `seq` is 0.
    Start,
    /// The writer stopped on a signal; `seq` is the last beat it wrote.
    Stop,
}

/// One line of a writer file: `service node seq writer_unix_ms [start|stop]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterLine<'a> {
    pub service: &'a str,
    pub node: &'a str,
    pub seq: u64,
    pub unix_ms: i64,
    pub kind: Kind,
}

impl<'a> WriterLine<'a> {
    /// `None` when the line is not a writer line (garbled, or a partial write after an error).
    pub fn parse(line: &'a str) -> Option<WriterLine<'a>> {
        let f: Vec<&str> = line.split(' ').collect();
        let kind = match f.len() {
            4 => Kind::Beat,
            5 if f[4] == "start" => Kind::Start,
            5 if f[4] == "stop" => Kind::Stop,
            _ => return None,
        };
        if f[0].is_empty() || f[1].is_empty() {
            return None;
        }
        Some(WriterLine { service: f[0], node: f[1], seq: f[2].parse().ok()?, unix_ms: f[3].parse().ok()?, kind })
    }
}

impl fmt::Display for WriterLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}", self.service, self.node, self.seq, self.unix_ms)?;
        match self.kind {
            Kind::Beat => Ok(()),
            Kind::Start => f.write_str(" start"),
            Kind::Stop => f.write_str(" stop"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in ["svc n1 7 1700000000123", "svc n1 0 1700000000000 start", "svc n1 7 1700000000999 stop"] {
            assert_eq!(WriterLine::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "svc n1 7", "svc n1 x 1", "svc n1 7 1 restart", "svc  7 1", "svc n1 7 17000svc n1 8 1700"] {
            assert_eq!(WriterLine::parse(s), None, "{s:?}");
        }
    }
}
