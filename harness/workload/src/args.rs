//! Command-line arguments, parsed by hand: the binary stays std-only and small for the guest
//! images.

use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `write`.
#[derive(Debug, PartialEq)]
pub struct WriteArgs {
    pub dir: PathBuf,
    pub node: String,
    pub service: String,
    pub interval: Duration,
    pub stamp: Option<PathBuf>,
    pub detach: bool,
}

/// Arguments of `observe`.
#[derive(Debug, PartialEq)]
pub struct ObserveArgs {
    pub dir: PathBuf,
    pub out: PathBuf,
    pub poll: Duration,
    /// Required: every remote loop needs its own time limit (an orphaned observer must not
    /// load the storage server in later runs).
    pub run_for: Duration,
    pub stdin_watch: bool,
}

/// `--key value` and `--key=value` pairs, plus bare flags.
struct Opts {
    pairs: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], flags: &[&str], keys: &[&str]) -> Result<Opts, String> {
        let mut o = Opts { pairs: Vec::new(), flags: Vec::new() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument `{a}`"));
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (name, None),
            };
            if flags.contains(&name) && inline.is_none() {
                o.flags.push(name.to_owned());
            } else if keys.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => it.next().cloned().ok_or_else(|| format!("--{name} needs a value"))?,
                };
                if o.pairs.iter().any(|(k, _)| k == name) {
                    return Err(format!("--{name} given twice"));
                }
                o.pairs.push((name.to_owned(), v));
            } else {
                return Err(format!("unknown option --{name}"));
            }
        }
        Ok(o)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn need(&self, key: &str) -> Result<&str, String> {
        self.get(key).ok_or_else(|| format!("--{key} is required"))
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn duration(&self, key: &str, default: Option<Duration>) -> Result<Duration, String> {
        match (self.get(key), default) {
            (Some(v), _) => parse_duration(v).map_err(|e| format!("--{key}: {e}")),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(format!("--{key} is required")),
        }
    }
}

impl WriteArgs {
    pub fn parse(args: &[String]) -> Result<WriteArgs, String> {
        let o = Opts::parse(args, &["detach"], &["dir", "node", "service", "interval", "stamp"])?;
        let node = word("--node", o.need("node")?)?;
        let service = word("--service", o.get("service").unwrap_or("heartbeat"))?;
        let interval = o.duration("interval", Some(Duration::from_secs(1)))?;
        if interval.is_zero() {
            return Err("--interval must be more than 0".into());
        }
        Ok(WriteArgs {
            dir: PathBuf::from(o.need("dir")?),
            node,
            service,
            interval,
            stamp: o.get("stamp").map(PathBuf::from),
            detach: o.flag("detach"),
        })
    }
}

impl ObserveArgs {
    pub fn parse(args: &[String]) -> Result<ObserveArgs, String> {
        let o = Opts::parse(args, &["no-stdin-watch"], &["dir", "out", "poll", "for"])?;
        let poll = o.duration("poll", Some(Duration::from_millis(200)))?;
        if poll.is_zero() {
            return Err("--poll must be more than 0".into());
        }
        Ok(ObserveArgs {
            dir: PathBuf::from(o.need("dir")?),
            out: PathBuf::from(o.need("out")?),
            poll,
            run_for: o.duration("for", None)?,
            stdin_watch: !o.flag("no-stdin-watch"),
        })
    }
}

/// Service and node names become space-separated fields and parts of a file name.
fn word(what: &str, s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') || s.starts_with('.') {
        Err(format!("{what} `{s}`: must be non-empty, without spaces or `/`, and not start with `.`"))
    } else {
        Ok(s.to_owned())
    }
}

/// `200ms`, `1s`, `1.5s`, `2m`, `1h`, `1m30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (e.g. 200ms, 1s, 1.5s, 2m, 1m30s)");
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = tail;
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in ["", "5", "s", "1x", "1s5", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn write_args() {
        let a = WriteArgs::parse(&strings(&["--dir", "/d", "--node=n1", "--interval", "100ms", "--detach"])).unwrap();
        assert_eq!(a.service, "heartbeat");
        assert_eq!(a.interval, Duration::from_millis(100));
        assert!(a.detach);
        assert!(WriteArgs::parse(&strings(&["--dir", "/d"])).unwrap_err().contains("--node is required"));
        assert!(WriteArgs::parse(&strings(&["--dir", "/d", "--node", "a b"])).is_err());
        assert!(WriteArgs::parse(&strings(&["--dir", "/d", "--node", "../x"])).is_err());
        assert!(WriteArgs::parse(&strings(&["--dir", "/d", "--node", "n", "--interval", "0s"])).is_err());
        assert!(WriteArgs::parse(&strings(&["--dir", "/d", "--node", "n", "--bogus", "1"])).is_err());
    }

    #[test]
    fn observe_needs_a_time_limit() {
        let e = ObserveArgs::parse(&strings(&["--dir", "/d", "--out", "/o"])).unwrap_err();
        assert!(e.contains("--for is required"), "{e}");
        let a =
            ObserveArgs::parse(&strings(&["--dir", "/d", "--out", "/o", "--for", "1m", "--no-stdin-watch"])).unwrap();
        assert_eq!(a.poll, Duration::from_millis(200));
        assert!(!a.stdin_watch);
    }
}
