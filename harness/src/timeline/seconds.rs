//! Time on the timeline: seconds since the start of the run or log, as a float that prints
//! as an integer when it is one (the simulator's `160` stays `160`, not `160.0`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds since the start of the timeline. Millisecond resolution is kept; finer is noise
/// for an HA cluster whose timers tick in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Seconds(pub f64);

impl Seconds {
    pub const ZERO: Seconds = Seconds(0.0);

    pub fn from_millis(ms: i64) -> Self {
        Seconds(ms as f64 / 1000.0)
    }

    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// Whole milliseconds, for exact comparisons and ordering.
    pub fn millis(self) -> i64 {
        (self.0 * 1000.0).round() as i64
    }
}

// Saturating: a log's times are whatever it says (`millis` is already capped at the ends of
// i64), and a bound added to a time at the end must not overflow.
impl std::ops::Sub for Seconds {
    type Output = Seconds;
    fn sub(self, rhs: Seconds) -> Seconds {
        Seconds::from_millis(self.millis().saturating_sub(rhs.millis()))
    }
}

impl std::ops::Add for Seconds {
    type Output = Seconds;
    fn add(self, rhs: Seconds) -> Seconds {
        Seconds::from_millis(self.millis().saturating_add(rhs.millis()))
    }
}

impl fmt::Display for Seconds {
    /// `160`, `40.5`, `0.123`: the shortest form that keeps milliseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.millis();
        if ms % 1000 == 0 {
            write!(f, "{}", ms / 1000)
        } else {
            let s = format!("{:.3}", ms as f64 / 1000.0);
            f.write_str(s.trim_end_matches('0'))
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ms = self.millis();
        if ms % 1000 == 0 { s.serialize_i64(ms / 1000) } else { s.serialize_f64(ms as f64 / 1000.0) }
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Ok(Seconds::from_millis((v * 1000.0).round() as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_serialize_as_integers() {
        assert_eq!(serde_json::to_string(&Seconds(160.0)).unwrap(), "160");
        assert_eq!(serde_json::to_string(&Seconds(40.5)).unwrap(), "40.5");
        assert_eq!(Seconds(0.1234).to_string(), "0.123");
        assert_eq!((Seconds(240.0) - Seconds(120.0)).to_string(), "120");
    }

    #[test]
    fn arithmetic_at_the_ends_saturates() {
        // A simulator line at 1e41 s, then a `within` added to it, overflowed (the fuzzer).
        let far = Seconds(1e41);
        assert_eq!(far.millis(), i64::MAX);
        assert_eq!((far + Seconds(60.0)).millis(), i64::MAX);
        assert_eq!((Seconds(-1e41) - far).millis(), i64::MIN);
        assert_eq!((far - Seconds(-1e41)).millis(), i64::MAX);
    }
}
